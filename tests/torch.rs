//! PyTorch's own numbers: a 4-layer `nn.Sequential` (tanh, relu without bias, silu,
//! identity) imported by `torch-bridge` computes torch's outputs, losses and gradients.
//!
//! The fixtures in `tools/torch-bridge/fixtures/` come from `make_fixtures.py` (torch,
//! one fixed batch, f64 and f32); `mlp_f64.sprc`, `mlp_f32.sprc` and `mlp_f32.rs` are
//! what `torch-bridge import` makes of its `.safetensors` files (the tool's tests check
//! that they are). Tolerance: every value within `tol` times the largest magnitude of
//! its tensor, 1e-12 in f64 and 1e-5 in f32 (5e-3 with the `micromath` feature,
//! whose f32 `exp` and `tanh` are approximations, as in `tests/conformance.rs`).

use serde_json::Value;
use stackprop::persist::Architecture;
use stackprop::*;

#[path = "../tools/torch-bridge/fixtures/mlp_f32.rs"]
mod mlp_f32;

const N: usize = 4;
const F32_TOL: f64 = if cfg!(feature = "micromath") {
    5e-3
} else {
    1e-5
};
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/torch-bridge/fixtures/");

type Net64 = (
    Dense<5, 8, Tanh, f64>,
    Dense<8, 7, Relu, f64, NoBias>,
    Dense<7, 6, Silu, f64>,
    Dense<6, 3, Identity, f64>,
);

fn fixture() -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}mlp.json")).expect("mlp.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn record(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).expect("a committed record")
}

/// A JSON number, list or nested list, flattened row-major.
fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => vec![n.as_f64().expect("a number")],
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => panic!("not numbers: {other}"),
    }
}

fn rows<const K: usize, S: Scalar>(v: &Value) -> [[S; K]; N] {
    let vals = flat(v);
    assert_eq!(vals.len(), K * N);
    core::array::from_fn(|i| core::array::from_fn(|j| S::from_f64(vals[i * K + j])))
}

/// The largest error relative to the tensor's largest magnitude; asserts it is ≤ `tol`.
fn close(what: &str, ours: &[f64], torch: &[f64], tol: f64) -> f64 {
    assert_eq!(ours.len(), torch.len(), "{what}: sizes");
    let scale = torch.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    assert!(scale > 0.0, "{what}: an all-zero reference proves nothing");
    let worst = ours
        .iter()
        .zip(torch)
        .map(|(a, b)| (a - b).abs() / scale)
        .fold(0.0, f64::max);
    assert!(worst <= tol, "{what}: relative error {worst:e} > {tol:e}");
    worst
}

/// dE/dW of a layer (`w[i][j]`, inputs × outputs) as torch's `[out, in]` list.
fn torch_layout<const I: usize, const O: usize, S: Scalar>(w: &[[S; O]; I]) -> Vec<f64> {
    (0..O)
        .flat_map(|j| (0..I).map(move |i| w[i][j].to_f64()))
        .collect()
}

fn values<S: Scalar>(s: &[S]) -> Vec<f64> {
    s.iter().map(|v| v.to_f64()).collect()
}

/// Compares the gradients of a 4-layer network with torch's, by name.
macro_rules! check_grads {
    ($what:expr, $grads:expr, $torch:expr, $tol:expr) => {{
        let (g0, g1, g2, g3) = $grads;
        let t = &$torch["grads"];
        let mut worst = 0.0f64;
        worst = worst.max(close(
            concat!($what, " 0.weight"),
            &torch_layout(&g0.w),
            &flat(&t["0.weight"]),
            $tol,
        ));
        worst = worst.max(close(
            concat!($what, " 0.bias"),
            &values(&g0.b),
            &flat(&t["0.bias"]),
            $tol,
        ));
        worst = worst.max(close(
            concat!($what, " 2.weight"),
            &torch_layout(&g1.w),
            &flat(&t["2.weight"]),
            $tol,
        ));
        assert!(t.get("2.bias").is_none(), "the second layer has no bias");
        worst = worst.max(close(
            concat!($what, " 4.weight"),
            &torch_layout(&g2.w),
            &flat(&t["4.weight"]),
            $tol,
        ));
        worst = worst.max(close(
            concat!($what, " 4.bias"),
            &values(&g2.b),
            &flat(&t["4.bias"]),
            $tol,
        ));
        worst = worst.max(close(
            concat!($what, " 6.weight"),
            &torch_layout(&g3.w),
            &flat(&t["6.weight"]),
            $tol,
        ));
        worst = worst.max(close(
            concat!($what, " 6.bias"),
            &values(&g3.b),
            &flat(&t["6.bias"]),
            $tol,
        ));
        worst
    }};
}

/// Forward, both losses and all gradients of `net` against torch's numbers in `torch`.
macro_rules! against_torch {
    ($net:ty, $value:expr, $fix:expr, $key:expr, $tol:expr) => {{
        let fix = $fix;
        let torch = &fix[$key];
        let x: [[_; 5]; N] = rows(&fix["x"]);
        let mut worst = 0.0f64;

        let mut ce =
            Trainer::<$net, (), SoftmaxCrossEntropy, N>::new($value, (), SoftmaxCrossEntropy);
        let y = ce.predict(&x);
        let ys: Vec<f64> = y.iter().flatten().map(|v| v.to_f64()).collect();
        worst = worst.max(close(
            concat!($key, " output"),
            &ys,
            &flat(&torch["output"]),
            $tol,
        ));

        let t: [[_; 3]; N] = rows(&fix["t_ce"]);
        let e = ce.gradients(&x, &t, None).expect("finite");
        worst = worst.max(close(
            concat!($key, " ce loss"),
            &[e.to_f64()],
            &flat(&torch["ce"]["loss"]),
            $tol,
        ));
        worst = worst.max(check_grads!(
            concat!($key, " ce"),
            &ce.grads,
            torch["ce"],
            $tol
        ));

        let mut mse = Trainer::<$net, (), Mse, N>::new($value, (), Mse);
        let t: [[_; 3]; N] = rows(&fix["t_mse"]);
        let e = mse.gradients(&x, &t, None).expect("finite");
        worst = worst.max(close(
            concat!($key, " mse loss"),
            &[e.to_f64()],
            &flat(&torch["mse"]["loss"]),
            $tol,
        ));
        worst = worst.max(check_grads!(
            concat!($key, " mse"),
            &mse.grads,
            torch["mse"],
            $tol
        ));
        worst
    }};
}

#[test]
fn f64_import_matches_torch_to_1e_12() {
    let mut net = Net64::ZERO;
    net.load_params(&record("mlp_f64.sprc"))
        .expect("the imported record loads");
    let worst = against_torch!(Net64, net, fixture(), "f64", 1e-12);
    println!("f64: largest relative difference from torch {worst:.2e}");
    // The figure the README quotes (measured 1.2e-15).
    assert!(worst <= 1e-14, "{worst:e}");
}

#[test]
fn f32_import_matches_torch_to_1e_5_or_micromaths_5e_3() {
    let mut net = mlp_f32::Net::ZERO;
    net.load_params(&record("mlp_f32.sprc"))
        .expect("the imported record loads");
    // The generated statics hold the same parameters as the record.
    let (l0, l1, l2, l3) = &net;
    assert_eq!(
        (l0, l1, l2, l3),
        (
            &mlp_f32::LAYER_0,
            &mlp_f32::LAYER_1,
            &mlp_f32::LAYER_2,
            &mlp_f32::LAYER_3
        )
    );
    let worst = against_torch!(mlp_f32::Net, net, fixture(), "f32", F32_TOL);
    println!("f32: largest relative difference from torch {worst:.2e}");
    // The figure the README quotes for the default backend (measured 4.2e-7).
    assert!(cfg!(feature = "micromath") || worst <= 5e-7, "{worst:e}");
}

#[test]
fn the_network_in_flash_computes_the_same_outputs() {
    let fix = fixture();
    let x: [[f32; 5]; N] = rows(&fix["x"]);
    let mut flash = Trainer::<mlp_f32::FlashNet, (), Mse, N>::new(mlp_f32::FLASH, (), Mse);
    let ys: Vec<f64> = flash
        .predict(&x)
        .iter()
        .flatten()
        .map(|v| f64::from(*v))
        .collect();
    close("flash output", &ys, &flat(&fix["f32"]["output"]), F32_TOL);
    // Nothing of it is in the network's state: no parameters to record.
    assert_eq!(mlp_f32::FlashNet::PARAM_COUNT, 0);
    let net: mlp_f32::Net = (
        mlp_f32::LAYER_0,
        mlp_f32::LAYER_1,
        mlp_f32::LAYER_2,
        mlp_f32::LAYER_3,
    );
    let mut ram = Trainer::<mlp_f32::Net, (), Mse, N>::new(net, (), Mse);
    let y_ram: Vec<f64> = ram
        .predict(&x)
        .iter()
        .flatten()
        .map(|v| f64::from(*v))
        .collect();
    assert_eq!(ys, y_ram);
}
