//! Firmware: trains 2-8-1 on XOR on a Cortex-M4F, one sample per step (per-sample
//! SGD), from a seeded initialisation until all four inputs are classified, then
//! prints its footprint. Runs in QEMU:
//!
//! ```sh
//! cargo run --release --example fw_xor --target thumbv7em-none-eabihf
//! ```
//!
//! Exits with status 0 on success, non-zero on failure or panic.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
#[path = "shared/firmware.rs"]
mod firmware;

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::hprintln;
    use panic_semihosting as _;
    use stackprop::*;

    use crate::firmware;

    type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
    type XorTrainer = Trainer<Net, Sgd<Net, NoMomentum>, Mse, 1>;

    const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    const TARGETS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];
    const SEED: u64 = 7;
    const LEARNING_RATE: f32 = 0.5;
    const MAX_EPOCHS: usize = 5_000;
    /// Done once every sample is classified and the mean loss is this low.
    const TARGET_LOSS: f32 = 0.01;

    #[entry]
    fn main() -> ! {
        // In .bss, not on the stack: `#[entry]` turns this into a `&'static mut`.
        static mut TRAINER: XorTrainer = XorTrainer::ZERO;
        firmware::start_counter();
        let ok = match train(TRAINER) {
            Ok(ok) => ok,
            Err(e) => {
                hprintln!("error: {}", e);
                false
            }
        };
        firmware::exit(ok)
    }

    fn train(trainer: &mut XorTrainer) -> Result<bool, Error> {
        let mut rng = SplitMix64::new(SEED);
        trainer.net.init(Init::GlorotUniform, &mut rng);
        trainer
            .optimizer
            .set_config(SgdConfig::new(LEARNING_RATE))?;
        let data = Samples::new(&INPUTS, &TARGETS)?;
        hprintln!(
            "2-8-1 tanh/sigmoid, MSE, per-sample SGD lr {}, seed {}",
            LEARNING_RATE,
            SEED
        );

        for epoch in 1..=MAX_EPOCHS {
            let report = trainer.train_epoch(&data, Some(&mut rng), Remainder::Reject)?;
            let eval = trainer.evaluate(&data)?;
            let done = eval.correct == eval.total && eval.loss < TARGET_LOSS;
            if epoch == 1 || epoch % 250 == 0 || done {
                hprintln!(
                    "epoch {}  loss {}  accuracy {}/{}",
                    epoch,
                    report.mean_loss,
                    eval.correct,
                    eval.total
                );
            }
            if done {
                hprintln!("trained to 100 % accuracy in {} epochs", epoch);
                let workload = "2-8-1 tanh/sigmoid, MSE, per-sample SGD";
                firmware::report_step(workload, trainer, &data)?;
                return Ok(true);
            }
        }
        hprintln!("did not reach 100 % accuracy in {} epochs", MAX_EPOCHS);
        Ok(false)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_xor is firmware: cargo run --release --example fw_xor --target thumbv7em-none-eabihf"
    );
}
