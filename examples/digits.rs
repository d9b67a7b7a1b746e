//! Trains the 64-32-10 handwritten-digits classifier on the host: the same run, with
//! the same seed and the same numbers, as the firmware example `fw_digits`.
//!
//! ```sh
//! cargo run --release --example digits
//! ```

use std::process::ExitCode;

#[path = "shared/digits.rs"]
mod digits;

use digits::{DigitsTrainer, EPOCHS, N, REQUIRED_ACCURACY, SEED};
use stackprop::Zero;

fn main() -> ExitCode {
    let memory = DigitsTrainer::FOOTPRINT;
    println!(
        "digits 64-32-10 relu, softmax CE, Adam, batch {N}, seed {SEED}, {EPOCHS} epochs: \
         trainer {} bytes",
        memory.total()
    );
    // 54 KB: on the heap here, in a static on the device.
    let mut trainer = Box::new(DigitsTrainer::ZERO);
    let result = digits::train(&mut trainer, |e| {
        println!("{e}");
    });
    match result {
        Ok(last) if last.held_out.accuracy() >= REQUIRED_ACCURACY => {
            println!("held-out accuracy {} %", 100.0 * last.held_out.accuracy());
            ExitCode::SUCCESS
        }
        Ok(last) => {
            eprintln!(
                "held-out accuracy {:.2} % is below {:.0} %",
                100.0 * last.held_out.accuracy(),
                100.0 * REQUIRED_ACCURACY
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
