//! The training API's contracts: epochs and their remainder policies, evaluation,
//! validation of hyper-parameters and data, determinism, and memory figures.

use std::cell::RefCell;

use stackprop::*;

type Net = (Dense<2, 4, Tanh, f64>, Dense<4, 2, Identity, f64>);
type Plain = Sgd<Net, NoMomentum>;

fn trainer<const N: usize>() -> Trainer<Net, Plain, SoftmaxCrossEntropy, N> {
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(1));
    let sgd = Plain::new(SgdConfig::new(0.1)).expect("valid");
    Trainer::new(net, sgd, SoftmaxCrossEntropy)
}

/// Seven samples: a length that no batch size below 7 divides, except 1.
fn data() -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let x: Vec<[f64; 2]> = (0..7)
        .map(|i| [i as f64 * 0.3 - 1.0, (i % 3) as f64 - 1.0])
        .collect();
    let t = x
        .iter()
        .map(|x| if x[0] > x[1] { [1.0, 0.0] } else { [0.0, 1.0] })
        .collect();
    (x, t)
}

/// A dataset that records which samples were loaded.
struct Recording<'a> {
    inner: Samples<'a, [f64; 2], [f64; 2]>,
    loaded: RefCell<Vec<usize>>,
}

impl Dataset<[f64; 2], [f64; 2]> for Recording<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn load(&self, index: usize, x: &mut [f64; 2], t: &mut [f64; 2]) -> Result<(), Error> {
        self.loaded.borrow_mut().push(index);
        self.inner.load(index, x, t)
    }
}

fn recording<'a>(x: &'a [[f64; 2]], t: &'a [[f64; 2]]) -> Recording<'a> {
    Recording {
        inner: Samples::new(x, t).expect("same lengths"),
        loaded: RefCell::new(Vec::new()),
    }
}

/// (batches, trained, skipped, repeated) of an epoch.
fn counts<S>(report: &EpochReport<S>) -> (usize, usize, usize, usize) {
    (
        report.batches,
        report.trained,
        report.skipped,
        report.repeated,
    )
}

#[test]
fn wrap_trains_every_sample_and_fills_the_last_batch() {
    let (x, t) = data();
    let data = recording(&x, &t);
    let report = trainer::<3>()
        .train_epoch(&data, Some(&mut SplitMix64::new(4)), Remainder::Wrap)
        .expect("ok");
    assert_eq!(counts(&report), (3, 9, 0, 2));
    let loaded = data.loaded.into_inner();
    assert_eq!(loaded.len(), 9);
    let mut seen = loaded[..7].to_vec();
    seen.sort();
    assert_eq!(
        seen,
        (0..7).collect::<Vec<_>>(),
        "the first 7 are a permutation"
    );
    assert_eq!(
        loaded[7..],
        loaded[..2],
        "the last batch wraps to the start of the order"
    );
}

#[test]
fn skip_reports_what_it_leaves_out() {
    let (x, t) = data();
    let data = recording(&x, &t);
    let report = trainer::<3>()
        .train_epoch(&data, None, Remainder::Skip)
        .expect("ok");
    assert_eq!(counts(&report), (2, 6, 1, 0));
    assert_eq!(
        data.loaded.into_inner(),
        [0, 1, 2, 3, 4, 5],
        "no rng: the dataset's own order"
    );
}

#[test]
fn reject_refuses_before_training() {
    let (x, t) = data();
    let mut tr = trainer::<2>();
    let before = tr.net;
    let data = Samples::new(&x, &t).expect("same lengths");
    assert_eq!(
        tr.train_epoch(&data, None, Remainder::Reject),
        Err(Error::PartialBatch { len: 7, batch: 2 })
    );
    assert_eq!(tr.net, before);
    let whole = Samples::new(&x[..6], &t[..6]).expect("same lengths");
    assert_eq!(
        tr.train_epoch(&whole, None, Remainder::Reject)
            .expect("ok")
            .batches,
        3
    );
}

#[test]
fn epoch_equals_the_same_steps_taken_by_hand() {
    let (x, t) = data();
    let data = Samples::new(&x[..6], &t[..6]).expect("same lengths");
    let mut by_epoch = trainer::<2>();
    let report = by_epoch
        .train_epoch(&data, None, Remainder::Reject)
        .expect("ok");
    let mut by_hand = trainer::<2>();
    let mut losses = 0.0;
    for k in 0..3 {
        let xb = [x[2 * k], x[2 * k + 1]];
        let tb = [t[2 * k], t[2 * k + 1]];
        losses += by_hand.step(&xb, &tb).expect("finite");
    }
    assert_eq!(by_epoch.net, by_hand.net);
    assert!((report.mean_loss - losses / 3.0).abs() < 1e-15);
}

#[test]
fn shuffled_training_is_deterministic() {
    let (x, t) = data();
    let data = Samples::new(&x, &t).expect("same lengths");
    let run = || {
        let mut tr = trainer::<3>();
        let mut rng = SplitMix64::new(99);
        for _ in 0..5 {
            tr.train_epoch(&data, Some(&mut rng), Remainder::Wrap)
                .expect("ok");
        }
        tr.net
    };
    assert_eq!(run(), run());
}

#[test]
fn evaluate_counts_every_sample_once_with_a_partial_batch() {
    let (x, t) = data();
    let data = Samples::new(&x, &t).expect("same lengths");
    let mut tr = trainer::<3>();
    let eval = tr.evaluate(&data).expect("ok");
    assert_eq!(eval.total, 7);

    // The same figures sample by sample.
    let mut one = Trainer::<Net, (), SoftmaxCrossEntropy, 1>::new(tr.net, (), SoftmaxCrossEntropy);
    let mut sum = 0.0;
    let mut correct = 0;
    for (xi, ti) in x.iter().zip(&t) {
        sum += one.loss(&[*xi], &[*ti]).expect("finite");
        let y = one.predict(&[*xi])[0];
        correct += usize::from((y[0] > y[1]) == (ti[0] > ti[1]));
    }
    assert!((eval.loss - sum / 7.0).abs() < 1e-15);
    assert_eq!(eval.correct, correct);
    assert!((eval.accuracy() - correct as f64 / 7.0).abs() < 1e-15);
}

#[test]
fn empty_and_mismatched_datasets_are_errors() {
    let mut tr = trainer::<2>();
    let empty = Samples::<[f64; 2], [f64; 2]>::new(&[], &[]).expect("same lengths");
    assert_eq!(tr.evaluate(&empty), Err(Error::EmptyDataset));
    assert_eq!(
        tr.train_epoch(&empty, None, Remainder::Wrap),
        Err(Error::EmptyDataset)
    );
    let (x, t) = data();
    assert_eq!(
        Samples::new(&x, &t[..3]).map(|_| ()),
        Err(Error::LengthMismatch {
            expected: 7,
            found: 3
        })
    );
}

#[test]
fn a_non_finite_sample_stops_the_epoch_before_its_batch() {
    let (mut x, t) = data();
    x[5][1] = f64::NAN;
    let data = Samples::new(&x, &t).expect("same lengths");
    let mut tr = trainer::<2>();
    let mut reference = trainer::<2>();
    assert_eq!(
        tr.train_epoch(&data, None, Remainder::Skip),
        Err(Error::NonFiniteInput)
    );
    // Batches 0 and 1 (samples 0..4) trained; batch 2 (samples 4, 5) did not.
    reference
        .step(&[x[0], x[1]], &[t[0], t[1]])
        .expect("finite");
    reference
        .step(&[x[2], x[3]], &[t[2], t[3]])
        .expect("finite");
    assert_eq!(tr.net, reference.net);
}

#[test]
fn hyper_parameters_out_of_range_are_refused_and_change_nothing() {
    let valid = SgdConfig::new(0.1);
    let sgd = |lr, momentum, weight_decay| SgdConfig {
        lr,
        momentum,
        weight_decay,
        ..SgdConfig::new(0.0)
    };
    let bad_sgd = [
        (sgd(-0.1, 0.0, 0.0), "lr"),
        (sgd(f64::NAN, 0.0, 0.0), "lr"),
        (sgd(f64::INFINITY, 0.0, 0.0), "lr"),
        (sgd(0.1, 1.0, 0.0), "momentum"),
        (sgd(0.1, -0.5, 0.0), "momentum"),
        (sgd(0.1, 0.0, -1e-3), "weight_decay"),
    ];
    let mut optimizer = Sgd::<Net, WithMomentum>::new(valid).expect("valid");
    for (config, field) in bad_sgd {
        match optimizer.set_config(config) {
            Err(Error::InvalidHyperParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{config:?}: {other:?}"),
        }
        assert_eq!(optimizer.config(), valid);
    }

    let adam = |lr, beta1, beta2, eps, weight_decay| AdamConfig {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        ..AdamConfig::new(0.0)
    };
    let bad_adam = [
        (adam(-1.0, 0.9, 0.999, 1e-8, 0.0), "lr"),
        (adam(0.1, 1.0, 0.999, 1e-8, 0.0), "beta1"),
        (adam(0.1, 0.9, 1.5, 1e-8, 0.0), "beta2"),
        (adam(0.1, 0.9, 0.999, 0.0, 0.0), "eps"),
        (adam(0.1, 0.9, 0.999, f64::NAN, 0.0), "eps"),
        (
            adam(0.1, 0.9, 0.999, 1e-8, f64::NEG_INFINITY),
            "weight_decay",
        ),
    ];
    for (config, field) in bad_adam {
        match Adam::<Net>::new(config) {
            Err(Error::InvalidHyperParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{config:?}: {other:?}"),
        }
    }
    let err = Sgd::<Net, NoMomentum>::new(sgd(0.1, 0.5, 0.0));
    assert!(matches!(
        err,
        Err(Error::InvalidHyperParameter {
            name: "momentum",
            ..
        })
    ));
}

#[test]
fn errors_explain_themselves() {
    let text = Error::PartialBatch { len: 7, batch: 2 }.to_string();
    assert!(
        text.contains('7') && text.contains('2') && text.contains("Remainder"),
        "{text}"
    );
    let text = Error::InvalidHyperParameter {
        name: "lr",
        expected: "finite and >= 0",
    }
    .to_string();
    assert_eq!(text, "hyper-parameter `lr` must be finite and >= 0");
}

#[test]
fn footprint_adds_up_to_the_trainer() {
    type T = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, 8>;
    let f = T::FOOTPRINT;
    assert_eq!(f.total(), size_of::<T>());
    let params = (2 * 4 + 4 + 4 * 2 + 2) * 8;
    assert_eq!((f.params, f.grads), (params, params));
    assert!(f.optimizer >= 2 * params);
    assert_eq!(f.cache, 2 * (4 + 2) * 8 * 8);
    assert_eq!(f.delta, f.cache);
}

#[test]
fn adam_counts_steps_and_reset_forgets_them() {
    let mut tr = Trainer::<Net, _, _, 1>::new(
        Net::ZERO,
        Adam::<Net>::new(AdamConfig::default()).expect("ok"),
        Mse,
    );
    tr.net.init(Init::HeNormal, &mut SplitMix64::new(2));
    for _ in 0..3 {
        tr.step(&[[0.5, -0.5]], &[[1.0, 0.0]]).expect("finite");
    }
    assert_eq!(tr.optimizer.steps(), 3);
    tr.optimizer.reset();
    assert_eq!(tr.optimizer.steps(), 0);
    assert_eq!(tr.optimizer.config(), AdamConfig::default());
}

/// Every configuration and value a firmware keeps for its whole run can be a `static`:
/// their constructors are `const`.
#[test]
fn configurations_and_state_can_be_statics() {
    type Net32 = (Dense<2, 4, Tanh>, Dense<4, 1, Identity>);
    type Opt = Sgd<Net32>;
    static SGD: SgdConfig<f32> = SgdConfig::new(0.1).with_clip_norm(1.0).with_clip_value(0.5);
    static ADAM: AdamConfig<f32> = AdamConfig::new(1e-3).with_clip_norm(2.0);
    static WATCHDOG: WatchdogConfig<f32> = WatchdogConfig::new();
    static INIT: Init = Init::HeUniform;
    static HISTORY: LossHistory<f32, 8> = LossHistory::new();
    static SNAPSHOT: Snapshot<Net32, Opt> = Snapshot::new(Net32::ZERO, Opt::ZERO);
    static TRAINER: Trainer<Net32, Opt, Mse, 4> = Trainer::new(Net32::ZERO, Opt::ZERO, Mse);
    static SEED: SplitMix64 = SplitMix64::new(42);
    static ORDER: Permutation = Permutation::new(10, &mut SplitMix64::new(1));
    static DATA: Result<Samples<[f32; 2], [f32; 1]>, Error> = Samples::new(&[[0.0, 1.0]], &[[1.0]]);

    assert_eq!((SGD.clip_norm, SGD.clip_value), (Some(1.0), Some(0.5)));
    assert!(SGD.validate().is_ok());
    assert_eq!(ADAM, AdamConfig::new(1e-3).with_clip_norm(2.0));
    assert_eq!((ADAM.beta1, ADAM.beta2, ADAM.eps), (0.9, 0.999, 1e-8));
    assert!(ADAM.validate().is_ok());
    assert_eq!((WATCHDOG.blowup, WATCHDOG.lr_factor), (10.0, 0.5));
    assert!(WATCHDOG.validate().is_ok());
    assert_eq!(INIT, Init::HeUniform);
    assert_eq!((HISTORY.pushed(), HISTORY.best()), (0, None));
    assert!(!SNAPSHOT.is_saved());
    assert_eq!(TRAINER.net, Net32::ZERO);
    assert_eq!(SEED.state(), 42);
    assert_eq!(ORDER, Permutation::new(10, &mut SplitMix64::new(1)));
    assert_eq!(DATA.as_ref().map(|d| d.len()).ok(), Some(1));
    // The f64 defaults are PyTorch's too.
    let adam64 = AdamConfig::<f64>::new(1e-3);
    assert_eq!((adam64.beta1, adam64.beta2, adam64.eps), (0.9, 0.999, 1e-8));
    assert_eq!(WatchdogConfig::<f64>::new().blowup, 10.0);
}
