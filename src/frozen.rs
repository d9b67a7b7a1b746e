//! [`Frozen`] and [`FrozenRef`]: layers whose parameters do not train, for fine-tuning.

use crate::{Init, Layer, SplitMix64};

/// A layer used as a fixed function: it runs forward, but takes no gradient.
///
/// Its [`Grads`](Layer::Grads) and [`Delta`](Layer::Delta) are `()`, so a frozen layer
/// costs no gradient, optimizer or backward memory at all, and the backward pass stops
/// at it: layers *before* a frozen layer receive no gradient either. Put frozen layers
/// first, as in fine-tuning the last layer of a pre-trained network.
///
/// # Examples
///
/// ```
/// use stackprop::{Dense, Frozen, GradsOf, Identity, Relu, Zero};
///
/// type Net = (Frozen<Dense<64, 32, Relu>>, Dense<32, 10, Identity>);
/// let net: Net = (Frozen(Dense::ZERO), Dense::ZERO);
/// // Gradients exist only for the 32·10 + 10 trainable parameters.
/// assert_eq!(size_of::<GradsOf<Net>>(), (32 * 10 + 10) * 4);
/// # let _ = net;
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frozen<L>(pub L);

impl<L: crate::Zero> crate::Zero for Frozen<L> {
    const ZERO: Self = Frozen(L::ZERO);
}

/// The layer items that [`Frozen`] and [`FrozenRef`] share: everything but where the
/// parameters live.
macro_rules! frozen_layer {
    ($ty:ty, { $($own:tt)* }) => {
        impl<L: Layer> Layer for $ty {
            type Scalar = L::Scalar;
            type Input = L::Input;
            type Output = L::Output;
            type Grads = ();
            type Cache<const N: usize> = L::Cache<N>;
            type Delta<const N: usize> = ();

            #[inline]
            fn forward<const N: usize>(&self, x: &[Self::Input; N], cache: &mut Self::Cache<N>) {
                self.0.forward(x, cache);
            }

            #[inline(always)]
            fn output<const N: usize>(cache: &Self::Cache<N>) -> &[Self::Output; N] {
                L::output(cache)
            }

            #[inline(always)]
            fn output_grad<const N: usize>(_delta: &mut ()) -> Option<&mut [Self::Output; N]> {
                None
            }

            #[inline(always)]
            fn backward<const N: usize>(
                &self,
                _x: &[Self::Input; N],
                _cache: &Self::Cache<N>,
                _delta: &mut (),
                _grads: &mut (),
                _dx: Option<&mut [Self::Input; N]>,
            ) {
            }

            $($own)*

            fn trainable_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
                core::iter::empty()
            }

            #[inline(always)]
            fn visit_trainable<const K: usize>(
                &mut self,
                _grads: &(),
                _buffers: [&mut (); K],
                _f: &mut impl FnMut(&mut [Self::Scalar], &[Self::Scalar], [&mut [Self::Scalar]; K]),
            ) {
            }

            #[inline(always)]
            fn inspect_trainable<const K: usize>(
                &self,
                _grads: &(),
                _buffers: [&(); K],
                _f: &mut impl FnMut(&[Self::Scalar], &[Self::Scalar], [&[Self::Scalar]; K]),
            ) {
            }
        }
    };
}

frozen_layer!(Frozen<L>, {
    fn params(&self) -> impl Iterator<Item = &[Self::Scalar]> {
        self.0.params()
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        self.0.params_mut()
    }

    fn init(&mut self, init: Init, rng: &mut SplitMix64) {
        self.0.init(init, rng);
    }
});

/// A frozen layer borrowed from a `static`: its parameters stay where they are, in
/// flash on a microcontroller, and take no RAM at all. Otherwise it is a [`Frozen`].
///
/// The parameters belong to the firmware image, not to the network's state, so
/// [`params`](Layer::params) and [`params_mut`](Layer::params_mut) skip them (a saved
/// network does not include them) and [`init`](Layer::init) leaves them alone.
///
/// # Examples
///
/// ```
/// use stackprop::*;
///
/// // Weights trained elsewhere, compiled into the image (all zero here, for brevity).
/// static FEATURES: Dense<4, 3, Relu> = Dense::new([[0.0; 3]; 4], [0.0; 3]);
///
/// type Net = (FrozenRef<Dense<4, 3, Relu>>, Dense<3, 2, Identity>);
/// type Tuner = Trainer<Net, Sgd<Net>, SoftmaxCrossEntropy, 8>;
/// // A whole trainer that can sit in a `static`, with the first layer left in flash.
/// static TUNER: Tuner = Tuner::new((FrozenRef(&FEATURES), Dense::ZERO), Sgd::ZERO, SoftmaxCrossEntropy);
/// assert_eq!(Tuner::FOOTPRINT.params, size_of::<usize>() + (3 * 2 + 2) * 4);
/// # let _ = &TUNER;
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrozenRef<L: 'static>(pub &'static L);

frozen_layer!(FrozenRef<L>, {
    fn params(&self) -> impl Iterator<Item = &[Self::Scalar]> {
        core::iter::empty()
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        core::iter::empty()
    }

    fn init(&mut self, _init: Init, _rng: &mut SplitMix64) {}
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Mse, Relu, Sgd, SgdConfig, Tanh, Tensors, Trainer, WithMomentum, Zero};

    type Open = (
        Dense<3, 4, Tanh, f64>,
        Dense<4, 2, Relu, f64>,
        Dense<2, 2, Tanh, f64>,
    );
    type Tuned = (
        Frozen<Dense<3, 4, Tanh, f64>>,
        Frozen<Dense<4, 2, Relu, f64>>,
        Dense<2, 2, Tanh, f64>,
    );

    fn nets() -> (Open, Tuned) {
        let mut open = Open::ZERO;
        open.init(Init::GlorotUniform, &mut SplitMix64::new(3));
        (open, (Frozen(open.0), Frozen(open.1), open.2))
    }

    const X: [[f64; 3]; 2] = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]];
    const T: [[f64; 2]; 2] = [[0.1, -0.3], [0.7, 0.2]];

    #[test]
    fn trainable_layer_gets_the_same_gradient_as_unfrozen() {
        let (open, tuned) = nets();
        let mut a = Trainer::<Open, (), Mse, 2>::new(open, (), Mse);
        let mut b = Trainer::<Tuned, (), Mse, 2>::new(tuned, (), Mse);
        let ea = a.gradients(&X, &T, None).expect("finite");
        let eb = b.gradients(&X, &T, None).expect("finite");
        assert_eq!(ea, eb);
        assert_eq!(a.grads.2, b.grads.2);
        assert_eq!(b.grads.scalar_count(), 2 * 2 + 2);
    }

    #[test]
    fn frozen_layers_do_not_move() {
        let (_, tuned) = nets();
        let sgd = Sgd::<Tuned, WithMomentum>::new(SgdConfig::new(0.5)).expect("valid");
        let mut trainer = Trainer::<Tuned, _, Mse, 2>::new(tuned, sgd, Mse);
        for _ in 0..5 {
            trainer.step(&X, &T).expect("finite");
        }
        assert_eq!(trainer.net.0, tuned.0);
        assert_eq!(trainer.net.1, tuned.1);
        assert_ne!(trainer.net.2, tuned.2);
    }

    #[test]
    fn a_frozen_middle_layer_stops_the_backward_pass() {
        type Middle = (
            Dense<3, 4, Tanh, f64>,
            Frozen<Dense<4, 2, Relu, f64>>,
            Dense<2, 2, Tanh, f64>,
        );
        let (open, _) = nets();
        let mut trainer =
            Trainer::<Middle, (), Mse, 2>::new((open.0, Frozen(open.1), open.2), (), Mse);
        trainer.gradients(&X, &T, None).expect("finite");
        assert!(trainer.grads.0.slices().flatten().all(|&g| g == 0.0));
        assert!(trainer.grads.2.slices().flatten().any(|&g| g != 0.0));
    }

    #[test]
    fn a_borrowed_layer_trains_like_an_owned_frozen_one() {
        static FIRST: Dense<3, 4, Tanh, f64> = Dense::new(
            [
                [0.3, -0.2, 0.1, 0.5],
                [-0.4, 0.2, 0.6, -0.1],
                [0.05, 0.3, -0.25, 0.2],
            ],
            [0.1, -0.1, 0.0, 0.2],
        );
        type Owned = (Frozen<Dense<3, 4, Tanh, f64>>, Dense<4, 2, Relu, f64>);
        type Borrowed = (FrozenRef<Dense<3, 4, Tanh, f64>>, Dense<4, 2, Relu, f64>);
        let mut last = Dense::<4, 2, Relu, f64>::ZERO;
        last.init(Init::GlorotUniform, &mut SplitMix64::new(5));
        let sgd = SgdConfig::new(0.5);
        let mut owned = Trainer::<Owned, _, Mse, 2>::new(
            (Frozen(FIRST), last),
            Sgd::<_, crate::NoMomentum>::new(sgd).expect("valid"),
            Mse,
        );
        let mut borrowed = Trainer::<Borrowed, _, Mse, 2>::new(
            (FrozenRef(&FIRST), last),
            Sgd::<_, crate::NoMomentum>::new(sgd).expect("valid"),
            Mse,
        );
        for _ in 0..5 {
            let a = owned.step(&X, &T).expect("finite");
            let b = borrowed.step(&X, &T).expect("finite");
            assert_eq!(a, b);
        }
        assert_eq!(owned.net.1, borrowed.net.1);
        assert_ne!(borrowed.net.1, last);
        // The borrowed parameters are not part of the network's state.
        assert_eq!(borrowed.net.params().flatten().count(), 4 * 2 + 2);
        assert_eq!(owned.net.params().flatten().count(), 3 * 4 + 4 + 4 * 2 + 2);
    }
}
