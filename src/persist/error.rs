//! [`RecordError`]: why a record could not be written or was refused on loading.

use core::fmt;

use crate::ScalarKind;
use crate::persist::{LayerShape, RecordKind};

/// Why a record could not be written, or why bytes were refused as a record.
///
/// Carried by [`Error::Record`](crate::Error::Record). A refused record changes nothing:
/// every check runs before the first value is written.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The output buffer is shorter than the record.
    BufferTooSmall {
        /// The record's length in bytes.
        needed: usize,
        /// The buffer's length.
        found: usize,
    },
    /// The bytes are not exactly as long as this network's record (truncated, or with
    /// trailing bytes).
    Length {
        /// The record's length in bytes.
        expected: usize,
        /// The number of bytes given.
        found: usize,
    },
    /// The bytes do not start with [`MAGIC`](crate::persist::MAGIC).
    Magic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// The format version is not [`VERSION`](crate::persist::VERSION).
    Version {
        /// The version in the header.
        found: u16,
    },
    /// The record holds another scalar type (f32 against f64).
    Scalar {
        /// The network's scalar.
        expected: ScalarKind,
        /// The scalar code in the header (4 = f32, 8 = f64, anything else is unknown).
        found: u8,
    },
    /// The record is of another kind (parameters against training state).
    Kind {
        /// The kind being loaded.
        expected: RecordKind,
        /// The kind code in the header.
        found: u8,
    },
    /// The header's length field disagrees with the record's length.
    HeaderLength {
        /// The record's length in bytes.
        expected: usize,
        /// The header's length field.
        found: u32,
    },
    /// The record describes a network with another number of layers.
    LayerCount {
        /// The network's number of dense layers.
        expected: usize,
        /// The header's layer count.
        found: u32,
    },
    /// A layer's dimensions, bias or frozen flag differ from the network's.
    Shape {
        /// The layer's index, from 0 at the input.
        layer: usize,
        /// The network's layer.
        expected: LayerShape,
        /// The record's layer.
        found: LayerShape,
    },
    /// A training-state record of another optimizer (see
    /// [`OptimizerState::ID`](crate::persist::OptimizerState::ID)).
    Optimizer {
        /// The optimizer's identifier.
        expected: u32,
        /// The record's identifier.
        found: u32,
    },
    /// The CRC-32 does not match the bytes: the record is corrupted.
    Checksum {
        /// The CRC stored in the record.
        stored: u32,
        /// The CRC computed over the bytes.
        computed: u32,
    },
    /// A parameter or optimizer value is NaN or infinite (refused on writing too).
    NonFinite {
        /// The byte offset of the value in the record.
        offset: usize,
    },
    /// An optimizer value is outside the range its update can produce (a negative
    /// second moment, a bias-correction power above 1, a step counter out of range).
    InvalidState {
        /// Which value.
        what: &'static str,
    },
    /// A network or optimizer yielded another number of values than its constants
    /// declare: a bug in an [`Architecture`](crate::persist::Architecture) or
    /// [`OptimizerState`](crate::persist::OptimizerState) implementation.
    Inconsistent,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed, found } => {
                write!(f, "the record needs {needed} bytes, the buffer has {found}")
            }
            Self::Length { expected, found } => {
                write!(
                    f,
                    "a record of {expected} bytes was expected, {found} were given"
                )
            }
            Self::Magic { found } => write!(f, "not a stackprop record (magic {found:02x?})"),
            Self::Version { found } => write!(f, "unsupported record format version {found}"),
            Self::Scalar { expected, found } => {
                write!(
                    f,
                    "the record holds scalar code {found}, the network {expected:?}"
                )
            }
            Self::Kind { expected, found } => {
                write!(
                    f,
                    "the record is of kind {found}, {expected:?} was expected"
                )
            }
            Self::HeaderLength { expected, found } => {
                write!(
                    f,
                    "the header says {found} bytes, the record has {expected}"
                )
            }
            Self::LayerCount { expected, found } => {
                write!(f, "the record has {found} layers, the network {expected}")
            }
            Self::Shape {
                layer,
                expected,
                found,
            } => write!(
                f,
                "layer {layer} is {found:?} in the record, {expected:?} in the network"
            ),
            Self::Optimizer { expected, found } => {
                write!(f, "the record is of optimizer {found}, not {expected}")
            }
            Self::Checksum { stored, computed } => write!(
                f,
                "CRC-32 mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            Self::NonFinite { offset } => {
                write!(f, "a NaN or infinite value at byte {offset} of the record")
            }
            Self::InvalidState { what } => write!(f, "optimizer state out of range: {what}"),
            Self::Inconsistent => f.write_str(
                "a network or optimizer holds another number of values than it declares",
            ),
        }
    }
}

impl core::error::Error for RecordError {}
