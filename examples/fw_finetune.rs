//! Firmware: fine-tunes the last layer of the host-trained digits classifier on a
//! Cortex-M4F to a washed-out sensor, with the pre-trained hidden layer left in flash,
//! and prints the new sensor's held-out accuracy before and after. The same run as the
//! host example `finetune`. Runs in QEMU:
//!
//! ```sh
//! cargo run --release --example fw_finetune --target thumbv7em-none-eabihf
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
#[rustfmt::skip]
#[path = "data/digits_base.rs"]
mod digits_base;

#[cfg(target_os = "none")]
#[path = "shared/finetune.rs"]
mod finetune;

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::hprintln;
    use panic_semihosting as _;
    use stackprop::*;

    use crate::digits::{Digits, Split};
    use crate::finetune::{self, Line, REQUIRED_ACCURACY, SENSOR, TUNER, Tuner};
    use crate::firmware;

    #[entry]
    fn main() -> ! {
        // The trainable layer, buffers and Adam state; the frozen layer stays in flash.
        static mut TRAINER: Tuner = TUNER;
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

    fn run(trainer: &mut Tuner) -> Result<bool, Error> {
        let memory = Tuner::FOOTPRINT;
        hprintln!(
            "fine-tuning 64-32-10 (hidden layer frozen in flash) to a washed-out sensor: \
             trainer {} bytes ({} params, {} grads, {} optimizer)",
            memory.total(),
            memory.params,
            memory.grads,
            memory.optimizer
        );
        let mut watch = firmware::Stopwatch::start();
        let outcome = finetune::finetune(trainer, |epoch, e| {
            hprintln!("{}  ({} instructions)", Line(epoch, e), watch.lap());
        })?;
        let (before, after) = (outcome.before.accuracy(), outcome.after.accuracy());
        hprintln!(
            "new-sensor accuracy {} % before, {} % after fine-tuning",
            100.0 * before,
            100.0 * after
        );
        let workload = "64-32-10, hidden layer frozen in flash, Adam on the last layer, batch 16";
        firmware::report_step(workload, trainer, &Digits::distorted(Split::Train, SENSOR))?;
        let ok = after >= REQUIRED_ACCURACY;
        if !ok {
            hprintln!("below the required {} %", 100.0 * REQUIRED_ACCURACY);
        }
        Ok(ok)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_finetune is firmware: \
         cargo run --release --example fw_finetune --target thumbv7em-none-eabihf"
    );
}
