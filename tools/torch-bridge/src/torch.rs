//! `.safetensors` files of an `nn.Sequential`'s `state_dict()`: reading them into a
//! [`Network`] and writing a [`Network`] back.
//!
//! Names are `{prefix}{index}.weight` and `{prefix}{index}.bias`, `index` the module's
//! number in the `nn.Sequential`. On import only the order of the indices counts (so
//! `nn.Dropout` and other parameter-free modules between the layers are fine); on export
//! each layer's index follows [`module_indices`]: every `nn.Linear` takes one index and
//! its activation module, unless the activation is identity, the next one.

use std::collections::{BTreeMap, HashMap};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::BridgeError;
use crate::net::{Layer, Network, Scalar};
use crate::spec::{Act, module_indices};

/// The weight and the bias of one layer, each with its name, as found.
type Pair<'a> = (
    Option<(String, TensorView<'a>)>,
    Option<(String, TensorView<'a>)>,
);

/// An imported network and what the import did beyond copying.
#[derive(Debug)]
pub struct Imported {
    /// The network.
    pub net: Network,
    /// The weight tensor's name of each layer, front to back.
    pub names: Vec<String>,
    /// Conversions done (widening from F16/BF16, rounding from F64), one line each.
    pub notes: Vec<String>,
}

/// The exact value of an IEEE 754 binary16 number.
pub fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let mant = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * mant * 2f64.powi(-24),
        31 if mant == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// The exact value of a bfloat16 number: the top half of an `f32`.
pub fn bf16_to_f64(bits: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(bits) << 16))
}

fn values(name: &str, view: &TensorView<'_>) -> Result<Vec<f64>, BridgeError> {
    let data = view.data();
    let out: Vec<f64> = match view.dtype() {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or_default())))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| f16_to_f64(u16::from_le_bytes(c.try_into().unwrap_or_default())))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| bf16_to_f64(u16::from_le_bytes(c.try_into().unwrap_or_default())))
            .collect(),
        other => {
            return Err(BridgeError::Dtype {
                name: name.to_owned(),
                dtype: format!("{other:?}"),
            });
        }
    };
    if let Some(index) = out.iter().position(|v| !v.is_finite()) {
        return Err(BridgeError::NonFinite {
            name: name.to_owned(),
            index,
        });
    }
    Ok(out)
}

/// Splits `0.weight` / `net.3.bias` into prefix, index and part.
fn split_name(name: &str) -> Result<(&str, usize, bool), BridgeError> {
    let unexpected = |why: &str| BridgeError::UnexpectedTensor {
        name: name.to_owned(),
        why: why.to_owned(),
    };
    let (stem, is_weight) = if let Some(stem) = name.strip_suffix(".weight") {
        (stem, true)
    } else if let Some(stem) = name.strip_suffix(".bias") {
        (stem, false)
    } else {
        return Err(unexpected(
            "not the weight or bias of an nn.Linear; stackprop networks hold nn.Linear layers only",
        ));
    };
    let (prefix, index) = match stem.rfind('.') {
        Some(dot) => (&stem[..=dot], &stem[dot + 1..]),
        None => ("", stem),
    };
    let index = index.parse::<usize>().map_err(|_| {
        unexpected(
            "its module is not numbered: expected `N.weight` or `N.bias` of an nn.Sequential",
        )
    })?;
    Ok((prefix, index, is_weight))
}

/// Reads the `state_dict()` of an `nn.Sequential` of `nn.Linear` layers, one activation
/// per layer.
///
/// `scalar` is the network's scalar; `None` takes F64 if any tensor is F64, else F32.
/// F16 and BF16 values are widened exactly (both are subsets of F32); F64 values are
/// rounded to nearest only if `scalar` is `Some(Scalar::F32)`, and the notes say how
/// many changed.
///
/// # Errors
///
/// The first problem found, each its own [`BridgeError`] naming the tensor: a tensor
/// that is no `nn.Linear` weight or bias, a dtype other than F64/F32/F16/BF16, a
/// weight not 2-D or a bias not 1-D of the weight's outputs, widths that do not chain,
/// a NaN or infinity, or a layer count that differs from `acts`.
pub fn import(bytes: &[u8], acts: &[Act], scalar: Option<Scalar>) -> Result<Imported, BridgeError> {
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| BridgeError::SafeTensors(e.to_string()))?;
    let mut by_index: BTreeMap<usize, Pair<'_>> = BTreeMap::new();
    let mut prefix: Option<String> = None;
    for (name, view) in st.tensors() {
        let (p, index, is_weight) = split_name(&name)?;
        match &prefix {
            None => prefix = Some(p.to_owned()),
            Some(q) if q != p => {
                return Err(BridgeError::UnexpectedTensor {
                    why: format!(
                        "its prefix `{p}` differs from `{q}` of the other tensors: one nn.Sequential only"
                    ),
                    name,
                });
            }
            Some(_) => {}
        }
        let slot = by_index.entry(index).or_default();
        if is_weight {
            slot.0 = Some((name, view));
        } else {
            slot.1 = Some((name, view));
        }
    }
    if by_index.len() != acts.len() {
        return Err(BridgeError::LayerCount {
            layers: by_index.len(),
            activations: acts.len(),
        });
    }
    let any_f64 = by_index
        .values()
        .flat_map(|(w, b)| w.iter().chain(b))
        .any(|(_, v)| v.dtype() == Dtype::F64);
    let scalar = scalar.unwrap_or(if any_f64 { Scalar::F64 } else { Scalar::F32 });

    let mut layers = Vec::new();
    let mut names = Vec::new();
    let mut widened = 0usize;
    let (mut rounded, mut narrowed) = (0usize, 0usize);
    for (weight, bias) in by_index.into_values() {
        let Some((wname, wview)) = weight else {
            let bias = bias.map(|(n, _)| n).unwrap_or_default();
            return Err(BridgeError::MissingWeight { bias });
        };
        let &[outputs, inputs] = wview.shape() else {
            return Err(BridgeError::Shape {
                name: wname,
                shape: wview.shape().to_vec(),
                expected: "2 dimensions, [out_features, in_features]".into(),
            });
        };
        if outputs == 0 || inputs == 0 {
            return Err(BridgeError::Shape {
                name: wname,
                shape: wview.shape().to_vec(),
                expected: "at least one input and one output".into(),
            });
        }
        let mut tally = |view: &TensorView<'_>, vals: &mut Vec<f64>| match view.dtype() {
            Dtype::F16 | Dtype::BF16 => widened += vals.len(),
            Dtype::F64 if scalar == Scalar::F32 => {
                narrowed += vals.len();
                for v in vals.iter_mut() {
                    let r = scalar.round(*v);
                    rounded += usize::from(r != *v);
                    *v = r;
                }
            }
            _ => {}
        };
        let mut w = values(&wname, &wview)?;
        tally(&wview, &mut w);
        let b = match bias {
            None => None,
            Some((bname, bview)) => {
                if bview.shape() != [outputs] {
                    return Err(BridgeError::Shape {
                        name: bname,
                        shape: bview.shape().to_vec(),
                        expected: format!("[{outputs}], one value per output of `{wname}`"),
                    });
                }
                let mut b = values(&bname, &bview)?;
                tally(&bview, &mut b);
                Some(b)
            }
        };
        layers.push(Layer::from_torch(inputs, outputs, &w, b));
        names.push(wname);
    }
    let net = Network { scalar, layers };
    // A value rounded to f32 stays finite only if it is within f32's range.
    net.check(&names)?;
    let mut notes = Vec::new();
    if widened > 0 {
        notes.push(format!(
            "widened {widened} F16/BF16 values to {} (exactly)",
            scalar.rust()
        ));
    }
    if narrowed > 0 {
        notes.push(format!(
            "rounded F64 values to f32: {rounded} of {narrowed} changed"
        ));
    }
    Ok(Imported { net, names, notes })
}

/// The activations recorded in the file's metadata under `stackprop.layers`, as
/// [`export`] writes them (or `save_file(…, metadata={"stackprop.layers": "relu,identity"})`).
///
/// # Errors
///
/// [`BridgeError::SafeTensors`] if the header is malformed.
pub fn layers_in_metadata(bytes: &[u8]) -> Result<Option<String>, BridgeError> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| BridgeError::SafeTensors(e.to_string()))?;
    Ok(meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("stackprop.layers").cloned()))
}

/// Writes `net` as a `.safetensors` file that `model.load_state_dict(load_file(…))`
/// accepts for the `nn.Sequential` that [`sequential_source`] prints: weights
/// `[out, in]`, names `{prefix}{index}.weight` / `.bias` with the indices of
/// [`module_indices`], dtype F32 or F64 as the network. The metadata carries the
/// activations (`stackprop.layers`) and `format: pt`, as `save_file` writes it.
///
/// # Errors
///
/// [`BridgeError::LayerCount`] if `acts` does not have one entry per layer.
pub fn export(net: &Network, acts: &[Act], prefix: &str) -> Result<Vec<u8>, BridgeError> {
    if acts.len() != net.layers.len() {
        return Err(BridgeError::LayerCount {
            layers: net.layers.len(),
            activations: acts.len(),
        });
    }
    let dtype = match net.scalar {
        Scalar::F32 => Dtype::F32,
        Scalar::F64 => Dtype::F64,
    };
    let bytes = |vals: &[f64]| -> Vec<u8> {
        match net.scalar {
            Scalar::F32 => vals
                .iter()
                .flat_map(|v| (*v as f32).to_le_bytes())
                .collect(),
            Scalar::F64 => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    };
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (layer, index) in net.layers.iter().zip(module_indices(acts)) {
        owned.push((
            format!("{prefix}{index}.weight"),
            vec![layer.outputs, layer.inputs],
            bytes(&layer.torch_weight()),
        ));
        if let Some(b) = &layer.b {
            owned.push((
                format!("{prefix}{index}.bias"),
                vec![layer.outputs],
                bytes(b),
            ));
        }
    }
    let views = owned
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(dtype, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| BridgeError::SafeTensors(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let spec: Vec<&str> = acts.iter().map(|a| a.name()).collect();
    let metadata = HashMap::from([
        ("format".to_owned(), "pt".to_owned()),
        ("stackprop.layers".to_owned(), spec.join(",")),
    ]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| BridgeError::SafeTensors(e.to_string()))
}

/// The PyTorch definition whose `state_dict()` has the names [`export`] writes.
pub fn sequential_source(net: &Network, acts: &[Act]) -> String {
    let mut modules = Vec::new();
    for (layer, act) in net.layers.iter().zip(acts) {
        let bias = if layer.b.is_some() {
            ""
        } else {
            ", bias=False"
        };
        modules.push(format!(
            "nn.Linear({}, {}{bias})",
            layer.inputs, layer.outputs
        ));
        if let Some(m) = act.torch_module() {
            modules.push(m.to_owned());
        }
    }
    let dtype = match net.scalar {
        Scalar::F32 => "",
        Scalar::F64 => ".double()",
    };
    format!("nn.Sequential({}){dtype}", modules.join(", "))
}
