//! The activation of each layer: what the state dict does not say.

use std::fmt;

use crate::error::BridgeError;

/// An activation stackprop has, with its PyTorch module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// `stackprop::Identity`: no module in the `nn.Sequential`.
    Identity,
    /// `stackprop::Relu`, `nn.ReLU()`.
    Relu,
    /// `stackprop::LeakyRelu`, `nn.LeakyReLU()` (slope 0.01, PyTorch's default).
    LeakyRelu,
    /// `stackprop::Sigmoid`, `nn.Sigmoid()`.
    Sigmoid,
    /// `stackprop::Tanh`, `nn.Tanh()`.
    Tanh,
    /// `stackprop::Softplus`, `nn.Softplus()` (beta 1).
    Softplus,
    /// `stackprop::Silu`, `nn.SiLU()`.
    Silu,
}

/// Every activation, in the order the error messages list them.
pub const ALL: [Act; 7] = [
    Act::Identity,
    Act::Relu,
    Act::LeakyRelu,
    Act::Sigmoid,
    Act::Tanh,
    Act::Softplus,
    Act::Silu,
];

impl Act {
    /// The name in a layer spec: `identity`, `relu`, `leaky_relu`, …
    pub const fn name(self) -> &'static str {
        match self {
            Act::Identity => "identity",
            Act::Relu => "relu",
            Act::LeakyRelu => "leaky_relu",
            Act::Sigmoid => "sigmoid",
            Act::Tanh => "tanh",
            Act::Softplus => "softplus",
            Act::Silu => "silu",
        }
    }

    /// The stackprop type.
    pub const fn rust_type(self) -> &'static str {
        match self {
            Act::Identity => "Identity",
            Act::Relu => "Relu",
            Act::LeakyRelu => "LeakyRelu",
            Act::Sigmoid => "Sigmoid",
            Act::Tanh => "Tanh",
            Act::Softplus => "Softplus",
            Act::Silu => "Silu",
        }
    }

    /// The PyTorch module that follows the `nn.Linear`, if any.
    pub const fn torch_module(self) -> Option<&'static str> {
        match self {
            Act::Identity => None,
            Act::Relu => Some("nn.ReLU()"),
            Act::LeakyRelu => Some("nn.LeakyReLU()"),
            Act::Sigmoid => Some("nn.Sigmoid()"),
            Act::Tanh => Some("nn.Tanh()"),
            Act::Softplus => Some("nn.Softplus()"),
            Act::Silu => Some("nn.SiLU()"),
        }
    }

    /// Parses one name: the spec name or the PyTorch class name, any case.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Activation`] naming what stackprop has, or saying what to use
    /// instead for the common activations it does not have.
    pub fn parse(name: &str) -> Result<Act, BridgeError> {
        let key: String = name
            .trim()
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        let act = match key.as_str() {
            "identity" | "linear" | "none" => Act::Identity,
            "relu" => Act::Relu,
            "leakyrelu" => Act::LeakyRelu,
            "sigmoid" | "logistic" => Act::Sigmoid,
            "tanh" => Act::Tanh,
            "softplus" => Act::Softplus,
            "silu" | "swish" => Act::Silu,
            _ => {
                let hint = match key.as_str() {
                    "softmax" | "logsoftmax" => {
                        "; softmax is part of the loss in stackprop: give the last layer \
                         `identity` and train with SoftmaxCrossEntropy (stackprop::loss::softmax \
                         turns logits into probabilities)"
                    }
                    "gelu" | "elu" | "selu" | "mish" | "hardtanh" | "relu6" | "hardswish"
                    | "hardsigmoid" | "prelu" => "; stackprop has no such activation",
                    _ => "",
                };
                return Err(BridgeError::Activation {
                    name: name.trim().to_owned(),
                    hint,
                });
            }
        };
        Ok(act)
    }

    /// Parses a comma-separated spec, one activation per `nn.Linear` layer, in order.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Activation`] for an unknown name, [`BridgeError::EmptySpec`].
    pub fn parse_list(spec: &str) -> Result<Vec<Act>, BridgeError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(BridgeError::EmptySpec);
        }
        spec.split(',').map(Act::parse).collect()
    }
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `nn.Sequential` module index of each `nn.Linear` layer: every layer takes one
/// index, and every activation other than identity takes the next one, so
/// `relu,tanh,identity` gives 0, 2, 4 (`Linear, ReLU, Linear, Tanh, Linear`).
pub fn module_indices(acts: &[Act]) -> Vec<usize> {
    let mut next = 0;
    acts.iter()
        .map(|a| {
            let index = next;
            next += 1 + usize::from(*a != Act::Identity);
            index
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_torch_names_parse() {
        for act in ALL {
            assert_eq!(Act::parse(act.name()).unwrap(), act);
        }
        assert_eq!(Act::parse("LeakyReLU").unwrap(), Act::LeakyRelu);
        assert_eq!(Act::parse(" SiLU ").unwrap(), Act::Silu);
        assert_eq!(
            Act::parse_list("relu,tanh,identity").unwrap(),
            [Act::Relu, Act::Tanh, Act::Identity]
        );
    }

    #[test]
    fn unknown_activations_are_refused_with_a_reason() {
        let err = Act::parse("gelu").unwrap_err().to_string();
        assert!(
            err.contains("`gelu`") && err.contains("no such activation"),
            "{err}"
        );
        assert!(err.contains("leaky_relu"), "{err}");
        let err = Act::parse("Softmax").unwrap_err().to_string();
        assert!(err.contains("SoftmaxCrossEntropy"), "{err}");
        assert!(matches!(Act::parse_list(" "), Err(BridgeError::EmptySpec)));
        assert!(Act::parse_list("relu,,tanh").is_err());
    }

    #[test]
    fn indices_skip_one_per_activation_module() {
        assert_eq!(
            module_indices(&[Act::Relu, Act::Tanh, Act::Identity]),
            [0, 2, 4]
        );
        assert_eq!(
            module_indices(&[Act::Identity, Act::Relu, Act::Identity]),
            [0, 1, 3]
        );
    }
}
