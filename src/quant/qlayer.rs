//! [`QLayer`]: an int8 layer or a tuple of them, run one sample at a time.

use core::fmt;

use crate::quant::qdense::{Lookup, QDense};

/// One int8 layer, or a chain of them (tuples of 2 to 6, each element's `Input` the
/// previous element's `Output`, as for [`Layer`](crate::Layer)).
pub trait QLayer {
    /// One int8 input row, `[i8; IN]`.
    type Input: Copy;
    /// One int8 output row, `[i8; OUT]`.
    type Output: Copy;
    /// The output rows of every layer of a chain, which the caller owns.
    type Buffers: Copy;
    /// The all-zero buffers, so they can live on the stack or in a `static`.
    const BUFFERS: Self::Buffers;
    /// Layers in the chain.
    const LAYERS: usize;

    /// Runs the layers on `x`; the output is then [`output`](QLayer::output)`(buffers)`.
    fn run(&self, x: &Self::Input, buffers: &mut Self::Buffers);
    /// The last layer's output in `buffers`.
    fn output(buffers: &Self::Buffers) -> &Self::Output;
    /// Calls `f` with a view of every layer, from the input on.
    fn visit(&self, f: &mut dyn FnMut(QDenseView<'_>));
    /// Writes the layers as a Rust expression (valid in a `static`'s initialiser).
    fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result;
    /// Writes the type as Rust source.
    fn write_type(out: &mut dyn fmt::Write) -> fmt::Result;
}

/// Everything a [`QDense`] holds, as slices: for exporting a network to other tools.
#[derive(Clone, Copy, Debug)]
pub struct QDenseView<'a> {
    /// IN.
    pub inputs: usize,
    /// OUT.
    pub outputs: usize,
    /// The weights row-major, `w[i][j]` at `i·OUT + j`.
    pub weights: &'a [i8],
    /// The `i32` biases.
    pub bias: &'a [i32],
    /// The Q31 multipliers.
    pub multiplier: &'a [i32],
    /// The shifts.
    pub shift: &'a [i8],
    /// z_x.
    pub input_zero_point: i8,
    /// z_y.
    pub output_zero_point: i8,
    /// The clamp of a fused activation.
    pub min: i8,
    /// See `min`.
    pub max: i8,
    /// The activation table, if the layer has one.
    pub table: Option<&'a [i8; 256]>,
}

impl<const IN: usize, const OUT: usize, T: Lookup> QLayer for QDense<IN, OUT, T> {
    type Input = [i8; IN];
    type Output = [i8; OUT];
    type Buffers = [i8; OUT];
    const BUFFERS: [i8; OUT] = [0; OUT];
    const LAYERS: usize = 1;

    #[inline]
    fn run(&self, x: &[i8; IN], buffers: &mut [i8; OUT]) {
        self.forward_into(x, buffers);
    }
    #[inline(always)]
    fn output(buffers: &[i8; OUT]) -> &[i8; OUT] {
        buffers
    }
    fn visit(&self, f: &mut dyn FnMut(QDenseView<'_>)) {
        let (min, max) = self.clamp();
        f(QDenseView {
            inputs: IN,
            outputs: OUT,
            weights: self.weights().as_flattened(),
            bias: self.bias(),
            multiplier: self.multiplier(),
            shift: self.shift(),
            input_zero_point: self.input_zero_point(),
            output_zero_point: self.output_zero_point(),
            min,
            max,
            table: self.lookup().table(),
        });
    }
    fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        QDense::write_rust(self, out)
    }
    fn write_type(out: &mut dyn fmt::Write) -> fmt::Result {
        QDense::<IN, OUT, T>::write_type(out)
    }
}

/// Implements [`QLayer`] for a tuple: `$l0 $i0` is the first layer, each
/// `[$p $pi => $l $i]` a link from layer `$p` to layer `$l`.
macro_rules! qsequential {
    ($l0:ident $i0:tt, last: $ll:ident $il:tt; $([$p:ident $pi:tt => $l:ident $i:tt])+) => {
        impl<$l0: QLayer $(, $l: QLayer<Input = $p::Output>)+> QLayer for ($l0, $($l,)+) {
            type Input = $l0::Input;
            type Output = $ll::Output;
            type Buffers = ($l0::Buffers, $($l::Buffers,)+);
            const BUFFERS: Self::Buffers = ($l0::BUFFERS, $($l::BUFFERS,)+);
            const LAYERS: usize = $l0::LAYERS $(+ $l::LAYERS)+;

            #[inline]
            fn run(&self, x: &Self::Input, buffers: &mut Self::Buffers) {
                self.$i0.run(x, &mut buffers.$i0);
                $( self.$i.run($p::output(&buffers.$pi), &mut buffers.$i); )+
            }
            #[inline(always)]
            fn output(buffers: &Self::Buffers) -> &Self::Output {
                $ll::output(&buffers.$il)
            }
            fn visit(&self, f: &mut dyn FnMut(QDenseView<'_>)) {
                self.$i0.visit(f);
                $( self.$i.visit(f); )+
            }
            fn write_rust(&self, out: &mut dyn fmt::Write) -> fmt::Result {
                out.write_str("(\n    ")?;
                self.$i0.write_rust(out)?;
                $( out.write_str(",\n    ")?; self.$i.write_rust(out)?; )+
                out.write_str(",\n)")
            }
            fn write_type(out: &mut dyn fmt::Write) -> fmt::Result {
                out.write_str("(")?;
                $l0::write_type(out)?;
                $( out.write_str(", ")?; $l::write_type(out)?; )+
                out.write_str(")")
            }
        }
    };
}

qsequential!(L0 0, last: L1 1; [L0 0 => L1 1]);
qsequential!(L0 0, last: L2 2; [L0 0 => L1 1] [L1 1 => L2 2]);
qsequential!(L0 0, last: L3 3; [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3]);
qsequential!(L0 0, last: L4 4; [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4]);
qsequential!(L0 0, last: L5 5;
    [L0 0 => L1 1] [L1 1 => L2 2] [L2 2 => L3 3] [L3 3 => L4 4] [L4 4 => L5 5]);
