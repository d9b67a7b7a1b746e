//! Seeded property tests of the training math, run with `proptest`.
//!
//! Every test draws its cases from a [`TestRunner`] with a fixed ChaCha seed and no
//! failure persistence, so each run sees the same cases and writes no files. The
//! properties, all in `f64` unless noted:
//!
//! 1. **Gradients match central differences** (h = 1e-6, |fd − g| ≤ 1e-6·max(1, |g|)):
//!    dE/dW and dE/db ([`Trainer::grads`]), dE/dX (the `dx` of [`Trainer::gradients`])
//!    and dE/dZ of every hidden layer ([`Trainer::delta`]), for 1-, 2- and 3-layer
//!    networks with and without bias, every activation and every loss. Cases where a
//!    relu pre-activation or a Huber residual sits within 1e-3 of a kink, or a Bce
//!    output within 1e-3 of 0 or 1 (where rounding swamps the difference), are skipped.
//! 2. **A batch of N is the mean of N batches of one**: loss, parameter gradients and
//!    N·dE/dX agree to 1e-12 of the largest entry.
//! 3. **A learning rate of 0 changes nothing**: SGD with momentum and weight decay, and
//!    Adam, leave every parameter bit-identical.
//! 4. **Losses are non-negative** on valid targets, and Mse and Huber are exactly 0,
//!    with a zero gradient, when the target is the network's own output.
//! 5. **Training works**: on linearly separable 2-D data a 2-8-1 tanh/sigmoid network
//!    with Bce and SGD (lr 0.5) at least halves its loss in 200 steps.
//! 6. **f32 agrees with f64**: the forward pass in f32 matches f64 on the same
//!    weights to 1e-5·max(1, |y|) (1e-2 with the `micromath` backend), for networks
//!    using every activation.
//! 7. **Non-finite batches are rejected**: a NaN or ±∞ in X or T gives
//!    [`Error::NonFiniteInput`] / [`Error::NonFiniteTarget`] from `step`, `gradients`
//!    and `loss`, and leaves the network, gradients, buffers and optimizer unchanged.

use std::f64::consts::TAU;
use std::fmt::Debug;

use proptest::collection::vec;
use proptest::sample::Index;
use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseResult, TestRunner};
use proptest::{prop_assert, prop_assert_eq, prop_assume, prop_oneof};
use stackprop::*;

/// The step of the central differences.
const STEP: f64 = 1e-6;
/// The mixed tolerance of a gradient against its finite difference.
const FD_TOL: f64 = 1e-6;
/// How close to a kink (of relu, leaky relu or Huber), or a Bce output to 0 or 1, a case
/// may come before it is skipped.
const KINK_MARGIN: f64 = 1e-3;
/// Cases per property.
const CASES: u32 = 64;

/// Runs `test` on `cases` values of `strategy` from a fixed seed; panics with the
/// shrunk failing input if a case fails.
fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x5EED_F00D_57AC_4090),
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------
// Helpers: flat views of batches and parameters.
// ---------------------------------------------------------------------------------

/// The number of scalars in one row of type `R`.
fn width<R: Zero + AsRef<[f64]>>() -> usize {
    R::ZERO.as_ref().len()
}

/// The rows of a batch, concatenated.
fn flat<R: AsRef<[f64]>>(rows: &[R]) -> Vec<f64> {
    rows.iter()
        .flat_map(|r| r.as_ref().iter().copied())
        .collect()
}

/// A batch filled row by row from `values`.
fn batch<R: Copy + Zero + AsRef<[f64]> + AsMut<[f64]>, const N: usize>(values: &[f64]) -> [R; N] {
    assert_eq!(values.len(), N * width::<R>(), "values for a batch");
    let mut rows = [R::ZERO; N];
    for (slot, &v) in rows
        .iter_mut()
        .flat_map(|r| r.as_mut().iter_mut())
        .zip(values)
    {
        *slot = v;
    }
    rows
}

/// The `k`-th scalar of a batch, row by row.
fn slot<R: AsMut<[f64]>>(rows: &mut [R], k: usize) -> &mut f64 {
    rows.iter_mut()
        .flat_map(|r| r.as_mut().iter_mut())
        .nth(k)
        .expect("index inside the batch")
}

fn param_count<L: Layer + Zero>() -> usize {
    L::ZERO.params().map(<[L::Scalar]>::len).sum()
}

/// A network of type `L` with the given flat parameters.
fn net_from<L: Layer<Scalar = f64> + Zero>(values: &[f64]) -> L {
    let mut net = L::ZERO;
    assert_eq!(values.len(), param_count::<L>());
    for (p, &v) in net.params_mut().flatten().zip(values) {
        *p = v;
    }
    net
}

/// The `k`-th parameter of `net`, in the order of [`Layer::params_mut`].
fn param<L: Layer<Scalar = f64>>(net: &mut L, k: usize) -> &mut f64 {
    net.params_mut()
        .flatten()
        .nth(k)
        .expect("index inside the parameters")
}

fn param_bits<L: Layer<Scalar = f64>>(net: &L) -> Vec<u64> {
    net.params().flatten().map(|p| p.to_bits()).collect()
}

fn grads_of<T: Tensors<f64>>(grads: &T) -> Vec<f64> {
    grads.slices().flatten().copied().collect()
}

/// Random parameters in [-1, 1), inputs in [-2, 2) and raw targets in [-2, 2) for a
/// network `L` and a batch of `N`.
fn net_batch<L: Layer<Scalar = f64> + Zero, const N: usize>()
-> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>)> {
    (
        vec(-1.0..1.0, param_count::<L>()),
        vec(-2.0..2.0, N * width::<L::Input>()),
        vec(-2.0..2.0, N * width::<L::Output>()),
    )
}

/// Checks `got` against `want` entrywise: |got − want| ≤ tol·max(floor, |got|).
fn expect_close(what: &str, got: &[f64], want: &[f64], tol: f64, floor: f64) -> TestCaseResult {
    prop_assert_eq!(got.len(), want.len(), "{}: lengths differ", what);
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        prop_assert!(
            (g - w).abs() <= tol * g.abs().max(floor),
            "{}[{}]: got {:e}, want {:e} (diff {:e})",
            what,
            k,
            g,
            w,
            (g - w).abs()
        );
    }
    Ok(())
}

/// Central differences: `shifted(k, d)` is the loss with scalar `k` moved by `d`.
fn central_differences(count: usize, mut shifted: impl FnMut(usize, f64) -> f64) -> Vec<f64> {
    (0..count)
        .map(|k| (shifted(k, STEP) - shifted(k, -STEP)) / (2.0 * STEP))
        .collect()
}

// ---------------------------------------------------------------------------------
// Per-loss and per-activation facts the tests need.
// ---------------------------------------------------------------------------------

/// A loss with what the tests need to know about it.
trait TestLoss: Loss<f64> + Copy + Debug {
    /// Turns a row of raw draws in [-2, 2) into a valid target row.
    fn target(_row: &mut [f64]) {}
    /// Whether finite differences are unreliable at output `y` against target `t`:
    /// within [`KINK_MARGIN`] of a kink, or where rounding swamps a step of 1e-6.
    fn fragile(_y: f64, _t: f64) -> bool {
        false
    }
}

impl TestLoss for Mse {}

impl TestLoss for Huber {
    fn fragile(y: f64, t: f64) -> bool {
        ((y - t).abs() - 1.0).abs() < KINK_MARGIN
    }
}

impl TestLoss for Bce {
    /// Targets in [0, 1].
    fn target(row: &mut [f64]) {
        for v in row {
            *v = (*v + 2.0) / 4.0;
        }
    }
    /// A saturated sigmoid: 1 − y keeps too few digits for a central difference (at
    /// y = 1 − 8e-6 the rounding of ln(1 − y) alone moves the difference by 1e-6).
    fn fragile(y: f64, _t: f64) -> bool {
        y.min(1.0 - y) < KINK_MARGIN
    }
}

impl TestLoss for SoftmaxCrossEntropy {
    /// Probability rows: the softmax of the raw draws.
    fn target(row: &mut [f64]) {
        let sum: f64 = row.iter().map(|v| v.exp()).sum();
        for v in row {
            *v = v.exp() / sum;
        }
    }
}

/// A target batch for loss `E` from raw draws.
fn targets<R: Copy + Zero + AsRef<[f64]> + AsMut<[f64]>, E: TestLoss, const N: usize>(
    raw: &[f64],
) -> [R; N] {
    let mut t: [R; N] = batch(raw);
    for row in &mut t {
        E::target(row.as_mut());
    }
    t
}

/// Whether an activation has a kink at 0, where finite differences are not derivatives.
trait Kink: Activation<f64> + Copy {
    const KINKED: bool = false;
}

impl Kink for Identity {}
impl Kink for Sigmoid {}
impl Kink for Tanh {}
impl Kink for Softplus {}
impl Kink for Silu {}
impl Kink for Relu {
    const KINKED: bool = true;
}
impl Kink for LeakyRelu {
    const KINKED: bool = true;
}

// ---------------------------------------------------------------------------------
// Property 1: gradients against central finite differences.
// ---------------------------------------------------------------------------------

/// dE/dX of `net` at `x` by central differences.
fn fd_input<L: Layer<Scalar = f64>, E: TestLoss, const N: usize>(
    net: L,
    x: &InputBatch<L, N>,
    t: &OutputBatch<L, N>,
    loss: E,
) -> Vec<f64> {
    let mut trainer = Trainer::<L, (), E, N>::new(net, (), loss);
    central_differences(N * width::<L::Input>(), |k, d| {
        let mut x = *x;
        *slot(&mut x, k) += d;
        trainer.loss(&x, t).expect("finite batch")
    })
}

/// The networks under test: a chain of `f64` [`Dense`] layers of depth 1 to 3.
trait Probe: Layer<Scalar = f64> + Copy + Zero {
    /// The smallest |A| over the layers whose activation has a kink (∞ if none).
    fn kink_distance<const N: usize>(cache: &CacheOf<Self, N>) -> f64;

    /// Checks dE/dZ of every hidden layer, from layer `first` on, against central
    /// differences of the rest of the network.
    fn check_hidden<E: TestLoss, const N: usize>(
        &self,
        cache: &CacheOf<Self, N>,
        delta: &DeltaOf<Self, N>,
        t: &OutputBatch<Self, N>,
        loss: E,
        first: usize,
    ) -> TestCaseResult;
}

impl<const I: usize, const O: usize, F: Kink, B: Bias<f64, O>> Probe for Dense<I, O, F, f64, B> {
    fn kink_distance<const N: usize>(cache: &CacheOf<Self, N>) -> f64 {
        if F::KINKED {
            cache
                .a
                .as_flattened()
                .iter()
                .fold(f64::INFINITY, |m, a| m.min(a.abs()))
        } else {
            f64::INFINITY
        }
    }

    fn check_hidden<E: TestLoss, const N: usize>(
        &self,
        _: &CacheOf<Self, N>,
        _: &DeltaOf<Self, N>,
        _: &OutputBatch<Self, N>,
        _: E,
        _: usize,
    ) -> TestCaseResult {
        Ok(())
    }
}

impl<const I: usize, const K1: usize, const K2: usize, F0, B0, F1, B1> Probe
    for (Dense<I, K1, F0, f64, B0>, Dense<K1, K2, F1, f64, B1>)
where
    F0: Kink,
    B0: Bias<f64, K1>,
    F1: Kink,
    B1: Bias<f64, K2>,
{
    fn kink_distance<const N: usize>(cache: &CacheOf<Self, N>) -> f64 {
        let d0 = Dense::<I, K1, F0, f64, B0>::kink_distance(&cache.0);
        d0.min(Dense::<K1, K2, F1, f64, B1>::kink_distance(&cache.1))
    }

    fn check_hidden<E: TestLoss, const N: usize>(
        &self,
        cache: &CacheOf<Self, N>,
        delta: &DeltaOf<Self, N>,
        t: &OutputBatch<Self, N>,
        loss: E,
        first: usize,
    ) -> TestCaseResult {
        let fd = fd_input(self.1, &cache.0.z, t, loss);
        let what = format!("dE/dZ^{} (delta.{first}.dz)", first + 1);
        expect_close(&what, &flat(&delta.0.dz), &fd, FD_TOL, 1.0)
    }
}

impl<const I: usize, const K1: usize, const K2: usize, const K3: usize, F0, B0, F1, B1, F2, B2>
    Probe
    for (
        Dense<I, K1, F0, f64, B0>,
        Dense<K1, K2, F1, f64, B1>,
        Dense<K2, K3, F2, f64, B2>,
    )
where
    F0: Kink,
    B0: Bias<f64, K1>,
    F1: Kink,
    B1: Bias<f64, K2>,
    F2: Kink,
    B2: Bias<f64, K3>,
{
    fn kink_distance<const N: usize>(cache: &CacheOf<Self, N>) -> f64 {
        let d0 = Dense::<I, K1, F0, f64, B0>::kink_distance(&cache.0);
        d0.min(
            <(Dense<K1, K2, F1, f64, B1>, Dense<K2, K3, F2, f64, B2>)>::kink_distance(&(
                cache.1, cache.2,
            )),
        )
    }

    fn check_hidden<E: TestLoss, const N: usize>(
        &self,
        cache: &CacheOf<Self, N>,
        delta: &DeltaOf<Self, N>,
        t: &OutputBatch<Self, N>,
        loss: E,
        first: usize,
    ) -> TestCaseResult {
        let rest = (self.1, self.2);
        let fd = fd_input(rest, &cache.0.z, t, loss);
        let what = format!("dE/dZ^{} (delta.{first}.dz)", first + 1);
        expect_close(&what, &flat(&delta.0.dz), &fd, FD_TOL, 1.0)?;
        rest.check_hidden(&(cache.1, cache.2), &(delta.1, delta.2), t, loss, first + 1)
    }
}

/// Property 1 for network `L`, loss `E` and batches of `N`.
fn gradients_match_finite_differences<L: Probe, E: TestLoss, const N: usize>(loss: E) {
    run(CASES, net_batch::<L, N>(), |(p, x, t)| {
        let x: InputBatch<L, N> = batch(&x);
        let t: OutputBatch<L, N> = targets::<_, E, N>(&t);
        let mut trainer = Trainer::<L, (), E, N>::new(net_from(&p), (), loss);
        let mut dx = <InputBatch<L, N>>::ZERO;
        let e = trainer.gradients(&x, &t, Some(&mut dx))?;

        prop_assume!(
            L::kink_distance(&trainer.cache) > KINK_MARGIN,
            "relu pre-activation at its kink"
        );
        let y = flat(L::output(&trainer.cache));
        prop_assume!(
            !y.iter().zip(flat(&t)).any(|(&y, t)| E::fragile(y, t)),
            "loss at its kink or saturated"
        );

        expect_close("E", &[e], &[trainer.loss(&x, &t)?], 1e-12, 1.0)?;
        trainer
            .net
            .check_hidden(&trainer.cache, &trainer.delta, &t, loss, 0)?;
        expect_close(
            "dE/dX",
            &flat(&dx),
            &fd_input(trainer.net, &x, &t, loss),
            FD_TOL,
            1.0,
        )?;

        let analytic = grads_of(&trainer.grads);
        prop_assert_eq!(analytic.len(), p.len());
        let fd = central_differences(p.len(), |k, d| {
            let original = *param(&mut trainer.net, k);
            *param(&mut trainer.net, k) = original + d;
            let e = trainer.loss(&x, &t).expect("finite batch");
            *param(&mut trainer.net, k) = original;
            e
        });
        expect_close("dE/dW, dE/db", &analytic, &fd, FD_TOL, 1.0)
    });
}

/// Two layers, 3 → 5 → 2, the second without bias.
type Two<F, G> = (Dense<3, 5, F, f64>, Dense<5, 2, G, f64, NoBias>);
/// Three layers, 4 → 3 → 6 → 3, the first without bias.
type Three<F, G> = (
    Dense<4, 3, F, f64, NoBias>,
    Dense<3, 6, F, f64>,
    Dense<6, 3, G, f64>,
);

/// One module of finite-difference tests per hidden activation `$f`: Mse and Huber
/// also use `$f` on the output layer, Bce a sigmoid and softmax cross-entropy an identity.
macro_rules! finite_difference_suite {
    ($($module:ident: $f:ty;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn one_layer_mse() {
                gradients_match_finite_differences::<Dense<3, 2, $f, f64>, _, 3>(Mse);
            }
            #[test]
            fn one_layer_no_bias_huber() {
                gradients_match_finite_differences::<Dense<3, 2, $f, f64, NoBias>, _, 3>(Huber);
            }
            #[test]
            fn two_layers_mse() {
                gradients_match_finite_differences::<Two<$f, $f>, _, 3>(Mse);
            }
            #[test]
            fn two_layers_huber() {
                gradients_match_finite_differences::<Two<$f, $f>, _, 2>(Huber);
            }
            #[test]
            fn two_layers_bce() {
                gradients_match_finite_differences::<Two<$f, Sigmoid>, _, 3>(Bce);
            }
            #[test]
            fn two_layers_softmax_cross_entropy() {
                gradients_match_finite_differences::<Two<$f, Identity>, _, 3>(SoftmaxCrossEntropy);
            }
            #[test]
            fn three_layers_mse() {
                gradients_match_finite_differences::<Three<$f, $f>, _, 1>(Mse);
            }
            #[test]
            fn three_layers_huber() {
                gradients_match_finite_differences::<Three<$f, Identity>, _, 3>(Huber);
            }
            #[test]
            fn three_layers_bce() {
                gradients_match_finite_differences::<Three<$f, Sigmoid>, _, 2>(Bce);
            }
            #[test]
            fn three_layers_softmax_cross_entropy() {
                gradients_match_finite_differences::<Three<$f, Identity>, _, 3>(SoftmaxCrossEntropy);
            }
        }
    )*};
}

finite_difference_suite! {
    identity: Identity;
    relu: Relu;
    leaky_relu: LeakyRelu;
    sigmoid: Sigmoid;
    tanh: Tanh;
    softplus: Softplus;
    silu: Silu;
}

mod mixed {
    use super::*;

    #[test]
    fn one_layer_bce() {
        gradients_match_finite_differences::<Dense<4, 1, Sigmoid, f64>, _, 3>(Bce);
    }
    #[test]
    fn one_layer_softmax_cross_entropy() {
        gradients_match_finite_differences::<Dense<3, 4, Identity, f64, NoBias>, _, 2>(
            SoftmaxCrossEntropy,
        );
    }
    #[test]
    fn three_activations_huber() {
        type Net = (
            Dense<2, 4, Softplus, f64, NoBias>,
            Dense<4, 3, LeakyRelu, f64>,
            Dense<3, 2, Silu, f64>,
        );
        gradients_match_finite_differences::<Net, _, 4>(Huber);
    }
    #[test]
    fn three_activations_bce_single_output() {
        type Net = (
            Dense<2, 8, Tanh, f64>,
            Dense<8, 3, Relu, f64>,
            Dense<3, 1, Sigmoid, f64, NoBias>,
        );
        gradients_match_finite_differences::<Net, _, 4>(Bce);
    }
}

// ---------------------------------------------------------------------------------
// Property 2: a batch is the mean of its samples.
// ---------------------------------------------------------------------------------

fn batch_is_mean_of_single_samples<L: Probe, E: TestLoss, const N: usize>(loss: E) {
    run(CASES, net_batch::<L, N>(), |(p, x, t)| {
        let net: L = net_from(&p);
        let x: InputBatch<L, N> = batch(&x);
        let t: OutputBatch<L, N> = targets::<_, E, N>(&t);
        let mut whole = Trainer::<L, (), E, N>::new(net, (), loss);
        let mut dx = <InputBatch<L, N>>::ZERO;
        let e = whole.gradients(&x, &t, Some(&mut dx))?;

        let n = N as f64;
        let mut single = Trainer::<L, (), E, 1>::new(net, (), loss);
        let (mut mean_e, mut mean_grads, mut dx_rows) = (0.0, vec![0.0; p.len()], Vec::new());
        for (x, t) in x.iter().zip(&t) {
            let mut dx1 = [L::Input::ZERO];
            mean_e += single.gradients(&[*x], &[*t], Some(&mut dx1))? / n;
            for (m, g) in mean_grads.iter_mut().zip(grads_of(&single.grads)) {
                *m += g / n;
            }
            // E is the batch mean, so dE/dx of a row is 1/N of that row's own gradient.
            dx_rows.extend(flat(&dx1).iter().map(|d| d / n));
        }
        let scale = |v: &[f64]| v.iter().fold(f64::MIN_POSITIVE, |m, x| m.max(x.abs()));
        expect_close("E", &[e], &[mean_e], 1e-12, scale(&[mean_e]))?;
        expect_close(
            "dE/dW, dE/db",
            &grads_of(&whole.grads),
            &mean_grads,
            1e-12,
            scale(&mean_grads),
        )?;
        expect_close("dE/dX", &flat(&dx), &dx_rows, 1e-12, scale(&dx_rows))
    });
}

#[test]
fn batch_gradients_are_means_tanh_softmax_cross_entropy() {
    batch_is_mean_of_single_samples::<Two<Tanh, Identity>, _, 3>(SoftmaxCrossEntropy);
}

#[test]
fn batch_gradients_are_means_relu_bce() {
    batch_is_mean_of_single_samples::<Three<Relu, Sigmoid>, _, 4>(Bce);
}

#[test]
fn batch_gradients_are_means_silu_huber() {
    batch_is_mean_of_single_samples::<Dense<3, 2, Silu, f64, NoBias>, _, 5>(Huber);
}

#[test]
fn batch_gradients_are_means_softplus_mse() {
    batch_is_mean_of_single_samples::<Two<Softplus, LeakyRelu>, _, 7>(Mse);
}

// ---------------------------------------------------------------------------------
// Property 3: lr = 0 is a no-op.
// ---------------------------------------------------------------------------------

#[test]
fn zero_learning_rate_leaves_parameters_bit_identical() {
    type Net = Three<Tanh, Identity>;
    const N: usize = 3;

    fn unchanged<O: Optimizer<Net>>(
        net: Net,
        optimizer: O,
        x: &InputBatch<Net, N>,
        t: &OutputBatch<Net, N>,
    ) -> TestCaseResult {
        let mut trainer = Trainer::<Net, O, Mse, N>::new(net, optimizer, Mse);
        for step in 0..3 {
            trainer.step(x, t)?;
            prop_assert!(
                grads_of(&trainer.grads).iter().any(|&g| g != 0.0),
                "no gradient to apply"
            );
            prop_assert_eq!(param_bits(&trainer.net), param_bits(&net), "step {}", step);
        }
        Ok(())
    }

    run(CASES, net_batch::<Net, N>(), |(p, x, t)| {
        let (net, x, t) = (net_from::<Net>(&p), batch(&x), batch(&t));
        let sgd = SgdConfig {
            lr: 0.0,
            momentum: 0.9,
            weight_decay: 0.1,
            ..SgdConfig::new(0.0)
        };
        unchanged(net, Sgd::<Net, WithMomentum>::new(sgd)?, &x, &t)?;
        unchanged(
            net,
            Sgd::<Net, NoMomentum>::new(SgdConfig {
                momentum: 0.0,
                ..sgd
            })?,
            &x,
            &t,
        )?;
        unchanged(net, Adam::<Net>::new(AdamConfig::new(0.0))?, &x, &t)?;
        let adam = AdamConfig {
            weight_decay: 0.1,
            ..AdamConfig::new(0.0)
        };
        unchanged(net, Adam::<Net>::new(adam)?, &x, &t)
    });
}

// ---------------------------------------------------------------------------------
// Property 4: losses are non-negative and vanish at the target.
// ---------------------------------------------------------------------------------

#[test]
fn losses_are_non_negative() {
    const N: usize = 4;
    const K: usize = 3;
    let probability = || prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0];
    let strategy = (
        vec(-30.0..30.0, N * K),
        vec(-2.0..2.0, N * K),
        vec(probability(), N * K),
        vec(probability(), N * K),
    );
    run(CASES, strategy, |(logits, raw, p, q)| {
        let y: [[f64; K]; N] = batch(&logits);
        let t: [[f64; K]; N] = batch(&raw);
        let soft: [[f64; K]; N] = targets::<_, SoftmaxCrossEntropy, N>(&raw);
        let (p, q): ([[f64; K]; N], [[f64; K]; N]) = (batch(&p), batch(&q));
        // One-hot on each row's largest logit: the loss comes within e^-60 of 0.
        let one_hot = y.map(|row| {
            let mut hot = [0.0; K];
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            hot[row.iter().position(|&v| v == max).unwrap_or(0)] = 1.0;
            hot
        });
        for (name, e) in [
            ("mse", Mse.loss(&y, &t)),
            ("huber", Huber.loss(&y, &t)),
            ("bce", Bce.loss(&p, &q)),
            ("softmax soft", SoftmaxCrossEntropy.loss(&y, &soft)),
            ("softmax one-hot", SoftmaxCrossEntropy.loss(&y, &one_hot)),
        ] {
            prop_assert!(e >= 0.0 && e.is_finite(), "{} = {}", name, e);
        }
        Ok(())
    });
}

fn vanishes_at_target<E: TestLoss>(loss: E) {
    type Net = Three<Silu, Identity>;
    const N: usize = 3;
    run(CASES, net_batch::<Net, N>(), |(p, x, _)| {
        let x = batch(&x);
        let mut trainer = Trainer::<Net, (), E, N>::new(net_from(&p), (), loss);
        let y = *trainer.predict(&x);
        prop_assert_eq!(trainer.loss(&x, &y)?, 0.0);
        prop_assert_eq!(trainer.gradients(&x, &y, None)?, 0.0);
        prop_assert!(
            grads_of(&trainer.grads).iter().all(|&g| g == 0.0),
            "{:?}",
            trainer.grads
        );
        let mut off = y;
        off[0][0] += 0.5;
        prop_assert!(trainer.loss(&x, &off)? > 0.0);
        Ok(())
    });
}

#[test]
fn mse_vanishes_at_the_target() {
    vanishes_at_target(Mse);
}

#[test]
fn huber_vanishes_at_the_target() {
    vanishes_at_target(Huber);
}

// ---------------------------------------------------------------------------------
// Property 5: the loss falls on separable data.
// ---------------------------------------------------------------------------------

#[test]
fn sgd_halves_the_loss_on_separable_data() {
    type Net = (Dense<2, 8, Tanh, f64>, Dense<8, 1, Sigmoid, f64>);
    const N: usize = 16;
    let strategy = (
        proptest::num::u64::ANY,
        0.0..TAU,
        -0.3..0.3,
        vec((-1.0..1.0, -1.0..1.0), N),
    );
    run(24, strategy, |(seed, angle, offset, points)| {
        // Points on either side of the line n·p = offset, pushed 0.2 away from it.
        let normal = [angle.cos(), angle.sin()];
        let mut x = [[0.0; 2]; N];
        let mut t = [[0.0]; N];
        for ((x, t), &(a, b)) in x.iter_mut().zip(&mut t).zip(&points) {
            let side = if normal[0] * a + normal[1] * b >= offset {
                1.0
            } else {
                -1.0
            };
            *x = [a + 0.2 * side * normal[0], b + 0.2 * side * normal[1]];
            *t = [(side + 1.0) / 2.0];
        }
        let mut net = Net::ZERO;
        net.init(Init::GlorotUniform, &mut SplitMix64::new(seed));
        let sgd = Sgd::<Net, NoMomentum>::new(SgdConfig::new(0.5))?;
        let mut trainer = Trainer::<_, _, _, N>::new(net, sgd, Bce);
        let initial = trainer.loss(&x, &t)?;
        for _ in 0..200 {
            trainer.step(&x, &t)?;
        }
        let last = trainer.loss(&x, &t)?;
        prop_assert!(last < initial / 2.0, "loss {} -> {}", initial, last);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------
// Property 6: f32 forward agrees with f64.
// ---------------------------------------------------------------------------------

/// libm's f32 functions are within a few ulp; micromath's fast `exp` and `tanh` are
/// within about 3e-3 relative, and get a bound to match.
const F32_FORWARD_TOL: f64 = if cfg!(feature = "micromath") {
    1e-2
} else {
    1e-5
};

fn f32_matches_f64<L64, L32, const N: usize>()
where
    L64: Layer<Scalar = f64> + Zero,
    L32: Layer<Scalar = f32> + Zero,
{
    run(CASES, net_batch::<L64, N>(), |(p, x, _)| {
        // Round everything to f32 first, so both passes see the same numbers.
        let round = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let (p32, x32) = (round(&p), round(&x));
        let p64: Vec<f64> = p32.iter().map(|&v| f64::from(v)).collect();
        let x64: InputBatch<L64, N> = batch(&x32.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());

        let net64: L64 = net_from(&p64);
        let mut net32 = L32::ZERO;
        for (d, &s) in net32.params_mut().flatten().zip(&p32) {
            *d = s;
        }
        let mut x_32 = <InputBatch<L32, N>>::ZERO;
        for (d, &s) in x_32
            .iter_mut()
            .flat_map(|r| r.as_mut().iter_mut())
            .zip(&x32)
        {
            *d = s;
        }

        let (mut c64, mut c32) = (<CacheOf<L64, N>>::ZERO, <CacheOf<L32, N>>::ZERO);
        net64.forward(&x64, &mut c64);
        net32.forward(&x_32, &mut c32);
        let y32: Vec<f64> = L32::output(&c32)
            .iter()
            .flat_map(|r| r.as_ref().iter().map(|&v| f64::from(v)))
            .collect();
        expect_close(
            "f32 Y",
            &y32,
            &flat(L64::output(&c64)),
            F32_FORWARD_TOL,
            1.0,
        )
    });
}

/// Networks covering all seven activations, generic in the scalar.
type MixA<S> = (
    Dense<4, 6, Tanh, S>,
    Dense<6, 5, Silu, S, NoBias>,
    Dense<5, 3, Softplus, S>,
);
type MixB<S> = (
    Dense<4, 5, Sigmoid, S>,
    Dense<5, 4, Relu, S>,
    Dense<4, 3, LeakyRelu, S, NoBias>,
    Dense<3, 2, Identity, S>,
);

#[test]
fn f32_forward_matches_f64_tanh_silu_softplus() {
    f32_matches_f64::<MixA<f64>, MixA<f32>, 4>();
}

#[test]
fn f32_forward_matches_f64_sigmoid_relu_leaky_relu_identity() {
    f32_matches_f64::<MixB<f64>, MixB<f32>, 4>();
}

// ---------------------------------------------------------------------------------
// Property 7: non-finite batches are rejected and change nothing.
// ---------------------------------------------------------------------------------

#[test]
fn non_finite_batches_are_rejected_and_change_nothing() {
    type Net = (Dense<3, 4, Silu, f64>, Dense<4, 2, Sigmoid, f64, NoBias>);
    const N: usize = 2;
    let bad = prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)];
    let strategy = (
        net_batch::<Net, N>(),
        bad,
        proptest::arbitrary::any::<Index>(),
        proptest::bool::ANY,
    );
    run(CASES, strategy, |((p, x, t), bad, at, in_target)| {
        let (x, t): (InputBatch<Net, N>, OutputBatch<Net, N>) = (batch(&x), batch(&t));
        let sgd = Sgd::<Net, WithMomentum>::new(
            SgdConfig::new(0.1)
                .with_momentum(0.9)
                .with_weight_decay(0.01),
        )?;
        let mut trainer = Trainer::<_, _, _, N>::new(net_from::<Net>(&p), sgd, Mse);
        // One good step, so the buffers and the velocity hold something to protect.
        trainer.step(&x, &t)?;
        let net = param_bits(&trainer.net);
        let grads = trainer.grads;
        let (optimizer, cache, delta) = (trainer.optimizer, trainer.cache, trainer.delta);

        let (mut bad_x, mut bad_t) = (x, t);
        let want = if in_target {
            *slot(&mut bad_t, at.index(N * 2)) = bad;
            Error::NonFiniteTarget
        } else {
            *slot(&mut bad_x, at.index(N * 3)) = bad;
            Error::NonFiniteInput
        };
        let mut dx = <InputBatch<Net, N>>::ZERO;
        prop_assert_eq!(trainer.step(&bad_x, &bad_t), Err(want));
        prop_assert_eq!(trainer.gradients(&bad_x, &bad_t, Some(&mut dx)), Err(want));
        prop_assert_eq!(trainer.loss(&bad_x, &bad_t), Err(want));

        prop_assert_eq!(param_bits(&trainer.net), net);
        prop_assert_eq!(trainer.grads, grads);
        prop_assert_eq!(trainer.optimizer, optimizer);
        prop_assert_eq!(trainer.cache, cache);
        prop_assert_eq!(trainer.delta, delta);
        prop_assert_eq!(dx, <InputBatch<Net, N>>::ZERO);
        Ok(())
    });
}
