//! [`Layer`]: one step of the network, or a whole chain of them.
//!
//! A layer maps a batch `[Input; N]` to `[Output; N]`, where `Input` and `Output` are
//! rows `[S; K]`. Tuples of layers are layers too ([`crate::sequential`]), and the tuple
//! impl requires each layer's `Input` to be the previous layer's `Output`: a chain whose
//! widths do not match does not compile.

use core::fmt::Debug;

use crate::data::Row;
use crate::{Init, Scalar, SplitMix64, Tensors, Zero};

/// A differentiable map from a batch of input rows to a batch of output rows.
///
/// The layer value holds only its parameters. Everything a pass writes lives in
/// buffers named by associated types, which the caller owns (on the stack, in a
/// `static`, or inside a [`Trainer`](crate::Trainer)):
///
/// | buffer | holds | seed note |
/// |---|---|---|
/// | [`Cache<N>`](Layer::Cache) | what forward computes and backward reads | A^l, Z^(l+1) |
/// | [`Delta<N>`](Layer::Delta) | what backward computes per sample | dE/dZ^(l+1), dE/dA^l |
/// | [`Grads`](Layer::Grads) | the parameter gradients, shaped like the parameters | dE/dW^l, dE/db^l |
///
/// # Generics
///
/// `N` on the methods and buffers is the batch size, the seed's N.
pub trait Layer {
    /// The number type the layer computes in.
    type Scalar: Scalar;
    /// One input row, `[S; K^l]`.
    type Input: Copy
        + Debug
        + PartialEq
        + Zero
        + AsRef<[Self::Scalar]>
        + AsMut<[Self::Scalar]>
        + Row<Self::Scalar>;
    /// One output row, `[S; K^(l+1)]`.
    type Output: Copy
        + Debug
        + PartialEq
        + Zero
        + AsRef<[Self::Scalar]>
        + AsMut<[Self::Scalar]>
        + Row<Self::Scalar>;
    /// Gradients of the trainable parameters, in the order of [`Layer::trainable_mut`].
    type Grads: Tensors<Self::Scalar> + Zero + Copy + Debug + PartialEq;
    /// Forward values kept for the backward pass of a batch of `N`.
    type Cache<const N: usize>: Tensors<Self::Scalar> + Zero + Copy + Debug + PartialEq;
    /// Backward values of a batch of `N`; `()` where nothing is backpropagated.
    type Delta<const N: usize>: Tensors<Self::Scalar> + Zero + Copy + Debug + PartialEq;

    /// Computes the batch's forward values into `cache`.
    fn forward<const N: usize>(&self, x: &[Self::Input; N], cache: &mut Self::Cache<N>);

    /// The output rows of the last [`forward`](Layer::forward) into `cache`.
    fn output<const N: usize>(cache: &Self::Cache<N>) -> &[Self::Output; N];

    /// Where the caller writes dE/d(output) before [`backward`](Layer::backward);
    /// `None` if this layer takes no gradient (it is [`Frozen`](crate::Frozen)).
    fn output_grad<const N: usize>(delta: &mut Self::Delta<N>) -> Option<&mut [Self::Output; N]>;

    /// Backpropagates the gradient in [`output_grad`](Layer::output_grad).
    ///
    /// Needs the same `x` and `cache` as the forward pass before it. Overwrites `grads`
    /// with the gradients of this batch (they are not accumulated across calls) and,
    /// if `dx` is given, writes dE/d(input) into it.
    fn backward<const N: usize>(
        &self,
        x: &[Self::Input; N],
        cache: &Self::Cache<N>,
        delta: &mut Self::Delta<N>,
        grads: &mut Self::Grads,
        dx: Option<&mut [Self::Input; N]>,
    );

    /// Every parameter, trainable or not, as slices in a fixed order.
    fn params(&self) -> impl Iterator<Item = &[Self::Scalar]>;

    /// Every parameter, mutably, in the order of [`params`](Layer::params).
    fn params_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]>;

    /// The trainable parameters, mutably, lined up with [`Tensors::slices`] of
    /// [`Layer::Grads`].
    fn trainable_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]>;

    /// Draws fresh parameters from `rng` with the `init` scheme.
    fn init(&mut self, init: Init, rng: &mut SplitMix64);

    /// Calls `f` once per trainable tensor, in the order of
    /// [`trainable_mut`](Layer::trainable_mut), with three flat slices of equal length:
    /// the parameters, their gradients in `grads`, and the matching tensor of each of
    /// `K` buffers shaped like the gradients (an optimizer's state).
    ///
    /// Optimizers update through this rather than by zipping iterators: every layer
    /// calls `f` directly, so an update keeps no iterator state on the stack and its
    /// loops are as simple as the optimizer's arithmetic.
    fn visit_trainable<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        buffers: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [Self::Scalar], &[Self::Scalar], [&mut [Self::Scalar]; K]),
    );

    /// [`visit_trainable`](Layer::visit_trainable), reading only: an optimizer's check
    /// pass.
    fn inspect_trainable<const K: usize>(
        &self,
        grads: &Self::Grads,
        buffers: [&Self::Grads; K],
        f: &mut impl FnMut(&[Self::Scalar], &[Self::Scalar], [&[Self::Scalar]; K]),
    );
}

/// The gradient type of network `L`: `GradsOf<Net>` reads better than `<Net as Layer>::Grads`.
pub type GradsOf<L> = <L as Layer>::Grads;
/// The forward buffers of network `L` for a batch of `N`.
pub type CacheOf<L, const N: usize> = <L as Layer>::Cache<N>;
/// The backward buffers of network `L` for a batch of `N`.
pub type DeltaOf<L, const N: usize> = <L as Layer>::Delta<N>;
/// A batch of `N` inputs of network `L`: X, `[[S; K^0]; N]`.
pub type InputBatch<L, const N: usize> = [<L as Layer>::Input; N];
/// A batch of `N` outputs (or targets) of network `L`: Y or T, `[[S; K^L]; N]`.
pub type OutputBatch<L, const N: usize> = [<L as Layer>::Output; N];
