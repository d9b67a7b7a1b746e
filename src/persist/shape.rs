//! [`Architecture`]: what a network's layers look like, as constants and a list of
//! [`LayerShape`]s, so a record can say which network it belongs to.

use core::mem::size_of;

use crate::{Activation, Bias, Dense, Error, Frozen, FrozenRef, Layer, Scalar};

/// The dimensions of one dense layer, as recorded in a record's header.
///
/// In the record it is three little-endian `u32`: `inputs`, `outputs`, `flags`.
///
/// # Examples
///
/// ```
/// use stackprop::persist::{Architecture, LayerShape};
/// use stackprop::{Dense, Frozen, Identity, NoBias, Relu};
///
/// type Net = (Frozen<Dense<4, 3, Relu>>, Dense<3, 2, Identity, f32, NoBias>);
/// let shapes: Vec<LayerShape> = Net::shapes().collect();
/// assert_eq!(shapes, [LayerShape::new(4, 3, true, true), LayerShape::new(3, 2, false, false)]);
/// assert_eq!((Net::LAYER_COUNT, Net::PARAM_COUNT, Net::TRAINABLE_COUNT), (2, 21, 6));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LayerShape {
    /// Inputs per sample, K^l.
    pub inputs: u32,
    /// Outputs per sample, K^(l+1).
    pub outputs: u32,
    /// [`LayerShape::BIAS`] and [`LayerShape::FROZEN`]; every other bit is 0.
    pub flags: u32,
}

impl LayerShape {
    /// Flag bit: the layer has a bias vector of `outputs` values.
    pub const BIAS: u32 = 1;
    /// Flag bit: the layer is [`Frozen`] (recorded in training-state records only).
    pub const FROZEN: u32 = 2;

    /// A shape from its parts. Widths above `u32::MAX` are recorded as `u32::MAX`.
    pub const fn new(inputs: usize, outputs: usize, bias: bool, frozen: bool) -> Self {
        const fn narrow(x: usize) -> u32 {
            if x > u32::MAX as usize {
                u32::MAX
            } else {
                x as u32
            }
        }
        Self {
            inputs: narrow(inputs),
            outputs: narrow(outputs),
            flags: if bias { Self::BIAS } else { 0 } | if frozen { Self::FROZEN } else { 0 },
        }
    }

    /// `true` if the layer has a bias vector.
    pub const fn bias(&self) -> bool {
        self.flags & Self::BIAS != 0
    }

    /// `true` if the layer is frozen.
    pub const fn frozen(&self) -> bool {
        self.flags & Self::FROZEN != 0
    }

    /// The same shape with the frozen flag set or cleared.
    pub const fn with_frozen(self, frozen: bool) -> Self {
        Self::new(
            self.inputs as usize,
            self.outputs as usize,
            self.bias(),
            frozen,
        )
    }
}

/// A network that can describe its layers: the header of its records.
///
/// The counts are associated constants, so record lengths are compile-time constants
/// too ([`Architecture::PARAMS_RECORD_LEN`]); the list of layers is an iterator
/// ([`Architecture::shapes`]), front to back. Implemented for [`Dense`], [`Frozen`] and
/// tuples of 1 to 12 networks.
pub trait Architecture: Layer {
    /// The number of dense layers.
    const LAYER_COUNT: usize;
    /// The number of parameters (scalars), frozen ones included.
    const PARAM_COUNT: usize;
    /// The number of trainable parameters: the scalars of [`Layer::Grads`].
    const TRAINABLE_COUNT: usize;
    /// The byte length of this network's parameter record.
    const PARAMS_RECORD_LEN: usize = super::record::params_len(
        Self::LAYER_COUNT,
        Self::PARAM_COUNT,
        super::record::scalar_width::<Self::Scalar>(),
    );

    /// The shape of every dense layer, front to back: [`Architecture::LAYER_COUNT`] items.
    fn shapes() -> impl Iterator<Item = LayerShape>;

    /// Writes the parameter record of this network into the start of `out`; returns
    /// its length, [`PARAMS_RECORD_LEN`](Architecture::PARAMS_RECORD_LEN).
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::persist::Architecture;
    /// use stackprop::{Dense, Identity, Init, Layer, SplitMix64, Tanh, Zero};
    /// type Net = (Dense<2, 3, Tanh>, Dense<3, 1, Identity>);
    ///
    /// let mut net = Net::ZERO;
    /// net.init(Init::GlorotUniform, &mut SplitMix64::new(5));
    /// let mut record = [0u8; Net::PARAMS_RECORD_LEN];
    /// net.save_params(&mut record)?;
    ///
    /// let mut copy = Net::ZERO;
    /// copy.load_params(&record)?;
    /// assert_eq!(copy, net);
    /// record[40] ^= 1; // one flipped bit in the parameters
    /// assert!(copy.load_params(&record).is_err());
    /// # Ok::<(), stackprop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecordError::BufferTooSmall`](crate::persist::RecordError::BufferTooSmall) or
    /// [`RecordError::NonFinite`](crate::persist::RecordError::NonFinite) (a parameter
    /// is NaN or infinite); `out` is unchanged then.
    fn save_params(&self, out: &mut [u8]) -> Result<usize, Error>
    where
        Self: Sized,
    {
        super::record::write_params(self, out)
    }

    /// Loads a parameter record written by [`save_params`](Architecture::save_params)
    /// for a network of the same shape (any of whose layers may be [`Frozen`]).
    ///
    /// Everything is checked before a parameter is written: length, header, layer
    /// shapes, CRC-32, and that every value is finite.
    ///
    /// # Errors
    ///
    /// The first failed check, as an [`Error::Record`]; `self` is unchanged then.
    fn load_params(&mut self, bytes: &[u8]) -> Result<(), Error>
    where
        Self: Sized,
    {
        super::record::read_params(self, bytes)
    }
}

impl<const IN: usize, const OUT: usize, F, S, B> Architecture for Dense<IN, OUT, F, S, B>
where
    F: Activation<S>,
    S: Scalar,
    B: Bias<S, OUT>,
{
    const LAYER_COUNT: usize = 1;
    const PARAM_COUNT: usize = IN * OUT + size_of::<B>() / size_of::<S>();
    const TRAINABLE_COUNT: usize = Self::PARAM_COUNT;

    fn shapes() -> impl Iterator<Item = LayerShape> {
        core::iter::once(LayerShape::new(IN, OUT, size_of::<B>() != 0, false))
    }
}

impl<L: Architecture> Architecture for Frozen<L> {
    const LAYER_COUNT: usize = L::LAYER_COUNT;
    const PARAM_COUNT: usize = L::PARAM_COUNT;
    const TRAINABLE_COUNT: usize = 0;

    fn shapes() -> impl Iterator<Item = LayerShape> {
        L::shapes().map(|s| s.with_frozen(true))
    }
}

/// A layer borrowed from a `static` belongs to the firmware image, not to the network's
/// state (its [`Layer::params`] are empty): records leave it out entirely, so a network
/// `(FrozenRef<A>, B)` has the records of `B` alone.
impl<L: Architecture> Architecture for FrozenRef<L> {
    const LAYER_COUNT: usize = 0;
    const PARAM_COUNT: usize = 0;
    const TRAINABLE_COUNT: usize = 0;

    fn shapes() -> impl Iterator<Item = LayerShape> {
        core::iter::empty()
    }
}

macro_rules! architecture_tuple {
    ($first:ident $(, $t:ident)*) => {
        impl<$first: Architecture $(, $t: Architecture)*> Architecture for ($first, $($t,)*)
        where
            ($first, $($t,)*): Layer,
        {
            const LAYER_COUNT: usize = $first::LAYER_COUNT $(+ $t::LAYER_COUNT)*;
            const PARAM_COUNT: usize = $first::PARAM_COUNT $(+ $t::PARAM_COUNT)*;
            const TRAINABLE_COUNT: usize = $first::TRAINABLE_COUNT $(+ $t::TRAINABLE_COUNT)*;

            fn shapes() -> impl Iterator<Item = LayerShape> {
                $first::shapes()$(.chain($t::shapes()))*
            }
        }
    };
}

architecture_tuple!(A);
architecture_tuple!(A, B);
architecture_tuple!(A, B, C);
architecture_tuple!(A, B, C, D);
architecture_tuple!(A, B, C, D, E);
architecture_tuple!(A, B, C, D, E, F);
architecture_tuple!(A, B, C, D, E, F, G);
architecture_tuple!(A, B, C, D, E, F, G, H);
architecture_tuple!(A, B, C, D, E, F, G, H, I);
architecture_tuple!(A, B, C, D, E, F, G, H, I, J);
architecture_tuple!(A, B, C, D, E, F, G, H, I, J, K);
architecture_tuple!(A, B, C, D, E, F, G, H, I, J, K, L);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GradsOf, Identity, NoBias, Relu, Tanh, Tensors, Zero};

    /// The constants agree with what the layers actually hold.
    fn consistent<L: Architecture + Zero>() {
        let mut net = L::ZERO;
        assert_eq!(L::shapes().count(), L::LAYER_COUNT);
        assert_eq!(net.params().map(<[_]>::len).sum::<usize>(), L::PARAM_COUNT);
        assert_eq!(
            net.trainable_mut().map(|s| s.len()).sum::<usize>(),
            L::TRAINABLE_COUNT
        );
        assert_eq!(GradsOf::<L>::ZERO.scalar_count(), L::TRAINABLE_COUNT);
        let from_shapes: usize = L::shapes()
            .map(|s| (s.inputs as usize + usize::from(s.bias())) * s.outputs as usize)
            .sum();
        assert_eq!(from_shapes, L::PARAM_COUNT);
    }

    #[test]
    fn counts_match_the_layers() {
        consistent::<Dense<3, 4, Relu>>();
        consistent::<Dense<3, 4, Relu, f64, NoBias>>();
        consistent::<(Dense<2, 5, Tanh>, Dense<5, 1, Identity>)>();
        consistent::<(
            Frozen<Dense<2, 5, Tanh>>,
            Dense<5, 3, Identity, f32, NoBias>,
        )>();
        consistent::<(
            Dense<2, 3, Tanh, f64>,
            Frozen<(Dense<3, 3, Relu, f64>, Dense<3, 3, Relu, f64, NoBias>)>,
            Dense<3, 1, Identity, f64>,
        )>();
    }

    #[test]
    fn frozen_flag_reaches_every_inner_layer() {
        type Inner = (Dense<3, 3, Relu>, Dense<3, 2, Relu>);
        assert!(Frozen::<Inner>::shapes().all(|s| s.frozen()));
        assert!(Inner::shapes().all(|s| !s.frozen() && s.bias()));
    }

    #[test]
    fn a_borrowed_layer_is_left_out_of_records() {
        static FIRST: Dense<3, 4, Relu> = Dense::new([[0.5; 4]; 3], [0.25; 4]);
        type Tuned = (FrozenRef<Dense<3, 4, Relu>>, Dense<4, 2, Identity>);
        let mut last = Dense::<4, 2, Identity>::ZERO;
        last.init(crate::Init::GlorotUniform, &mut crate::SplitMix64::new(9));
        let tuned: Tuned = (FrozenRef(&FIRST), last);
        assert_eq!(Tuned::LAYER_COUNT, 1);
        assert_eq!(
            Tuned::PARAMS_RECORD_LEN,
            Dense::<4, 2, Identity>::PARAMS_RECORD_LEN
        );
        let mut record = [0u8; Tuned::PARAMS_RECORD_LEN];
        tuned.save_params(&mut record).expect("finite");
        let mut alone = [0u8; Tuned::PARAMS_RECORD_LEN];
        last.save_params(&mut alone).expect("finite");
        assert_eq!(record, alone);
        let mut copy: Tuned = (FrozenRef(&FIRST), Dense::ZERO);
        copy.load_params(&record).expect("valid");
        assert_eq!(copy.1, last);
    }
}
