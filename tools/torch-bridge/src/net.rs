//! A network's layers held in memory, independent of its file format.

use crate::error::BridgeError;

/// The scalar of a stackprop network and of its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `f32`, 4 bytes.
    F32,
    /// `f64`, 8 bytes.
    F64,
}

impl Scalar {
    /// Bytes per value.
    pub const fn width(self) -> usize {
        match self {
            Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }

    /// The Rust type name.
    pub const fn rust(self) -> &'static str {
        match self {
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
        }
    }

    /// Parses `f32` or `f64`.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Usage`] for anything else.
    pub fn parse(s: &str) -> Result<Scalar, BridgeError> {
        match s {
            "f32" => Ok(Scalar::F32),
            "f64" => Ok(Scalar::F64),
            _ => Err(BridgeError::Usage(format!(
                "scalar `{s}`: stackprop networks are f32 or f64"
            ))),
        }
    }

    /// `x` rounded to this scalar (exact for `F64`).
    pub fn round(self, x: f64) -> f64 {
        match self {
            Scalar::F32 => f64::from(x as f32),
            Scalar::F64 => x,
        }
    }
}

/// One dense layer: stackprop's layout, `w[i * outputs + j]` from input `i` to neuron `j`.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Inputs, K^l.
    pub inputs: usize,
    /// Outputs, K^(l+1).
    pub outputs: usize,
    /// W, inputs × outputs, row-major (PyTorch's `weight` transposed).
    pub w: Vec<f64>,
    /// b, `outputs` values, if the layer has a bias.
    pub b: Option<Vec<f64>>,
}

impl Layer {
    /// W in PyTorch's `[out, in]` layout, row-major.
    pub fn torch_weight(&self) -> Vec<f64> {
        let mut t = vec![0.0; self.w.len()];
        for i in 0..self.inputs {
            for j in 0..self.outputs {
                t[j * self.inputs + i] = self.w[i * self.outputs + j];
            }
        }
        t
    }

    /// A layer from PyTorch's `[out, in]` weight (row-major) and bias.
    pub fn from_torch(inputs: usize, outputs: usize, weight: &[f64], b: Option<Vec<f64>>) -> Self {
        let mut w = vec![0.0; inputs * outputs];
        for j in 0..outputs {
            for i in 0..inputs {
                w[i * outputs + j] = weight[j * inputs + i];
            }
        }
        Layer {
            inputs,
            outputs,
            w,
            b,
        }
    }

    /// The number of parameters.
    pub fn param_count(&self) -> usize {
        self.w.len() + self.b.as_ref().map_or(0, Vec::len)
    }
}

/// A network: its scalar and its layers, front to back. Every value is exactly
/// representable in `scalar`.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The scalar of the network and its records.
    pub scalar: Scalar,
    /// The layers, front to back.
    pub layers: Vec<Layer>,
}

impl Network {
    /// Checks that the widths chain, sizes agree and every value is finite.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Chain`], [`BridgeError::Shape`], [`BridgeError::NonFinite`].
    pub fn check(&self, names: &[String]) -> Result<(), BridgeError> {
        let name = |l: usize| {
            names
                .get(l)
                .cloned()
                .unwrap_or_else(|| format!("layer {l}"))
        };
        for (l, layer) in self.layers.iter().enumerate() {
            if layer.inputs == 0
                || layer.outputs == 0
                || layer.w.len() != layer.inputs * layer.outputs
            {
                return Err(BridgeError::Shape {
                    name: name(l),
                    shape: vec![layer.outputs, layer.inputs],
                    expected: "a non-empty [out, in] weight".into(),
                });
            }
            if let Some(prev) = l.checked_sub(1).and_then(|p| self.layers.get(p))
                && prev.outputs != layer.inputs
            {
                return Err(BridgeError::Chain {
                    name: name(l),
                    inputs: layer.inputs,
                    previous: prev.outputs,
                });
            }
            let values = layer.w.iter().chain(layer.b.iter().flatten());
            if let Some(index) = values.clone().position(|v| !v.is_finite()) {
                return Err(BridgeError::NonFinite {
                    name: name(l),
                    index,
                });
            }
        }
        Ok(())
    }
}

impl Network {
    /// The network of `base` with its last layers replaced by `self`: a record of a
    /// network whose first layers are `FrozenRef`s (left out of its records) completed
    /// with those layers from the record they were made from.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Base`] if the scalars differ, `self` has more layers than `base`,
    /// or a layer of `self` differs in shape or bias from the one it replaces.
    pub fn after_base(self, base: &Network) -> Result<Network, BridgeError> {
        if self.scalar != base.scalar {
            return Err(BridgeError::Base(format!(
                "the record is {} but the base is {}",
                self.scalar.rust(),
                base.scalar.rust()
            )));
        }
        let Some(kept) = base.layers.len().checked_sub(self.layers.len()) else {
            return Err(BridgeError::Base(format!(
                "the record has {} layers, more than the base's {}",
                self.layers.len(),
                base.layers.len()
            )));
        };
        for (i, (ours, theirs)) in self.layers.iter().zip(&base.layers[kept..]).enumerate() {
            let shape = |l: &Layer| (l.inputs, l.outputs, l.b.is_some());
            if shape(ours) != shape(theirs) {
                return Err(BridgeError::Base(format!(
                    "record layer {i} is {:?} (inputs, outputs, bias) but base layer {} is {:?}",
                    shape(ours),
                    kept + i,
                    shape(theirs)
                )));
            }
        }
        let mut layers = base.layers[..kept].to_vec();
        layers.extend(self.layers);
        Ok(Network {
            scalar: base.scalar,
            layers,
        })
    }
}
