//! [`Footprint`]: the bytes a network and its training buffers take, known at compile time.

/// Bytes of each part of a training setup. Every figure is a `size_of`, so it is a
/// constant the compiler knows, and a firmware author can check a RAM budget at
/// build time.
///
/// # Examples
///
/// ```
/// use stackprop::{Dense, Mse, Sgd, Sigmoid, Tanh, Trainer};
/// type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
/// type T = Trainer<Net, Sgd<Net>, Mse, 4>;
///
/// const BYTES: usize = T::FOOTPRINT.total();
/// const _: () = assert!(BYTES <= 2 * 1024, "the XOR trainer must fit in 2 KiB");
/// assert_eq!(T::FOOTPRINT.params, (2 * 8 + 8 + 8 + 1) * 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Weights and biases (W^l, b^l), frozen layers included.
    pub params: usize,
    /// Parameter gradients (dE/dW^l, dE/db^l) of the trainable layers.
    pub grads: usize,
    /// Optimizer state (momentum, Adam moments) and hyper-parameters.
    pub optimizer: usize,
    /// Forward buffers (A^l, Z^(l+1)) for one batch.
    pub cache: usize,
    /// Backward buffers (dE/dZ^(l+1), dE/dA^l) for one batch.
    pub delta: usize,
    /// Everything else in the trainer: the staging batch (X, T) and the loss value.
    pub other: usize,
}

impl Footprint {
    /// The sum of all parts.
    pub const fn total(&self) -> usize {
        self.params + self.grads + self.optimizer + self.cache + self.delta + self.other
    }
}
