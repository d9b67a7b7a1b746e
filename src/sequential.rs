//! Networks as tuples of layers: `(Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>)`.
//!
//! A tuple of 2 to 6 layers is itself a [`Layer`]. Its impl binds each element's
//! `Input` to the previous element's `Output`, so the layer chain is checked by the
//! compiler:
//!
//! ```compile_fail,E0271
//! use stackprop::{Dense, Layer, Sigmoid, Tanh};
//! fn network<L: Layer>() {}
//! // 8 outputs feed a layer that expects 4 inputs: does not compile.
//! network::<(Dense<2, 8, Tanh>, Dense<4, 1, Sigmoid>)>();
//! ```
//!
//! while the same code with matching widths does (so the failure above is the
//! width mismatch and nothing else):
//!
//! ```
//! use stackprop::{Dense, Layer, Sigmoid, Tanh};
//! fn network<L: Layer>() {}
//! network::<(Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>)>();
//! ```
//!
//! The buffers of a tuple are the tuples of its layers' buffers, so `net.0`,
//! `cache.0` and `grads.0` all belong to the first layer.

use crate::{Init, Layer, Rng};

/// Implements [`Layer`] for a tuple.
///
/// `$l0 $i0` is the first layer; each `[$prev $p => $cur $c]` is a link from layer
/// `$prev` (tuple index `$p`) to layer `$cur`, listed front to back for the forward pass
/// and again back to front for the backward pass.
macro_rules! sequential {
    (
        first: $l0:ident $i0:tt, last: $ll:ident $il:tt;
        forward: $([$fp:ident $fpi:tt => $fc:ident $fci:tt])+;
        backward: $([$bp:ident $bpi:tt => $bc:ident $bci:tt])+;
    ) => {
        impl<$l0: Layer $(, $fc: Layer<Scalar = $l0::Scalar, Input = $fp::Output>)+> Layer
            for ($l0, $($fc,)+)
        {
            type Scalar = $l0::Scalar;
            type Input = $l0::Input;
            type Output = $ll::Output;
            type Grads = ($l0::Grads, $($fc::Grads,)+);
            type Cache<const N: usize> = ($l0::Cache<N>, $($fc::Cache<N>,)+);
            type Delta<const N: usize> = ($l0::Delta<N>, $($fc::Delta<N>,)+);

            #[inline]
            fn forward<const N: usize>(&self, x: &[Self::Input; N], cache: &mut Self::Cache<N>) {
                self.$i0.forward(x, &mut cache.$i0);
                $( self.$fci.forward($fp::output(&cache.$fpi), &mut cache.$fci); )+
            }

            #[inline(always)]
            fn output<const N: usize>(cache: &Self::Cache<N>) -> &[Self::Output; N] {
                $ll::output(&cache.$il)
            }

            #[inline(always)]
            fn output_grad<const N: usize>(
                delta: &mut Self::Delta<N>,
            ) -> Option<&mut [Self::Output; N]> {
                $ll::output_grad(&mut delta.$il)
            }

            #[inline]
            fn backward<const N: usize>(
                &self,
                x: &[Self::Input; N],
                cache: &Self::Cache<N>,
                delta: &mut Self::Delta<N>,
                grads: &mut Self::Grads,
                dx: Option<&mut [Self::Input; N]>,
            ) {
                $(
                    // A layer whose input takes no gradient (a Frozen one before it)
                    // ends the backward pass.
                    let upstream = $bp::output_grad(&mut delta.$bpi);
                    let more = upstream.is_some();
                    self.$bci.backward(
                        $bp::output(&cache.$bpi),
                        &cache.$bci,
                        &mut delta.$bci,
                        &mut grads.$bci,
                        upstream,
                    );
                    if !more {
                        return;
                    }
                )+
                self.$i0.backward(x, &cache.$i0, &mut delta.$i0, &mut grads.$i0, dx);
            }

            fn params(&self) -> impl Iterator<Item = &[Self::Scalar]> {
                self.$i0.params()$(.chain(self.$fci.params()))+
            }

            fn params_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
                self.$i0.params_mut()$(.chain(self.$fci.params_mut()))+
            }

            fn trainable_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
                self.$i0.trainable_mut()$(.chain(self.$fci.trainable_mut()))+
            }

            fn init(&mut self, init: Init, rng: &mut Rng) {
                self.$i0.init(init, rng);
                $( self.$fci.init(init, rng); )+
            }

            #[inline(always)]
            fn visit_trainable<const K: usize>(
                &mut self,
                grads: &Self::Grads,
                mut buffers: [&mut Self::Grads; K],
                f: &mut impl FnMut(&mut [Self::Scalar], &[Self::Scalar], [&mut [Self::Scalar]; K]),
            ) {
                self.$i0.visit_trainable(&grads.$i0, buffers.each_mut().map(|g| &mut g.$i0), f);
                $( self.$fci.visit_trainable(&grads.$fci, buffers.each_mut().map(|g| &mut g.$fci), f); )+
            }

            #[inline(always)]
            fn inspect_trainable<const K: usize>(
                &self,
                grads: &Self::Grads,
                buffers: [&Self::Grads; K],
                f: &mut impl FnMut(&[Self::Scalar], &[Self::Scalar], [&[Self::Scalar]; K]),
            ) {
                self.$i0.inspect_trainable(&grads.$i0, buffers.map(|g| &g.$i0), f);
                $( self.$fci.inspect_trainable(&grads.$fci, buffers.map(|g| &g.$fci), f); )+
            }
        }
    };
}

sequential! {
    first: L0 0, last: L1 1;
    forward: [L0 0 => L1 1];
    backward: [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L2 2;
    forward: [L0 0 => L1 1] [L1 1 => L2 2];
    backward: [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L3 3;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3];
    backward: [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L4 4;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4];
    backward: [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L5 5;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5];
    backward: [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}
