//! [`QDense`]: a fully connected layer in int8, with its activation fused into the
//! output clamp (ReLU, identity) or applied by a 256-entry table (everything else).

use core::fmt;

use crate::activation::{Activation, Identity, LeakyRelu, Relu, Sigmoid, Silu, Softplus, Tanh};
use crate::quant::error::QuantError;
use crate::quant::requant::requantize;

/// Where a quantised layer keeps its activation: [`NoTable`] when the activation is
/// fused into the output clamp, [`Table`] for a 256-entry lookup table.
pub trait Lookup: Copy + fmt::Debug + PartialEq {
    /// The table, if there is one.
    fn table(&self) -> Option<&[i8; 256]>;
    /// A lookup from a table built by `quantize`; [`NoTable`] ignores it.
    fn from_table(table: [i8; 256]) -> Self;
    /// This value as a Rust expression.
    fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result;
    /// This type as Rust source.
    fn write_type(out: &mut dyn fmt::Write) -> fmt::Result;
}

/// No table: the activation (ReLU or identity) is the output clamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoTable;

/// A 256-entry table: output = `table\[a + 128\]` for the int8 pre-activation a.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table(pub [i8; 256]);

impl Lookup for NoTable {
    #[inline(always)]
    fn table(&self) -> Option<&[i8; 256]> {
        None
    }
    fn from_table(_table: [i8; 256]) -> Self {
        NoTable
    }
    fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("stackprop::quant::NoTable")
    }
    fn write_type(out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("stackprop::quant::NoTable")
    }
}

impl Lookup for Table {
    #[inline(always)]
    fn table(&self) -> Option<&[i8; 256]> {
        Some(&self.0)
    }
    fn from_table(table: [i8; 256]) -> Self {
        Table(table)
    }
    fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("stackprop::quant::Table(")?;
        write_list(out, &self.0)?;
        out.write_str(")")
    }
    fn write_type(out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("stackprop::quant::Table")
    }
}

/// An activation that has an int8 form: fused into the clamp, or a table.
///
/// Implemented for every activation of the crate: [`Identity`] and [`Relu`] are fused
/// (no table, no extra rounding); [`Sigmoid`], [`Tanh`], [`LeakyRelu`], [`Softplus`]
/// and [`Silu`] use a 256-entry [`Table`] per layer, as TFLite's int8 `Logistic` and
/// `Tanh` do. A user-defined activation gets an int8 form by implementing this trait
/// with `type Table = Table;`; without it, [`quantize`](crate::quant::quantize) does not
/// compile for a network that uses it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no int8 form",
    note = "implement `stackprop::quant::QuantActivation` with `type Table = stackprop::quant::Table;` to quantise it through a 256-entry table"
)]
pub trait QuantActivation: Activation<f64> {
    /// [`NoTable`] if the activation is the output clamp, [`Table`] otherwise.
    type Table: Lookup;
    /// For fused activations: `true` if the clamp starts at real 0 (ReLU).
    const CLAMP_AT_ZERO: bool = false;
}

impl QuantActivation for Identity {
    type Table = NoTable;
}
impl QuantActivation for Relu {
    type Table = NoTable;
    const CLAMP_AT_ZERO: bool = true;
}
impl QuantActivation for Sigmoid {
    type Table = Table;
}
impl QuantActivation for Tanh {
    type Table = Table;
}
impl QuantActivation for LeakyRelu {
    type Table = Table;
}
impl QuantActivation for Softplus {
    type Table = Table;
}
impl QuantActivation for Silu {
    type Table = Table;
}

/// A fully connected int8 layer: y = act(clamp(z_y + M·(b + Σ_i (x_i − z_x)·W_ij))).
///
/// See [`crate::quant`] for every formula. Its parameters are checked once, by
/// [`QDense::new`], so a `QDense` that exists is one whose `i32` accumulator cannot
/// overflow; its fields are private.
///
/// # Generics
///
/// * `IN`, `OUT`: inputs and neurons, as in [`Dense`](crate::Dense).
/// * `T`: [`NoTable`] (ReLU or identity, fused into the clamp) or [`Table`].
///
/// # Layout
///
/// `w\[i\]\[j\]` is the int8 weight from input `i` to neuron `j`, as in `Dense::w`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QDense<const IN: usize, const OUT: usize, T = NoTable> {
    w: [[i8; OUT]; IN],
    bias: [i32; OUT],
    multiplier: [i32; OUT],
    shift: [i8; OUT],
    input_zero_point: i8,
    output_zero_point: i8,
    min: i8,
    max: i8,
    table: T,
}

/// |bias| may not exceed this, so that bias + Σ (x − z)·w (|x − z| ≤ 255, |w| ≤ 127)
/// fits an `i32`.
const fn bias_limit(inputs: usize) -> i64 {
    i32::MAX as i64 - inputs as i64 * 255 * 127
}

impl<const IN: usize, const OUT: usize, T: Copy> QDense<IN, OUT, T> {
    /// A layer from its int8 parameters (what [`quantize`](crate::quant::quantize) and
    /// [`QNet::write_rust`](crate::quant::QNet::write_rust) produce).
    ///
    /// `output_zero_point` is added after requantisation; [`NoTable`] layers then clamp
    /// to [`min`, `max`], [`Table`] layers to [−128, 127] before the table lookup.
    ///
    /// # Errors
    ///
    /// [`QuantError::BiasOutOfRange`] if a |bias| exceeds 2^31 − 1 − IN·255·127;
    /// [`QuantError::MultiplierOutOfRange`] for a negative multiplier or a shift outside
    /// [−31, 30]; [`QuantError::InvalidClamp`] if `min > max`. The layer index in the
    /// error is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::quant::{NoTable, QDense};
    /// // One input, one neuron: y = 1 + M·(0 + (x − 0)·64) with M = 2^−7.
    /// let layer = QDense::<1, 1>::new([[64]], [0], [1 << 30], [-6], 0, 1, -128, 127, NoTable)?;
    /// assert_eq!(layer.forward(&[10]), [6]); // 1 + 640 / 128 = 6
    /// # Ok::<(), stackprop::quant::QuantError>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    // `j < OUT` below: always in bounds; a `const fn` cannot use iterators.
    #[allow(clippy::indexing_slicing)]
    pub const fn new(
        w: [[i8; OUT]; IN],
        bias: [i32; OUT],
        multiplier: [i32; OUT],
        shift: [i8; OUT],
        input_zero_point: i8,
        output_zero_point: i8,
        min: i8,
        max: i8,
        table: T,
    ) -> Result<Self, QuantError> {
        const { assert!(IN > 0 && OUT > 0, "a layer needs inputs and outputs") };
        let limit = bias_limit(IN);
        let mut j = 0;
        while j < OUT {
            let b = bias[j] as i64;
            if b > limit || -b > limit {
                return Err(QuantError::BiasOutOfRange { layer: 0 });
            }
            if multiplier[j] < 0 || shift[j] < -31 || shift[j] > 30 {
                return Err(QuantError::MultiplierOutOfRange { layer: 0 });
            }
            j += 1;
        }
        if min > max {
            return Err(QuantError::InvalidClamp { layer: 0 });
        }
        Ok(Self {
            w,
            bias,
            multiplier,
            shift,
            input_zero_point,
            output_zero_point,
            min,
            max,
            table,
        })
    }

    /// The int8 weights, `w\[i\]\[j\]` from input `i` to neuron `j`.
    pub const fn weights(&self) -> &[[i8; OUT]; IN] {
        &self.w
    }
    /// The `i32` biases, in units of s_x·s_w\[j\].
    pub const fn bias(&self) -> &[i32; OUT] {
        &self.bias
    }
    /// The Q31 requantisation multipliers, one per neuron.
    pub const fn multiplier(&self) -> &[i32; OUT] {
        &self.multiplier
    }
    /// The requantisation shifts, one per neuron.
    pub const fn shift(&self) -> &[i8; OUT] {
        &self.shift
    }
    /// z_x, the zero point of the layer's input.
    pub const fn input_zero_point(&self) -> i8 {
        self.input_zero_point
    }
    /// z_y, the zero point added after requantisation.
    pub const fn output_zero_point(&self) -> i8 {
        self.output_zero_point
    }
    /// The clamp [min, max] of a fused activation.
    pub const fn clamp(&self) -> (i8, i8) {
        (self.min, self.max)
    }
    /// The activation's storage: [`NoTable`] or the [`Table`].
    pub const fn lookup(&self) -> &T {
        &self.table
    }
}

impl<const IN: usize, const OUT: usize, T: Lookup> QDense<IN, OUT, T> {
    /// Runs the layer on one int8 input row.
    ///
    /// # Examples
    ///
    /// See [`QDense::new`].
    pub fn forward(&self, x: &[i8; IN]) -> [i8; OUT] {
        let mut y = [0; OUT];
        self.forward_into(x, &mut y);
        y
    }

    /// [`forward`](QDense::forward) into a caller's buffer.
    #[inline]
    pub fn forward_into(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        let mut d = [0_i16; IN];
        let z = i16::from(self.input_zero_point);
        for (d, &x) in d.iter_mut().zip(x) {
            *d = i16::from(x) - z;
        }
        let mut acc = self.bias;
        accumulate(&self.w, &d, &mut acc);
        let table = self.table.table();
        let (min, max) = match table {
            Some(_) => (-128, 127),
            None => (i32::from(self.min), i32::from(self.max)),
        };
        let zero = i32::from(self.output_zero_point);
        let params = self.multiplier.iter().zip(&self.shift);
        for ((y, &acc), (&m, &s)) in y.iter_mut().zip(&acc).zip(params) {
            // `max`, `min` rather than `clamp`: no panicking branch (`new` checked min ≤ max).
            let v = requantize(acc, m, s).saturating_add(zero).max(min).min(max);
            *y = match table {
                Some(t) => t.get((v + 128) as usize).copied().unwrap_or(0),
                None => v as i8,
            };
        }
    }

    /// Writes the layer as a Rust expression of type `QDense<IN, OUT, T>` (valid in a
    /// `static`'s initialiser).
    pub fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("match stackprop::quant::QDense::new(\n        [")?;
        for row in &self.w {
            out.write_str("\n            ")?;
            write_list(out, row)?;
            out.write_str(",")?;
        }
        out.write_str("\n        ],\n        ")?;
        write_list(out, &self.bias)?;
        out.write_str(",\n        ")?;
        write_list(out, &self.multiplier)?;
        out.write_str(",\n        ")?;
        write_list(out, &self.shift)?;
        write!(
            out,
            ",\n        {}, {}, {}, {},\n        ",
            self.input_zero_point, self.output_zero_point, self.min, self.max
        )?;
        self.table.write_rust(out)?;
        out.write_str(",\n    ) {\n        Ok(layer) => layer,\n        Err(_) => panic!(\"invalid int8 layer\"),\n    }")
    }

    /// Writes the layer's type as Rust source.
    pub fn write_type(out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "stackprop::quant::QDense<{IN}, {OUT}, ")?;
        T::write_type(out)?;
        out.write_str(">")
    }
}

/// acc\[j\] += Σ_i d\[i\]·w\[i\]\[j\], skipping inputs with d\[i\] = 0 (real zeros: ReLU
/// outputs, blank pixels), in tiles of [`TILE`] neurons held in registers.
#[inline(never)]
fn accumulate<const IN: usize, const OUT: usize>(
    w: &[[i8; OUT]; IN],
    d: &[i16; IN],
    acc: &mut [i32; OUT],
) {
    let (tiles, rest) = acc.as_chunks_mut::<TILE>();
    for (t, tile) in tiles.iter_mut().enumerate() {
        let mut sums = *tile;
        for (&di, row) in d.iter().zip(w) {
            if di == 0 {
                continue;
            }
            if let Some(ws) = row.as_chunks::<TILE>().0.get(t) {
                for (s, &wk) in sums.iter_mut().zip(ws) {
                    *s = s.wrapping_add(i32::from(di) * i32::from(wk));
                }
            }
        }
        *tile = sums;
    }
    let lo = OUT - rest.len();
    for (k, s) in rest.iter_mut().enumerate() {
        for (&di, row) in d.iter().zip(w) {
            if let Some(&wk) = row.get(lo + k) {
                *s = s.wrapping_add(i32::from(di) * i32::from(wk));
            }
        }
    }
}

/// Neurons accumulated together: eight `i32` sums fit the Cortex-M4's registers.
const TILE: usize = 4;

/// Writes `[a, b, …]`.
fn write_list<V: fmt::Display>(out: &mut dyn fmt::Write, values: &[V]) -> fmt::Result {
    out.write_str("[")?;
    for (k, v) in values.iter().enumerate() {
        if k > 0 {
            out.write_str(", ")?;
        }
        write!(out, "{v}")?;
    }
    out.write_str("]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accumulator_is_the_plain_sum() {
        let mut w = [[0_i8; 13]; 5];
        for (i, row) in w.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = ((i * 37 + j * 11) % 255) as i8;
            }
        }
        let d = [-255_i16, 0, 3, 255, -7];
        let mut acc = [5_i32; 13];
        accumulate(&w, &d, &mut acc);
        for j in 0..13 {
            let want: i32 = 5
                + (0..5)
                    .map(|i| i32::from(d[i]) * i32::from(w[i][j]))
                    .sum::<i32>();
            assert_eq!(acc[j], want);
        }
    }

    #[test]
    fn new_refuses_what_could_overflow() {
        let ok = QDense::<2, 1>::new([[1], [1]], [1000], [1 << 30], [0], 0, 0, -128, 127, NoTable);
        assert!(ok.is_ok());
        let limit = bias_limit(2) as i32;
        let big = QDense::<2, 1>::new([[1], [1]], [limit + 1], [1], [0], 0, 0, 0, 0, NoTable);
        assert_eq!(big, Err(QuantError::BiasOutOfRange { layer: 0 }));
        let shift = QDense::<2, 1>::new([[1], [1]], [0], [1], [31], 0, 0, 0, 0, NoTable);
        assert_eq!(shift, Err(QuantError::MultiplierOutOfRange { layer: 0 }));
        let clamp = QDense::<2, 1>::new([[1], [1]], [0], [1], [0], 0, 0, 1, 0, NoTable);
        assert_eq!(clamp, Err(QuantError::InvalidClamp { layer: 0 }));
    }

    #[test]
    fn a_table_maps_the_clamped_pre_activation() {
        let mut table = [0_i8; 256];
        for (k, t) in table.iter_mut().enumerate() {
            *t = (k / 2) as i8 - 64; // entry a + 128 for pre-activation a
        }
        let layer =
            QDense::<1, 1, Table>::new([[1]], [0], [1 << 30], [1], 0, 0, 0, 0, Table(table));
        let layer = layer.expect("valid");
        assert_eq!(layer.forward(&[5]), [2]); // a = 5: entry 133
        assert_eq!(layer.forward(&[-128]), [-64]); // a = −128: entry 0
    }
}
