//! [`QuantError`]: why a network could not be quantised, or quantised parts refused.

use core::fmt;

/// Why [`quantize`](crate::quant::quantize) refused a network, or a quantised layer or
/// parameter set was refused by its constructor. Layers count from 0 at the input.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// No calibration inputs were given: scales cannot be chosen.
    EmptyCalibration,
    /// A calibration input is NaN or infinite.
    NonFiniteCalibration,
    /// A weight or bias of this layer is NaN or infinite.
    NonFiniteParameter {
        /// The layer.
        layer: usize,
    },
    /// The float forward pass gave a NaN or infinite value in this layer on the
    /// calibration data.
    NonFiniteActivation {
        /// The layer.
        layer: usize,
    },
    /// A quantised bias round(b / (s_x·s_w)) does not fit the `i32` accumulator with
    /// room for every product (|bias| + IN·255·127 must stay below 2^31).
    BiasOutOfRange {
        /// The layer.
        layer: usize,
    },
    /// A requantisation multiplier s_x·s_w / s_y is 2^30 or more, or a `shift` is
    /// outside [−31, 30], or a multiplier is negative.
    MultiplierOutOfRange {
        /// The layer.
        layer: usize,
    },
    /// A scale is not positive and finite.
    InvalidScale,
    /// An activation clamp has its lower bound above its upper bound.
    InvalidClamp {
        /// The layer.
        layer: usize,
    },
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::EmptyCalibration => f.write_str("no calibration inputs"),
            QuantError::NonFiniteCalibration => {
                f.write_str("a calibration input is NaN or infinite")
            }
            QuantError::NonFiniteParameter { layer } => {
                write!(f, "layer {layer} has a NaN or infinite parameter")
            }
            QuantError::NonFiniteActivation { layer } => write!(
                f,
                "layer {layer} computes NaN or infinite values on the calibration data"
            ),
            QuantError::BiasOutOfRange { layer } => write!(
                f,
                "layer {layer}: a quantised bias does not fit the i32 accumulator"
            ),
            QuantError::MultiplierOutOfRange { layer } => write!(
                f,
                "layer {layer}: a requantisation multiplier or shift is out of range"
            ),
            QuantError::InvalidScale => f.write_str("a scale is not positive and finite"),
            QuantError::InvalidClamp { layer } => {
                write!(f, "layer {layer}: the activation clamp is empty")
            }
        }
    }
}

impl core::error::Error for QuantError {}
