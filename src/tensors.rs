//! [`Tensors`]: a fixed-shape collection of scalars, visited as flat slices.
//!
//! Gradients and optimizer state have the shape of a network's trainable parameters.
//! Visiting all three as the same sequence of slices lets an optimizer update any
//! network with one elementwise loop, without knowing its layers.

use crate::Scalar;

/// A fixed-shape collection of scalars, visited as a sequence of flat slices.
///
/// The order and lengths of the slices are fixed by the type, so two values of the same
/// type (say a gradient and a momentum buffer) can be walked in lockstep, and they line
/// up with [`Layer::trainable_mut`](crate::Layer::trainable_mut) of the network whose
/// [`Layer::Grads`](crate::Layer::Grads) they are.
///
/// # Examples
///
/// ```
/// use stackprop::{Dense, Layer, Tanh, Tensors, Zero};
///
/// type Net = (Dense<2, 3, Tanh>, Dense<3, 1, Tanh>);
/// let grads = <<Net as Layer>::Grads>::ZERO;
/// let sizes: Vec<usize> = grads.slices().map(|s| s.len()).collect();
/// assert_eq!(sizes, [6, 3, 3, 1]); // dW^0, db^0, dW^1, db^1
/// ```
pub trait Tensors<S: Scalar> {
    /// The slices, in a fixed order.
    fn slices(&self) -> impl Iterator<Item = &[S]>;
    /// The same slices, mutably.
    fn slices_mut(&mut self) -> impl Iterator<Item = &mut [S]>;

    /// The number of scalars in all slices.
    fn scalar_count(&self) -> usize {
        self.slices().map(<[S]>::len).sum()
    }

    /// Sets every scalar to zero.
    fn fill_zero(&mut self) {
        for s in self.slices_mut() {
            s.fill(S::ZERO);
        }
    }
}

impl<S: Scalar> Tensors<S> for () {
    fn slices(&self) -> impl Iterator<Item = &[S]> {
        core::iter::empty()
    }
    fn slices_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
        core::iter::empty()
    }
}

macro_rules! tensors_tuple {
    ($first:ident $fi:tt $(, $t:ident $i:tt)*) => {
        impl<S: Scalar, $first: Tensors<S> $(, $t: Tensors<S>)*> Tensors<S> for ($first, $($t,)*) {
            fn slices(&self) -> impl Iterator<Item = &[S]> {
                self.$fi.slices()$(.chain(self.$i.slices()))*
            }
            fn slices_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
                self.$fi.slices_mut()$(.chain(self.$i.slices_mut()))*
            }
        }
    };
}

tensors_tuple!(A 0);
tensors_tuple!(A 0, B 1);
tensors_tuple!(A 0, B 1, C 2);
tensors_tuple!(A 0, B 1, C 2, D 3);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tensors_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
