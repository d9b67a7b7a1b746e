//! The watchdog keeps an unattended training stream healthy: poisoned samples (huge
//! values, NaN inputs and targets) and a learning-rate blow-up are injected into a
//! stream of batches, and the watched model ends up as good as one trained on the clean
//! stream, with finite parameters at every step.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use stackprop::persist::{Checkpoints, FlashSnapshot, OptimizerState};
use stackprop::*;

/// Two Gaussian-ish blobs per class on a ring: four clusters, two classes (XOR-like).
type Net = (Dense<2, 16, Relu>, Dense<16, 2, Identity>);
type Opt = Sgd<Net, WithMomentum>;
type Store = Snapshot<Net, Opt>;
const N: usize = 4;
const STEPS: usize = 3000;
/// The step at which the learning rate is set 2000 times too high.
const LR_BLOWUP_AT: usize = 1500;
const LR: f32 = 0.05;
const ADAM_LR: f32 = 0.01;

fn sample(rng: &mut SplitMix64) -> ([f32; 2], [f32; 2]) {
    let corner = rng.below(4);
    let (cx, cy) = [(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)][corner as usize];
    let jitter = |rng: &mut SplitMix64| (rng.next_f64() as f32 - 0.5) * 0.8;
    let x = [cx + jitter(rng), cy + jitter(rng)];
    let t = if corner < 2 { [1.0, 0.0] } else { [0.0, 1.0] };
    (x, t)
}

fn dataset(seed: u64, len: usize) -> (Vec<[f32; 2]>, Vec<[f32; 2]>) {
    let mut rng = SplitMix64::new(seed);
    (0..len).map(|_| sample(&mut rng)).unzip()
}

/// What a poisoned stream slips into a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Poison {
    HugeInput,
    HugeTarget,
    NanInput,
    NanTarget,
}

/// The batch of each step, clean or with one poisoned sample (about 8 % of batches).
/// One step's inputs, targets and the poison slipped in, if any.
type Batch = ([[f32; 2]; N], [[f32; 2]; N], Option<Poison>);

fn batches(poisoned: bool) -> Vec<Batch> {
    let mut rng = SplitMix64::new(2024);
    (0..STEPS)
        .map(|_| {
            let mut x = [[0.0; 2]; N];
            let mut t = [[0.0; 2]; N];
            for (x, t) in x.iter_mut().zip(&mut t) {
                (*x, *t) = sample(&mut rng);
            }
            let which = rng.below(50);
            let slot = rng.below(N as u64) as usize;
            let poison = match which {
                0 => Some(Poison::HugeInput),
                1 => Some(Poison::HugeTarget),
                2 => Some(Poison::NanInput),
                3 => Some(Poison::NanTarget),
                _ => None,
            }
            .filter(|_| poisoned);
            match poison {
                Some(Poison::HugeInput) => x[slot] = [3e4, -2e4],
                Some(Poison::HugeTarget) => t[slot] = [1e5, 1e5],
                Some(Poison::NanInput) => x[slot][1] = f32::NAN,
                Some(Poison::NanTarget) => t[slot][0] = f32::NAN,
                None => {}
            }
            (x, t, poison)
        })
        .collect()
}

fn sgd() -> Opt {
    Sgd::new(SgdConfig::new(LR).with_momentum(0.9)).expect("valid")
}

fn adam() -> Adam<Net> {
    Adam::new(AdamConfig::new(ADAM_LR)).expect("valid")
}

fn trainer() -> Trainer<Net, Opt, SoftmaxCrossEntropy, N> {
    trainer_with(sgd())
}

fn trainer_with<O>(optimizer: O) -> Trainer<Net, O, SoftmaxCrossEntropy, N> {
    let mut net = Net::ZERO;
    net.init(Init::HeUniform, &mut SplitMix64::new(7));
    Trainer::new(net, optimizer, SoftmaxCrossEntropy)
}

fn evaluate<O>(trainer: &mut Trainer<Net, O, SoftmaxCrossEntropy, N>) -> Evaluation<f32> {
    let (x, t) = dataset(99, 400);
    let data = Samples::new(&x, &t).expect("same length");
    trainer.evaluate(&data).expect("clean data")
}

fn all_finite<O>(trainer: &Trainer<Net, O, SoftmaxCrossEntropy, N>) -> bool {
    trainer.net.params().flatten().all(|p| p.is_finite())
}

fn config() -> WatchdogConfig<f32> {
    WatchdogConfig {
        blowup: 20.0,
        loss_floor: 0.5,
        warmup: 32,
        snapshot_every: 50,
        patience: 2,
        lr_factor: 0.5,
        min_lr: 1e-4,
        max_rollbacks: 6,
    }
}

#[test]
fn clean_training_learns_the_task() {
    let mut trainer = trainer();
    for (x, t, _) in batches(false) {
        trainer.step(&x, &t).expect("clean data");
    }
    let eval = evaluate(&mut trainer);
    assert!(eval.accuracy() > 0.98, "{eval:?}");
}

#[test]
fn the_watchdog_recovers_from_poison_and_a_learning_rate_blowup() {
    recovers(sgd, LR, |t| Snapshot::new(t.net, t.optimizer));
}

#[test]
fn the_watchdog_recovers_adam_too() {
    recovers(adam, ADAM_LR, |t| Snapshot::new(t.net, t.optimizer));
}

#[test]
fn the_watchdog_recovers_from_a_snapshot_in_flash() {
    recovers(adam, ADAM_LR, |_| {
        let checkpoints = Checkpoints::new(RamFlash(vec![0xff; 2 * SLOT]), 0, SLOT as u32);
        // Every snapshot written: 3,000 steps are far too few for the default
        // wear limit (one write in 32,768 snapshots) to write more than the first.
        FlashSnapshot::<_, RECORD>::new(checkpoints.expect("fits"))
            .with_write_every(1)
            .expect("valid")
    });
}

type AdamTrainer = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, N>;
const RECORD: usize = AdamTrainer::STATE_RECORD_LEN;
const SLOT: usize = RECORD.div_ceil(1024) * 1024 + 1024;

/// NOR flash in RAM: erased bytes read 0xFF, writes only clear bits.
struct RamFlash(Vec<u8>);

#[derive(Debug)]
struct OutOfBounds;

impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

impl ErrorType for RamFlash {
    type Error = OutOfBounds;
}

impl RamFlash {
    fn range(&mut self, from: u32, len: usize) -> Result<&mut [u8], OutOfBounds> {
        let from = from as usize;
        self.0.get_mut(from..from + len).ok_or(OutOfBounds)
    }
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        bytes.copy_from_slice(self.range(offset, bytes.len())?);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 1024;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
        self.range(from, (to - from) as usize)?.fill(0xff);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
        for (cell, &byte) in self.range(offset, bytes.len())?.iter_mut().zip(bytes) {
            *cell &= byte;
        }
        Ok(())
    }
}

/// Trains on the clean stream and, watched, on the poisoned one with the learning rate
/// set 2000× too high at [`LR_BLOWUP_AT`]; compares the two.
fn recovers<O, St>(
    optimizer: fn() -> O,
    lr: f32,
    store: impl FnOnce(&Trainer<Net, O, SoftmaxCrossEntropy, N>) -> St,
) where
    O: Optimizer<Net> + LearningRate<f32> + OptimizerState<Net> + Clone,
    St: SnapshotStore<Net, O>,
{
    let (_, _, stats, rolled_back_after_blowup, lr_after) =
        recovers_with(config(), optimizer, lr, store);
    assert!(rolled_back_after_blowup, "{stats:?}");
    assert!(stats.rollbacks >= 1, "{stats:?}");
    assert!(lr_after <= 1.0, "lr {lr_after} × the initial one");
}

/// As [`recovers`], with `config`; returns the clean and the watched evaluations.
fn recovers_with<O, St>(
    config: WatchdogConfig<f32>,
    optimizer: fn() -> O,
    lr: f32,
    store: impl FnOnce(&Trainer<Net, O, SoftmaxCrossEntropy, N>) -> St,
) -> (Evaluation<f32>, Evaluation<f32>, WatchdogStats, bool, f32)
where
    O: Optimizer<Net> + LearningRate<f32> + OptimizerState<Net> + Clone,
    St: SnapshotStore<Net, O>,
{
    let mut clean = trainer_with(optimizer());
    for (x, t, _) in batches(false) {
        clean.step(&x, &t).expect("clean data");
    }
    let clean = evaluate(&mut clean);

    let mut trainer = trainer_with(optimizer());
    let store = store(&trainer);
    let mut watchdog = Watchdog::<f32, _, 32>::new(config, store).expect("valid");
    let mut rolled_back_after_blowup = false;
    let mut poisons = [0; 4];
    let (mut huge_trained, mut huge_refused) = (0, 0);
    for (step, (x, t, poison)) in batches(true).into_iter().enumerate() {
        if step == LR_BLOWUP_AT {
            trainer.optimizer.set_lr(lr * 2000.0).expect("finite");
        }
        let outcome = watchdog
            .step(&mut trainer, &x, &t)
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert!(all_finite(&trainer), "step {step}: non-finite parameters");
        if let Some(poison) = poison {
            poisons[poison as usize] += 1;
            // A batch with a huge sample is trained on only if its loss stays within
            // bounds (a huge input the network already classifies right costs ~0).
            match outcome {
                StepOutcome::Trained(e) => {
                    assert!(
                        matches!(poison, Poison::HugeInput) && e < 1.0,
                        "step {step}: {poison:?} trained on with loss {e}"
                    );
                    huge_trained += 1;
                }
                _ => {
                    huge_refused +=
                        usize::from(matches!(poison, Poison::HugeInput | Poison::HugeTarget))
                }
            }
        }
        if step >= LR_BLOWUP_AT && matches!(outcome, StepOutcome::RolledBack { .. }) {
            rolled_back_after_blowup = true;
        }
    }
    let stats = watchdog.stats();
    let watched = evaluate(&mut trainer);
    println!(
        "clean {clean:?}\nwatched {watched:?}\n{stats:?}\npoisons {poisons:?}, \
         huge samples refused {huge_refused}, trained on {huge_trained}"
    );

    assert!(poisons.iter().all(|&n| n > 0), "{poisons:?}");
    // Targets of 1e5 are outside softmax cross-entropy's domain: refused as bad data
    // with the NaN batches.
    assert_eq!(
        stats.bad_data,
        poisons[1] + poisons[2] + poisons[3],
        "NaN batches and invalid targets are refused"
    );
    assert!(stats.snapshots > 10, "{stats:?}");
    assert!(watched.accuracy() >= clean.accuracy() - 0.02, "{watched:?}");
    assert!(
        watched.loss <= clean.loss * 3.0 + 0.02,
        "{watched:?} vs {clean:?}"
    );
    let lr_after = trainer.optimizer.lr() / lr;
    (clean, watched, stats, rolled_back_after_blowup, lr_after)
}

#[test]
fn the_default_watchdog_recovers_from_the_poisoned_stream() {
    // The figures the README quotes. With the defaults the learning rate set 2,000×
    // too high does not wreck this model, so nothing needs rolling back; every
    // poisoned batch is still refused.
    let (clean, watched, stats, _, lr_after) = recovers_with(WatchdogConfig::new(), sgd, LR, |t| {
        Snapshot::new(t.net, t.optimizer)
    });
    assert_eq!((clean.correct, clean.total), (400, 400));
    assert_eq!((watched.correct, watched.total), (400, 400));
    assert_eq!(
        (stats.rollbacks, stats.blowups, stats.bad_data),
        (0, 21, 185)
    );
    assert_eq!(lr_after, 2000.0);
}

#[test]
fn without_the_watchdog_the_same_stream_ruins_the_model() {
    // The guard alone keeps the parameters finite, but huge samples and the
    // learning-rate blow-up are trained on.
    let mut trainer = trainer();
    for (step, (x, t, _)) in batches(true).into_iter().enumerate() {
        if step == LR_BLOWUP_AT {
            trainer.optimizer.set_lr(LR * 2000.0).expect("finite");
        }
        let _ = trainer.step(&x, &t);
        assert!(all_finite(&trainer), "step {step}");
    }
    let eval = evaluate(&mut trainer);
    println!("unwatched {eval:?}");
    assert!(eval.accuracy() < 0.9, "{eval:?}");
}

#[test]
fn endless_divergence_ends_in_an_error_at_the_snapshot() {
    let mut trainer = trainer();
    let config = WatchdogConfig {
        max_rollbacks: 3,
        ..config()
    };
    let mut watchdog = Watchdog::<f32, Store, 32>::new(config, Store::ZERO).expect("valid");
    let data = batches(false);
    for (x, t, _) in &data[..200] {
        watchdog.step(&mut trainer, x, t).expect("clean");
    }
    let snapshot = watchdog.stats().snapshots;
    // Every label now flipped on inputs 1,000× out of range: the network is
    // confidently wrong, so every step blows up.
    let mut result = Ok(StepOutcome::Trained(0.0));
    for (x, t, _) in &data[200..260] {
        let x = x.map(|x| x.map(|v| v * 1e3));
        let t = t.map(|[a, b]| [b, a]);
        result = watchdog.step(&mut trainer, &x, &t);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(Error::Diverged { rollbacks: 4 }));
    assert_eq!(watchdog.stats().snapshots, snapshot);
    assert!(trainer.optimizer.lr() < LR / 8.0);
    // The restored snapshot still classifies.
    assert!(evaluate(&mut trainer).accuracy() > 0.9);
}

#[test]
fn configs_out_of_range_are_refused() {
    let bad = [
        (
            WatchdogConfig {
                blowup: 1.0,
                ..config()
            },
            "blowup",
        ),
        (
            WatchdogConfig {
                blowup: f32::NAN,
                ..config()
            },
            "blowup",
        ),
        (
            WatchdogConfig {
                loss_floor: -1.0,
                ..config()
            },
            "loss_floor",
        ),
        (
            WatchdogConfig {
                snapshot_every: 0,
                ..config()
            },
            "snapshot_every",
        ),
        (
            WatchdogConfig {
                patience: 0,
                ..config()
            },
            "patience",
        ),
        (
            WatchdogConfig {
                lr_factor: 0.0,
                ..config()
            },
            "lr_factor",
        ),
        (
            WatchdogConfig {
                lr_factor: 1.5,
                ..config()
            },
            "lr_factor",
        ),
        (
            WatchdogConfig {
                min_lr: f32::INFINITY,
                ..config()
            },
            "min_lr",
        ),
        (
            WatchdogConfig {
                max_rollbacks: 0,
                ..config()
            },
            "max_rollbacks",
        ),
    ];
    for (config, field) in bad {
        match Watchdog::<f32, Store, 4>::new(config, Store::ZERO) {
            Err(Error::InvalidHyperParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{config:?}: {:?}", other.map(|w| w.stats())),
        }
    }
    assert!(WatchdogConfig::<f32>::default().validate().is_ok());
}

#[test]
fn the_snapshot_costs_one_network_and_one_optimizer() {
    type T = Trainer<Net, Opt, SoftmaxCrossEntropy, N>;
    const PARTS: usize = T::FOOTPRINT.params + T::FOOTPRINT.optimizer;
    const { assert!(Store::BYTES >= PARTS && Store::BYTES <= PARTS + 8) };
    // The watchdog adds its history of 32 losses and a few counters.
    const { assert!(Watchdog::<f32, Store, 32>::BYTES < Store::BYTES + 32 * 4 + 128) };
    println!(
        "snapshot {} B, watchdog {} B",
        Store::BYTES,
        Watchdog::<f32, Store, 32>::BYTES
    );
}

// ---------------------------------------------------------------------------------
// The default configuration: outliers are not divergence, an exact fit may drift,
// slow divergence is caught.
// ---------------------------------------------------------------------------------

type Xor = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
type XorOpt = Sgd<Xor, NoMomentum>;
const XOR_X: [[f32; 2]; 4] = [[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
const XOR_T: [[f32; 2 - 1]; 4] = [[0.], [1.], [1.], [0.]];

fn converged_xor() -> Trainer<Xor, XorOpt, Mse, 4> {
    let mut net = Xor::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(1));
    let sgd = XorOpt::new(SgdConfig::new(0.5)).expect("valid");
    let mut trainer = Trainer::new(net, sgd, Mse);
    for _ in 0..3000 {
        trainer.step(&XOR_X, &XOR_T).expect("clean");
    }
    trainer
}

fn xor_correct(trainer: &mut Trainer<Xor, XorOpt, Mse, 4>) -> usize {
    let y = *trainer.predict(&XOR_X);
    y.iter()
        .zip(&XOR_T)
        .filter(|(y, t)| (y[0] > 0.5) == (t[0] > 0.5))
        .count()
}

#[test]
fn isolated_outliers_are_refused_without_rollbacks_by_default() {
    for period in [10, 50, 150] {
        let mut trainer = converged_xor();
        assert_eq!(xor_correct(&mut trainer), 4);
        let mut watchdog =
            Watchdog::<f32, _, 16>::new(WatchdogConfig::new(), Snapshot::<Xor, XorOpt>::ZERO)
                .expect("valid");
        let mut outliers = 0;
        for step in 1..=3000 {
            // After the warm-up, one corrupted label every `period` steps.
            let outlier = step >= 20 && step % period == 0;
            let mut t = XOR_T;
            if outlier {
                t[2][0] = 1e4;
                outliers += 1;
            }
            let outcome = watchdog.step(&mut trainer, &XOR_X, &t).expect("no error");
            if outlier {
                assert_eq!(
                    outcome,
                    StepOutcome::Refused(Error::LossAboveLimit),
                    "period {period}, step {step}"
                );
            } else {
                assert!(matches!(outcome, StepOutcome::Trained(_)), "step {step}");
            }
        }
        let stats = watchdog.stats();
        println!("outlier every {period} steps: {stats:?}");
        assert_eq!(stats.blowups, outliers, "every outlier refused");
        assert_eq!(stats.rollbacks, 0, "period {period}");
        assert_eq!(trainer.optimizer.lr(), 0.5);
        assert_eq!(xor_correct(&mut trainer), 4, "accuracy kept");
    }
}

#[test]
fn an_exact_fit_may_drift_by_default() {
    type Line = Dense<1, 1, Identity>;
    let mut net = Line::ZERO;
    net.w = [[2.0]];
    let sgd = Sgd::<Line, NoMomentum>::new(SgdConfig::new(0.05)).expect("valid");
    let mut trainer = Trainer::<_, _, _, 4>::new(net, sgd, Mse);
    let x = [[1.0], [2.0], [-1.0], [0.5]];
    let mut watchdog = Watchdog::<f32, _, 16>::new(
        WatchdogConfig::new(),
        Snapshot::<Line, Sgd<Line, NoMomentum>>::ZERO,
    )
    .expect("valid");
    for _ in 0..200 {
        let t = x.map(|[x]| [2.0 * x]);
        assert_eq!(
            watchdog.step(&mut trainer, &x, &t),
            Ok(StepOutcome::Trained(0.0))
        );
    }
    // The targets drift by 0.1 %: a loss above a baseline of exactly 0.
    for step in 0..500 {
        let t = x.map(|[x]| [2.002 * x]);
        let outcome = watchdog.step(&mut trainer, &x, &t);
        assert!(
            matches!(outcome, Ok(StepOutcome::Trained(_))),
            "step {step}: {outcome:?}"
        );
    }
    assert_eq!(watchdog.stats().rollbacks, 0);
    assert!(
        (trainer.net.w[0][0] - 2.002).abs() < 1e-4,
        "{:?}",
        trainer.net.w
    );
}

type Weight = Dense<1, 1, Identity, f32, NoBias>;
type Drift = Trainer<Weight, Sgd<Weight, NoMomentum>, Mse, 1>;

/// A one-weight model trained with a learning rate just past stability: the loss
/// rises 6.1 % a step from the optimum, never blowing up from one step to the next.
fn slow_drift() -> Drift {
    let mut net = Weight::ZERO;
    net.w = [[0.01]];
    Trainer::new(net, Sgd::new(SgdConfig::new(1.015)).expect("valid"), Mse)
}

#[test]
fn slow_drift_is_caught_long_before_the_parameters_overflow() {
    let (x, t) = ([[1.0]], [[0.0]]);
    // Unwatched, the guard refuses the first step whose values overflow.
    let mut unwatched = slow_drift();
    let overflow = (1..100_000)
        .find(|_| unwatched.step(&x, &t).is_err())
        .expect("overflows");

    let mut trainer = slow_drift();
    let mut watchdog =
        Watchdog::<f32, _, 16>::new(WatchdogConfig::new(), Snapshot::ZERO).expect("valid");
    let mut caught = None;
    for step in 1..=3000 {
        let outcome = watchdog.step(&mut trainer, &x, &t).expect("recovers");
        if caught.is_none() && matches!(outcome, StepOutcome::RolledBack { .. }) {
            caught = Some(step);
        }
    }
    let caught = caught.expect("the drift is caught");
    println!("slow drift: caught at step {caught}, overflow unwatched at step {overflow}");
    assert_eq!((caught, overflow), (101, 1658));
    // Rolled back to the optimum at half the learning rate, it converges.
    assert_eq!(watchdog.stats().rollbacks, 1);
    assert_eq!(trainer.optimizer.lr(), 1.015 / 2.0);
    assert!(trainer.net.w[0][0].abs() < 1e-3);
}
