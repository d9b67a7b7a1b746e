//! Firmware: exact instruction counts and stack use of training steps and predictions
//! on a Cortex-M4F, for the workloads of the README's device table, plus the cost of the
//! math functions the activations and losses call. Runs in QEMU:
//!
//! ```sh
//! cargo run --release --example fw_bench --target thumbv7em-none-eabihf
//! ```
//!
//! Counts are retired instructions under QEMU's `-icount` (deterministic: the same on
//! every run), including about 5 of measurement overhead per figure.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
#[path = "shared/firmware.rs"]
mod firmware;

#[cfg(target_os = "none")]
mod device {
    use core::hint::black_box;

    use cortex_m_rt::entry;
    use cortex_m_semihosting::hprintln;
    use panic_semihosting as _;
    use stackprop::*;

    use crate::firmware;

    type Xor = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
    type XorTrainer = Trainer<Xor, Sgd<Xor, NoMomentum>, Mse, 1>;
    type Sensor = (
        Dense<16, 32, Relu>,
        Dense<32, 32, Relu>,
        Dense<32, 4, Identity>,
    );
    type SensorTrainer = Trainer<Sensor, Adam<Sensor>, SoftmaxCrossEntropy, 16>;
    type Digits = (Dense<64, 32, Relu>, Dense<32, 10, Identity>);
    type DigitsTrainer = Trainer<Digits, Sgd<Digits, NoMomentum>, SoftmaxCrossEntropy, 32>;
    type DigitsPredictor = Trainer<Digits, Sgd<Digits, NoMomentum>, SoftmaxCrossEntropy, 1>;

    #[entry]
    fn main() -> ! {
        static mut XOR: XorTrainer = XorTrainer::ZERO;
        static mut SENSOR: SensorTrainer = SensorTrainer::ZERO;
        static mut DIGITS: DigitsTrainer = DigitsTrainer::ZERO;
        static mut PREDICTOR: DigitsPredictor = DigitsPredictor::ZERO;
        firmware::start_counter();
        let ok = match run(XOR, SENSOR, DIGITS, PREDICTOR) {
            Ok(()) => true,
            Err(e) => {
                hprintln!("error: {}", e);
                false
            }
        };
        firmware::exit(ok)
    }

    fn run(
        xor: &mut XorTrainer,
        sensor: &mut SensorTrainer,
        digits: &mut DigitsTrainer,
        predictor: &mut DigitsPredictor,
    ) -> Result<(), Error> {
        let mut rng = SplitMix64::new(3);
        hprintln!(
            "workload | batch | instructions/step | instructions/sample | per multiply-add | stack B"
        );

        xor.net.init(Init::GlorotUniform, &mut rng);
        xor.optimizer.set_config(SgdConfig::new(0.5))?;
        step("2-8-1 tanh/sigmoid MSE SGD", xor, &mut rng, 2 * 8 + 8 + 8)?;

        sensor.net.init(Init::HeUniform, &mut rng);
        sensor.optimizer.set_config(AdamConfig::new(1e-3))?;
        step(
            "16-32-32-4 relu softmax-CE Adam",
            sensor,
            &mut rng,
            2 * (16 * 32 + 32 * 32 + 32 * 4) - 16 * 32,
        )?;

        digits.net.init(Init::HeUniform, &mut rng);
        digits.optimizer.set_config(SgdConfig::new(0.1))?;
        step(
            "64-32-10 relu softmax-CE SGD",
            digits,
            &mut rng,
            2 * (64 * 32 + 32 * 10) + 32 * 10,
        )?;

        predictor.net = digits.net;
        let x = [random_row(&mut rng)];
        let (_, insns) = firmware::instructions(|| predictor.predict(black_box(&x))[0]);
        let (_, stack) = firmware::stack_use(|| predictor.predict(black_box(&x))[0]);
        hprintln!(
            "64-32-10 predict | 1 | {} | {} | {:.2} | {}",
            insns,
            insns,
            insns as f32 / (64 * 32 + 32 * 10) as f32,
            stack
        );

        hprintln!("math function | instructions/call");
        let a = black_box(0.37f32);
        let (_, empty) = firmware::instructions(|| black_box(a));
        hprintln!("(empty measurement) | {}", empty);
        let (_, n) = firmware::instructions(|| <Tanh as Activation<f32>>::f(black_box(a)));
        hprintln!("tanh activation | {}", n);
        let (_, n) = firmware::instructions(|| <Sigmoid as Activation<f32>>::f(black_box(a)));
        hprintln!("sigmoid activation | {}", n);
        let (_, n) = firmware::instructions(|| <f32 as Scalar>::exp(black_box(a)));
        hprintln!("exp | {}", n);
        let (_, n) = firmware::instructions(|| <f32 as Scalar>::ln(black_box(a)));
        hprintln!("ln | {}", n);
        let (_, n) = firmware::instructions(|| <f32 as Scalar>::sqrt(black_box(a)));
        hprintln!("sqrt | {}", n);
        Ok(())
    }

    /// Prints the instructions and stack of one training step on a random batch.
    fn step<L, O, E, const N: usize>(
        name: &str,
        trainer: &mut Trainer<L, O, E, N>,
        rng: &mut SplitMix64,
        multiply_adds_per_sample: usize,
    ) -> Result<(), Error>
    where
        L: Layer<Scalar = f32>,
        O: Optimizer<L>,
        E: Loss<f32>,
    {
        let mut x = [L::Input::ZERO; N];
        let mut t = [L::Output::ZERO; N];
        for (x, t) in x.iter_mut().zip(t.iter_mut()) {
            fill_random(x.as_mut(), rng);
            let classes = t.as_ref().len();
            if let Some(hot) = t.as_mut().get_mut(rng.below(classes as u64) as usize) {
                *hot = 1.0;
            }
        }
        // One step first, so the measured one is not the first (no cold paths).
        trainer.step(&x, &t)?;
        let (result, insns) = firmware::instructions(|| trainer.step(black_box(&x), black_box(&t)));
        result?;
        let (result, stack) = firmware::stack_use(|| trainer.step(black_box(&x), black_box(&t)));
        result?;
        let per_sample = insns as f32 / N as f32;
        hprintln!(
            "{} | {} | {} | {:.0} | {:.2} | {}",
            name,
            N,
            insns,
            per_sample,
            per_sample / multiply_adds_per_sample as f32,
            stack
        );
        Ok(())
    }

    fn fill_random(row: &mut [f32], rng: &mut SplitMix64) {
        for v in row {
            *v = rng.next_f64() as f32;
        }
    }

    fn random_row<const K: usize>(rng: &mut SplitMix64) -> [f32; K] {
        let mut row = [0.0; K];
        fill_random(&mut row, rng);
        row
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_bench is firmware: cargo run --release --example fw_bench --target thumbv7em-none-eabihf"
    );
}
