//! `torch-bridge`: PyTorch weights to stackprop records and Rust source, and back.

use std::path::Path;
use std::process::ExitCode;

use stackprop_torch_bridge::error::BridgeError;
use stackprop_torch_bridge::net::Scalar;
use stackprop_torch_bridge::spec::Act;
use stackprop_torch_bridge::{record, rust_source, torch};

const USAGE: &str = "\
usage:
  torch-bridge import MODEL.safetensors [--layers SPEC] [--scalar f32|f64]
                      [--record OUT.sprc] [--rust OUT.rs]
  torch-bridge export RECORD.sprc --layers SPEC --out OUT.safetensors [--prefix PREFIX]
                      [--base BASE.sprc]
  torch-bridge inspect RECORD.sprc

SPEC is one activation per nn.Linear layer, comma-separated (identity, relu,
leaky_relu, sigmoid, tanh, softplus, silu), or @FILE holding them (commas or lines,
`#` starts a comment). Import takes SPEC from the file's `stackprop.layers` metadata
(which export writes) when --layers is not given. Export --base takes the first
layers from BASE.sprc, for a record of a network whose first layers are FrozenRefs
(which records leave out).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("torch-bridge: {e}");
            if matches!(e, BridgeError::Usage(_)) {
                eprintln!("{USAGE}");
            }
            ExitCode::FAILURE
        }
    }
}

fn read(path: &str) -> Result<Vec<u8>, BridgeError> {
    std::fs::read(path).map_err(|source| BridgeError::Io {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &str, bytes: &[u8]) -> Result<(), BridgeError> {
    let parent = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    parent
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, bytes))
        .map_err(|source| BridgeError::Io {
            path: path.to_owned(),
            source,
        })
}

/// The activations: the spec itself, or `@file`.
fn layers(spec: &str) -> Result<Vec<Act>, BridgeError> {
    let Some(path) = spec.strip_prefix('@') else {
        return Act::parse_list(spec);
    };
    let text = String::from_utf8_lossy(&read(path)?).into_owned();
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    Act::parse_list(&names.join(","))
}

/// Options `--name value` after one positional argument.
struct Args<'a> {
    positional: &'a str,
    options: Vec<(&'a str, &'a str)>,
}

impl<'a> Args<'a> {
    fn parse(args: &'a [String], allowed: &[&str]) -> Result<Self, BridgeError> {
        let mut positional = None;
        let mut options = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                if !allowed.contains(&name) {
                    return Err(BridgeError::Usage(format!("unknown option `{a}`")));
                }
                let value = it
                    .next()
                    .ok_or_else(|| BridgeError::Usage(format!("`{a}` needs a value")))?;
                options.push((name, value.as_str()));
            } else if positional.replace(a.as_str()).is_some() {
                return Err(BridgeError::Usage(format!("unexpected argument `{a}`")));
            }
        }
        let positional =
            positional.ok_or_else(|| BridgeError::Usage("missing the input file".into()))?;
        Ok(Args {
            positional,
            options,
        })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    fn require(&self, name: &str) -> Result<&'a str, BridgeError> {
        self.get(name)
            .ok_or_else(|| BridgeError::Usage(format!("`--{name}` is required")))
    }
}

fn run(args: &[String]) -> Result<(), BridgeError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(BridgeError::Usage("no command given".into()));
    };
    match command.as_str() {
        "import" => {
            let a = Args::parse(rest, &["layers", "scalar", "record", "rust"])?;
            let bytes = read(a.positional)?;
            let acts = match (a.get("layers"), torch::layers_in_metadata(&bytes)?) {
                (Some(spec), _) => layers(spec)?,
                (None, Some(spec)) => Act::parse_list(&spec)?,
                (None, None) => {
                    return Err(BridgeError::Usage(
                        "`--layers` is required: the file has no `stackprop.layers` metadata"
                            .into(),
                    ));
                }
            };
            let scalar = a.get("scalar").map(Scalar::parse).transpose()?;
            if a.get("record").is_none() && a.get("rust").is_none() {
                return Err(BridgeError::Usage(
                    "import writes --record OUT.sprc, --rust OUT.rs or both".into(),
                ));
            }
            let imported = torch::import(&bytes, &acts, scalar)?;
            for note in &imported.notes {
                eprintln!("note: {note}");
            }
            let net = &imported.net;
            if let Some(path) = a.get("record") {
                let bytes = record::write_params(net)?;
                write(path, &bytes)?;
                println!("wrote {path}: parameter record, {} bytes", bytes.len());
            }
            if let Some(path) = a.get("rust") {
                let origin = Path::new(a.positional)
                    .file_name()
                    .map_or_else(|| a.positional.into(), |n| n.to_string_lossy());
                let src = rust_source::generate(net, &acts, &imported.names, &origin)?;
                write(path, rust_source::rustfmt(&src)?.as_bytes())?;
                println!("wrote {path}: Rust source");
            }
            describe(net, &acts);
            Ok(())
        }
        "export" => {
            let a = Args::parse(rest, &["layers", "out", "prefix", "base"])?;
            let acts = layers(a.require("layers")?)?;
            let out = a.require("out")?;
            let mut rec = record::read(&read(a.positional)?)?;
            if let Some(base) = a.get("base") {
                let base = record::read(&read(base)?)?;
                rec.net = rec.net.after_base(&base.net)?;
            }
            let bytes = torch::export(&rec.net, &acts, a.get("prefix").unwrap_or(""))?;
            write(out, &bytes)?;
            println!("wrote {out}: {} bytes", bytes.len());
            if let Some(state) = &rec.state {
                println!(
                    "from a training-state record (optimizer id {}, step count {}): parameters only",
                    state.optimizer, state.steps
                );
            }
            describe(&rec.net, &acts);
            Ok(())
        }
        "inspect" => {
            let a = Args::parse(rest, &[])?;
            let rec = record::read(&read(a.positional)?)?;
            let kind = if rec.state.is_some() {
                "training state"
            } else {
                "parameters"
            };
            println!("{kind}, {}", rec.net.scalar.rust());
            for (l, layer) in rec.net.layers.iter().enumerate() {
                let bias = if layer.b.is_some() { "bias" } else { "no bias" };
                println!("layer {l}: {} -> {}, {bias}", layer.inputs, layer.outputs);
            }
            if let Some(s) = rec.state {
                println!(
                    "optimizer id {}, counter {}, step count {}, RNG state {:#018x}, {} optimizer scalars",
                    s.optimizer,
                    s.counter,
                    s.steps,
                    s.rng,
                    s.values.len()
                );
            }
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(BridgeError::Usage(format!("unknown command `{other}`"))),
    }
}

fn describe(net: &stackprop_torch_bridge::net::Network, acts: &[Act]) {
    println!("PyTorch: {}", torch::sequential_source(net, acts));
}
