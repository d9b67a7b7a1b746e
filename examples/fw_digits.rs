//! Firmware: trains the 64-32-10 handwritten-digits classifier from scratch on a
//! Cortex-M4F, with the training images read from flash, and fails unless the held-out
//! accuracy reaches 96 %. The same run as the host example `digits`: same seed, same
//! numbers up to float rounding. Runs in QEMU:
//!
//! ```sh
//! cargo run --release --example fw_digits --target thumbv7em-none-eabihf
//! ```

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
#[path = "shared/firmware.rs"]
mod firmware;

#[cfg(target_os = "none")]
#[path = "shared/digits.rs"]
mod digits;

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::hprintln;
    use panic_semihosting as _;
    use stackprop::*;

    use crate::digits::{self, Digits, DigitsTrainer, EPOCHS, N, REQUIRED_ACCURACY, SEED, Split};
    use crate::firmware;

    #[entry]
    fn main() -> ! {
        // 70 KB of network, buffers and Adam state: a static, never the stack.
        static mut TRAINER: DigitsTrainer = DigitsTrainer::ZERO;
        firmware::start_counter();
        let ok = match run(TRAINER) {
            Ok(ok) => ok,
            Err(e) => {
                hprintln!("error: {}", e);
                false
            }
        };
        firmware::exit(ok)
    }

    fn run(trainer: &mut DigitsTrainer) -> Result<bool, Error> {
        hprintln!(
            "digits 64-32-10 relu, softmax CE, Adam, batch {}, seed {}, {} epochs",
            N,
            SEED,
            EPOCHS
        );
        let mut watch = firmware::Stopwatch::start();
        let last = digits::train(trainer, |e| {
            hprintln!("{}  ({} instructions)", e, watch.lap());
        })?;
        let accuracy = last.held_out.accuracy();
        hprintln!(
            "held-out accuracy {} % after {} instructions of training and evaluation",
            100.0 * accuracy,
            watch.total()
        );
        let workload = "64-32-10 relu, softmax CE, Adam, batch 32";
        firmware::report_step(workload, trainer, &Digits::new(Split::Train))?;
        let ok = accuracy >= REQUIRED_ACCURACY;
        if !ok {
            hprintln!("below the required {} %", 100.0 * REQUIRED_ACCURACY);
        }
        Ok(ok)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_digits is firmware: cargo run --release --example fw_digits --target thumbv7em-none-eabihf"
    );
}
