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

/// Checks that `value` is finite and lies in `[lo, hi]` (or `[lo, hi)` if `hi_open`).
pub(crate) fn check<S: Scalar>(
    value: S,
    name: &'static str,
    lo: f64,
    hi: f64,
    hi_open: bool,
    expected: &'static str,
) -> Result<(), Error> {
    let v = value.to_f64();
    let ok = value.is_finite() && v >= lo && if hi_open { v < hi } else { v <= hi };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { name, expected })
    }
}
