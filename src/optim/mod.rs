//! Optimizers with PyTorch's update rules: [`Sgd`] (momentum, weight decay) and [`Adam`].
//!
//! An optimizer's state has the shape of the network's trainable parameters (its
//! [`Layer::Grads`]), held in fixed arrays inside the optimizer value. Every optimizer
//! is [`Zero`](crate::Zero) with a learning rate of 0 (a no-op), so it can sit in a
//! `static` and be configured at run time with `set_config`.

mod adam;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use sgd::{NoMomentum, Sgd, SgdConfig, Velocity, WithMomentum};

use crate::{Error, Layer, Scalar};

/// Updates a network's trainable parameters from their gradients.
pub trait Optimizer<L: Layer> {
    /// Applies one step: every slice of [`Layer::trainable_mut`] is moved using the
    /// matching slice of `grads`.
    fn update(&mut self, net: &mut L, grads: &L::Grads);
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
