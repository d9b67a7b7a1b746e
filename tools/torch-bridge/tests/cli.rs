//! The command line: a layer file, the exit status and message of a refused input.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_torch-bridge");

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn import_with_a_layer_file_then_export() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("layers.txt");
    std::fs::write(
        &spec,
        "# one per nn.Linear\ntanh\nrelu   # no bias\nsilu\nidentity\n",
    )
    .expect("write");
    let record = dir.join("nested/mlp.sprc");
    let out = Command::new(BIN)
        .args(["import", &fixture("mlp_f32.safetensors"), "--layers"])
        .arg(format!("@{}", spec.display()))
        .arg("--record")
        .arg(&record)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&record).expect("written"),
        std::fs::read(fixture("mlp_f32.sprc")).expect("fixture")
    );
    let exported = dir.join("back.safetensors");
    let out = Command::new(BIN)
        .arg("export")
        .arg(&record)
        .args(["--layers", "tanh,relu,silu,identity", "--out"])
        .arg(&exported)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("nn.Linear(8, 7, bias=False), nn.ReLU()"),
        "{stdout}"
    );
}

#[test]
fn refused_input_fails_with_the_reason() {
    let out = Command::new(BIN)
        .args([
            "import",
            &fixture("mlp_f32.safetensors"),
            "--layers",
            "tanh,gelu,silu,identity",
            "--record",
            "/dev/null",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("activation `gelu` cannot be expressed in stackprop"),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .args([
            "export",
            &fixture("mlp_f32.safetensors"),
            "--layers",
            "relu",
            "--out",
            "/dev/null",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a valid stackprop record: magic"),
        "{stderr}"
    );

    // torch's own file has no activations in it.
    let out = Command::new(BIN)
        .args([
            "import",
            &fixture("mlp_f32.safetensors"),
            "--record",
            "/dev/null",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`--layers` is required: the file has no `stackprop.layers` metadata"),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .args(["import", "missing.safetensors", "--layers", "relu"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.safetensors: "), "{stderr}");
}
