//! Networks as tuples of layers: `(Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>)`.
//!
//! A tuple of 1 to 12 layers is itself a [`Layer`]. Its impl binds each element's
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
//! `cache.0` and `grads.0` all belong to the first layer. A network of one layer is
//! the 1-tuple `(Dense<…>,)`, so code generic over depth needs no special case:
//!
//! ```
//! use stackprop::persist::Architecture;
//! use stackprop::{Dense, Identity, Layer, Tanh, Zero};
//!
//! // Code generic over depth: the scalars of any network's parameters.
//! fn param_count<L: Layer + Zero>() -> usize {
//!     L::ZERO.params().map(<[_]>::len).sum()
//! }
//! type Linear = (Dense<4, 2, Identity>,);
//! assert_eq!(param_count::<Linear>(), 4 * 2 + 2);
//! assert_eq!(param_count::<(Dense<4, 3, Tanh>, Dense<3, 2, Identity>)>(), 23);
//! assert_eq!(Linear::PARAM_COUNT, 10); // records too
//!
//! let linear = Linear::ZERO;
//! assert_eq!(linear.0.w, [[0.0; 2]; 4]); // `.0` at every depth
//! ```
//!
//! Up to 12 layers stay flat, so layer `l` is `net.l` however deep the network is:
//!
//! ```
//! use stackprop::{Dense, GradsOf, Identity, Init, Layer, Relu, SplitMix64, Zero};
//!
//! type H = Dense<4, 4, Relu>;
//! type Deep = (Dense<2, 4, Relu>, H, H, H, H, H, H, H, H, H, H, Dense<4, 1, Identity>);
//! let mut net = Deep::ZERO;
//! net.init(Init::HeUniform, &mut SplitMix64::new(3));
//! assert_ne!(net.11.w, [[0.0]; 4]);
//! assert_eq!(GradsOf::<Deep>::ZERO.11.b, [0.0]); // buffers too: `grads.11`
//! ```

use crate::{Init, Layer, SplitMix64};

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

            fn init(&mut self, init: Init, rng: &mut SplitMix64) {
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

/// A network of one layer: the layer itself, with every buffer in a 1-tuple, so code
/// generic over depth reads `net.0`, `cache.0` and `grads.0` at every depth.
impl<L0: Layer> Layer for (L0,) {
    type Scalar = L0::Scalar;
    type Input = L0::Input;
    type Output = L0::Output;
    type Grads = (L0::Grads,);
    type Cache<const N: usize> = (L0::Cache<N>,);
    type Delta<const N: usize> = (L0::Delta<N>,);

    #[inline(always)]
    fn forward<const N: usize>(&self, x: &[Self::Input; N], cache: &mut Self::Cache<N>) {
        self.0.forward(x, &mut cache.0);
    }

    #[inline(always)]
    fn output<const N: usize>(cache: &Self::Cache<N>) -> &[Self::Output; N] {
        L0::output(&cache.0)
    }

    #[inline(always)]
    fn output_grad<const N: usize>(delta: &mut Self::Delta<N>) -> Option<&mut [Self::Output; N]> {
        L0::output_grad(&mut delta.0)
    }

    #[inline(always)]
    fn backward<const N: usize>(
        &self,
        x: &[Self::Input; N],
        cache: &Self::Cache<N>,
        delta: &mut Self::Delta<N>,
        grads: &mut Self::Grads,
        dx: Option<&mut [Self::Input; N]>,
    ) {
        self.0.backward(x, &cache.0, &mut delta.0, &mut grads.0, dx);
    }

    fn params(&self) -> impl Iterator<Item = &[Self::Scalar]> {
        self.0.params()
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        self.0.params_mut()
    }

    fn trainable_mut(&mut self) -> impl Iterator<Item = &mut [Self::Scalar]> {
        self.0.trainable_mut()
    }

    fn init(&mut self, init: Init, rng: &mut SplitMix64) {
        self.0.init(init, rng);
    }

    #[inline(always)]
    fn visit_trainable<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        mut buffers: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [Self::Scalar], &[Self::Scalar], [&mut [Self::Scalar]; K]),
    ) {
        self.0
            .visit_trainable(&grads.0, buffers.each_mut().map(|g| &mut g.0), f);
    }

    #[inline(always)]
    fn inspect_trainable<const K: usize>(
        &self,
        grads: &Self::Grads,
        buffers: [&Self::Grads; K],
        f: &mut impl FnMut(&[Self::Scalar], &[Self::Scalar], [&[Self::Scalar]; K]),
    ) {
        self.0.inspect_trainable(&grads.0, buffers.map(|g| &g.0), f);
    }
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

sequential! {
    first: L0 0, last: L6 6;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5] [L5 5 => L6 6];
    backward: [L5 5 => L6 6] [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L7 7;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5] [L5 5 => L6 6] [L6 6 => L7 7];
    backward: [L6 6 => L7 7] [L5 5 => L6 6] [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L8 8;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5] [L5 5 => L6 6] [L6 6 => L7 7] [L7 7 => L8 8];
    backward: [L7 7 => L8 8] [L6 6 => L7 7] [L5 5 => L6 6] [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L9 9;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5] [L5 5 => L6 6] [L6 6 => L7 7] [L7 7 => L8 8] [L8 8 => L9 9];
    backward: [L8 8 => L9 9] [L7 7 => L8 8] [L6 6 => L7 7] [L5 5 => L6 6] [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L10 10;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5] [L5 5 => L6 6] [L6 6 => L7 7] [L7 7 => L8 8] [L8 8 => L9 9] [L9 9 => L10 10];
    backward: [L9 9 => L10 10] [L8 8 => L9 9] [L7 7 => L8 8] [L6 6 => L7 7] [L5 5 => L6 6] [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

sequential! {
    first: L0 0, last: L11 11;
    forward: [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5] [L5 5 => L6 6] [L6 6 => L7 7] [L7 7 => L8 8] [L8 8 => L9 9] [L9 9 => L10 10] [L10 10 => L11 11];
    backward: [L10 10 => L11 11] [L9 9 => L10 10] [L8 8 => L9 9] [L7 7 => L8 8] [L6 6 => L7 7] [L5 5 => L6 6] [L4 4 => L5 5] [L3 3 => L4 4] [L2 2 => L3 3] [L1 1 => L2 2] [L0 0 => L1 1];
}

#[cfg(test)]
mod tests {
    use crate::persist::Architecture;
    use crate::{
        CacheOf, DeltaOf, Dense, GradsOf, Init, Layer, Mse, Sgd, SgdConfig, SplitMix64, Tanh,
        Tensors, Trainer, WithMomentum, Zero,
    };

    type One = Dense<3, 2, Tanh, f64>;

    /// The 1-tuple computes exactly what its layer does, forward and backward.
    #[test]
    fn one_tuple_is_its_layer() {
        let mut layer = One::ZERO;
        layer.init(Init::GlorotUniform, &mut SplitMix64::new(4));
        let net = (layer,);
        let x = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]];

        let mut cache = CacheOf::<One, 2>::ZERO;
        let mut tuple_cache = CacheOf::<(One,), 2>::ZERO;
        layer.forward(&x, &mut cache);
        net.forward(&x, &mut tuple_cache);
        assert_eq!(One::output(&cache), <(One,)>::output(&tuple_cache));

        let (mut delta, mut tuple_delta) = (DeltaOf::<One, 2>::ZERO, DeltaOf::<(One,), 2>::ZERO);
        let dy = [[1.0, -2.0], [0.5, 3.0]];
        *One::output_grad(&mut delta).expect("trainable") = dy;
        *<(One,)>::output_grad(&mut tuple_delta).expect("trainable") = dy;
        let (mut grads, mut tuple_grads) = (GradsOf::<One>::ZERO, GradsOf::<(One,)>::ZERO);
        let (mut dx, mut tuple_dx) = ([[0.0; 3]; 2], [[0.0; 3]; 2]);
        layer.backward(&x, &cache, &mut delta, &mut grads, Some(&mut dx));
        net.backward(
            &x,
            &tuple_cache,
            &mut tuple_delta,
            &mut tuple_grads,
            Some(&mut tuple_dx),
        );
        assert_eq!((grads,), tuple_grads);
        assert_eq!(dx, tuple_dx);
        assert_ne!(dx, [[0.0; 3]; 2]);
        assert!(net.params().eq(layer.params()));
        assert_eq!(<(One,)>::PARAMS_RECORD_LEN, One::PARAMS_RECORD_LEN);
    }

    /// A flat 12-layer network computes what the same layers nested in two tuples do.
    #[test]
    fn twelve_flat_layers_match_nested_ones() {
        type H = Dense<3, 3, Tanh, f64>;
        type Flat = (H, H, H, H, H, H, H, H, H, H, H, H);
        type Nested = ((H, H, H, H, H, H), (H, H, H, H, H, H));
        let mut flat = Flat::ZERO;
        flat.init(Init::GlorotUniform, &mut SplitMix64::new(8));
        let nested: Nested = (
            (flat.0, flat.1, flat.2, flat.3, flat.4, flat.5),
            (flat.6, flat.7, flat.8, flat.9, flat.10, flat.11),
        );
        let x = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]];
        let (mut c_flat, mut c_nested) = (CacheOf::<Flat, 2>::ZERO, CacheOf::<Nested, 2>::ZERO);
        flat.forward(&x, &mut c_flat);
        nested.forward(&x, &mut c_nested);
        assert_eq!(Flat::output(&c_flat), Nested::output(&c_nested));

        let dy = [[1.0, -2.0, 0.5], [0.5, 3.0, -1.0]];
        let (mut d_flat, mut d_nested) = (DeltaOf::<Flat, 2>::ZERO, DeltaOf::<Nested, 2>::ZERO);
        *Flat::output_grad(&mut d_flat).expect("trainable") = dy;
        *Nested::output_grad(&mut d_nested).expect("trainable") = dy;
        let (mut g_flat, mut g_nested) = (GradsOf::<Flat>::ZERO, GradsOf::<Nested>::ZERO);
        let (mut dx_flat, mut dx_nested) = ([[0.0; 3]; 2], [[0.0; 3]; 2]);
        flat.backward(&x, &c_flat, &mut d_flat, &mut g_flat, Some(&mut dx_flat));
        nested.backward(
            &x,
            &c_nested,
            &mut d_nested,
            &mut g_nested,
            Some(&mut dx_nested),
        );
        assert_eq!(dx_flat, dx_nested);
        assert_ne!(dx_flat, [[0.0; 3]; 2]);
        assert_eq!(
            (g_flat.0, g_flat.6, g_flat.11),
            (g_nested.0.0, g_nested.1.0, g_nested.1.5)
        );
        assert!(g_flat.slices().eq(g_nested.slices()));
        assert_eq!(Flat::LAYER_COUNT, 12);
        assert_eq!(Flat::PARAMS_RECORD_LEN, Nested::PARAMS_RECORD_LEN);
    }

    /// A one-layer network trains and saves like any other.
    #[test]
    fn one_tuple_trains_and_persists() {
        type Net = (Dense<2, 1, Tanh, f64>,);
        let mut net = Net::ZERO;
        net.init(Init::GlorotUniform, &mut SplitMix64::new(2));
        let sgd =
            Sgd::<Net, WithMomentum>::new(SgdConfig::new(0.1).with_momentum(0.5)).expect("valid");
        let mut trainer = Trainer::<Net, _, _, 2>::new(net, sgd, Mse);
        let (x, t) = ([[1.0, 0.0], [0.0, 1.0]], [[0.5], [-0.5]]);
        let first = trainer.step(&x, &t).expect("finite");
        for _ in 0..20 {
            trainer.step(&x, &t).expect("finite");
        }
        assert!(trainer.loss(&x, &t).expect("finite") < first / 2.0);
        let mut record = [0u8; Net::PARAMS_RECORD_LEN];
        trainer.net.save_params(&mut record).expect("finite");
        let mut copy = Net::ZERO;
        copy.load_params(&record).expect("valid");
        assert_eq!(copy, trainer.net);
    }
}
