//! [`Error`]: everything that can go wrong at the crate's fallible boundaries.

use core::fmt;

/// The error type of every fallible operation in the crate.
///
/// Errors come from the boundaries (data coming in, hyper-parameters being set, slices
/// becoming arrays) and from the training step's guard, which refuses a step whose
/// loss, gradients or new parameters would not be finite.
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
    /// The batch's loss E(Y, T) is NaN or infinite; the parameters and the optimizer
    /// state were not changed.
    NonFiniteLoss,
    /// A gradient dE/dW or dE/db is NaN or infinite; the parameters and the optimizer
    /// state were not changed.
    NonFiniteGradient,
    /// The update would make a parameter or an optimizer state value NaN or infinite;
    /// the parameters and the optimizer state were not changed.
    NonFiniteUpdate,
    /// The batch's loss is above the limit the step was given; the parameters and the
    /// optimizer state were not changed.
    LossAboveLimit,
    /// A snapshot was to be restored but none has been saved.
    NoSnapshot,
    /// Training kept diverging: the watchdog rolled back this many times in a row
    /// without making progress, and stopped (the last good snapshot is restored).
    Diverged {
        /// Rollbacks in a row.
        rollbacks: u32,
    },
    /// The dataset's length is not a multiple of the batch size and
    /// [`Remainder::Reject`](crate::Remainder::Reject) was asked for.
    PartialBatch {
        /// The dataset's length.
        len: usize,
        /// The batch size N.
        batch: usize,
    },
    /// The optimizer was never given a valid configuration (it is still its `ZERO`
    /// value): it refuses to step, to take a learning rate alone, and to be saved.
    /// Configure it with `new` or `set_config`, or load a training state into it.
    Unconfigured,
    /// A target lies outside the loss's domain (see [`Loss::check_target`]); nothing
    /// was changed.
    ///
    /// [`Loss::check_target`]: crate::Loss::check_target
    InvalidTarget {
        /// What the loss accepts.
        expected: &'static str,
    },
    /// [`Remainder::Skip`](crate::Remainder::Skip) on a dataset shorter than one batch:
    /// the epoch would train on nothing.
    NoFullBatch {
        /// The dataset's length.
        len: usize,
        /// The batch size N.
        batch: usize,
    },
    /// A record could not be written, or bytes were refused as a record; nothing was
    /// changed (see [`persist`](crate::persist)).
    Record(crate::persist::RecordError),
    /// A snapshot store could not save or load (for [`FlashSnapshot`]: the flash driver
    /// failed, or the checkpoint does not fit its slots).
    ///
    /// [`FlashSnapshot`]: crate::persist::FlashSnapshot
    Storage {
        /// What failed.
        what: &'static str,
    },
    /// A network could not be quantised to int8, or quantised parts were refused (see
    /// [`quant`](crate::quant)).
    Quant(crate::quant::QuantError),
    /// An input value lies outside the range a [`ReplayBuffer`] quantises; nothing
    /// was changed.
    ///
    /// [`ReplayBuffer`]: crate::replay::ReplayBuffer
    InputOutOfRange {
        /// The position of the value in the input row.
        index: usize,
    },
    /// A target is not one-hot (one 1, the rest 0) where a class label is required;
    /// nothing was changed.
    TargetNotOneHot,
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
            Error::NonFiniteLoss => f.write_str("the loss is NaN or infinite; step refused"),
            Error::NonFiniteGradient => f.write_str("a gradient is NaN or infinite; step refused"),
            Error::NonFiniteUpdate => f.write_str(
                "the update would make a parameter or optimizer state non-finite; step refused",
            ),
            Error::LossAboveLimit => {
                f.write_str("the loss is above the step's limit; step refused")
            }
            Error::NoSnapshot => f.write_str("no snapshot has been saved"),
            Error::Diverged { rollbacks } => write!(
                f,
                "training diverged: {rollbacks} rollbacks in a row without progress"
            ),
            Error::PartialBatch { len, batch } => write!(
                f,
                "{len} samples do not fill whole batches of {batch}; choose a Remainder policy"
            ),
            Error::Unconfigured => f.write_str(
                "the optimizer has no configuration; set one with `new` or `set_config`",
            ),
            Error::InvalidTarget { expected } => {
                write!(
                    f,
                    "a target is outside the loss's domain: expected {expected}"
                )
            }
            Error::NoFullBatch { len, batch } => write!(
                f,
                "{len} samples do not fill one batch of {batch}; Remainder::Skip would train on nothing"
            ),
            Error::Record(e) => write!(f, "record: {e}"),
            Error::Storage { what } => write!(f, "snapshot store: {what}"),
            Error::Quant(e) => write!(f, "int8 quantisation: {e}"),
            Error::InputOutOfRange { index } => write!(
                f,
                "input value {index} lies outside the replay buffer's range"
            ),
            Error::TargetNotOneHot => f.write_str("the target is not one-hot (one 1, the rest 0)"),
        }
    }
}

impl core::error::Error for Error {}

impl From<crate::persist::RecordError> for Error {
    fn from(e: crate::persist::RecordError) -> Self {
        Error::Record(e)
    }
}

impl From<crate::quant::QuantError> for Error {
    fn from(e: crate::quant::QuantError) -> Self {
        Error::Quant(e)
    }
}
