//! stackprop against dfdx 0.13, one training step (forward, loss, backward of every dW
//! and db, optimizer update) in f32 on one core, measured in the same process.
//!
//! | workload  | widths, activations                  | loss       | N  | optimizer |
//! |-----------|--------------------------------------|------------|----|-----------|
//! | w1_xor    | 2-8-1, Tanh, Sigmoid                 | Mse        | 4  | SGD 0.5   |
//! | w2_sensor | 16-32-32-4, Relu, Relu, Identity     | softmax+CE | 16 | Adam 1e-3 |
//! | w3_digits | 64-32-10, Relu, Identity             | softmax+CE | 32 | SGD 0.1   |
//! | w4_wide   | 256-256-256-10, Relu, Relu, Identity | softmax+CE | 64 | SGD 0.01  |
//!
//! Both libraries train on the same batch. For each workload the two are timed in
//! alternating rounds ([`ROUNDS`] each, at least [`ROUND`] long), and the table gives
//! each one's median and the ratio of the medians, so load from other processes hits
//! both alike. As in `benches/train_step.rs`, each network and optimizer go back to
//! their initial state every [`RESET_EVERY`] steps outside the timed region, so no
//! timed step runs on a memorised batch with subnormal gradients.
//!
//! dfdx runs its matrix products through `gemm` on rayon's global pool, which is set to
//! one thread here.
//!
//! ```text
//! cd bench-compare
//! cargo run --release
//! RUSTFLAGS="-C target-cpu=native" cargo run --release
//! RUSTFLAGS="-C target-cpu=native" cargo run --release --features x86
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Steps between two resets of network and optimizer state.
const RESET_EVERY: u64 = 1_000;
/// Timed rounds per library and workload, and the minimum length of one.
const ROUNDS: usize = 7;
const ROUND: Duration = Duration::from_millis(300);

/// One library's training loop on one workload.
trait Steps {
    /// One training step on the workload's batch; returns the loss.
    fn step(&mut self) -> f32;
    /// Puts network and optimizer back to their initial state.
    fn reset(&mut self);
    /// Steps since the last reset.
    fn since_reset(&mut self) -> &mut u64;

    /// Runs `iters` steps and returns their time, resets excluded. A provided method, so
    /// every implementation gets its own copy with `step` inlined.
    fn run(&mut self, iters: u64) -> Duration {
        let mut elapsed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            if *self.since_reset() == RESET_EVERY {
                self.reset();
                *self.since_reset() = 0;
            }
            let chunk = left.min(RESET_EVERY - *self.since_reset());
            let start = Instant::now();
            let mut last = 0.0;
            for _ in 0..chunk {
                last = black_box(self.step());
            }
            elapsed += start.elapsed();
            assert!(last.is_finite(), "loss {last}");
            *self.since_reset() += chunk;
            left -= chunk;
        }
        elapsed
    }
}

/// The stackprop side.
mod ours {
    use std::hint::black_box;

    use stackprop::*;

    use super::Steps;

    struct Ours<L: Layer, O, E, const N: usize> {
        trainer: Box<Trainer<L, O, E, N>>,
        net0: Box<L>,
        opt0: Box<O>,
        x: Box<[L::Input; N]>,
        t: Box<[L::Output; N]>,
        since_reset: u64,
    }

    impl<L, O, E, const N: usize> Ours<L, O, E, N>
    where
        L: Layer<Scalar = f32> + Copy,
        O: Optimizer<L> + Copy,
        E: Loss<f32>,
    {
        fn new(mut net: L, opt: O, loss: E, x: [L::Input; N], t: [L::Output; N]) -> Self {
            net.init(Init::HeUniform, &mut SplitMix64::new(1));
            Self {
                trainer: Box::new(Trainer::new(net, opt, loss)),
                net0: Box::new(net),
                opt0: Box::new(opt),
                x: Box::new(x),
                t: Box::new(t),
                since_reset: 0,
            }
        }
    }

    impl<L, O, E, const N: usize> Steps for Ours<L, O, E, N>
    where
        L: Layer<Scalar = f32> + Copy,
        O: Optimizer<L> + Copy,
        E: Loss<f32>,
    {
        #[inline]
        fn step(&mut self) -> f32 {
            self.trainer
                .step(black_box(&*self.x), black_box(&*self.t))
                .expect("finite batch")
        }
        fn reset(&mut self) {
            self.trainer.net = *self.net0;
            self.trainer.optimizer = *self.opt0;
        }
        fn since_reset(&mut self) -> &mut u64 {
            &mut self.since_reset
        }
    }

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

    pub fn xor(x: [[f32; 2]; 4], t: [[f32; 1]; 4]) -> Box<dyn Steps> {
        let sgd = Sgd::<XorNet, NoMomentum>::new(SgdConfig::new(0.5)).expect("valid");
        Box::new(Ours::new(XorNet::ZERO, sgd, Mse, x, t))
    }

    pub fn sensor(x: [[f32; 16]; 16], t: [[f32; 4]; 16]) -> Box<dyn Steps> {
        let adam = Adam::<SensorNet>::new(AdamConfig::new(1e-3)).expect("valid");
        Box::new(Ours::new(SensorNet::ZERO, adam, SoftmaxCrossEntropy, x, t))
    }

    pub fn digits(x: [[f32; 64]; 32], t: [[f32; 10]; 32]) -> Box<dyn Steps> {
        let sgd = Sgd::<DigitsNet, NoMomentum>::new(SgdConfig::new(0.1)).expect("valid");
        Box::new(Ours::new(DigitsNet::ZERO, sgd, SoftmaxCrossEntropy, x, t))
    }

    pub fn wide(x: Box<[[f32; 256]; 64]>, t: [[f32; 10]; 64]) -> Box<dyn Steps> {
        let sgd = Sgd::<WideNet, NoMomentum>::new(SgdConfig::new(0.01)).expect("valid");
        Box::new(Ours::new(WideNet::ZERO, sgd, SoftmaxCrossEntropy, *x, t))
    }

    /// A batch of inputs uniform in [-1, 1) and one-hot targets, as in benches/train_step.rs.
    pub fn random_batch<const IN: usize, const OUT: usize, const N: usize>(
        rng: &mut SplitMix64,
    ) -> (Box<[[f32; IN]; N]>, [[f32; OUT]; N]) {
        let mut x = Box::new([[0.0; IN]; N]);
        let mut t = [[0.0; OUT]; N];
        for (x_row, t_row) in x.iter_mut().zip(t.iter_mut()) {
            for x_i in x_row.iter_mut() {
                *x_i = (2.0 * rng.next_f64() - 1.0) as f32;
            }
            t_row[rng.below(OUT as u64) as usize] = 1.0;
        }
        (x, t)
    }
}

/// The dfdx side.
mod theirs {
    use dfdx::optim::{Adam, Sgd};
    use dfdx::prelude::*;

    use super::Steps;

    type Built<M> = <M as BuildOnDevice<Cpu, f32>>::Built;
    type XorNet = ((Linear<2, 8>, Tanh), (Linear<8, 1>, Sigmoid));
    type SensorNet = (
        (Linear<16, 32>, ReLU),
        (Linear<32, 32>, ReLU),
        Linear<32, 4>,
    );
    type DigitsNet = ((Linear<64, 32>, ReLU), Linear<32, 10>);
    type WideNet = (
        (Linear<256, 256>, ReLU),
        (Linear<256, 256>, ReLU),
        Linear<256, 10>,
    );

    /// A dfdx model, its optimizer, gradients and batch, with the initial state.
    pub struct Theirs<M, O, const N: usize, const K0: usize, const KL: usize> {
        model: M,
        model0: M,
        make_opt: fn(&M) -> O,
        opt: O,
        grads: Option<Gradients<f32, Cpu>>,
        x: Tensor<Rank2<N, K0>, f32, Cpu>,
        t: Tensor<Rank2<N, KL>, f32, Cpu>,
        since_reset: u64,
    }

    impl<M: Clone + ZeroGrads<f32, Cpu>, O, const N: usize, const K0: usize, const KL: usize>
        Theirs<M, O, N, K0, KL>
    {
        fn new(
            dev: &Cpu,
            model: M,
            make_opt: fn(&M) -> O,
            x: &[[f32; K0]; N],
            t: &[[f32; KL]; N],
        ) -> Self {
            Self {
                grads: Some(model.alloc_grads()),
                opt: make_opt(&model),
                model0: model.clone(),
                model,
                make_opt,
                x: dev.tensor(*x),
                t: dev.tensor(*t),
                since_reset: 0,
            }
        }
    }

    /// Implements [`Steps`] for one dfdx network type, optimizer and loss.
    macro_rules! steps {
        ($net:ty, $opt:ident, $n:literal, $k0:literal, $kl:literal, $loss:path) => {
            impl Steps for Theirs<Built<$net>, $opt<Built<$net>, f32, Cpu>, $n, $k0, $kl> {
                #[inline]
                fn step(&mut self) -> f32 {
                    let grads = self.grads.take().expect("gradients");
                    let y = self.model.forward_mut(self.x.clone().traced(grads));
                    let loss = $loss(y, self.t.clone());
                    let value = loss.array();
                    let mut grads = loss.backward();
                    self.opt
                        .update(&mut self.model, &grads)
                        .expect("every parameter has a gradient");
                    self.model.zero_grads(&mut grads);
                    self.grads = Some(grads);
                    value
                }
                fn reset(&mut self) {
                    self.model = self.model0.clone();
                    self.opt = (self.make_opt)(&self.model);
                }
                fn since_reset(&mut self) -> &mut u64 {
                    &mut self.since_reset
                }
            }
        };
    }

    steps!(XorNet, Sgd, 4, 2, 1, mse_loss);
    steps!(SensorNet, Adam, 16, 16, 4, cross_entropy_with_logits_loss);
    steps!(DigitsNet, Sgd, 32, 64, 10, cross_entropy_with_logits_loss);
    steps!(WideNet, Sgd, 64, 256, 10, cross_entropy_with_logits_loss);

    fn sgd(lr: f64) -> SgdConfig {
        SgdConfig {
            lr,
            momentum: None,
            weight_decay: None,
        }
    }

    pub fn xor(dev: &Cpu, x: &[[f32; 2]; 4], t: &[[f32; 1]; 4]) -> Box<dyn Steps> {
        let model = dev.build_module::<XorNet, f32>();
        Box::new(Theirs::new(dev, model, |m| Sgd::new(m, sgd(0.5)), x, t))
    }

    pub fn sensor(dev: &Cpu, x: &[[f32; 16]; 16], t: &[[f32; 4]; 16]) -> Box<dyn Steps> {
        let model = dev.build_module::<SensorNet, f32>();
        let adam = |m: &_| {
            Adam::new(
                m,
                AdamConfig {
                    lr: 1e-3,
                    betas: [0.9, 0.999],
                    eps: 1e-8,
                    weight_decay: None,
                },
            )
        };
        Box::new(Theirs::new(dev, model, adam, x, t))
    }

    pub fn digits(dev: &Cpu, x: &[[f32; 64]; 32], t: &[[f32; 10]; 32]) -> Box<dyn Steps> {
        let model = dev.build_module::<DigitsNet, f32>();
        Box::new(Theirs::new(dev, model, |m| Sgd::new(m, sgd(0.1)), x, t))
    }

    pub fn wide(dev: &Cpu, x: &[[f32; 256]; 64], t: &[[f32; 10]; 64]) -> Box<dyn Steps> {
        let model = dev.build_module::<WideNet, f32>();
        Box::new(Theirs::new(dev, model, |m| Sgd::new(m, sgd(0.01)), x, t))
    }
}

/// Median seconds per step of `a` and `b`, timed in alternating rounds.
fn medians(a: &mut dyn Steps, b: &mut dyn Steps) -> (f64, f64) {
    let per_step = |w: &mut dyn Steps| {
        let mut iters = 1_u64;
        while w.run(iters) < ROUND / 10 {
            iters *= 2;
        }
        let elapsed = w.run(iters);
        (ROUND.as_secs_f64() * 1.1 / elapsed.as_secs_f64() * iters as f64).ceil() as u64
    };
    let (ia, ib) = (per_step(a), per_step(b));
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ta.push(a.run(ia).as_secs_f64() / ia as f64);
        tb.push(b.run(ib).as_secs_f64() / ib as f64);
    }
    ta.sort_by(f64::total_cmp);
    tb.sort_by(f64::total_cmp);
    (ta[ROUNDS / 2], tb[ROUNDS / 2])
}

fn run() {
    let dev = dfdx::prelude::Cpu::default();
    let mut rng = stackprop::SplitMix64::new(2);
    let xor_x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let xor_t = [[0.0], [1.0], [1.0], [0.0]];
    let (sx, st) = ours::random_batch::<16, 4, 16>(&mut rng);
    let (dx, dt) = ours::random_batch::<64, 10, 32>(&mut rng);
    let (wx, wt) = ours::random_batch::<256, 10, 64>(&mut rng);
    type Pair = (
        &'static str,
        &'static str,
        u64,
        Box<dyn Steps>,
        Box<dyn Steps>,
    );
    let pairs: Vec<Pair> = vec![
        (
            "w1_xor",
            "2-8-1",
            448,
            ours::xor(xor_x, xor_t),
            theirs::xor(&dev, &xor_x, &xor_t),
        ),
        (
            "w2_sensor",
            "16-32-32-4",
            143_360,
            ours::sensor(*sx, st),
            theirs::sensor(&dev, &sx, &st),
        ),
        (
            "w3_digits",
            "64-32-10",
            323_584,
            ours::digits(*dx, dt),
            theirs::digits(&dev, &dx, &dt),
        ),
        (
            "w4_wide",
            "256-256-256-10",
            42_926_080,
            ours::wide(wx.clone(), wt),
            theirs::wide(&dev, &wx, &wt),
        ),
    ];
    println!(
        "{:<10} {:>15} {:>12} {:>10} {:>12} {:>10} {:>8}",
        "workload", "dims", "stackprop µs", "GFLOP/s", "dfdx µs", "GFLOP/s", "speedup"
    );
    for (name, dims, flop, mut a, mut b) in pairs {
        let (sa, sb) = medians(a.as_mut(), b.as_mut());
        let gflops = |s: f64| flop as f64 / s / 1e9;
        println!(
            "{name:<10} {dims:>15} {:>12.3} {:>10.2} {:>12.3} {:>10.2} {:>7.1}x",
            sa * 1e6,
            gflops(sa),
            sb * 1e6,
            gflops(sb),
            sb / sa
        );
    }
}

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("rayon's global pool is set up once, before any dfdx call");
    // The wide network's trainer is built by value before it is boxed.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .expect("spawn")
        .join()
        .expect("the comparison ran");
}
