//! Post-training quantisation: [`quantize`] calibrates a float network on inputs and
//! returns its int8 form; [`Quantize`] is how each layer takes part.

use core::borrow::Borrow;

use crate::dense::{Bias, Dense};
use crate::frozen::{Frozen, FrozenRef};
use crate::quant::error::QuantError;
use crate::quant::net::{QNet, QParams};
use crate::quant::qdense::{Lookup, QDense, QuantActivation};
use crate::quant::qlayer::QLayer;
use crate::quant::requant::{quantize_multiplier, round_half_away};
use crate::{Activation, Error, Layer, Scalar, Zero};

/// The smallest and largest finite value seen, and whether any was not finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The smallest value seen (+∞ before any).
    pub min: f64,
    /// The largest value seen (−∞ before any).
    pub max: f64,
    /// `false` once a NaN or infinite value was seen.
    pub finite: bool,
}

impl Range {
    /// Nothing seen yet.
    pub const EMPTY: Self = Self {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        finite: true,
    };

    /// Takes `values` into account.
    pub fn include<S: Scalar>(&mut self, values: &[S]) {
        for v in values {
            let v = v.to_f64();
            if v.is_finite() {
                self.min = self.min.min(v);
                self.max = self.max.max(v);
            } else {
                self.finite = false;
            }
        }
    }

    /// The asymmetric int8 parameters of this range (see [`crate::quant`]).
    ///
    /// # Errors
    ///
    /// [`QuantError::InvalidScale`] if the range is so narrow that its scale is not a
    /// positive `f32`.
    pub fn params(&self) -> Result<QParams, QuantError> {
        let lo = self.min.min(0.0);
        let mut hi = self.max.max(0.0);
        if hi <= lo {
            hi = lo + 1.0;
        }
        let scale = ((hi - lo) / 255.0) as f32;
        let zero = round_half_away(-128.0 - lo / f64::from(scale)).clamp(-128.0, 127.0);
        QParams::new(scale, zero as i8)
    }
}

/// A float layer (or chain) that has an int8 form.
///
/// Implemented for [`Dense`] with an activation that implements [`QuantActivation`],
/// for [`Frozen`] and [`FrozenRef`] of such a layer, and for tuples of 2 to 6 of them.
pub trait Quantize: Layer {
    /// The int8 form.
    type Quantized: QLayer;
    /// What calibration records: one [`Range`] pair per layer.
    type Ranges: Copy;
    /// Nothing recorded yet.
    const NO_RANGES: Self::Ranges;
    /// Records the values of one forward pass (batch of 1).
    fn observe(cache: &Self::Cache<1>, ranges: &mut Self::Ranges);
    /// The int8 layers, given how their input is quantised and what calibration saw;
    /// `first` is the index of the first layer, for errors. Returns the layers and how
    /// their output is quantised.
    ///
    /// # Errors
    ///
    /// See [`quantize`].
    fn quantize_layers(
        &self,
        input: QParams,
        ranges: &Self::Ranges,
        first: usize,
    ) -> Result<(Self::Quantized, QParams), QuantError>;
}

impl<const IN: usize, const OUT: usize, F, S, B> Quantize for Dense<IN, OUT, F, S, B>
where
    F: QuantActivation + Activation<S>,
    S: Scalar,
    B: Bias<S, OUT>,
{
    type Quantized = QDense<IN, OUT, F::Table>;
    /// The ranges of A (pre-activation) and Z (output).
    type Ranges = [Range; 2];
    const NO_RANGES: [Range; 2] = [Range::EMPTY; 2];

    fn observe(cache: &Self::Cache<1>, ranges: &mut [Range; 2]) {
        let [a, z] = ranges;
        a.include(cache.a.as_flattened());
        z.include(cache.z.as_flattened());
    }

    fn quantize_layers(
        &self,
        input: QParams,
        ranges: &[Range; 2],
        layer: usize,
    ) -> Result<(Self::Quantized, QParams), QuantError> {
        let finite = self.w.as_flattened().iter().all(|v| v.is_finite())
            && self.b.as_slice().iter().all(|v| v.is_finite());
        if !finite {
            return Err(QuantError::NonFiniteParameter { layer });
        }
        let [a_range, z_range] = ranges;
        if !(a_range.finite && z_range.finite) {
            return Err(QuantError::NonFiniteActivation { layer });
        }
        let at = |e: QuantError| match e {
            QuantError::BiasOutOfRange { .. } => QuantError::BiasOutOfRange { layer },
            QuantError::MultiplierOutOfRange { .. } => QuantError::MultiplierOutOfRange { layer },
            QuantError::InvalidClamp { .. } => QuantError::InvalidClamp { layer },
            other => other,
        };
        let y = z_range.params()?;
        let tabled = F::Table::from_table([0; 256]).table().is_some();
        // The dense part requantises to A's parameters when a table follows.
        let target = if tabled { a_range.params()? } else { y };
        let s_x = f64::from(input.scale());
        let s_t = f64::from(target.scale());

        let mut w = [[0_i8; OUT]; IN];
        let mut bias = [0_i32; OUT];
        let mut multiplier = [0_i32; OUT];
        let mut shift = [0_i8; OUT];
        let b = self.b.vector();
        for j in 0..OUT {
            let column = self
                .w
                .iter()
                .filter_map(|row| row.get(j))
                .map(|v| v.to_f64());
            let max = column.clone().fold(0.0_f64, |m, v| m.max(v.abs()));
            let s_w = if max > 0.0 { max / 127.0 } else { 1.0 };
            for (q, v) in w.iter_mut().filter_map(|row| row.get_mut(j)).zip(column) {
                *q = round_half_away(v / s_w).clamp(-127.0, 127.0) as i8;
            }
            let b_j = b.and_then(|b| b.get(j)).map_or(0.0, |v| v.to_f64());
            let q_b = round_half_away(b_j / (s_x * s_w));
            if q_b.abs() > (i32::MAX as f64) {
                return Err(QuantError::BiasOutOfRange { layer });
            }
            let (m, s) = quantize_multiplier(s_x * s_w / s_t)
                .ok_or(QuantError::MultiplierOutOfRange { layer })?;
            if let (Some(bj), Some(mj), Some(sj)) =
                (bias.get_mut(j), multiplier.get_mut(j), shift.get_mut(j))
            {
                (*bj, *mj, *sj) = (q_b as i32, m, s);
            }
        }
        let mut table = [0_i8; 256];
        if tabled {
            let (s_a, z_a) = (f64::from(target.scale()), i32::from(target.zero_point()));
            let (s_y, z_y) = (f64::from(y.scale()), f64::from(y.zero_point()));
            for (k, t) in table.iter_mut().enumerate() {
                let a = s_a * f64::from(k as i32 - 128 - z_a);
                let z = <F as Activation<f64>>::f(a);
                *t = (round_half_away(z / s_y) + z_y).clamp(-128.0, 127.0) as i8;
            }
        }
        let min = if F::CLAMP_AT_ZERO && !tabled {
            y.zero_point()
        } else {
            -128
        };
        let layer_q = QDense::new(
            w,
            bias,
            multiplier,
            shift,
            input.zero_point(),
            target.zero_point(),
            min,
            127,
            F::Table::from_table(table),
        )
        .map_err(at)?;
        Ok((layer_q, y))
    }
}

/// Implements [`Quantize`] for a wrapper whose layer is `$inner`.
macro_rules! quantize_wrapper {
    ($ty:ty, $inner:tt) => {
        impl<L: Quantize> Quantize for $ty {
            type Quantized = L::Quantized;
            type Ranges = L::Ranges;
            const NO_RANGES: L::Ranges = L::NO_RANGES;
            fn observe(cache: &Self::Cache<1>, ranges: &mut L::Ranges) {
                L::observe(cache, ranges);
            }
            fn quantize_layers(
                &self,
                input: QParams,
                ranges: &L::Ranges,
                first: usize,
            ) -> Result<(L::Quantized, QParams), QuantError> {
                self.$inner.quantize_layers(input, ranges, first)
            }
        }
    };
}

quantize_wrapper!(Frozen<L>, 0);
quantize_wrapper!(FrozenRef<L>, 0);

/// Implements [`Quantize`] for a tuple; `$l0 $i0` is the first layer, each
/// `[$p $pi => $l $i]` a link.
macro_rules! quantize_tuple {
    ($l0:ident $i0:tt; $([$p:ident $pi:tt => $l:ident $i:tt])+) => {
        impl<$l0: Quantize $(, $l: Quantize<Scalar = $l0::Scalar, Input = $p::Output>)+> Quantize
            for ($l0, $($l,)+)
        where
            $( $l::Quantized: QLayer<Input = <$p::Quantized as QLayer>::Output>, )+
        {
            type Quantized = ($l0::Quantized, $($l::Quantized,)+);
            type Ranges = ($l0::Ranges, $($l::Ranges,)+);
            const NO_RANGES: Self::Ranges = ($l0::NO_RANGES, $($l::NO_RANGES,)+);

            fn observe(cache: &Self::Cache<1>, ranges: &mut Self::Ranges) {
                $l0::observe(&cache.$i0, &mut ranges.$i0);
                $( $l::observe(&cache.$i, &mut ranges.$i); )+
            }

            #[allow(non_snake_case)]
            fn quantize_layers(
                &self,
                input: QParams,
                ranges: &Self::Ranges,
                first: usize,
            ) -> Result<(Self::Quantized, QParams), QuantError> {
                let ($l0, p) = self.$i0.quantize_layers(input, &ranges.$i0, first)?;
                let next = first + <$l0::Quantized as QLayer>::LAYERS;
                $(
                    let ($l, p) = self.$i.quantize_layers(p, &ranges.$i, next)?;
                    let next = next + <$l::Quantized as QLayer>::LAYERS;
                )+
                let _ = next;
                Ok((($l0, $($l,)+), p))
            }
        }
    };
}

quantize_tuple!(L0 0; [L0 0 => L1 1]);
quantize_tuple!(L0 0; [L0 0 => L1 1] [L1 1 => L2 2]);
quantize_tuple!(L0 0; [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3]);
quantize_tuple!(L0 0; [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4]);
quantize_tuple!(L0 0;
    [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5]);

/// Post-training quantisation: calibrates `net` on `calibration` (one forward pass per
/// input, recording the range of every layer's pre-activations and outputs) and returns
/// its int8 form. No heap; runs on the host or on the device, with the same result.
///
/// See [`crate::quant`] for how scales, zero points, weights, biases, multipliers and
/// tables are chosen.
///
/// # Errors
///
/// [`QuantError::EmptyCalibration`], [`QuantError::NonFiniteCalibration`],
/// [`QuantError::NonFiniteParameter`], [`QuantError::NonFiniteActivation`],
/// [`QuantError::BiasOutOfRange`], [`QuantError::MultiplierOutOfRange`] or
/// [`QuantError::InvalidScale`], inside [`Error::Quant`].
///
/// # Examples
///
/// ```
/// use stackprop::quant::quantize;
/// use stackprop::*;
///
/// type Net = (Dense<2, 8, Relu>, Dense<8, 2, Identity>);
/// let mut net = Net::ZERO;
/// net.init(Init::HeUniform, &mut SplitMix64::new(1));
/// let x = [[0.0_f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let q = quantize(&net, &x)?;
/// let class = q.predict(&[1.0_f32, 0.0])?;
/// assert!(class < 2);
/// # Ok::<(), Error>(())
/// ```
pub fn quantize<L, I, const IN: usize, const OUT: usize>(
    net: &L,
    calibration: I,
) -> Result<QNet<L::Quantized, IN, OUT>, Error>
where
    L: Quantize<Input = [<L as Layer>::Scalar; IN], Output = [<L as Layer>::Scalar; OUT]>,
    L::Quantized: QLayer<Input = [i8; IN], Output = [i8; OUT]>,
    I: IntoIterator,
    I::Item: Borrow<[<L as Layer>::Scalar; IN]>,
{
    let mut input = Range::EMPTY;
    let mut ranges = L::NO_RANGES;
    let mut cache = <L::Cache<1>>::ZERO;
    let mut seen = false;
    for x in calibration {
        let x = x.borrow();
        input.include(x);
        if !input.finite {
            return Err(QuantError::NonFiniteCalibration.into());
        }
        net.forward(core::array::from_ref(x), &mut cache);
        L::observe(&cache, &mut ranges);
        seen = true;
    }
    if !seen {
        return Err(QuantError::EmptyCalibration.into());
    }
    let input = input.params()?;
    let (layers, output) = net.quantize_layers(input, &ranges, 0)?;
    Ok(QNet::new(input, layers, output))
}
