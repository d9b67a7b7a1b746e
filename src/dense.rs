//! [`Dense`]: a fully connected layer, A^l = Z^l W^l + 1·b^l, Z^(l+1) = f^l(A^l).

use core::marker::PhantomData;

use crate::{Activation, Init, Layer, Scalar, SplitMix64, Tensors, Zero, kernels};

/// The bias storage of a [`Dense`] layer: `[S; OUT]`, or [`NoBias`] for the seed's form.
pub trait Bias<S: Scalar, const OUT: usize>: Copy + Zero + core::fmt::Debug + PartialEq {
    /// The bias vector b^l, if there is one.
    fn vector(&self) -> Option<&[S; OUT]>;
    /// The bias vector, mutably, if there is one.
    fn vector_mut(&mut self) -> Option<&mut [S; OUT]>;
    /// The bias as a slice: empty for [`NoBias`].
    fn as_slice(&self) -> &[S] {
        self.vector().map_or(&[], |b| b.as_slice())
    }
    /// The bias as a mutable slice: empty for [`NoBias`].
    fn as_mut_slice(&mut self) -> &mut [S] {
        self.vector_mut().map_or(&mut [], |b| b.as_mut_slice())
    }
}

impl<S: Scalar, const OUT: usize> Bias<S, OUT> for [S; OUT] {
    #[inline(always)]
    fn vector(&self) -> Option<&[S; OUT]> {
        Some(self)
    }
    #[inline(always)]
    fn vector_mut(&mut self) -> Option<&mut [S; OUT]> {
        Some(self)
    }
}

/// No bias: A^l = Z^l W^l exactly as in the seed note, where the bias is the
/// constant first feature of X, counted in K^0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoBias;

impl Zero for NoBias {
    const ZERO: Self = NoBias;
}

impl<S: Scalar, const OUT: usize> Bias<S, OUT> for NoBias {
    #[inline(always)]
    fn vector(&self) -> Option<&[S; OUT]> {
        None
    }
    #[inline(always)]
    fn vector_mut(&mut self) -> Option<&mut [S; OUT]> {
        None
    }
}

/// A fully connected layer with activation `F`: A = X·W + 1·b, Z = F(A).
///
/// # Generics
///
/// * `IN`: inputs per sample, K^l.
/// * `OUT`: neurons, K^(l+1).
/// * `F`: the activation f^l, an [`Activation`].
/// * `S`: the scalar, `f32` (default) or `f64`.
/// * `B`: the bias, `[S; OUT]` (default) or [`NoBias`].
///
/// # Layout
///
/// `w[i][j]` is W^l_ij, the weight from input `i` to neuron `j`: the seed note's
/// K^l × K^(l+1) layout, and PyTorch's `nn.Linear.weight` transposed.
///
/// # Examples
///
/// ```
/// use stackprop::{Dense, Relu, Zero};
///
/// let mut layer = Dense::<3, 2, Relu>::ZERO;
/// layer.w[0][1] = 0.5;
/// layer.b = [1.0, -1.0];
/// assert_eq!(layer.w.len(), 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dense<const IN: usize, const OUT: usize, F, S = f32, B = [S; OUT]> {
    /// W^l, `w[i][j]` for input `i` and neuron `j`.
    pub w: [[S; OUT]; IN],
    /// b^l, one per neuron (or [`NoBias`]).
    pub b: B,
    activation: PhantomData<fn() -> F>,
}

impl<const IN: usize, const OUT: usize, F, S: Scalar, B: Bias<S, OUT>> Dense<IN, OUT, F, S, B> {
    /// The number of parameters: IN·OUT weights plus the biases.
    pub const PARAMS: usize = IN * OUT + core::mem::size_of::<B>() / core::mem::size_of::<S>();

    /// A layer with the given weights and bias.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::{Dense, NoBias, Sigmoid};
    /// // The seed's form: no bias vector, X carries the constant feature.
    /// let layer = Dense::<3, 1, Sigmoid, f64, NoBias>::new([[0.5], [-1.0], [2.0]], NoBias);
    /// assert_eq!(layer.w[2][0], 2.0);
    /// ```
    pub const fn new(w: [[S; OUT]; IN], b: B) -> Self {
        const {
            assert!(
                IN > 0 && OUT > 0,
                "a dense layer needs at least one input and one output"
            )
        };
        Self {
            w,
            b,
            activation: PhantomData,
        }
    }
}

impl<const IN: usize, const OUT: usize, F, S: Scalar, B: Bias<S, OUT>> Zero
    for Dense<IN, OUT, F, S, B>
{
    const ZERO: Self = Self::new([[S::ZERO; OUT]; IN], B::ZERO);
}

/// dE/dW^l and dE/db^l of a [`Dense`] layer, shaped like its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenseGrads<const IN: usize, const OUT: usize, S, B> {
    /// dE/dW^l, `w[i][j]` like [`Dense::w`].
    pub w: [[S; OUT]; IN],
    /// dE/db^l (or [`NoBias`]).
    pub b: B,
}

impl<const IN: usize, const OUT: usize, S: Scalar, B: Bias<S, OUT>> Zero
    for DenseGrads<IN, OUT, S, B>
{
    const ZERO: Self = Self {
        w: [[S::ZERO; OUT]; IN],
        b: B::ZERO,
    };
}

impl<const IN: usize, const OUT: usize, S: Scalar, B: Bias<S, OUT>> Tensors<S>
    for DenseGrads<IN, OUT, S, B>
{
    fn slices(&self) -> impl Iterator<Item = &[S]> {
        [self.w.as_flattened(), self.b.as_slice()].into_iter()
    }
    fn slices_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
        [self.w.as_flattened_mut(), self.b.as_mut_slice()].into_iter()
    }
}

/// The forward values of a [`Dense`] layer for a batch of `N`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenseCache<const OUT: usize, const N: usize, S> {
    /// A^l, the pre-activations.
    pub a: [[S; OUT]; N],
    /// Z^(l+1) = f^l(A^l), the outputs.
    pub z: [[S; OUT]; N],
}

impl<const OUT: usize, const N: usize, S: Scalar> Zero for DenseCache<OUT, N, S> {
    const ZERO: Self = Self {
        a: [[S::ZERO; OUT]; N],
        z: [[S::ZERO; OUT]; N],
    };
}

/// The backward values of a [`Dense`] layer for a batch of `N`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenseDelta<const OUT: usize, const N: usize, S> {
    /// dE/dZ^(l+1), the gradient arriving at the layer's output.
    pub dz: [[S; OUT]; N],
    /// dE/dA^l = dE/dZ^(l+1) ⊙ f^l'(A^l).
    pub da: [[S; OUT]; N],
}

impl<const OUT: usize, const N: usize, S: Scalar> Tensors<S> for DenseCache<OUT, N, S> {
    /// A^l, then Z^(l+1), each row-major.
    fn slices(&self) -> impl Iterator<Item = &[S]> {
        [self.a.as_flattened(), self.z.as_flattened()].into_iter()
    }
    fn slices_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
        [self.a.as_flattened_mut(), self.z.as_flattened_mut()].into_iter()
    }
}

impl<const OUT: usize, const N: usize, S: Scalar> Tensors<S> for DenseDelta<OUT, N, S> {
    /// dE/dZ^(l+1), then dE/dA^l, each row-major.
    fn slices(&self) -> impl Iterator<Item = &[S]> {
        [self.dz.as_flattened(), self.da.as_flattened()].into_iter()
    }
    fn slices_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
        [self.dz.as_flattened_mut(), self.da.as_flattened_mut()].into_iter()
    }
}

impl<const OUT: usize, const N: usize, S: Scalar> Zero for DenseDelta<OUT, N, S> {
    const ZERO: Self = Self {
        dz: [[S::ZERO; OUT]; N],
        da: [[S::ZERO; OUT]; N],
    };
}

impl<const IN: usize, const OUT: usize, F, S, B> Layer for Dense<IN, OUT, F, S, B>
where
    F: Activation<S>,
    S: Scalar,
    B: Bias<S, OUT>,
{
    type Scalar = S;
    type Input = [S; IN];
    type Output = [S; OUT];
    type Grads = DenseGrads<IN, OUT, S, B>;
    type Cache<const N: usize> = DenseCache<OUT, N, S>;
    type Delta<const N: usize> = DenseDelta<OUT, N, S>;

    #[inline]
    fn forward<const N: usize>(&self, x: &[[S; IN]; N], cache: &mut Self::Cache<N>) {
        kernels::forward::<S, F, IN, OUT, N>(
            &self.w,
            self.b.vector(),
            x,
            &mut cache.a,
            &mut cache.z,
        );
    }

    #[inline(always)]
    fn output<const N: usize>(cache: &Self::Cache<N>) -> &[[S; OUT]; N] {
        &cache.z
    }

    #[inline(always)]
    fn output_grad<const N: usize>(delta: &mut Self::Delta<N>) -> Option<&mut [[S; OUT]; N]> {
        Some(&mut delta.dz)
    }

    #[inline]
    fn backward<const N: usize>(
        &self,
        x: &[[S; IN]; N],
        cache: &Self::Cache<N>,
        delta: &mut Self::Delta<N>,
        grads: &mut Self::Grads,
        dx: Option<&mut [[S; IN]; N]>,
    ) {
        kernels::backward::<S, F, IN, OUT, N>(
            &self.w,
            x,
            &cache.a,
            &cache.z,
            &delta.dz,
            &mut delta.da,
            &mut grads.w,
            grads.b.vector_mut(),
            dx,
        );
    }

    fn params(&self) -> impl Iterator<Item = &[S]> {
        [self.w.as_flattened(), self.b.as_slice()].into_iter()
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
        [self.w.as_flattened_mut(), self.b.as_mut_slice()].into_iter()
    }

    fn trainable_mut(&mut self) -> impl Iterator<Item = &mut [S]> {
        self.params_mut()
    }

    #[inline(always)]
    fn visit_trainable<const K: usize>(
        &mut self,
        grads: &Self::Grads,
        mut buffers: [&mut Self::Grads; K],
        f: &mut impl FnMut(&mut [S], &[S], [&mut [S]; K]),
    ) {
        f(
            self.w.as_flattened_mut(),
            grads.w.as_flattened(),
            buffers.each_mut().map(|g| g.w.as_flattened_mut()),
        );
        if self.b.vector().is_some() {
            f(
                self.b.as_mut_slice(),
                grads.b.as_slice(),
                buffers.map(|g| g.b.as_mut_slice()),
            );
        }
    }

    #[inline(always)]
    fn inspect_trainable<const K: usize>(
        &self,
        grads: &Self::Grads,
        buffers: [&Self::Grads; K],
        f: &mut impl FnMut(&[S], &[S], [&[S]; K]),
    ) {
        f(
            self.w.as_flattened(),
            grads.w.as_flattened(),
            buffers.map(|g| g.w.as_flattened()),
        );
        if self.b.vector().is_some() {
            f(
                self.b.as_slice(),
                grads.b.as_slice(),
                buffers.map(|g| g.b.as_slice()),
            );
        }
    }

    fn init(&mut self, init: Init, rng: &mut SplitMix64) {
        for w in self.w.as_flattened_mut() {
            *w = S::from_f64(init.sample(IN, OUT, rng));
        }
        for b in self.b.as_mut_slice() {
            *b = S::ZERO;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identity;

    #[test]
    fn params_count_includes_bias_only_when_present() {
        assert_eq!(Dense::<3, 4, Identity>::PARAMS, 16);
        assert_eq!(Dense::<3, 4, Identity, f64, NoBias>::PARAMS, 12);
        assert_eq!(
            core::mem::size_of::<Dense<3, 4, Identity, f64, NoBias>>(),
            96
        );
    }

    #[test]
    fn no_bias_layer_has_no_bias_slice() {
        let mut layer = Dense::<2, 2, Identity, f64, NoBias>::ZERO;
        let lens: [usize; 2] = {
            let mut it = layer.params_mut().map(|s| s.len());
            [it.next().unwrap_or(9), it.next().unwrap_or(9)]
        };
        assert_eq!(lens, [4, 0]);
    }

    #[test]
    fn init_is_deterministic_and_bounded() {
        let mut a = Dense::<4, 6, Identity>::ZERO;
        let mut b = Dense::<4, 6, Identity>::ZERO;
        a.init(Init::GlorotUniform, &mut SplitMix64::new(7));
        b.init(Init::GlorotUniform, &mut SplitMix64::new(7));
        assert_eq!(a, b);
        let bound = (6.0_f32 / 10.0).sqrt();
        assert!(a.w.as_flattened().iter().all(|w| w.abs() <= bound));
        assert!(a.w.as_flattened().iter().any(|&w| w != 0.0));
    }
}
