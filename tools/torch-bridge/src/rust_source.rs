//! Rust source for a network: its type alias and one `static` per layer, ready to be
//! borrowed from flash with `FrozenRef`, formatted by `rustfmt`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::error::BridgeError;
use crate::net::{Network, Scalar};
use crate::spec::Act;

/// The most layers of one tuple (stackprop implements networks for 2- to 6-tuples).
const TUPLE: usize = 6;

/// Groups items as tuples of at most six, nesting once for more: `(a, b)`,
/// `((a, …, f), (g, h))`. A single item stays as it is.
fn tuple(items: &[String]) -> String {
    if items.len() == 1 {
        return items[0].clone();
    }
    if items.len() <= TUPLE {
        return format!("({})", items.join(", "));
    }
    let groups: Vec<String> = items.chunks(TUPLE).map(tuple).collect();
    format!("({})", groups.join(", "))
}

fn literal(x: f64, s: Scalar) -> String {
    match s {
        // Debug prints the shortest decimal that reads back to the same value.
        Scalar::F32 => format!("{:?}", x as f32),
        Scalar::F64 => format!("{x:?}"),
    }
}

/// The source, unformatted. `origin` is said in the module doc (e.g. the input file).
///
/// # Errors
///
/// [`BridgeError::LayerCount`], [`BridgeError::TooManyLayers`] (more than 36).
pub fn generate(
    net: &Network,
    acts: &[Act],
    names: &[String],
    origin: &str,
) -> Result<String, BridgeError> {
    let n = net.layers.len();
    if acts.len() != n {
        return Err(BridgeError::LayerCount {
            layers: n,
            activations: acts.len(),
        });
    }
    if n > TUPLE * TUPLE {
        return Err(BridgeError::TooManyLayers { layers: n });
    }
    let s = net.scalar;
    let mut types = Vec::new();
    let mut acts_used: Vec<&str> = Vec::new();
    let mut no_bias = false;
    for (layer, act) in net.layers.iter().zip(acts) {
        let bias = if layer.b.is_some() {
            String::new()
        } else {
            no_bias = true;
            ", NoBias".into()
        };
        types.push(format!(
            "Dense<{}, {}, {}, {}{bias}>",
            layer.inputs,
            layer.outputs,
            act.rust_type(),
            s.rust()
        ));
        if !acts_used.contains(&act.rust_type()) {
            acts_used.push(act.rust_type());
        }
    }
    acts_used.sort_unstable();
    let mut src = String::new();
    let summary: Vec<String> = net
        .layers
        .iter()
        .zip(acts)
        .map(|(l, a)| {
            let bias = if l.b.is_some() { "" } else { " (no bias)" };
            format!("{} → {} {a}{bias}", l.inputs, l.outputs)
        })
        .collect();
    let ram = tuple(&(0..n).map(|l| format!("LAYER_{l}")).collect::<Vec<_>>());
    let _ = writeln!(
        src,
        "//! An {} network imported from `{origin}` by `torch-bridge import`.\n//!\n\
         //! Layers: {}.\n//!\n\
         //! `FLASH` runs forward with the parameters where the statics are, in flash;\n\
         //! `Net` is the same network in RAM, the type `load_params` and a `Trainer`\n\
         //! take: `let net: Net = {ram};` copies it there.\n",
        s.rust(),
        summary.join(", "),
    );
    let mut root = vec!["Dense", "FrozenRef"];
    if no_bias {
        root.push("NoBias");
    }
    let _ = writeln!(src, "use stackprop::{{{}}};", root.join(", "));
    let _ = writeln!(
        src,
        "use stackprop::activation::{{{}}};\n",
        acts_used.join(", ")
    );
    let _ = writeln!(
        src,
        "/// The network with its parameters in RAM.\npub type Net = {};\n",
        tuple(&types)
    );
    let frozen: Vec<String> = types.iter().map(|t| format!("FrozenRef<{t}>")).collect();
    let _ = writeln!(
        src,
        "/// The network borrowed from flash: no RAM for its parameters.\npub type FlashNet = {};\n",
        tuple(&frozen)
    );
    for (l, ((layer, act), ty)) in net.layers.iter().zip(acts).zip(&types).enumerate() {
        let from = names
            .get(l)
            .map_or_else(String::new, |n| format!(", from `{n}`"));
        let _ = writeln!(
            src,
            "/// Layer {l}{from}: {} inputs, {} outputs, {act}; `w[input][output]`.",
            layer.inputs, layer.outputs
        );
        // One row per input keeps W readable; rustfmt would put one number per line.
        let _ = write!(
            src,
            "#[rustfmt::skip]\npub static LAYER_{l}: {ty} = Dense::new(\n    [\n"
        );
        for row in layer.w.chunks(layer.outputs) {
            let cells: Vec<String> = row.iter().map(|v| literal(*v, s)).collect();
            let _ = writeln!(src, "        [{}],", cells.join(", "));
        }
        src.push_str("    ],\n    ");
        match &layer.b {
            Some(b) => {
                let cells: Vec<String> = b.iter().map(|v| literal(*v, s)).collect();
                let _ = write!(src, "[{}]", cells.join(", "));
            }
            None => src.push_str("NoBias"),
        }
        src.push_str(",\n);\n\n");
    }
    let refs: Vec<String> = (0..n).map(|l| format!("FrozenRef(&LAYER_{l})")).collect();
    let _ = writeln!(
        src,
        "/// Every layer, borrowed from flash.\npub const FLASH: FlashNet = {};",
        tuple(&refs)
    );
    Ok(src)
}

/// `src` formatted by `rustfmt` (edition 2024).
///
/// # Errors
///
/// [`BridgeError::Rustfmt`] if it cannot be run or fails.
pub fn rustfmt(src: &str) -> Result<String, BridgeError> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            BridgeError::Rustfmt(format!(
                "cannot run it ({e}); install it with `rustup component add rustfmt`"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(src.as_bytes())
            .map_err(|e| BridgeError::Rustfmt(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| BridgeError::Rustfmt(e.to_string()))?;
    if !out.status.success() {
        return Err(BridgeError::Rustfmt(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| BridgeError::Rustfmt(e.to_string()))
}
