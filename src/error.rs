//! [`Error`]: everything that can go wrong at the crate's fallible boundaries.

use core::fmt;

/// The error type of every fallible operation in the crate.
///
/// The training path itself cannot fail once its inputs are validated: errors come
/// only from the boundaries (data coming in, hyper-parameters being set, slices
/// becoming arrays).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// An input value X is NaN or infinite; nothing was changed.
    NonFiniteInput,
    /// A target value T is NaN or infinite; nothing was changed.
    NonFiniteTarget,
    /// A hyper-parameter is out of its range; nothing was changed.
    InvalidHyperParameter {
        /// Which one, e.g. `"lr"`.
        name: &'static str,
        /// The range it must lie in, e.g. `"finite and >= 0"`.
        expected: &'static str,
    },
    /// A slice has the wrong length.
    LengthMismatch {
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A sample index is past the end of a dataset.
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
    /// The dataset has no samples.
    EmptyDataset,
    /// The dataset's length is not a multiple of the batch size and
    /// [`Remainder::Reject`](crate::Remainder::Reject) was asked for.
    PartialBatch {
        /// The dataset's length.
        len: usize,
        /// The batch size N.
        batch: usize,
    },
    /// A record could not be written, or bytes were refused as a record; nothing was
    /// changed (see [`persist`](crate::persist)).
    Record(crate::persist::RecordError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFiniteInput => f.write_str("an input value is NaN or infinite"),
            Error::NonFiniteTarget => f.write_str("a target value is NaN or infinite"),
            Error::InvalidHyperParameter { name, expected } => {
                write!(f, "hyper-parameter `{name}` must be {expected}")
            }
            Error::LengthMismatch { expected, found } => {
                write!(f, "expected a length of {expected}, found {found}")
            }
            Error::IndexOutOfRange { index, len } => {
                write!(f, "sample {index} is out of range for a dataset of {len}")
            }
            Error::EmptyDataset => f.write_str("the dataset is empty"),
            Error::PartialBatch { len, batch } => write!(
                f,
                "{len} samples do not fill whole batches of {batch}; choose a Remainder policy"
            ),
            Error::Record(e) => write!(f, "record: {e}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<crate::persist::RecordError> for Error {
    fn from(e: crate::persist::RecordError) -> Self {
        Error::Record(e)
    }
}
