//! Outputs and targets the training calls must not take at face value: non-finite
//! outputs in `evaluate`, targets outside a loss's domain, and an epoch that would
//! train on nothing.

use stackprop::*;

type Net = (Dense<2, 4, Tanh>, Dense<4, 2, Identity>);
type One = (Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid>);

fn net<L: Layer + Zero>() -> L {
    let mut net = L::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(11));
    net
}

fn sgd<L: Layer<Scalar = f32>>() -> Sgd<L> {
    Sgd::new(SgdConfig::new(0.1)).unwrap()
}

fn param_bits<L: Layer>(net: &L) -> Vec<u64> {
    net.params()
        .flatten()
        .map(|v| v.to_f64().to_bits())
        .collect()
}

#[test]
fn a_non_finite_output_is_never_correct() {
    let x = [[0.5, -1.0], [0.25, 0.75], [1.0, 1.0]];
    // Class 0 targets: NaN outputs used to pick class 0 and count as correct.
    let t2 = [[1.0, 0.0]; 3];
    let mut trainer = Trainer::<_, _, _, 2>::new(net::<Net>(), sgd::<Net>(), SoftmaxCrossEntropy);
    trainer.net.1.b[0] = f32::NAN;
    let report = trainer.evaluate(&Samples::new(&x, &t2).unwrap()).unwrap();
    assert_eq!((report.correct, report.non_finite, report.total), (0, 3, 3));
    assert!(report.loss.is_nan());

    let t1 = [[0.0]; 3];
    let mut trainer = Trainer::<_, _, _, 2>::new(net::<One>(), sgd::<One>(), Mse);
    trainer.net.1.w[0][0] = f32::NAN;
    let report = trainer.evaluate(&Samples::new(&x, &t1).unwrap()).unwrap();
    assert_eq!((report.correct, report.non_finite), (0, 3));
    // An infinite output is no better.
    let mut trainer = Trainer::<_, _, _, 2>::new(net::<Net>(), sgd::<Net>(), SoftmaxCrossEntropy);
    trainer.net.1.b[0] = f32::INFINITY;
    let report = trainer.evaluate(&Samples::new(&x, &t2).unwrap()).unwrap();
    assert_eq!((report.correct, report.non_finite), (0, 3));

    // Finite outputs: nothing is counted as non-finite.
    let mut trainer = Trainer::<_, _, _, 2>::new(net::<Net>(), sgd::<Net>(), SoftmaxCrossEntropy);
    let report = trainer.evaluate(&Samples::new(&x, &t2).unwrap()).unwrap();
    assert_eq!(report.non_finite, 0);
}

/// Every training call refuses the bad target with `expected`, changing nothing.
fn refused<L, E, const N: usize>(loss: E, x: [L::Input; N], t: [L::Output; N], expected: &str)
where
    L: Layer<Scalar = f32> + Zero,
    E: Loss<f32> + Clone,
{
    let mut trainer = Trainer::<L, _, E, N>::new(net::<L>(), sgd::<L>(), loss);
    let before = param_bits(&trainer.net);
    let error = |e: Error| match e {
        Error::InvalidTarget { expected } => expected.to_string(),
        other => panic!("expected InvalidTarget, got {other:?}"),
    };
    assert_eq!(error(trainer.step(&x, &t).unwrap_err()), expected);
    assert_eq!(error(trainer.loss(&x, &t).unwrap_err()), expected);
    assert_eq!(
        error(trainer.step_with_limit(&x, &t, 1e9).unwrap_err()),
        expected
    );
    assert_eq!(
        error(trainer.gradients(&x, &t, None).unwrap_err()),
        expected
    );
    let data = Samples::new(&x, &t).unwrap();
    assert_eq!(
        error(
            trainer
                .train_epoch(&data, None, Remainder::Wrap)
                .unwrap_err()
        ),
        expected
    );
    assert_eq!(error(trainer.evaluate(&data).unwrap_err()), expected);
    assert_eq!(param_bits(&trainer.net), before, "nothing changed");
    assert_eq!(trainer.optimizer, sgd::<L>());
}

#[test]
fn targets_outside_a_loss_domain_are_refused() {
    let x = [[0.5, -1.0], [0.25, 0.75]];
    refused::<One, _, 2>(Bce, x, [[1.0], [255.0]], "in [0, 1]");
    refused::<One, _, 2>(Bce, x, [[-0.1], [1.0]], "in [0, 1]");
    refused::<Net, _, 2>(
        SoftmaxCrossEntropy,
        x,
        [[1.0, 0.0], [1.5, -0.5]],
        "non-negative, summing to 1 within 1e-3",
    );
    refused::<Net, _, 2>(
        SoftmaxCrossEntropy,
        x,
        [[0.5, 0.4], [1.0, 0.0]],
        "non-negative, summing to 1 within 1e-3",
    );
    // The edges of each domain are accepted: soft targets, 0 and 1.
    let mut t = Trainer::<One, _, _, 2>::new(net::<One>(), sgd::<One>(), Bce);
    assert!(t.step(&x, &[[0.0], [1.0]]).unwrap() >= 0.0);
    assert!(t.step(&x, &[[0.3], [0.7]]).unwrap() >= 0.0);
    let mut t = Trainer::<Net, _, _, 2>::new(net::<Net>(), sgd::<Net>(), SoftmaxCrossEntropy);
    assert!(t.step(&x, &[[0.9, 0.1], [0.0, 1.0]]).unwrap() >= 0.0);
    assert!(t.step(&x, &[[0.3333, 0.6667], [0.0, 1.0]]).is_ok());
    // Mse and Huber take any finite target.
    let mut t = Trainer::<One, _, _, 2>::new(net::<One>(), sgd::<One>(), Huber);
    assert!(t.step(&x, &[[-1e6], [255.0]]).is_ok());
    assert_eq!(
        t.step(&x, &[[f32::NAN], [0.0]]),
        Err(Error::NonFiniteTarget)
    );
}

/// A user loss declares its own domain: here targets must be non-negative.
#[derive(Clone, Copy, Debug, Default)]
struct Positive;

impl<S: Scalar> Loss<S> for Positive {
    fn row_loss(&self, y: &[S], t: &[S]) -> S {
        Mse.row_loss(y, t)
    }
    fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) {
        Mse.row_grad(y, t, scale, dy)
    }
    fn check_target(&self, t: &[S]) -> Result<(), Error> {
        if t.iter().all(|&v| v >= S::ZERO) {
            Ok(())
        } else {
            Err(Error::InvalidTarget { expected: ">= 0" })
        }
    }
}

#[test]
fn a_user_loss_declares_its_target_domain() {
    let x = [[0.5, -1.0], [0.25, 0.75]];
    refused::<One, _, 2>(Positive, x, [[1.0], [-2.0]], ">= 0");
    // The default accepts every finite target.
    assert_eq!(Loss::<f32>::check_target(&Mse, &[-1e30, 5.0]), Ok(()));
    assert_eq!(
        Loss::<f32>::check_target(&Mse, &[f32::INFINITY]),
        Err(Error::NonFiniteTarget)
    );
}

#[test]
fn skipping_the_remainder_of_a_dataset_shorter_than_a_batch_is_an_error() {
    let x = [[0.5, -1.0], [0.25, 0.75], [1.0, 1.0]];
    let t = [[1.0, 0.0]; 3];
    let data = Samples::new(&x, &t).unwrap();
    let mut trainer = Trainer::<_, _, _, 4>::new(net::<Net>(), sgd::<Net>(), SoftmaxCrossEntropy);
    assert_eq!(
        trainer.train_epoch(&data, None, Remainder::Skip),
        Err(Error::NoFullBatch { len: 3, batch: 4 })
    );
    // One full batch is enough.
    let mut trainer = Trainer::<_, _, _, 2>::new(net::<Net>(), sgd::<Net>(), SoftmaxCrossEntropy);
    let report = trainer.train_epoch(&data, None, Remainder::Skip).unwrap();
    assert_eq!((report.batches, report.skipped), (1, 1));
}
