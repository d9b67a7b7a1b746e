//! Adam (`torch.optim.Adam`, no AMSGrad).

use crate::optim::{Optimizer, non_negative, positive, unit_interval};
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
/// computed in PyTorch's order: `p ← p − (lr / (1 − β1^k)) · m / (√v / √(1 − β2^k) + eps)`,
/// with the two bias corrections as per-step scalars (1/√(1 − β2^k) as a factor).
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
        // As PyTorch computes it: the bias corrections fold into two per-step scalars,
        // step = lr / (1 − β1^k) and 1 / √(1 − β2^k), leaving one division per parameter.
        let step = lr / (one - self.beta1_pow);
        let inv_root2 = one / (one - self.beta2_pow).sqrt();
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
                let denom = v.sqrt() * inv_root2 + eps;
                *p -= step * *m / denom;
            }
        }
    }
}
