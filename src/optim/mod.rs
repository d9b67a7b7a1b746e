//! Optimizers with PyTorch's update rules: [`Sgd`] (momentum, weight decay) and [`Adam`].
//!
//! An optimizer's state has the shape of the network's trainable parameters (its
//! [`Layer::Grads`]), held in fixed arrays inside the optimizer value. Every optimizer
//! is [`Zero`](crate::Zero) with a learning rate of 0 (a no-op), so it can sit in a
//! `static` and be configured at run time with `set_config`.
//!
//! # The update guard
//!
//! [`Optimizer::update`] never leaves a network or its optimizer half-updated or
//! non-finite. It runs in two passes over the parameters: the first computes every
//! new parameter and state value and checks that it is finite without writing
//! anything, the second writes them. The arithmetic of both passes is the same, so
//! what is written is what was checked. (Adam's first pass bounds its step instead
//! of taking the square root, and computes it exactly only where the bound fails.) A refused step returns
//! [`Error::NonFiniteGradient`] or [`Error::NonFiniteUpdate`] and changes nothing:
//! no copy of the network or the state is needed, at the price of computing the
//! update twice (measured in the README).
//!
//! # Gradient clipping
//!
//! Both configs take an optional `clip_norm` and `clip_value`, applied to the raw
//! gradients before weight decay and momentum, with PyTorch's semantics:
//! `torch.nn.utils.clip_grad_norm_` (every gradient scaled by
//! `max_norm / (total_norm + 1e-6)` when that is below 1, `total_norm` the L2 norm
//! over all trainable gradients), then `clip_grad_value_` (each gradient clamped to
//! `[-clip_value, clip_value]`). With both off, the update is bit-for-bit the one
//! without clipping.

mod adam;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use schedule::{Decay, Schedule};
pub use sgd::{NoMomentum, Sgd, SgdConfig, Velocity, WithMomentum};

use crate::scalar::all_finite;
use crate::{Error, Layer, Scalar, Tensors};

/// Updates a network's trainable parameters from their gradients.
pub trait Optimizer<L: Layer> {
    /// Applies one step: every slice of [`Layer::trainable_mut`] is moved using the
    /// matching slice of `grads`.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteGradient`] if a gradient is NaN or infinite,
    /// [`Error::NonFiniteUpdate`] if a new parameter or state value would be. Either
    /// way neither `net` nor the optimizer is changed.
    fn update(&mut self, net: &mut L, grads: &L::Grads) -> Result<(), Error>;
}

/// An optimizer whose learning rate can be read and set on its own, e.g. by the
/// [`Watchdog`](crate::Watchdog) lowering it after a divergence.
///
/// # Examples
///
/// ```
/// use stackprop::{Dense, LearningRate, Sgd, SgdConfig, Tanh};
/// type Net = (Dense<2, 3, Tanh>, Dense<3, 1, Tanh>);
/// let mut sgd = Sgd::<Net>::new(SgdConfig::new(0.1))?;
/// sgd.set_lr(0.05)?;
/// assert_eq!(sgd.lr(), 0.05);
/// assert!(sgd.set_lr(f32::NAN).is_err());
/// # Ok::<(), stackprop::Error>(())
/// ```
pub trait LearningRate<S> {
    /// The learning rate in force.
    fn lr(&self) -> S;

    /// Replaces the learning rate, keeping every other setting and the state.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if `lr` is not finite and ≥ 0; nothing changes.
    fn set_lr(&mut self, lr: S) -> Result<(), Error>;
}

/// The clipping of one step's gradients: first scaled, then clamped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clip<S> {
    scale: S,
    limit: S,
}

impl<S: Scalar> Clip<S> {
    /// The clipping of this step, `None` if both thresholds are off.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteGradient`] if clipping is on and a gradient is not finite.
    #[inline(never)]
    pub(crate) fn new<G: Tensors<S>>(
        grads: &G,
        clip_norm: Option<S>,
        clip_value: Option<S>,
    ) -> Result<Option<Self>, Error> {
        let scale = match clip_norm {
            Some(max_norm) => {
                let coef = max_norm / (global_norm(grads)? + S::from_f64(1e-6));
                if coef < S::ONE { coef } else { S::ONE }
            }
            None if clip_value.is_none() => return Ok(None),
            // Clamping would hide an infinite gradient from the check pass.
            None if !grads.slices().all(all_finite) => return Err(Error::NonFiniteGradient),
            None => S::ONE,
        };
        let limit = clip_value.unwrap_or(S::from_f64(f64::INFINITY));
        Ok(Some(Self { scale, limit }))
    }

    /// The clipped gradient.
    #[inline(always)]
    pub(crate) fn apply(self, g: S) -> S {
        let g = g * self.scale;
        if g > self.limit {
            self.limit
        } else if g < -self.limit {
            -self.limit
        } else {
            g
        }
    }
}

/// The error for a step whose check failed: the gradients' fault, or the update's.
pub(crate) fn refusal<S: Scalar, G: Tensors<S>>(grads: &G) -> Error {
    if grads.slices().all(all_finite) {
        Error::NonFiniteUpdate
    } else {
        Error::NonFiniteGradient
    }
}

/// The L2 norm of all gradients together: summed directly, or, if the sum of squares
/// overflows, scaled by the largest magnitude first.
///
/// # Errors
///
/// [`Error::NonFiniteGradient`] if a gradient is NaN or infinite.
pub(crate) fn global_norm<S: Scalar, G: Tensors<S>>(grads: &G) -> Result<S, Error> {
    let sum = grads
        .slices()
        .flatten()
        .fold(S::ZERO, |sum, &g| sum + g * g);
    if sum.is_finite() {
        return Ok(sum.sqrt());
    }
    if !grads.slices().all(all_finite) {
        return Err(Error::NonFiniteGradient);
    }
    let largest = grads
        .slices()
        .flatten()
        .fold(S::ZERO, |m, &g| m.max(g.abs()));
    let sum = grads.slices().flatten().fold(S::ZERO, |sum, &g| {
        let g = g / largest;
        sum + g * g
    });
    Ok(largest * sum.sqrt())
}

/// Checks an optional clipping threshold: absent, or finite and > 0.
pub(crate) fn clip_threshold<S: Scalar>(value: Option<S>, name: &'static str) -> Result<(), Error> {
    match value {
        Some(value) => positive(value, name),
        None => Ok(()),
    }
}

/// The clip thresholds as state records store them: 0 for off (a valid threshold is
/// > 0).
pub(crate) fn recorded_clip<S: Scalar>(clip_norm: Option<S>, clip_value: Option<S>) -> [S; 2] {
    [clip_norm.unwrap_or(S::ZERO), clip_value.unwrap_or(S::ZERO)]
}

/// A clip threshold read back from a state record: +0 is off. Anything else, −0
/// included, is a threshold for the configuration's check to accept or refuse, so an
/// accepted record always saves back to the same bytes.
pub(crate) fn clip_from_record<S: Scalar>(value: S) -> Option<S> {
    if value.to_f64().to_bits() == 0 {
        None
    } else {
        Some(value)
    }
}

/// Checks that `value` is finite and ≥ 0 (learning rates, weight decay).
pub(crate) fn non_negative<S: Scalar>(value: S, name: &'static str) -> Result<(), Error> {
    in_range(value, name, value >= S::ZERO, "finite and >= 0")
}

/// Checks that `value` is finite and > 0 (Adam's eps).
pub(crate) fn positive<S: Scalar>(value: S, name: &'static str) -> Result<(), Error> {
    in_range(value, name, value > S::ZERO, "finite and > 0")
}

/// Checks that `value` lies in [0, 1) (momentum, Adam's betas).
pub(crate) fn unit_interval<S: Scalar>(value: S, name: &'static str) -> Result<(), Error> {
    in_range(value, name, value >= S::ZERO && value < S::ONE, "in [0, 1)")
}

fn in_range<S: Scalar>(
    value: S,
    name: &'static str,
    ok: bool,
    expected: &'static str,
) -> Result<(), Error> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { name, expected })
    }
}
