//! Training steps on arbitrary bytes: inputs, targets, parameters and hyper-parameters
//! are raw f32 bit patterns (NaN, ±∞, subnormals and huge values all occur), for both
//! optimizers, with and without clipping and the watchdog, on a few small networks and
//! losses. No call may panic, after every call every parameter and every value of
//! the optimizer state is finite, a refused step changes neither, and every training
//! state that saving accepts loads back and saves to the same bytes.
//!
//! ```text
//! cargo +nightly fuzz run train_step
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackprop::persist::{Architecture, OptimizerState, Progress};
use stackprop::*;

/// Reads the fuzzer's bytes front to back; past the end, everything reads as 0.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// Any f32 bit pattern.
    fn raw(&mut self) -> f32 {
        f32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A hyper-parameter: a raw bit pattern, or (so valid ranges are easy to reach) a
    /// byte scaled into [0, 1) or [0, 1e-3·256).
    fn hyper(&mut self) -> f32 {
        match self.u8() % 4 {
            0 => self.raw(),
            1 => f32::from(self.u8()) / 256.0,
            2 => f32::from(self.u8()) * 1e-3,
            _ => 1.0 - f32::from(self.u8()) * 1e-4,
        }
    }

    fn maybe(&mut self) -> Option<f32> {
        if self.u8() % 2 == 0 {
            None
        } else {
            Some(self.hyper())
        }
    }
}

/// No value of `Debug` output is NaN or infinite. The optimizers' state is private, and
/// its `Debug` form prints every value, with Rust's `NaN`, `inf` and `-inf` spellings.
fn debug_finite(value: &impl core::fmt::Debug) -> bool {
    let text = format!("{value:?}");
    !text.contains("NaN") && !text.contains("inf")
}

fn check<L: Layer<Scalar = f32>, O: core::fmt::Debug, E, const N: usize>(
    trainer: &Trainer<L, O, E, N>,
) {
    assert!(
        trainer.net.params().flatten().all(|p| p.is_finite()),
        "non-finite parameter"
    );
    assert!(
        debug_finite(&trainer.optimizer),
        "non-finite optimizer state: {:?}",
        trainer.optimizer
    );
}

/// The parameters and the optimizer, bit for bit.
fn state<L: Layer<Scalar = f32>, O: core::fmt::Debug, E, const N: usize>(
    trainer: &Trainer<L, O, E, N>,
) -> (Vec<u32>, String) {
    let params = trainer
        .net
        .params()
        .flatten()
        .map(|p| p.to_bits())
        .collect();
    (params, format!("{:?}", trainer.optimizer))
}

/// A record that saving accepts loads back and saves to the same bytes.
fn round_trip<L, O, E, const N: usize>(trainer: &Trainer<L, O, E, N>)
where
    L: Architecture<Scalar = f32> + Clone + Zero,
    O: OptimizerState<L> + Zero + Clone,
    E: Clone,
{
    let progress = Progress {
        steps: 3,
        rng: SplitMix64::new(4),
    };
    let mut record = vec![0u8; Trainer::<L, O, E, N>::STATE_RECORD_LEN];
    if let Ok(len) = trainer.save_state(&progress, &mut record) {
        let mut loaded = Trainer::<L, O, E, N>::new(L::ZERO, O::ZERO, trainer.loss.clone());
        assert_eq!(
            loaded.load_state(&record[..len]),
            Ok(progress),
            "a saved record loads"
        );
        let mut again = vec![0u8; len];
        assert_eq!(loaded.save_state(&progress, &mut again), Ok(len));
        assert!(
            again == record[..len],
            "a loaded record saves to the same bytes"
        );
    }
}

fn run<L, O, E, const N: usize>(bytes: &mut Bytes, mut trainer: Trainer<L, O, E, N>)
where
    L: Architecture<Scalar = f32> + Clone + Zero,
    O: Optimizer<L> + OptimizerState<L> + LearningRate<f32> + Zero + Clone + core::fmt::Debug,
    E: Loss<f32> + Clone,
{
    trainer
        .net
        .init(Init::HeUniform, &mut SplitMix64::new(u64::from(bytes.u8())));
    // Overwrite some parameters with raw (finite) values, huge ones included.
    for _ in 0..bytes.u8() % 4 {
        let at = usize::from(bytes.u8());
        let value = bytes.raw();
        if let Some(p) = trainer.net.params_mut().flatten().nth(at) {
            *p = if value.is_finite() { value } else { 0.0 };
        }
    }
    let watched = bytes.u8() % 3 == 0;
    let mut watchdog = if watched {
        let config = WatchdogConfig {
            blowup: bytes.hyper(),
            loss_floor: bytes.hyper(),
            warmup: u32::from(bytes.u8() % 8),
            snapshot_every: u32::from(bytes.u8() % 8),
            patience: u32::from(bytes.u8() % 4),
            lr_factor: bytes.hyper(),
            min_lr: bytes.hyper(),
            max_rollbacks: u32::from(bytes.u8() % 4),
        };
        Watchdog::<f32, Snapshot<L, O>, 4>::new(
            config,
            Snapshot::new(trainer.net.clone(), trainer.optimizer.clone()),
        )
        .ok()
    } else {
        None
    };
    check(&trainer);
    for _ in 0..1 + bytes.u8() % 8 {
        let mut x = [L::Input::ZERO; N];
        let mut t = [L::Output::ZERO; N];
        for row in &mut x {
            for v in row.as_mut() {
                *v = bytes.raw();
            }
        }
        for row in &mut t {
            for v in row.as_mut() {
                *v = bytes.raw();
            }
        }
        let before = state(&trainer);
        match bytes.u8() % 8 {
            0 => {
                let _ = trainer.optimizer.set_lr(bytes.hyper());
            }
            1 => {
                if trainer.step_with_limit(&x, &t, bytes.raw()).is_err() {
                    assert!(state(&trainer) == before, "a refused step changed nothing");
                }
            }
            2 => {
                let _ = trainer.gradients(&x, &t, None);
            }
            3 => {
                let _ = trainer.loss(&x, &t);
            }
            4 => {
                // An epoch over the batch's rows, some of them left out.
                let len = usize::from(bytes.u8()) % (N + 1);
                let data = Samples::new(&x[..len], &t[..len]).expect("same length");
                let remainder = [Remainder::Wrap, Remainder::Skip, Remainder::Reject];
                let remainder = remainder[usize::from(bytes.u8()) % 3];
                let mut rng = SplitMix64::new(u64::from(bytes.u8()));
                let _ = trainer.train_epoch(&data, Some(&mut rng), remainder);
                let _ = trainer.evaluate(&data);
            }
            _ => match watchdog.as_mut() {
                Some(watchdog) => {
                    if let Ok(StepOutcome::Refused(_)) = watchdog.step(&mut trainer, &x, &t) {
                        assert!(state(&trainer) == before, "a refused step changed nothing");
                    }
                }
                None => {
                    if trainer.step(&x, &t).is_err() {
                        assert!(state(&trainer) == before, "a refused step changed nothing");
                    }
                }
            },
        }
        check(&trainer);
        round_trip(&trainer);
    }
}

type Small = (Dense<2, 4, Tanh>, Dense<4, 2, Identity>);
type Deep = (Dense<3, 4, Relu>, Dense<4, 3, Silu>, Dense<3, 1, Sigmoid>);

fn sgd<L: Layer<Scalar = f32>, V: optim::Velocity>(bytes: &mut Bytes) -> Sgd<L, V> {
    let config = SgdConfig {
        lr: bytes.hyper(),
        momentum: bytes.hyper(),
        weight_decay: bytes.hyper(),
        clip_norm: bytes.maybe(),
        clip_value: bytes.maybe(),
    };
    Sgd::new(config).unwrap_or_else(|_| Sgd::new(SgdConfig::new(0.1)).expect("valid"))
}

fn adam<L: Layer<Scalar = f32>>(bytes: &mut Bytes) -> Adam<L> {
    let config = AdamConfig {
        lr: bytes.hyper(),
        beta1: bytes.hyper(),
        beta2: bytes.hyper(),
        eps: bytes.hyper(),
        weight_decay: bytes.hyper(),
        clip_norm: bytes.maybe(),
        clip_value: bytes.maybe(),
    };
    Adam::new(config).unwrap_or_else(|_| Adam::new(AdamConfig::new(1e-3)).expect("valid"))
}

fn with_loss<L, O>(bytes: &mut Bytes, selector: u8, optimizer: O)
where
    L: Architecture<Scalar = f32> + Clone + Zero + core::fmt::Debug,
    O: Optimizer<L> + OptimizerState<L> + LearningRate<f32> + Zero + Clone + core::fmt::Debug,
{
    match selector % 4 {
        0 => run(bytes, Trainer::<L, O, Mse, 2>::new(L::ZERO, optimizer, Mse)),
        1 => run(
            bytes,
            Trainer::<L, O, Huber, 3>::new(L::ZERO, optimizer, Huber),
        ),
        2 => run(bytes, Trainer::<L, O, Bce, 2>::new(L::ZERO, optimizer, Bce)),
        _ => run(
            bytes,
            Trainer::<L, O, SoftmaxCrossEntropy, 1>::new(L::ZERO, optimizer, SoftmaxCrossEntropy),
        ),
    }
}

fn with_optimizer<L>(bytes: &mut Bytes, selector: u8)
where
    L: Architecture<Scalar = f32> + Clone + Zero + core::fmt::Debug,
{
    match (selector / 4) % 3 {
        0 => {
            let optimizer = sgd::<L, NoMomentum>(bytes);
            with_loss::<L, _>(bytes, selector, optimizer)
        }
        1 => {
            let optimizer = sgd::<L, WithMomentum>(bytes);
            with_loss::<L, _>(bytes, selector, optimizer)
        }
        _ => {
            let optimizer = adam::<L>(bytes);
            with_loss::<L, _>(bytes, selector, optimizer)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let selector = bytes.u8();
    if selector >= 128 {
        with_optimizer::<Deep>(&mut bytes, selector);
    } else {
        with_optimizer::<Small>(&mut bytes, selector);
    }
});
