//! Firmware: continual learning under sensor drift on a Cortex-M4F. The deployed
//! digits classifier meets 30 days of a fading sensor; a frozen copy, a copy fine-tuned
//! on each day's images only and a copy fine-tuned with a replay buffer are compared
//! every day. Every day ends with a checkpoint in (simulated) NOR flash, and after day
//! 12 the state is thrown away and resumed from it. Exits 0 only if the replay copy
//! meets its goals. The same run as the host example `drift`. Runs in QEMU:
//!
//! ```sh
//! cargo run --release --example fw_drift --target thumbv7em-none-eabihf
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
#[path = "shared/drift.rs"]
mod drift;

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::hprintln;
    use panic_semihosting as _;
    use stackprop::Error;

    use crate::drift::{self, Buffer, CHECKPOINT_LEN, Drift, RESET_AFTER, SimFlash};
    use crate::firmware;

    #[entry]
    fn main() -> ! {
        // RAM: the three networks with their Adam state, the replay buffer; the
        // simulated flash and the checkpoint staging area.
        static mut STATE: Drift = Drift::START;
        static mut FLASH: SimFlash = SimFlash::ERASED;
        static mut SCRATCH: [u8; CHECKPOINT_LEN] = [0; CHECKPOINT_LEN];
        firmware::start_counter();
        let ok = match run(STATE, FLASH, SCRATCH) {
            Ok(ok) => ok,
            Err(e) => {
                hprintln!("error: {}", e);
                false
            }
        };
        firmware::exit(ok)
    }

    fn run(
        state: &mut Drift,
        flash: &mut SimFlash,
        scratch: &mut [u8; CHECKPOINT_LEN],
    ) -> Result<bool, Error> {
        hprintln!(
            "sensor drift over {} days, {} labelled images a day; replay buffer of {} images: {} B",
            drift::DAYS,
            drift::PER_DAY,
            drift::CAPACITY,
            core::mem::size_of::<Buffer>()
        );
        let mut watch = firmware::Stopwatch::start();
        let (start, last) = drift::run(state, flash, scratch, Some(RESET_AFTER), |d| {
            hprintln!("{}  ({} instructions)", d, watch.lap());
        })?;
        hprintln!(
            "reset after day {}: resumed from the checkpoint in flash ({} B)",
            RESET_AFTER,
            CHECKPOINT_LEN
        );
        hprintln!(
            "replay: old sensor {}/{} -> {}/{}, drifted sensor {}/{}",
            start.replay.old.correct,
            start.replay.old.total,
            last.replay.old.correct,
            last.replay.old.total,
            last.replay.new.correct,
            last.replay.new.total
        );
        hprintln!("total: {} instructions", watch.total());
        hprintln!("static RAM: {} B", firmware::static_ram_bytes());
        hprintln!("flash (code + constants): {} B", firmware::flash_bytes());
        hprintln!("stack high-water mark: {} B", firmware::stack_high_water());
        let ok = Drift::goals_met(&start, &last);
        if !ok {
            hprintln!("replay missed its goals");
        }
        Ok(ok)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_drift is firmware: \
         cargo run --release --example fw_drift --target thumbv7em-none-eabihf"
    );
}
