//! Everything that can go wrong, each with a message that says where and what.

use std::fmt;

use crate::spec::ALL;

/// Why an import, export or record could not be done.
#[derive(Debug)]
pub enum BridgeError {
    /// An activation stackprop does not have.
    Activation {
        /// The name given.
        name: String,
        /// What to do instead, if there is a usual answer.
        hint: &'static str,
    },
    /// No activations given.
    EmptySpec,
    /// The number of activations differs from the number of `nn.Linear` layers.
    LayerCount {
        /// `nn.Linear` layers found in the file (or the record).
        layers: usize,
        /// Activations given.
        activations: usize,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The `.safetensors` file itself is malformed.
    SafeTensors(String),
    /// A tensor that is not the weight or bias of an `nn.Linear` in an `nn.Sequential`.
    UnexpectedTensor {
        /// Its name.
        name: String,
        /// Why it does not fit.
        why: String,
    },
    /// A bias without the weight of its layer.
    MissingWeight {
        /// The bias tensor.
        bias: String,
    },
    /// A dtype other than F64, F32, F16, BF16.
    Dtype {
        /// The tensor.
        name: String,
        /// Its dtype, as safetensors names it.
        dtype: String,
    },
    /// A weight that is not 2-D or a bias that is not 1-D, or has a zero dimension.
    Shape {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// What was expected.
        expected: String,
    },
    /// A layer's inputs differ from the previous layer's outputs.
    Chain {
        /// The weight tensor of the layer.
        name: String,
        /// Its inputs (the weight's second dimension).
        inputs: usize,
        /// The previous layer's outputs.
        previous: usize,
    },
    /// A NaN or infinite parameter.
    NonFinite {
        /// The tensor (or record).
        name: String,
        /// The flat index of the value in it.
        index: usize,
    },
    /// More layers than the generated tuple types can nest.
    TooManyLayers {
        /// Layers found.
        layers: usize,
    },
    /// A record that is not a valid stackprop record; the message names the field.
    Record(String),
    /// A record that does not continue its `--base` record.
    Base(String),
    /// `rustfmt` could not be run or refused the generated source.
    Rustfmt(String),
    /// A command-line mistake.
    Usage(String),
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Activation { name, hint } => {
                let known: Vec<&str> = ALL.iter().map(|a| a.name()).collect();
                write!(
                    f,
                    "activation `{name}` cannot be expressed in stackprop{hint}; the activations are: {}",
                    known.join(", ")
                )
            }
            BridgeError::EmptySpec => f.write_str(
                "no activations given: name one per nn.Linear layer, e.g. --layers relu,tanh,identity",
            ),
            BridgeError::LayerCount {
                layers,
                activations,
            } => write!(
                f,
                "{layers} nn.Linear layers but {activations} activations: give exactly one per layer (`identity` for none)"
            ),
            BridgeError::Io { path, source } => write!(f, "{path}: {source}"),
            BridgeError::SafeTensors(msg) => write!(f, "not a valid .safetensors file: {msg}"),
            BridgeError::UnexpectedTensor { name, why } => {
                write!(f, "tensor `{name}`: {why}")
            }
            BridgeError::MissingWeight { bias } => {
                write!(f, "tensor `{bias}`: a bias without the weight of its layer")
            }
            BridgeError::Dtype { name, dtype } => write!(
                f,
                "tensor `{name}` has dtype {dtype}; stackprop imports F32 and F64 (F16 and BF16 are widened exactly to F32)"
            ),
            BridgeError::Shape {
                name,
                shape,
                expected,
            } => write!(f, "tensor `{name}` has shape {shape:?}; expected {expected}"),
            BridgeError::Chain {
                name,
                inputs,
                previous,
            } => write!(
                f,
                "tensor `{name}` takes {inputs} inputs but the layer before gives {previous} outputs"
            ),
            BridgeError::NonFinite { name, index } => write!(
                f,
                "`{name}` holds a NaN or infinite value at flat index {index}; stackprop records hold finite values only"
            ),
            BridgeError::TooManyLayers { layers } => write!(
                f,
                "{layers} layers: the generated network nests tuples of at most 6 layers, 36 in all"
            ),
            BridgeError::Record(msg) => write!(f, "not a valid stackprop record: {msg}"),
            BridgeError::Base(msg) => write!(f, "--base: {msg}"),
            BridgeError::Rustfmt(msg) => write!(f, "rustfmt: {msg}"),
            BridgeError::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for BridgeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BridgeError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
