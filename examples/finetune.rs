//! Fine-tunes the last layer of the pre-trained digits classifier to a washed-out
//! sensor, on the host: the same run, with the same numbers, as the firmware example
//! `fw_finetune`.
//!
//! ```sh
//! cargo run --release --example finetune
//! ```

use std::process::ExitCode;

#[path = "shared/digits.rs"]
mod digits;
#[rustfmt::skip]
#[path = "data/digits_base.rs"]
mod digits_base;
#[path = "shared/finetune.rs"]
mod finetune;

use finetune::{Line, REQUIRED_ACCURACY, TUNER, Tuner};

fn main() -> ExitCode {
    let memory = Tuner::FOOTPRINT;
    println!(
        "fine-tuning 64-32-10 (hidden layer frozen in flash) to a washed-out sensor: \
         trainer {} bytes ({} params, {} grads, {} optimizer)",
        memory.total(),
        memory.params,
        memory.grads,
        memory.optimizer
    );
    let mut trainer = Box::new(TUNER);
    match finetune::finetune(&mut trainer, |epoch, e| println!("{}", Line(epoch, e))) {
        Ok(o) => {
            println!(
                "new-sensor accuracy {} % before, {} % after fine-tuning",
                100.0 * o.before.accuracy(),
                100.0 * o.after.accuracy()
            );
            if o.after.accuracy() >= REQUIRED_ACCURACY {
                ExitCode::SUCCESS
            } else {
                eprintln!("below the required {} %", 100.0 * REQUIRED_ACCURACY);
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
