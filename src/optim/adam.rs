//! Adam (`torch.optim.Adam`, no AMSGrad).

use crate::optim::{Optimizer, non_negative, positive, unit_interval};
use crate::persist::{Architecture, OptimizerState, RecordError};
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
}

impl<S: Scalar> AdamConfig<S> {
    /// PyTorch's defaults with learning rate `lr`.
    pub fn new(lr: S) -> Self {
        Self {
            lr,
            beta1: S::from_f64(0.9),
            beta2: S::from_f64(0.999),
            eps: S::from_f64(1e-8),
            weight_decay: S::ZERO,
        }
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
        non_negative(self.weight_decay, "weight_decay")
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
/// Its state is two buffers shaped like the network's gradients, plus β1^k and β2^k.
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
    m: GradsOf<L>,
    v: GradsOf<L>,
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
        Ok(())
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
            eps: L::Scalar::ONE,
            weight_decay: L::Scalar::ZERO,
        },
        m: GradsOf::<L>::ZERO,
        v: GradsOf::<L>::ZERO,
        beta1_pow: L::Scalar::ONE,
        beta2_pow: L::Scalar::ONE,
        steps: 0,
    };
}

/// Record order: lr, beta1, beta2, eps, weight_decay, beta1^k, beta2^k, m, v; the
/// counter is k.
impl<L: Architecture> OptimizerState<L> for Adam<L> {
    const ID: u32 = 3;
    const STATE_COUNT: usize = 7 + 2 * L::TRAINABLE_COUNT;

    fn state(&self) -> impl Iterator<Item = &[L::Scalar]> {
        let c = &self.config;
        [
            &c.lr,
            &c.beta1,
            &c.beta2,
            &c.eps,
            &c.weight_decay,
            &self.beta1_pow,
            &self.beta2_pow,
        ]
        .into_iter()
        .map(core::slice::from_ref)
        .chain(self.m.slices())
        .chain(self.v.slices())
    }

    fn counter(&self) -> u64 {
        u64::from(self.steps)
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
        };
        let (beta1_pow, beta2_pow) = (next()?, next()?);
        config.validate()?;
        // β^k lies in [0, 1]; at k = 0 it is exactly 1.
        let power_ok = |p: L::Scalar| p >= zero && p <= one && (counter != 0 || p == one);
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
        // The second moment is a running mean of squares.
        if values.clone().skip(buffers).any(|v| v < zero) {
            return Err(RecordError::InvalidState {
                what: "Adam second moment",
            }
            .into());
        }
        self.config = config;
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
    fn update(&mut self, net: &mut L, grads: &L::Grads) {
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.config;
        let one = L::Scalar::ONE;
        self.steps = self.steps.saturating_add(1);
        self.beta1_pow *= beta1;
        self.beta2_pow *= beta2;
        let correction1 = one - self.beta1_pow;
        let correction2 = one - self.beta2_pow;
        let slices = net
            .trainable_mut()
            .zip(grads.slices())
            .zip(self.m.slices_mut())
            .zip(self.v.slices_mut());
        for (((p, g), m), v) in slices {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g + weight_decay * *p;
                *m = beta1 * *m + (one - beta1) * g;
                *v = beta2 * *v + (one - beta2) * g * g;
                let m_hat = *m / correction1;
                let v_hat = *v / correction2;
                *p -= lr * m_hat / (v_hat.sqrt() + eps);
            }
        }
    }
}
