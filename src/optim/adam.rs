//! Adam (`torch.optim.Adam`, no AMSGrad).

use crate::optim::{
    Clip, LearningRate, Optimizer, clip_from_record, clip_threshold, non_negative, positive,
    recorded_clip, refusal, unit_interval,
};
use crate::persist::{Architecture, OptimizerState, RecordError};
use crate::scalar::FiniteProbe;
use crate::{Error, GradsOf, Layer, Scalar, Tensors, Zero};

/// Hyper-parameters of [`Adam`], with PyTorch's meaning and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig<S> {
    /// Learning rate: finite and ≥ 0. Default 1e-3.
    pub lr: S,
    /// Decay of the first moment, in [0, 1). Default 0.9.
    pub beta1: S,
    /// Decay of the second moment, in [0, 1). Default 0.999.
    pub beta2: S,
    /// Added to √v̂ in the denominator: finite and > 0. Default 1e-8.
    pub eps: S,
    /// L2 penalty λ ≥ 0, added to the gradient as λ·p (PyTorch's `weight_decay`). Default 0.
    pub weight_decay: S,
    /// Largest L2 norm of all gradients together (`clip_grad_norm_`): finite and > 0,
    /// or `None` (the default) for no norm clipping. See [`crate::optim`].
    pub clip_norm: Option<S>,
    /// Largest magnitude of each gradient (`clip_grad_value_`): finite and > 0, or
    /// `None` (the default) for no value clipping. See [`crate::optim`].
    pub clip_value: Option<S>,
}

impl<S: Scalar> AdamConfig<S> {
    /// PyTorch's defaults with learning rate `lr` (`const`, so a firmware can keep
    /// its configuration in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::prelude::AdamConfig;
    /// static CONFIG: AdamConfig<f32> = AdamConfig::new(1e-3).with_clip_norm(1.0);
    /// assert_eq!((CONFIG.beta1, CONFIG.beta2, CONFIG.eps), (0.9, 0.999, 1e-8));
    /// assert!(CONFIG.validate().is_ok());
    /// ```
    pub const fn new(lr: S) -> Self {
        Self {
            lr,
            beta1: S::ADAM_BETA1,
            beta2: S::ADAM_BETA2,
            eps: S::ADAM_EPS,
            weight_decay: S::ZERO,
            clip_norm: None,
            clip_value: None,
        }
    }

    /// This config with the moment decays β1 and β2.
    pub const fn with_betas(mut self, beta1: S, beta2: S) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// This config with `eps`.
    pub const fn with_eps(mut self, eps: S) -> Self {
        self.eps = eps;
        self
    }

    /// This config with weight decay λ.
    pub const fn with_weight_decay(mut self, weight_decay: S) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// This config with the gradients' global L2 norm clipped to `max_norm`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::AdamConfig;
    /// let config = AdamConfig::new(1e-3_f32).with_clip_norm(1.0);
    /// assert_eq!(config.clip_norm, Some(1.0));
    /// assert!(AdamConfig::new(1e-3_f32).with_clip_value(f32::NAN).validate().is_err());
    /// ```
    pub const fn with_clip_norm(mut self, max_norm: S) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }

    /// This config with every gradient clamped to `[-max_value, max_value]`.
    pub const fn with_clip_value(mut self, max_value: S) -> Self {
        self.clip_value = Some(max_value);
        self
    }

    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        non_negative(self.lr, "lr")?;
        unit_interval(self.beta1, "beta1")?;
        unit_interval(self.beta2, "beta2")?;
        positive(self.eps, "eps")?;
        non_negative(self.weight_decay, "weight_decay")?;
        clip_threshold(self.clip_norm, "clip_norm")?;
        clip_threshold(self.clip_value, "clip_value")
    }
}

impl<S: Scalar> Default for AdamConfig<S> {
    fn default() -> Self {
        Self::new(S::from_f64(1e-3))
    }
}

/// Adam with PyTorch's update, step counter k from 1:
///
/// ```text
/// m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
/// p ← p − lr · (m / (1 − β1^k)) / (√(v / (1 − β2^k)) + eps)
/// ```
///
/// computed in PyTorch's order: `p ← p − (lr / (1 − β1^k)) · m / (√v / √(1 − β2^k) + eps)`,
/// with the two bias corrections as per-step scalars.
///
/// Its state is two buffers shaped like the network's gradients, plus β1^k and β2^k.
///
/// [`Adam::ZERO`](Zero::ZERO) is unconfigured: every field is 0 (so a `static` holding
/// it costs no flash, only zeroed RAM), and its update does nothing until
/// [`set_config`](Adam::set_config) gives it a valid configuration.
///
/// # Examples
///
/// ```
/// use stackprop::{Adam, AdamConfig, Dense, Identity, Relu};
/// type Net = (Dense<4, 6, Relu>, Dense<6, 3, Identity>);
/// let adam = Adam::<Net>::new(AdamConfig::new(0.01))?;
/// assert_eq!(adam.steps(), 0);
/// # Ok::<(), stackprop::Error>(())
/// ```
#[derive(Debug)]
pub struct Adam<L: Layer> {
    config: AdamConfig<L::Scalar>,
    /// `clip_norm` and `clip_value` as recorded in state records: 0 for off.
    clip: [L::Scalar; 2],
    m: GradsOf<L>,
    v: GradsOf<L>,
    /// β1^k and β2^k; 0 before the first step.
    beta1_pow: L::Scalar,
    beta2_pow: L::Scalar,
    steps: u32,
}

impl<L: Layer> Clone for Adam<L> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: Layer> Copy for Adam<L> {}

impl<L: Layer> Adam<L> {
    /// An optimizer with `config` and zeroed moments.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if a field is out of range.
    pub fn new(config: AdamConfig<L::Scalar>) -> Result<Self, Error> {
        let mut adam = Self::ZERO;
        adam.set_config(config)?;
        Ok(adam)
    }

    /// The hyper-parameters in force.
    pub fn config(&self) -> AdamConfig<L::Scalar> {
        self.config
    }

    /// Replaces the hyper-parameters, keeping the moments and the step count.
    ///
    /// # Errors
    ///
    /// As [`Adam::new`]; on error nothing changes.
    pub fn set_config(&mut self, config: AdamConfig<L::Scalar>) -> Result<(), Error> {
        config.validate()?;
        self.config = config;
        self.clip = recorded_clip(config.clip_norm, config.clip_value);
        Ok(())
    }

    /// `true` once a valid configuration was set (by [`new`](Adam::new),
    /// [`set_config`](Adam::set_config) or loading a training state); `Adam::ZERO` is
    /// not, and refuses to step with [`Error::Unconfigured`].
    pub fn is_configured(&self) -> bool {
        // `Adam::ZERO` has eps 0; every valid configuration has eps > 0.
        self.config.eps != L::Scalar::ZERO
    }

    /// The number of updates taken, k.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Forgets the moments and the step count.
    pub fn reset(&mut self) {
        *self = Self {
            config: self.config,
            ..Self::ZERO
        };
    }
}

impl<L: Layer> Zero for Adam<L> {
    const ZERO: Self = Self {
        config: AdamConfig {
            lr: L::Scalar::ZERO,
            beta1: L::Scalar::ZERO,
            beta2: L::Scalar::ZERO,
            eps: L::Scalar::ZERO,
            weight_decay: L::Scalar::ZERO,
            clip_norm: None,
            clip_value: None,
        },
        clip: [L::Scalar::ZERO; 2],
        m: GradsOf::<L>::ZERO,
        v: GradsOf::<L>::ZERO,
        beta1_pow: L::Scalar::ZERO,
        beta2_pow: L::Scalar::ZERO,
        steps: 0,
    };
}

impl<L: Layer> LearningRate<L::Scalar> for Adam<L> {
    fn lr(&self) -> L::Scalar {
        self.config.lr
    }

    fn set_lr(&mut self, lr: L::Scalar) -> Result<(), Error> {
        if !self.is_configured() {
            return Err(Error::Unconfigured);
        }
        non_negative(lr, "lr")?;
        self.config.lr = lr;
        Ok(())
    }
}

/// Record order: lr, beta1, beta2, eps, weight_decay, clip_norm, clip_value (0 for
/// off), beta1^k, beta2^k (0 before the first step), m, v; the counter is k.
impl<L: Architecture> OptimizerState<L> for Adam<L> {
    const ID: u32 = 3;
    const STATE_COUNT: usize = 9 + 2 * L::TRAINABLE_COUNT;

    fn state(&self) -> impl Iterator<Item = &[L::Scalar]> {
        let c = &self.config;
        [&c.lr, &c.beta1, &c.beta2, &c.eps, &c.weight_decay]
            .into_iter()
            .map(core::slice::from_ref)
            .chain([&self.clip[..]])
            .chain([&self.beta1_pow, &self.beta2_pow].map(core::slice::from_ref))
            .chain(self.m.slices())
            .chain(self.v.slices())
    }

    fn counter(&self) -> u64 {
        u64::from(self.steps)
    }

    fn is_configured(&self) -> bool {
        Adam::is_configured(self)
    }

    fn restore(
        &mut self,
        state: impl Iterator<Item = L::Scalar> + Clone,
        counter: u64,
    ) -> Result<(), Error> {
        let one = L::Scalar::ONE;
        let zero = L::Scalar::ZERO;
        let mut values = state;
        let mut next = || values.next().ok_or(RecordError::Inconsistent);
        let config = AdamConfig {
            lr: next()?,
            beta1: next()?,
            beta2: next()?,
            eps: next()?,
            weight_decay: next()?,
            clip_norm: clip_from_record(next()?),
            clip_value: clip_from_record(next()?),
        };
        let (beta1_pow, beta2_pow) = (next()?, next()?);
        // Saving refuses an unconfigured optimizer, so a record always holds a valid
        // configuration.
        config.validate()?;
        // β^k lies in [0, 1]; before the first step it is 0.
        let power_ok = |p: L::Scalar| p >= zero && p <= one && (counter != 0 || p == zero);
        if !power_ok(beta1_pow) || !power_ok(beta2_pow) {
            return Err(RecordError::InvalidState {
                what: "Adam beta power",
            }
            .into());
        }
        let steps = u32::try_from(counter).map_err(|_| RecordError::InvalidState {
            what: "Adam step count",
        })?;
        let buffers = self.m.scalar_count();
        if buffers != L::TRAINABLE_COUNT || self.v.scalar_count() != buffers {
            return Err(RecordError::Inconsistent.into());
        }
        // Before the first step both moments are zero (a fresh or reset optimizer).
        if counter == 0 && values.clone().take(2 * buffers).any(|v| v != zero) {
            return Err(RecordError::InvalidState {
                what: "Adam moments before the first step",
            }
            .into());
        }
        // The second moment is a running mean of squares.
        if values.clone().skip(buffers).any(|v| v < zero) {
            return Err(RecordError::InvalidState {
                what: "Adam second moment",
            }
            .into());
        }
        self.config = config;
        self.clip = recorded_clip(config.clip_norm, config.clip_value);
        self.beta1_pow = beta1_pow;
        self.beta2_pow = beta2_pow;
        self.steps = steps;
        let buffers = self.m.slices_mut().chain(self.v.slices_mut()).flatten();
        for (dst, src) in buffers.zip(values) {
            *dst = src;
        }
        Ok(())
    }
}

impl<L: Layer> Optimizer<L> for Adam<L> {
    fn update(&mut self, net: &mut L, grads: &L::Grads) -> Result<(), Error> {
        let config = self.config;
        if !self.is_configured() {
            return Err(Error::Unconfigured);
        }
        match Clip::new(grads, config.clip_norm, config.clip_value)? {
            None => self.step(net, grads, |g| g),
            Some(clip) => self.step(net, grads, |g| clip.apply(g)),
        }
    }
}

impl<L: Layer> Adam<L> {
    /// One guarded step with the gradients seen through `clip`: a check pass, then a
    /// writing pass with the same arithmetic. Out of line, so that the clipped and
    /// unclipped variants each get a frame of their own.
    #[inline(never)]
    fn step(
        &mut self,
        net: &mut L,
        grads: &L::Grads,
        clip: impl Fn(L::Scalar) -> L::Scalar + Copy,
    ) -> Result<(), Error> {
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            ..
        } = self.config;
        let one = L::Scalar::ONE;
        let (beta1_pow, beta2_pow) = if self.steps == 0 {
            (beta1, beta2)
        } else {
            (self.beta1_pow * beta1, self.beta2_pow * beta2)
        };
        let correction1 = one - beta1_pow;
        // As PyTorch computes it: the bias corrections fold into two per-step scalars,
        // lr / (1 − β1^k) and 1 / √(1 − β2^k), leaving one division per parameter.
        let step_size = lr / correction1;
        let inv_root2 = one / (one - beta2_pow).sqrt();
        let moments = |p: L::Scalar, g: L::Scalar, m: L::Scalar, v: L::Scalar| {
            let g = clip(g) + weight_decay * p;
            (
                beta1 * m + (one - beta1) * g,
                beta2 * v + (one - beta2) * g * g,
            )
        };
        let step = |p: L::Scalar, m: L::Scalar, v: L::Scalar| {
            p - step_size * m / (v.sqrt() * inv_root2 + eps)
        };
        // The check pass. Its cheap form skips the square root and the division: the
        // denominator is ≥ eps, so |step| ≤ |m|·bound, and if (|p| + |m|·bound)·2 is
        // finite, so is the new parameter, with room for rounding. Only if that fails
        // somewhere is the exact update computed.
        let two = one + one;
        let bound = (one / correction1) * (one / eps).max(one) * lr.max(one);
        let mut probe = FiniteProbe::new();
        net.inspect_trainable(grads, [&self.m, &self.v], &mut |p, g, [m, v]| {
            for (((&p, &g), &m), &v) in p.iter().zip(g).zip(m).zip(v) {
                let (m, v) = moments(p, g, m, v);
                probe.add(m);
                probe.add(v);
                probe.add((p.abs() + m.abs() * bound) * two);
            }
        });
        if !probe.all_finite() {
            let mut probe = FiniteProbe::new();
            net.inspect_trainable(grads, [&self.m, &self.v], &mut |p, g, [m, v]| {
                for (((&p, &g), &m), &v) in p.iter().zip(g).zip(m).zip(v) {
                    let (m, v) = moments(p, g, m, v);
                    probe.add(m);
                    probe.add(v);
                    probe.add(step(p, m, v));
                }
            });
            if !probe.all_finite() {
                return Err(refusal(grads));
            }
        }
        // Re-read the values in the writing pass rather than keep all of them live from
        // the check pass: on a small fully unrolled network that would spill them to
        // the stack.
        let net = core::hint::black_box(&mut *net);
        self.steps = self.steps.saturating_add(1);
        self.beta1_pow = beta1_pow;
        self.beta2_pow = beta2_pow;
        net.visit_trainable(grads, [&mut self.m, &mut self.v], &mut |p, g, [m, v]| {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                (*m, *v) = moments(*p, g, *m, *v);
                *p = step(*p, *m, *v);
            }
        });
        Ok(())
    }
}
