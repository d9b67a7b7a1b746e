//! PyTorch's own numbers: two 4-layer `nn.Sequential` networks imported by
//! `torch-bridge` compute torch's outputs, losses and gradients; between them they use
//! every activation stackprop has: `mlp` is tanh, relu (no bias), silu, identity;
//! `mlp2` is leaky_relu, sigmoid, softplus (no bias), identity.
//!
//! The fixtures in `tools/torch-bridge/fixtures/` come from `make_fixtures.py` (torch,
//! one fixed batch, f64 and f32); the `.sprc` records and `mlp_f32.rs` are what
//! `torch-bridge import` makes of its `.safetensors` files (the tool's tests check that
//! they are). Tolerance: every value within `tol` times the largest magnitude of
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

type Second<S> = (
    Dense<4, 6, LeakyRelu, S>,
    Dense<6, 5, Sigmoid, S>,
    Dense<5, 4, Softplus, S, NoBias>,
    Dense<4, 2, Identity, S>,
);

fn fixture_of(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}{name}.json")).expect("a fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

fn fixture() -> Value {
    fixture_of("mlp")
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

/// Compares one layer's dE/dW and dE/db with torch's `{index}.weight` / `.bias`.
fn layer_grads<const I: usize, const O: usize, S: Scalar, B: Bias<S, O>>(
    what: &str,
    g: &DenseGrads<I, O, S, B>,
    torch: &Value,
    index: usize,
    tol: f64,
) -> f64 {
    let t = &torch["grads"];
    let w = close(
        &format!("{what} {index}.weight"),
        &torch_layout(&g.w),
        &flat(&t[format!("{index}.weight")]),
        tol,
    );
    let b = match t.get(format!("{index}.bias")) {
        Some(tb) => close(
            &format!("{what} {index}.bias"),
            &values(g.b.as_slice()),
            &flat(tb),
            tol,
        ),
        None => {
            assert!(
                g.b.as_slice().is_empty(),
                "{what}: torch has no {index}.bias"
            );
            0.0
        }
    };
    w.max(b)
}

/// Compares the gradients of a 4-layer network (modules 0, 2, 4, 6) with torch's.
macro_rules! check_grads {
    ($what:expr, $grads:expr, $torch:expr, $tol:expr) => {{
        let (g0, g1, g2, g3) = $grads;
        let t = &$torch;
        layer_grads($what, g0, t, 0, $tol)
            .max(layer_grads($what, g1, t, 2, $tol))
            .max(layer_grads($what, g2, t, 4, $tol))
            .max(layer_grads($what, g3, t, 6, $tol))
    }};
}

/// Forward, both losses and all gradients of `net` against torch's numbers in `torch`.
macro_rules! against_torch {
    ($net:ty, $value:expr, $fix:expr, $key:expr, $tol:expr) => {{
        let fix = $fix;
        let torch = &fix[$key];
        let x = rows(&fix["x"]);
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

        let t = rows(&fix["t_ce"]);
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
        let t = rows(&fix["t_mse"]);
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
    // The figure the README quotes for the default backend (measured 4.2e-7; 6.2e-7 for mlp2).
    assert!(cfg!(feature = "micromath") || worst <= 7e-7, "{worst:e}");
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

#[test]
fn leaky_relu_sigmoid_softplus_match_torch() {
    let fix = fixture_of("mlp2");
    let mut net = Second::<f64>::ZERO;
    net.load_params(&record("mlp2_f64.sprc"))
        .expect("the imported record loads");
    let worst = against_torch!(Second<f64>, net, &fix, "f64", 1e-12);
    println!("mlp2 f64: largest relative difference from torch {worst:.2e}");
    assert!(worst <= 1e-14, "{worst:e}");
    let mut net = Second::<f32>::ZERO;
    net.load_params(&record("mlp2_f32.sprc"))
        .expect("the imported record loads");
    let worst = against_torch!(Second<f32>, net, &fix, "f32", F32_TOL);
    println!("mlp2 f32: largest relative difference from torch {worst:.2e}");
    assert!(cfg!(feature = "micromath") || worst <= 7e-7, "{worst:e}");
}
