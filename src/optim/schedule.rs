//! [`Schedule`]: the learning rate as a function of the step (or epoch) count, with
//! an optional linear warm-up followed by step decay or cosine annealing.

use core::f64::consts::PI;

use crate::optim::LearningRate;
use crate::{Error, Scalar};

/// How the learning rate falls after the warm-up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decay<S> {
    /// The base rate throughout.
    Constant,
    /// PyTorch's `StepLR`: multiplied by `gamma` every `every` steps.
    Step {
        /// Steps between two multiplications, ≥ 1.
        every: u32,
        /// The factor, in (0, 1].
        gamma: S,
    },
    /// PyTorch's `CosineAnnealingLR` (closed form, one half-period): from the base rate
    /// down to `min_lr` over `steps` steps along a half cosine, then `min_lr`.
    Cosine {
        /// Steps of the descent, ≥ 1.
        steps: u32,
        /// The final rate, in [0, base rate].
        min_lr: S,
    },
}

/// A learning-rate schedule: `const`-constructible, a few bytes, no state. The caller
/// keeps the step count (e.g. the epoch, or `Progress::steps`) and asks for the rate.
///
/// With base rate `lr`, warm-up length `W` and `t` counted from 0:
///
/// * warm-up, `t < W`: `lr · (t + 1) / W` (a linear ramp whose first step already
///   learns, reaching `lr` at `t = W − 1`);
/// * then, with `u = t − W`:
///   * [`Decay::Constant`]: the rate stays `lr`;
///   * [`Decay::Step`]: the rate is `lr · gamma^⌊u / every⌋`;
///   * [`Decay::Cosine`]: the rate is `min_lr + (lr − min_lr) · (1 + cos(π · u / steps)) / 2` for
///     `u ≤ steps`, `min_lr` after.
///
/// Rates are computed in `f64` and rounded once to `S`.
///
/// # Examples
///
/// Five epochs of warm-up, then a cosine descent to 1e-4 over 95 epochs, set on an
/// optimizer before each epoch:
///
/// ```
/// use stackprop::optim::{Schedule, Sgd, SgdConfig, LearningRate};
/// use stackprop::{Dense, Tanh};
/// type Net = (Dense<2, 4, Tanh>, Dense<4, 1, Tanh>);
///
/// const SCHEDULE: Schedule<f32> = Schedule::cosine(0.1, 95, 1e-4).with_warmup(5);
/// let mut sgd = Sgd::<Net>::new(SgdConfig::new(0.0))?;
/// for epoch in 0..100 {
///     let lr = SCHEDULE.apply(epoch, &mut sgd)?;
///     assert_eq!(sgd.lr(), lr);
///     // ... trainer.train_epoch(...) with this optimizer ...
/// }
/// assert_eq!(SCHEDULE.lr(0)?, 0.02); // 0.1 · 1/5
/// assert_eq!(SCHEDULE.lr(4)?, 0.1); // the end of the warm-up
/// assert_eq!(SCHEDULE.lr(100)?, 1e-4); // the cosine's end
///
/// // Halved every 10 epochs, and a bad setting refused with its name:
/// assert_eq!(Schedule::step_decay(0.1f32, 10, 0.5).lr(25)?, 0.025);
/// assert!(Schedule::step_decay(0.1f32, 0, 0.5).lr(0).is_err());
/// # Ok::<(), stackprop::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule<S> {
    /// The rate after the warm-up, before any decay.
    pub lr: S,
    /// Steps of linear warm-up (0: none).
    pub warmup: u32,
    /// The decay after the warm-up.
    pub decay: Decay<S>,
}

impl<S: Scalar> Schedule<S> {
    /// `lr` at every step.
    pub const fn constant(lr: S) -> Self {
        Self {
            lr,
            warmup: 0,
            decay: Decay::Constant,
        }
    }

    /// `lr`, multiplied by `gamma` every `every` steps ([`Decay::Step`]).
    pub const fn step_decay(lr: S, every: u32, gamma: S) -> Self {
        Self {
            lr,
            warmup: 0,
            decay: Decay::Step { every, gamma },
        }
    }

    /// From `lr` down to `min_lr` along a half cosine over `steps` steps ([`Decay::Cosine`]).
    pub const fn cosine(lr: S, steps: u32, min_lr: S) -> Self {
        Self {
            lr,
            warmup: 0,
            decay: Decay::Cosine { steps, min_lr },
        }
    }

    /// The same schedule after a linear warm-up of `steps` steps.
    pub const fn with_warmup(mut self, steps: u32) -> Self {
        self.warmup = steps;
        self
    }

    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.lr.is_finite() && self.lr >= S::ZERO) {
            return Err(invalid("lr", "finite and >= 0"));
        }
        match self.decay {
            Decay::Constant => Ok(()),
            Decay::Step { every, gamma } => {
                if every == 0 {
                    Err(invalid("every", ">= 1"))
                } else if !(gamma.is_finite() && gamma > S::ZERO && gamma <= S::ONE) {
                    Err(invalid("gamma", "in (0, 1]"))
                } else {
                    Ok(())
                }
            }
            Decay::Cosine { steps, min_lr } => {
                if steps == 0 {
                    Err(invalid("steps", ">= 1"))
                } else if !(min_lr.is_finite() && min_lr >= S::ZERO && min_lr <= self.lr) {
                    Err(invalid("min_lr", "finite and in [0, lr]"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The learning rate at step `step` (from 0).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if the schedule is out of range (see
    /// [`validate`](Self::validate)).
    pub fn lr(&self, step: u64) -> Result<S, Error> {
        self.validate()?;
        let lr = self.lr.to_f64();
        let warmup = u64::from(self.warmup);
        if step < warmup {
            return Ok(S::from_f64(lr * (step + 1) as f64 / warmup as f64));
        }
        let u = step - warmup;
        Ok(match self.decay {
            Decay::Constant => self.lr,
            Decay::Step { every, gamma } => {
                let k = u / u64::from(every);
                // gamma ≤ 1: beyond i32's range the factor is 0 or 1 anyway.
                let k = i32::try_from(k).unwrap_or(i32::MAX);
                S::from_f64(lr * libm::pow(gamma.to_f64(), f64::from(k)))
            }
            Decay::Cosine { steps, min_lr } => {
                let min = min_lr.to_f64();
                if u >= u64::from(steps) {
                    min_lr
                } else {
                    let phase = PI * u as f64 / f64::from(steps);
                    S::from_f64(min + (lr - min) * (1.0 + libm::cos(phase)) / 2.0)
                }
            }
        })
    }

    /// Sets the rate of step `step` on `optimizer` and returns it.
    ///
    /// # Errors
    ///
    /// As [`lr`](Self::lr); the optimizer is unchanged then.
    pub fn apply<O: LearningRate<S>>(&self, step: u64, optimizer: &mut O) -> Result<S, Error> {
        let lr = self.lr(step)?;
        optimizer.set_lr(lr)?;
        Ok(lr)
    }
}

fn invalid(name: &'static str, expected: &'static str) -> Error {
    Error::InvalidHyperParameter { name, expected }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_follows_the_closed_form_in_f64_and_f32() {
        let (lr, min, steps) = (0.3, 0.01, 40u32);
        let closed =
            |u: f64| min + (lr - min) * 0.5 * (1.0 + (core::f64::consts::PI * u / 40.0).cos());
        let s64 = Schedule::cosine(lr, steps, min);
        let s32 = Schedule::cosine(lr as f32, steps, min as f32);
        for u in 0..=40u64 {
            let want = closed(u as f64);
            assert!((s64.lr(u).unwrap() - want).abs() <= 1e-15 * lr);
            let got = s32.lr(u).unwrap();
            assert!(
                (f64::from(got) - want).abs() <= 1e-7 * lr,
                "{u}: {got} {want}"
            );
        }
        assert_eq!(s64.lr(0).unwrap(), lr);
        assert!((s64.lr(20).unwrap() - (lr + min) / 2.0).abs() < 1e-15);
        assert_eq!(s64.lr(40).unwrap(), min);
        assert_eq!(s64.lr(41).unwrap(), min);
        assert_eq!(s64.lr(u64::MAX).unwrap(), min);
    }

    #[test]
    fn step_decay_changes_exactly_at_the_boundaries() {
        let s = Schedule::step_decay(0.8f64, 3, 0.5);
        let got: [f64; 10] = core::array::from_fn(|t| s.lr(t as u64).unwrap());
        assert_eq!(got, [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1]);
        assert_eq!(s.lr(u64::MAX).unwrap(), 0.0);
        assert_eq!(
            Schedule::step_decay(0.8f32, 1, 1.0).lr(u64::MAX).unwrap(),
            0.8
        );
    }

    #[test]
    fn warmup_ramps_linearly_then_hands_over() {
        let s = Schedule::step_decay(1.0f64, 2, 0.5).with_warmup(4);
        let got: [f64; 9] = core::array::from_fn(|t| s.lr(t as u64).unwrap());
        assert_eq!(got, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25]);
        let c = Schedule::cosine(1.0f64, 4, 0.0).with_warmup(2);
        assert_eq!(c.lr(1).unwrap(), 1.0);
        assert_eq!(c.lr(2).unwrap(), 1.0);
        assert!((c.lr(4).unwrap() - 0.5).abs() < 1e-15);
        assert_eq!(c.lr(6).unwrap(), 0.0);
        let constant = Schedule::constant(0.5f32).with_warmup(1);
        assert_eq!(
            (constant.lr(0).unwrap(), constant.lr(9).unwrap()),
            (0.5, 0.5)
        );
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let name = |s: Schedule<f32>| match s.lr(0) {
            Err(Error::InvalidHyperParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(name(Schedule::constant(-1.0)), "lr");
        assert_eq!(name(Schedule::constant(f32::NAN)), "lr");
        assert_eq!(name(Schedule::step_decay(0.1, 0, 0.5)), "every");
        assert_eq!(name(Schedule::step_decay(0.1, 1, 0.0)), "gamma");
        assert_eq!(name(Schedule::step_decay(0.1, 1, 1.5)), "gamma");
        assert_eq!(name(Schedule::cosine(0.1, 0, 0.0)), "steps");
        assert_eq!(name(Schedule::cosine(0.1, 5, 0.2)), "min_lr");
        assert_eq!(name(Schedule::cosine(0.1, 5, -0.1)), "min_lr");
    }
}
