//! The committed fixtures are what the tool makes of torch's files today: the records
//! and the Rust source that the main crate's `tests/torch.rs` checks against torch's
//! numbers. Also: F16/BF16 files import as torch's own widening of them, and the
//! generated source compiles for Cortex-M4F.

use std::path::{Path, PathBuf};
use std::process::Command;

use stackprop::persist::{Architecture, Progress};
use stackprop::{
    Adam, AdamConfig, Dense, FrozenRef, Identity, Layer, SoftmaxCrossEntropy, SplitMix64, Trainer,
    Zero,
};
use stackprop_torch_bridge::net::{Layer as NetLayer, Network, Scalar};
use stackprop_torch_bridge::spec::Act;
use stackprop_torch_bridge::{record, rust_source, torch};

#[path = "../fixtures/mlp_f32.rs"]
mod mlp_f32;

const LAYERS: &str = "tanh,relu,silu,identity";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn acts() -> Vec<Act> {
    Act::parse_list(LAYERS).expect("valid")
}

#[test]
fn committed_records_are_todays_imports() {
    let second = Act::parse_list("leaky_relu,sigmoid,softplus,identity").expect("valid");
    for (name, acts) in [("mlp", acts()), ("mlp2", second)] {
        for tag in ["f64", "f32"] {
            let (file, rec) = (
                format!("{name}_{tag}.safetensors"),
                format!("{name}_{tag}.sprc"),
            );
            let imported = torch::import(&read(&file), &acts, None).expect("valid");
            assert!(imported.notes.is_empty(), "{:?}", imported.notes);
            assert_eq!(
                imported.names,
                ["0.weight", "2.weight", "4.weight", "6.weight"]
            );
            let bytes = record::write_params(&imported.net).expect("finite");
            assert!(
                bytes == read(&rec),
                "{rec} differs from today's import of {file}"
            );
            // And an export of the record names its tensors as the file does.
            let back = torch::export(&imported.net, &acts, "").expect("valid");
            let again = torch::import(&back, &acts, None).expect("valid");
            assert_eq!(again.net, imported.net);
        }
    }
}

#[test]
fn committed_source_is_todays_import_and_holds_the_record() {
    let imported = torch::import(&read("mlp_f32.safetensors"), &acts(), None).expect("valid");
    let src = rust_source::generate(
        &imported.net,
        &acts(),
        &imported.names,
        "mlp_f32.safetensors",
    )
    .expect("4 layers");
    let formatted = rust_source::rustfmt(&src).expect("rustfmt runs");
    let committed = String::from_utf8(read("mlp_f32.rs")).expect("UTF-8");
    assert!(
        formatted == committed,
        "mlp_f32.rs differs from today's import"
    );
    // The compiled statics are the record's parameters.
    let mut net = mlp_f32::Net::ZERO;
    net.load_params(&read("mlp_f32.sprc")).expect("loads");
    assert_eq!(net.0, mlp_f32::LAYER_0);
    assert_eq!(net.1, mlp_f32::LAYER_1);
    assert_eq!(net.2, mlp_f32::LAYER_2);
    assert_eq!(net.3, mlp_f32::LAYER_3);
    let _ = mlp_f32::FLASH;
    // A parameter-free FLASH: the weights stay in the statics.
    assert_eq!(mlp_f32::FlashNet::PARAM_COUNT, 0);
    assert_eq!(mlp_f32::FLASH.params().count(), 0);
}

#[test]
fn half_precision_files_import_as_torch_widens_them() {
    for tag in ["f16", "bf16"] {
        let narrow =
            torch::import(&read(&format!("mlp_{tag}.safetensors")), &acts(), None).expect("valid");
        let widened = torch::import(
            &read(&format!("mlp_{tag}_widened.safetensors")),
            &acts(),
            None,
        )
        .expect("valid");
        assert_eq!(narrow.net, widened.net, "{tag}");
        assert_eq!(
            narrow.notes,
            ["widened 173 F16/BF16 values to f32 (exactly)"]
        );
        // Not the f32 network itself: the narrow file lost digits, which widening keeps lost.
        let full = torch::import(&read("mlp_f32.safetensors"), &acts(), None).expect("valid");
        assert_ne!(narrow.net, full.net);
    }
}

/// A tiny firmware-like crate that includes the generated source, checked for the
/// Cortex-M4F target; skipped (with a note) where that target is not installed.
#[test]
fn generated_source_checks_for_cortex_m4f() {
    const TARGET: &str = "thumbv7em-none-eabihf";
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(TARGET))
        .unwrap_or(false);
    if !installed {
        eprintln!("skipped: `rustup target add {TARGET}` to run it");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-firmware");
    std::fs::create_dir_all(dir.join("src")).expect("temp dir");
    let stackprop = root.join("../..").canonicalize().expect("the checkout");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"generated-firmware\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
             [dependencies]\nstackprop = {{ path = {:?} }}\n\n[workspace]\n",
            stackprop.display().to_string()
        ),
    )
    .expect("write");
    std::fs::copy(fixture("mlp_f32.rs"), dir.join("src/mlp.rs")).expect("copy");
    // Also one layer (no tuple) and eight f64 layers (nested tuples), with training.
    for (name, scalar, widths) in [
        ("one", Scalar::F32, &[4usize, 2][..]),
        ("eight", Scalar::F64, &[3, 4, 4, 4, 4, 4, 4, 4, 2][..]),
    ] {
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(l, w)| NetLayer {
                inputs: w[0],
                outputs: w[1],
                w: (0..w[0] * w[1]).map(|k| (k as f64 - 3.5) / 8.0).collect(),
                b: (l % 2 == 0).then(|| vec![0.125; w[1]]),
            })
            .collect::<Vec<_>>();
        let acts = vec![Act::Tanh; layers.len()];
        let net = Network { scalar, layers };
        let src = rust_source::generate(&net, &acts, &[], name).expect("generates");
        let src = rust_source::rustfmt(&src).expect("formats");
        std::fs::write(dir.join(format!("src/{name}.rs")), src).expect("write");
    }
    std::fs::write(
        dir.join("src/lib.rs"),
        "#![no_std]\n#![deny(warnings)]\npub mod mlp;\npub mod one;\npub mod eight;\n\n\
         /// Trains the eight-layer network in RAM for one step.\n\
         pub fn train(t: &mut stackprop::Trainer<eight::Net, stackprop::Sgd<eight::Net>, stackprop::Mse, 1>) {\n\
         \x20   let _ = t.step(&[[0.5; 3]], &[[0.0; 2]]);\n\
         }\n\n\
         /// The first eight-layer static and the one-layer network in flash.\n\
         pub fn flash() -> (&'static stackprop::Dense<3, 4, stackprop::activation::Tanh, f64>, one::FlashNet) {\n\
         \x20   (&eight::LAYER_0, one::FLASH)\n\
         }\n\n\
         /// Runs the network from flash on one sample.\n\
         pub fn infer(x: &[[f32; 5]; 1], cache: &mut stackprop::CacheOf<mlp::FlashNet, 1>) -> [f32; 3] {\n\
         \x20   use stackprop::Layer;\n\
         \x20   mlp::FLASH.forward(x, cache);\n\
         \x20   <mlp::FlashNet as Layer>::output(cache)[0]\n\
         }\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--target", TARGET])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo check --target {TARGET} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A head fine-tuned behind `FrozenRef`s, exported whole with `--base`.
#[test]
fn a_fine_tuned_head_is_exported_behind_its_base() {
    type Tuned = (
        FrozenRef<Dense<5, 8, stackprop::Tanh>>,
        FrozenRef<Dense<8, 7, stackprop::Relu, f32, stackprop::NoBias>>,
        FrozenRef<Dense<7, 6, stackprop::Silu>>,
        Dense<6, 3, Identity>,
    );
    type T = Trainer<Tuned, Adam<Tuned>, SoftmaxCrossEntropy, 2>;
    let net: Tuned = (
        FrozenRef(&mlp_f32::LAYER_0),
        FrozenRef(&mlp_f32::LAYER_1),
        FrozenRef(&mlp_f32::LAYER_2),
        mlp_f32::LAYER_3,
    );
    let mut trainer = T::new(
        net,
        Adam::new(AdamConfig::new(0.05)).expect("valid"),
        SoftmaxCrossEntropy,
    );
    for _ in 0..5 {
        trainer
            .step(
                &[[0.5, -1.0, 0.25, 0.0, 1.0], [-0.5, 0.5, 1.0, -1.0, 0.0]],
                &[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
            )
            .expect("finite");
    }
    assert_ne!(trainer.net.3, mlp_f32::LAYER_3);
    let mut bytes = [0u8; T::STATE_RECORD_LEN];
    trainer
        .save_state(
            &Progress {
                steps: 5,
                rng: SplitMix64::new(1),
            },
            &mut bytes,
        )
        .expect("finite");
    let head = record::read(&bytes).expect("valid").net;
    assert_eq!(head.layers.len(), 1);
    let base = record::read(&read("mlp_f32.sprc")).expect("valid").net;
    let whole = head.clone().after_base(&base).expect("the head fits");
    // The whole network, as a parameter record, is the fine-tuned network's.
    let mut full = mlp_f32::Net::ZERO;
    full.load_params(&record::write_params(&whole).expect("finite"))
        .expect("loads");
    assert_eq!(
        (full.0, full.1, full.2),
        (mlp_f32::LAYER_0, mlp_f32::LAYER_1, mlp_f32::LAYER_2)
    );
    assert_eq!(full.3, trainer.net.3);
    // A head that does not fit the base's last layer is refused.
    let wrong = record::read(&read("mlp_f32.sprc")).expect("valid").net;
    let mut two = wrong.clone();
    two.layers.remove(0);
    two.layers.remove(0);
    two.layers.remove(1);
    let err = two.after_base(&base).expect_err("refused").to_string();
    assert!(err.contains("record layer 0 is (7, 6, true) (inputs, outputs, bias) but base layer 3 is (6, 3, true)"), "{err}");
}
