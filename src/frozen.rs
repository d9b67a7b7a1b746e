//! [`Frozen`]: a layer whose parameters do not train, for fine-tuning.

use crate::{Init, Layer, Rng};

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

impl<L: Layer> Layer for Frozen<L> {
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

    fn params(&self) -> impl Iterator<Item = &[Self::Scalar]> {
        self.0.params()
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        self.0.params_mut()
    }

    fn trainable_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        core::iter::empty()
    }

    fn init(&mut self, init: Init, rng: &mut Rng) {
        self.0.init(init, rng);
    }
}
