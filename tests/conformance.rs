//! Every field of every reference case in `tests/data/conformance/` (computed
//! independently in float64, PyTorch's conventions; see its README), checked in f64 and
//! in f32 with the README's array-relative tolerances.

use std::fs;

use serde::Deserialize;
use stackprop::*;

#[derive(Deserialize)]
struct Case {
    name: String,
    batch: usize,
    dims: Vec<usize>,
    activations: Vec<String>,
    loss: String,
    bias: bool,
    x: Vec<Vec<f64>>,
    t: Vec<Vec<f64>>,
    weights: Vec<Vec<Vec<f64>>>,
    biases: Vec<Vec<f64>>,
    a: Vec<Vec<Vec<f64>>>,
    z: Vec<Vec<Vec<f64>>>,
    loss_value: f64,
    grad_z: Vec<Vec<Vec<f64>>>,
    grad_w: Vec<Vec<Vec<f64>>>,
    grad_b: Vec<Vec<f64>>,
    train: Train,
}

#[derive(Deserialize)]
struct Train {
    optimizer: OptimizerSpec,
    steps: usize,
    losses: Vec<f64>,
    weights_after: Vec<Vec<Vec<f64>>>,
    biases_after: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
enum OptimizerSpec {
    Sgd {
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    },
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
}

/// The README's tolerances: (forward values and gradients, training trajectories).
/// The `micromath` backend approximates f32 `exp` and `tanh` to about 3e-3 relative,
/// so its f32 results get their own, looser bound.
fn tolerances<S: Scalar>() -> (f64, f64) {
    match S::KIND {
        ScalarKind::F64 => (1e-9, 1e-9),
        ScalarKind::F32 if cfg!(feature = "micromath") => (5e-3, 1e-2),
        ScalarKind::F32 => (1e-4, 1e-3),
    }
}

fn load(name: &str) -> Case {
    let path = format!(
        "{}/tests/data/conformance/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let case: Case = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(case.name, name);
    case
}

/// max |got − want| ≤ tol · max |want|, over the whole array.
fn assert_close<S: Scalar>(what: &str, got: &[S], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    report(what, got, want);
    let scale = want.iter().fold(0.0_f64, |m, w| m.max(w.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0_f64, |m, (g, w)| m.max((g.to_f64() - w).abs()));
    assert!(
        err <= tol * scale,
        "{what}: max error {err:e} > {tol:e} × {scale:e}"
    );
}

fn flat(m: &[Vec<f64>]) -> Vec<f64> {
    m.iter().flatten().copied().collect()
}

/// With `CONFORMANCE_REPORT=1` (and `--nocapture`), prints each field's error relative
/// to its array's largest entry: the measured agreement, not just the pass/fail.
fn report<S: Scalar>(what: &str, got: &[S], want: &[f64]) {
    if std::env::var_os("CONFORMANCE_REPORT").is_none() {
        return;
    }
    let scale = want.iter().fold(0.0_f64, |m, w| m.max(w.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0_f64, |m, (g, w)| m.max((g.to_f64() - w).abs()));
    let relative = if scale == 0.0 { err } else { err / scale };
    println!("relative error {relative:.3e}  {what}");
}

/// Writes rows of f64 into fixed-size rows of `S`, checking the shape.
fn fill<S: Scalar, R: AsMut<[S]>>(dst: &mut [R], src: &[Vec<f64>]) {
    assert_eq!(dst.len(), src.len(), "rows");
    for (d, s) in dst.iter_mut().zip(src) {
        let d = d.as_mut();
        assert_eq!(d.len(), s.len(), "columns");
        for (d, &s) in d.iter_mut().zip(s) {
            *d = S::from_f64(s);
        }
    }
}

/// The case's parameters in `params()` order: W^0, b^0, W^1, b^1, …
fn param_slices(weights: &[Vec<Vec<f64>>], biases: &[Vec<f64>]) -> Vec<Vec<f64>> {
    weights
        .iter()
        .enumerate()
        .flat_map(|(l, w)| [flat(w), biases.get(l).cloned().unwrap_or_default()])
        .collect()
}

fn set_params<L: Layer>(net: &mut L, case: &Case) {
    let want = param_slices(&case.weights, &case.biases);
    let mut count = 0;
    for (dst, src) in net.params_mut().zip(&want) {
        assert_eq!(dst.len(), src.len(), "parameter shape");
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = L::Scalar::from_f64(s);
        }
        count += 1;
    }
    assert_eq!(count, want.len());
}

fn check_params<L: Layer>(
    what: &str,
    net: &L,
    weights: &[Vec<Vec<f64>>],
    biases: &[Vec<f64>],
    tol: f64,
) {
    let want = param_slices(weights, biases);
    let got: Vec<&[L::Scalar]> = net.params().collect();
    assert_eq!(got.len(), want.len());
    for (l, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close(&format!("{what} [{l}]"), g, w, tol);
    }
}

fn run<L, E, const N: usize>(case: &Case)
where
    L: Layer + Zero,
    E: Loss<L::Scalar> + Zero,
{
    assert_eq!(case.batch, N);
    assert_eq!(
        case.bias,
        case.biases.iter().all(|b| !b.is_empty()) && !case.biases.is_empty()
    );
    let (tol, tol_train) = tolerances::<L::Scalar>();
    let what = |field: &str| format!("{} ({:?}) {field}", case.name, L::Scalar::KIND);
    let layers = case.dims.len() - 1;
    assert_eq!(case.activations.len(), layers);

    let mut x = [L::Input::ZERO; N];
    let mut t = [L::Output::ZERO; N];
    fill(&mut x, &case.x);
    fill(&mut t, &case.t);
    let mut net = L::ZERO;
    set_params(&mut net, case);

    // Forward, loss and every gradient.
    let mut trainer = Trainer::<L, (), E, N>::new(net, (), E::ZERO);
    let mut dx = [L::Input::ZERO; N];
    let e = trainer
        .gradients(&x, &t, Some(&mut dx))
        .expect("finite data");
    assert_close(&what("loss_value"), &[e], &[case.loss_value], tol);

    let cache: Vec<&[L::Scalar]> = trainer.cache.slices().collect();
    assert_eq!(cache.len(), 2 * layers);
    for l in 0..layers {
        assert_close(
            &what(&format!("a[{l}]")),
            cache[2 * l],
            &flat(&case.a[l]),
            tol,
        );
        assert_close(
            &what(&format!("z[{}]", l + 1)),
            cache[2 * l + 1],
            &flat(&case.z[l + 1]),
            tol,
        );
    }
    assert_close(&what("z[0]"), &rows(&x), &flat(&case.z[0]), tol);
    assert_close(
        &what("y"),
        &rows(L::output(&trainer.cache)),
        &flat(&case.z[layers]),
        tol,
    );

    let delta: Vec<&[L::Scalar]> = trainer.delta.slices().collect();
    assert_eq!(delta.len(), 2 * layers);
    for l in 0..layers {
        assert_close(
            &what(&format!("grad_z[{}]", l + 1)),
            delta[2 * l],
            &flat(&case.grad_z[l + 1]),
            tol,
        );
    }
    assert_close(&what("grad_z[0]"), &rows(&dx), &flat(&case.grad_z[0]), tol);

    let grads: Vec<&[L::Scalar]> = trainer.grads.slices().collect();
    let want = param_slices(&case.grad_w, &case.grad_b);
    assert_eq!(grads.len(), want.len());
    for (k, (g, w)) in grads.iter().zip(&want).enumerate() {
        let field = if k % 2 == 0 { "grad_w" } else { "grad_b" };
        assert_close(&what(&format!("{field}[{}]", k / 2)), g, w, tol);
    }

    // The optimizer trajectory.
    let mut net = L::ZERO;
    set_params(&mut net, case);
    let losses = match case.train.optimizer {
        OptimizerSpec::Sgd {
            lr,
            momentum,
            weight_decay,
        } => {
            let config = SgdConfig {
                lr: L::Scalar::from_f64(lr),
                momentum: L::Scalar::from_f64(momentum),
                weight_decay: L::Scalar::from_f64(weight_decay),
                ..SgdConfig::new(L::Scalar::ZERO)
            };
            let sgd = Sgd::<L, WithMomentum>::new(config).expect("valid config");
            train::<L, _, E, N>(Trainer::new(net, sgd, E::ZERO), &x, &t, case, tol_train)
        }
        OptimizerSpec::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => {
            let config = AdamConfig {
                lr: L::Scalar::from_f64(lr),
                beta1: L::Scalar::from_f64(beta1),
                beta2: L::Scalar::from_f64(beta2),
                eps: L::Scalar::from_f64(eps),
                weight_decay: L::Scalar::ZERO,
                ..AdamConfig::new(L::Scalar::ZERO)
            };
            let adam = Adam::<L>::new(config).expect("valid config");
            train::<L, _, E, N>(Trainer::new(net, adam, E::ZERO), &x, &t, case, tol_train)
        }
    };
    assert_close(
        &what("train.losses"),
        &losses,
        &case.train.losses,
        tol_train,
    );
}

/// Runs the case's steps; checks the parameters after; returns the loss trajectory.
fn train<L: Layer, O: Optimizer<L>, E: Loss<L::Scalar>, const N: usize>(
    mut trainer: Trainer<L, O, E, N>,
    x: &[L::Input; N],
    t: &[L::Output; N],
    case: &Case,
    tol: f64,
) -> Vec<L::Scalar> {
    let mut losses = Vec::new();
    for _ in 0..case.train.steps {
        losses.push(trainer.step(x, t).expect("finite data"));
    }
    losses.push(trainer.loss(x, t).expect("finite data"));
    let what = format!("{} ({:?}) after training", case.name, L::Scalar::KIND);
    check_params(
        &what,
        &trainer.net,
        &case.train.weights_after,
        &case.train.biases_after,
        tol,
    );
    losses
}

/// Rows of a batch as one flat vector.
fn rows<S: Copy, R: AsRef<[S]>>(batch: &[R]) -> Vec<S> {
    batch
        .iter()
        .flat_map(|r| r.as_ref().iter().copied())
        .collect()
}

/// One test per case and scalar. The network type spells out the case's dims and
/// activations; `run` checks them against the file's shapes.
macro_rules! conformance {
    ($($name:ident: |$s:ident| $net:ty, $loss:ty, $n:literal;)+) => {
        mod f64_cases {
            use super::*;
            $(
                #[test]
                fn $name() {
                    type $s = f64;
                    run::<$net, $loss, $n>(&load(stringify!($name)));
                }
            )+
        }
        mod f32_cases {
            use super::*;
            $(
                #[test]
                fn $name() {
                    type $s = f32;
                    run::<$net, $loss, $n>(&load(stringify!($name)));
                }
            )+
        }
    };
}

conformance! {
    xor_tanh_sigmoid_mse: |S| (Dense<2, 3, Tanh, S>, Dense<3, 1, Sigmoid, S>), Mse, 4;
    seed_nobias_sigmoid_mse: |S| (Dense<3, 4, Sigmoid, S, NoBias>, Dense<4, 2, Sigmoid, S, NoBias>), Mse, 5;
    relu_softmax_ce_adam: |S| (Dense<4, 6, Relu, S>, Dense<6, 3, Identity, S>), SoftmaxCrossEntropy, 6;
    leaky_relu_huber_momentum: |S| (Dense<3, 5, LeakyRelu, S>, Dense<5, 4, LeakyRelu, S>, Dense<4, 2, Identity, S>), Huber, 5;
    softplus_silu_bce: |S| (Dense<4, 5, Softplus, S>, Dense<5, 3, Silu, S>, Dense<3, 2, Sigmoid, S>), Bce, 6;
    single_sample_identity_mse: |S| Dense<3, 2, Identity, S>, Mse, 1;
    silu_tanh_softmax_soft_targets: |S| (Dense<5, 4, Silu, S>, Dense<4, 4, Tanh, S>, Dense<4, 3, Identity, S>), SoftmaxCrossEntropy, 3;
    tanh_relu_sigmoid_bce_weight_decay: |S| (Dense<3, 4, Tanh, S>, Dense<4, 3, Relu, S>, Dense<3, 1, Sigmoid, S>), Bce, 4;
}

/// The activation names in the files map to the types used above; a file whose
/// activations or loss differ from the macro's network would fail `run`'s shape checks
/// only for widths, so the names are checked here too.
#[test]
fn case_files_name_the_activations_used_above() {
    let expected: &[(&str, &[&str], &str)] = &[
        ("xor_tanh_sigmoid_mse", &["tanh", "sigmoid"], "mse"),
        ("seed_nobias_sigmoid_mse", &["sigmoid", "sigmoid"], "mse"),
        (
            "relu_softmax_ce_adam",
            &["relu", "identity"],
            "softmax_cross_entropy",
        ),
        (
            "leaky_relu_huber_momentum",
            &["leaky_relu", "leaky_relu", "identity"],
            "huber",
        ),
        ("softplus_silu_bce", &["softplus", "silu", "sigmoid"], "bce"),
        ("single_sample_identity_mse", &["identity"], "mse"),
        (
            "silu_tanh_softmax_soft_targets",
            &["silu", "tanh", "identity"],
            "softmax_cross_entropy",
        ),
        (
            "tanh_relu_sigmoid_bce_weight_decay",
            &["tanh", "relu", "sigmoid"],
            "bce",
        ),
    ];
    let files = fs::read_dir(format!(
        "{}/tests/data/conformance",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("conformance data")
    .filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
    })
    .count();
    assert_eq!(files, expected.len(), "every case file has a test");
    for (name, activations, loss) in expected {
        let case = load(name);
        assert_eq!(&case.activations, activations, "{name}");
        assert_eq!(&case.loss, loss, "{name}");
    }
}
