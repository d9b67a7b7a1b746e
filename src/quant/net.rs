//! [`QNet`]: a quantised network with its input and output quantisation, ready for
//! flash; [`QParams`]: a scale and a zero point.

use core::fmt;

use crate::quant::error::QuantError;
use crate::quant::qlayer::QLayer;
use crate::quant::requant::quantize_f32;
use crate::{Error, Scalar};

/// How real values map to int8: real = `scale` · (q − `zero_point`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    scale: f32,
    zero_point: i8,
}

impl QParams {
    /// Scale s and zero point z.
    ///
    /// # Errors
    ///
    /// [`QuantError::InvalidScale`] unless `scale` is positive and finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::quant::QParams;
    /// let p = QParams::new(0.5, -3)?;
    /// assert_eq!((p.scale(), p.zero_point()), (0.5, -3));
    /// assert!(QParams::new(0.0, 0).is_err());
    /// # Ok::<(), stackprop::quant::QuantError>(())
    /// ```
    pub const fn new(scale: f32, zero_point: i8) -> Result<Self, QuantError> {
        if scale.is_finite() && scale > 0.0 {
            Ok(Self { scale, zero_point })
        } else {
            Err(QuantError::InvalidScale)
        }
    }
    /// s.
    pub const fn scale(&self) -> f32 {
        self.scale
    }
    /// z.
    pub const fn zero_point(&self) -> i8 {
        self.zero_point
    }
    /// s · (q − z) in `f32`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * f32::from(i16::from(q) - i16::from(self.zero_point))
    }
}

/// A quantised network: the int8 layers `L` (a [`QDense`](crate::quant::QDense) or a
/// tuple of them), how float inputs become int8, and what the int8 outputs mean.
///
/// It holds only fixed-size arrays, so it can be a `static` in flash:
/// [`write_rust`](QNet::write_rust) prints one.
///
/// # Generics
///
/// * `L`: the layers.
/// * `IN`, `OUT`: the network's input and output widths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QNet<L, const IN: usize, const OUT: usize> {
    input: QParams,
    layers: L,
    output: QParams,
}

impl<L, const IN: usize, const OUT: usize> QNet<L, IN, OUT> {
    /// A network from its parts.
    pub const fn new(input: QParams, layers: L, output: QParams) -> Self {
        Self {
            input,
            layers,
            output,
        }
    }
    /// How float inputs are quantised.
    pub const fn input(&self) -> QParams {
        self.input
    }
    /// The int8 layers.
    pub const fn layers(&self) -> &L {
        &self.layers
    }
    /// What the int8 outputs (logits) mean.
    pub const fn output(&self) -> QParams {
        self.output
    }
}

impl<L, const IN: usize, const OUT: usize> QNet<L, IN, OUT>
where
    L: QLayer<Input = [i8; IN], Output = [i8; OUT]>,
{
    /// Quantises one float input row: q_i = clamp(round(x_i / s) + z, −128, 127), with
    /// x_i first rounded to `f32` (see [`crate::quant`]).
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteInput`] if a value is NaN or infinite.
    pub fn quantize_input<S: Scalar>(&self, x: &[S; IN]) -> Result<[i8; IN], Error> {
        let mut q = [0; IN];
        let (scale, zero) = (self.input.scale, self.input.zero_point);
        for (q, &x) in q.iter_mut().zip(x) {
            let x = x.to_f64() as f32;
            if !x.is_finite() {
                return Err(Error::NonFiniteInput);
            }
            *q = quantize_f32(x, scale, zero);
        }
        Ok(q)
    }

    /// The int8 outputs (logits) for an int8 input row.
    #[inline(never)]
    pub fn logits_q(&self, x: &[i8; IN]) -> [i8; OUT] {
        let mut buffers = L::BUFFERS;
        self.layers.run(x, &mut buffers);
        *L::output(&buffers)
    }

    /// The int8 outputs (logits) for a float input row.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteInput`] if a value is NaN or infinite.
    pub fn logits<S: Scalar>(&self, x: &[S; IN]) -> Result<[i8; OUT], Error> {
        Ok(self.logits_q(&self.quantize_input(x)?))
    }

    /// The class of an int8 input row: the index of the largest int8 output, the lowest
    /// index among equal ones.
    pub fn predict_q(&self, x: &[i8; IN]) -> usize {
        argmax(&self.logits_q(x))
    }

    /// The class of a float input row (see [`predict_q`](QNet::predict_q)).
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteInput`] if a value is NaN or infinite.
    pub fn predict<S: Scalar>(&self, x: &[S; IN]) -> Result<usize, Error> {
        Ok(self.predict_q(&self.quantize_input(x)?))
    }

    /// The real values of int8 outputs: s_y · (y − z_y).
    pub fn dequantize(&self, y: &[i8; OUT]) -> [f32; OUT] {
        y.map(|q| self.output.dequantize(q))
    }

    /// Bytes the network takes in flash (as a `static`).
    pub const BYTES: usize = core::mem::size_of::<Self>();

    /// Writes the network as Rust source: `pub static NAME: TYPE = VALUE;`, which
    /// compiles to this exact network (a host tool prints it for firmware to include).
    ///
    /// # Errors
    ///
    /// Whatever `out` returns.
    pub fn write_rust(&self, name: &str, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "pub static {name}: stackprop::quant::QNet<")?;
        L::write_type(out)?;
        write!(out, ", {IN}, {OUT}> = stackprop::quant::QNet::new(\n    ")?;
        write_params(out, self.input)?;
        out.write_str(",\n")?;
        self.layers.write_rust(out)?;
        out.write_str(",\n    ")?;
        write_params(out, self.output)?;
        out.write_str(",\n);\n")
    }
}

fn write_params(out: &mut dyn fmt::Write, p: QParams) -> fmt::Result {
    write!(
        out,
        "match stackprop::quant::QParams::new({:?}, {}) {{ Ok(p) => p, Err(_) => panic!(\"invalid scale\") }}",
        p.scale, p.zero_point
    )
}

/// The index of the largest value, the lowest among equal ones.
fn argmax(y: &[i8]) -> usize {
    let mut best = 0;
    let mut top = i8::MIN;
    for (k, &v) in y.iter().enumerate() {
        if v > top || k == 0 {
            best = k;
            top = v;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_equals() {
        assert_eq!(argmax(&[-3, 7, 7, 1]), 1);
        assert_eq!(argmax(&[-128, -128]), 0);
        assert_eq!(argmax(&[5]), 0);
    }

    #[test]
    fn dequantize_uses_the_zero_point() {
        let p = QParams::new(0.25, -128).expect("valid");
        assert_eq!(p.dequantize(-128), 0.0);
        assert_eq!(p.dequantize(127), 63.75);
    }
}
