//! Time of one training step, [`Trainer::step`]: forward, loss, backward and optimizer
//! update on one batch, in `f32`, for dense layers with bias.
//!
//! | workload  | widths, activations                  | loss       | N  | optimizer | FLOP/step  |
//! |-----------|--------------------------------------|------------|----|-----------|------------|
//! | w1_xor    | 2-8-1, Tanh, Sigmoid                 | Mse        | 4  | SGD 0.5   | 448        |
//! | w2_sensor | 16-32-32-4, Relu, Relu, Identity     | softmax+CE | 16 | Adam 1e-3 | 143,360    |
//! | w3_digits | 64-32-10, Relu, Identity             | softmax+CE | 32 | SGD 0.1   | 323,584    |
//! | w4_wide   | 256-256-256-10, Relu, Relu, Identity | softmax+CE | 64 | SGD 0.01  | 42,926,080 |
//!
//! FLOP/step counts the three matrix products of every step, a multiply and an add each:
//! 2N·ΣK^l·K^(l+1) for the forward pass, as much again for dE/dW, and 2N·Σ_{l≥1}K^l·K^(l+1)
//! for dE/dZ (the first layer's input takes no gradient). Activations, the loss, the biases
//! and the optimizer are not counted, so on the small workloads GFLOP/s understates the work.
//!
//! Run it with
//!
//! ```text
//! cargo bench --bench train_step
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench train_step   # the native figures
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench train_step --features x86
//! ```
//!
//! `bench-compare/` runs the same workloads against dfdx 0.13 in one process.
//!
//! Criterion reports the time per step and samples/s (its throughput is N samples per
//! step). Afterwards one summary line per workload gives µs/step, samples/s and GFLOP/s
//! from a plain [`Instant`] loop: the median of 5 runs of at least 0.5 s each. The summary
//! always covers all four workloads, whatever filter is passed to Criterion, and is skipped
//! under `cargo test --benches` (which runs every benchmark once as a smoke test).
//!
//! Every workload trains on one fixed batch (inputs uniform in [−1, 1) and one-hot
//! targets drawn from [`SplitMix64`]; the XOR truth table for `w1_xor`). Left alone for hundreds
//! of thousands of steps, a net memorises that batch: with Adam the logits of `w2_sensor`
//! grow to tens of thousands, the softmax saturates, and subnormal deltas make a step
//! 2.5–5× slower, which would time the FPU's subnormal path rather than the library. So
//! the network and the optimizer go back to their initial state every [`RESET_EVERY`]
//! steps, outside the timed region: every timed step is one of the first [`RESET_EVERY`]
//! steps of a training run. (The forward and backward buffers need no reset: every step
//! overwrites them.)
//!
//! Everything runs on a thread with a 64 MiB stack, because the `w4_wide` trainer alone
//! is about 1.7 MB and is built by value before it is boxed.

use std::hint::black_box;
use std::mem::size_of;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use stackprop::*;

/// Steps between two resets of the network and optimizer state (see the module docs).
const RESET_EVERY: u64 = 1_000;

/// Stack of the thread that builds and runs every workload.
const STACK_BYTES: usize = 64 << 20;

/// Minimum length of one timed run of the summary, and the number of runs.
const SUMMARY_RUN: Duration = Duration::from_millis(500);
const SUMMARY_REPEATS: usize = 5;

type XorNet = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
type SensorNet = (
    Dense<16, 32, Relu>,
    Dense<32, 32, Relu>,
    Dense<32, 4, Identity>,
);
type DigitsNet = (Dense<64, 32, Relu>, Dense<32, 10, Identity>);
type WideNet = (
    Dense<256, 256, Relu>,
    Dense<256, 256, Relu>,
    Dense<256, 10, Identity>,
);

/// What a workload is, independent of its types.
struct Spec {
    name: &'static str,
    /// K^0, K^1, …, K^L.
    dims: &'static [usize],
    /// FLOP per step, as stated in the workload list; checked against [`flop_per_step`].
    flop: u64,
}

/// FLOP of one step of a dense network with layer widths `dims` on a batch of `n`:
/// forward X·W, dE/dW = Xᵀ·Δ and dE/dZ = Δ·Wᵀ, 2 FLOP per multiply-add, with no dE/dZ
/// for the network's input.
fn flop_per_step(dims: &[usize], n: usize) -> u64 {
    let products: Vec<u64> = dims.windows(2).map(|k| (k[0] * k[1]) as u64).collect();
    let all: u64 = products.iter().sum();
    let past_first: u64 = products.iter().skip(1).sum();
    let n = n as u64;
    2 * n * all + 2 * n * all + 2 * n * past_first
}

/// A trainer, its batch, and the initial state it goes back to every [`RESET_EVERY`] steps.
struct Workload<L: Layer, O, E, const N: usize> {
    spec: Spec,
    trainer: Box<Trainer<L, O, E, N>>,
    initial_net: Box<L>,
    initial_optimizer: Box<O>,
    x: Box<[L::Input; N]>,
    t: Box<[L::Output; N]>,
    since_reset: u64,
}

/// The part of a [`Workload`] the benchmark drivers need, without its types.
trait Steps {
    fn spec(&self) -> &Spec;
    /// The batch size N.
    fn batch(&self) -> usize;
    /// Bytes of the trainer ([`Trainer::FOOTPRINT`]).
    fn footprint(&self) -> usize;
    /// Runs `iters` training steps and returns the time they took, resets excluded.
    fn run(&mut self, iters: u64) -> Duration;
}

impl<L, O, E, const N: usize> Workload<L, O, E, N>
where
    L: Layer<Scalar = f32> + Copy,
    O: Optimizer<L> + Copy,
    E: Loss<f32>,
{
    /// A workload training `net` (He-uniform from seed 1) on the batch (`x`, `t`).
    fn new(
        spec: Spec,
        mut net: L,
        optimizer: O,
        loss: E,
        x: [L::Input; N],
        t: [L::Output; N],
    ) -> Self {
        let name = spec.name;
        assert_eq!(flop_per_step(spec.dims, N), spec.flop, "{name}: FLOP/step");
        let widths = [size_of::<L::Input>() / 4, size_of::<L::Output>() / 4];
        let dims = [spec.dims[0], spec.dims[spec.dims.len() - 1]];
        assert_eq!(dims, widths, "{name}: K^0 and K^L");
        let params: usize = spec.dims.windows(2).map(|k| k[0] * k[1] + k[1]).sum();
        let stored: usize = net.params().map(<[f32]>::len).sum();
        assert_eq!(stored, params, "{name}: parameter count");

        net.init(Init::HeUniform, &mut SplitMix64::new(1));
        let mut trainer = Box::new(Trainer::new(net, optimizer, loss));
        let first = trainer.step(&x, &t).expect("the batch is finite");
        assert!(first.is_finite(), "{name}: first loss {first}");
        trainer.net = net;
        trainer.optimizer = optimizer;
        Self {
            spec,
            trainer,
            initial_net: Box::new(net),
            initial_optimizer: Box::new(optimizer),
            x: Box::new(x),
            t: Box::new(t),
            since_reset: 0,
        }
    }
}

impl<L, O, E, const N: usize> Steps for Workload<L, O, E, N>
where
    L: Layer<Scalar = f32> + Copy,
    O: Optimizer<L> + Copy,
    E: Loss<f32>,
{
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn batch(&self) -> usize {
        N
    }

    fn footprint(&self) -> usize {
        Trainer::<L, O, E, N>::FOOTPRINT.total()
    }

    fn run(&mut self, iters: u64) -> Duration {
        let mut elapsed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            if self.since_reset == RESET_EVERY {
                self.trainer.net = *self.initial_net;
                self.trainer.optimizer = *self.initial_optimizer;
                self.since_reset = 0;
            }
            let chunk = left.min(RESET_EVERY - self.since_reset);
            let (x, t) = (&*self.x, &*self.t);
            let trainer = &mut *self.trainer;
            let start = Instant::now();
            let mut last = Ok(0.0);
            for _ in 0..chunk {
                last = black_box(trainer.step(black_box(x), black_box(t)));
            }
            elapsed += start.elapsed();
            let loss = last.expect("the batch is finite");
            assert!(loss.is_finite(), "{}: loss {loss}", self.spec.name);
            self.since_reset += chunk;
            left -= chunk;
        }
        elapsed
    }
}

/// A batch of inputs uniform in [−1, 1) and one-hot targets of uniform classes.
fn random_batch<const IN: usize, const OUT: usize, const N: usize>(
    rng: &mut SplitMix64,
) -> ([[f32; IN]; N], [[f32; OUT]; N]) {
    let mut x = [[0.0; IN]; N];
    let mut t = [[0.0; OUT]; N];
    for (x_row, t_row) in x.iter_mut().zip(t.iter_mut()) {
        for x_i in x_row.iter_mut() {
            *x_i = (2.0 * rng.next_f64() - 1.0) as f32;
        }
        t_row[rng.below(OUT as u64) as usize] = 1.0;
    }
    (x, t)
}

fn workloads() -> Vec<Box<dyn Steps>> {
    let mut rng = SplitMix64::new(2);
    let mut all: Vec<Box<dyn Steps>> = Vec::new();

    all.push(Box::new(Workload::<XorNet, _, _, 4>::new(
        Spec {
            name: "w1_xor",
            dims: &[2, 8, 1],
            flop: 448,
        },
        XorNet::ZERO,
        Sgd::<XorNet, NoMomentum>::new(SgdConfig::new(0.5)).expect("valid SGD config"),
        Mse,
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        [[0.0], [1.0], [1.0], [0.0]],
    )));

    let (x, t) = random_batch::<16, 4, 16>(&mut rng);
    all.push(Box::new(Workload::<SensorNet, _, _, 16>::new(
        Spec {
            name: "w2_sensor",
            dims: &[16, 32, 32, 4],
            flop: 143_360,
        },
        SensorNet::ZERO,
        Adam::<SensorNet>::new(AdamConfig::new(1e-3)).expect("valid Adam config"),
        SoftmaxCrossEntropy,
        x,
        t,
    )));

    let (x, t) = random_batch::<64, 10, 32>(&mut rng);
    all.push(Box::new(Workload::<DigitsNet, _, _, 32>::new(
        Spec {
            name: "w3_digits",
            dims: &[64, 32, 10],
            flop: 323_584,
        },
        DigitsNet::ZERO,
        Sgd::<DigitsNet, NoMomentum>::new(SgdConfig::new(0.1)).expect("valid SGD config"),
        SoftmaxCrossEntropy,
        x,
        t,
    )));

    let (x, t) = random_batch::<256, 10, 64>(&mut rng);
    all.push(Box::new(Workload::<WideNet, _, _, 64>::new(
        Spec {
            name: "w4_wide",
            dims: &[256, 256, 256, 10],
            flop: 42_926_080,
        },
        WideNet::ZERO,
        Sgd::<WideNet, NoMomentum>::new(SgdConfig::new(0.01)).expect("valid SGD config"),
        SoftmaxCrossEntropy,
        x,
        t,
    )));

    all
}

fn bench_one(group: &mut BenchmarkGroup<'_, WallTime>, workload: &mut dyn Steps) {
    // A w4_wide step takes milliseconds: fewer samples keep it within the measurement time.
    let samples = if workload.spec().flop > 10_000_000 {
        20
    } else {
        50
    };
    group.sample_size(samples);
    group.throughput(Throughput::Elements(workload.batch() as u64));
    let name = workload.spec().name;
    group.bench_function(name, |b| b.iter_custom(|iters| workload.run(iters)));
}

/// Seconds per step: the median of [`SUMMARY_REPEATS`] runs of at least [`SUMMARY_RUN`].
fn seconds_per_step(workload: &mut dyn Steps) -> f64 {
    let mut iters = 1_u64;
    let mut elapsed = workload.run(iters);
    while elapsed < SUMMARY_RUN / 10 {
        iters *= 2;
        elapsed = workload.run(iters);
    }
    // Aim 10% past the minimum; a run that still falls short is redone, longer.
    let target = SUMMARY_RUN.as_secs_f64() * 1.1;
    let mut iters = ((iters as f64 * target / elapsed.as_secs_f64()).ceil() as u64).max(1);
    let mut per_step = Vec::with_capacity(SUMMARY_REPEATS);
    while per_step.len() < SUMMARY_REPEATS {
        let elapsed = workload.run(iters);
        if elapsed < SUMMARY_RUN {
            iters = (iters as f64 * target / elapsed.as_secs_f64()).ceil() as u64;
            continue;
        }
        per_step.push(elapsed.as_secs_f64() / iters as f64);
    }
    per_step.sort_by(f64::total_cmp);
    per_step[SUMMARY_REPEATS / 2]
}

fn summary(workloads: &mut [Box<dyn Steps>]) {
    println!();
    println!(
        "train_step summary (Instant loop, median of {SUMMARY_REPEATS} runs of >= {} ms each):",
        SUMMARY_RUN.as_millis()
    );
    println!(
        "{:<10} {:>15} {:>3} {:>11} {:>12} {:>11} {:>13} {:>9}",
        "workload", "dims", "N", "FLOP/step", "trainer B", "µs/step", "samples/s", "GFLOP/s"
    );
    for workload in workloads.iter_mut() {
        let seconds = seconds_per_step(workload.as_mut());
        let spec = workload.spec();
        let dims: Vec<String> = spec.dims.iter().map(usize::to_string).collect();
        println!(
            "{:<10} {:>15} {:>3} {:>11} {:>12} {:>11.3} {:>13.0} {:>9.3}",
            spec.name,
            dims.join("-"),
            workload.batch(),
            spec.flop,
            workload.footprint(),
            seconds * 1e6,
            workload.batch() as f64 / seconds,
            spec.flop as f64 / seconds / 1e9,
        );
    }
}

/// Whether Criterion measures (`cargo bench`) rather than smoke-tests (`cargo test
/// --benches`), lists or profiles: the same reading of the arguments as Criterion's.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn run_all() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut workloads = workloads();

    let mut group = criterion.benchmark_group("train_step");
    for workload in workloads.iter_mut() {
        bench_one(&mut group, workload.as_mut());
    }
    group.finish();
    criterion.final_summary();

    if measuring() {
        summary(&mut workloads);
    }
}

fn main() {
    let worker = thread::Builder::new()
        .name("train_step".into())
        .stack_size(STACK_BYTES)
        .spawn(run_all)
        .expect("spawn the benchmark thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}
