//! Optimizer configuration: an optimizer never given a valid configuration refuses to
//! step or to be half-configured, and every training-state record that saving accepts
//! loads back bit-identically, whatever path set the optimizer up.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestRunner};
use proptest::{prop_assert, prop_assert_eq};
use stackprop::persist::{Architecture, OptimizerState, Progress};
use stackprop::*;

type Net = (Dense<2, 3, Tanh>, Dense<3, 2, Identity>);
type T<O> = Trainer<Net, O, Mse, 2>;

fn net() -> Net {
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(5));
    net
}

const X: [[f32; 2]; 2] = [[0.5, -1.0], [0.25, 0.75]];
const Y: [[f32; 2]; 2] = [[1.0, 0.0], [0.0, 1.0]];
const PROGRESS: Progress = Progress {
    steps: 7,
    rng: SplitMix64::new(9),
};

fn state_bits<O: OptimizerState<Net>>(t: &T<O>) -> Vec<u32> {
    t.net
        .params()
        .flatten()
        .chain(t.optimizer.state().flatten())
        .map(|v| v.to_bits())
        .chain([t.optimizer.counter() as u32])
        .collect()
}

fn unconfigured_refuses<O>(optimizer: O)
where
    O: Optimizer<Net> + OptimizerState<Net> + LearningRate<f32> + Zero + Clone,
{
    let mut trainer = T::new(net(), optimizer.clone(), Mse);
    let before = state_bits(&trainer);
    assert_eq!(trainer.step(&X, &Y), Err(Error::Unconfigured));
    let data = Samples::new(&X, &Y).unwrap();
    assert_eq!(
        trainer.train_epoch(&data, None, Remainder::Reject),
        Err(Error::Unconfigured)
    );
    assert_eq!(state_bits(&trainer), before, "nothing moved");
    // No half-configured optimizer: the learning rate alone is refused.
    assert_eq!(trainer.optimizer.set_lr(0.01), Err(Error::Unconfigured));
    assert_eq!(state_bits(&trainer), before);
    // And there is nothing to save.
    let mut out = vec![0u8; T::<O>::STATE_RECORD_LEN];
    assert_eq!(
        trainer.save_state(&PROGRESS, &mut out),
        Err(Error::Unconfigured)
    );
}

#[test]
fn an_unconfigured_optimizer_refuses_to_step() {
    unconfigured_refuses(Sgd::<Net>::ZERO);
    unconfigured_refuses(Sgd::<Net, NoMomentum>::ZERO);
    unconfigured_refuses(Adam::<Net>::ZERO);
    // Configured, even with a learning rate of 0, it steps.
    let mut trainer = T::new(net(), Sgd::<Net>::new(SgdConfig::new(0.0)).unwrap(), Mse);
    assert!(trainer.step(&X, &Y).is_ok());
}

#[test]
fn adam_before_its_first_step_has_zero_moments() {
    let mut trainer = T::new(net(), Adam::<Net>::new(AdamConfig::new(0.01)).unwrap(), Mse);
    let mut out = vec![0u8; T::<Adam<Net>>::STATE_RECORD_LEN];
    let len = trainer.save_state(&PROGRESS, &mut out).unwrap();
    // The first moment's first value, patched in with the CRC fixed: k = 0 and m ≠ 0.
    let moments = len - 4 - 2 * 4 * <Net as Architecture>::TRAINABLE_COUNT;
    out[moments..moments + 4].copy_from_slice(&0.5f32.to_le_bytes());
    let crc = stackprop::persist::crc32(&out[..len - 4]);
    out[len - 4..len].copy_from_slice(&crc.to_le_bytes());
    let before = state_bits(&trainer);
    assert!(matches!(
        trainer.load_state(&out[..len]),
        Err(Error::Record(
            stackprop::persist::RecordError::InvalidState { .. }
        ))
    ));
    assert_eq!(state_bits(&trainer), before);
}

/// How an optimizer was set up before being saved.
#[derive(Clone, Copy, Debug)]
enum Setup {
    New,
    SetConfig,
    SetLr(f32),
    Zeroed,
    Steps(u8),
}

fn setups() -> impl Strategy<Value = Vec<Setup>> {
    let one = (0u8..5, 0.0f32..2.0, 0u8..4).prop_map(|(k, lr, n)| match k {
        0 => Setup::New,
        1 => Setup::SetConfig,
        2 => Setup::SetLr(if n == 0 { 0.0 } else { lr }),
        3 => Setup::Zeroed,
        _ => Setup::Steps(n),
    });
    proptest::collection::vec(one, 0..6)
}

fn maybe(on: bool, v: f32) -> Option<f32> {
    on.then_some(v)
}

/// Saves `trainer` after `setup`; any record the save accepts must load into a
/// `Trainer::ZERO` bit-identically and save back to the same bytes.
fn round_trip<O>(
    mut trainer: T<O>,
    setup: &[Setup],
    config: impl Fn(&mut O) -> Result<(), Error>,
) -> TestCaseResult
where
    O: Optimizer<Net> + OptimizerState<Net> + LearningRate<f32> + Zero + Clone,
{
    for s in setup {
        let _ = match *s {
            Setup::New | Setup::SetConfig => config(&mut trainer.optimizer),
            Setup::SetLr(lr) => trainer.optimizer.set_lr(lr),
            Setup::Zeroed => {
                trainer.optimizer = O::ZERO;
                config(&mut trainer.optimizer)
            }
            Setup::Steps(n) => (0..n).try_for_each(|_| trainer.step(&X, &Y).map(|_| ())),
        };
    }
    let mut out = vec![0u8; T::<O>::STATE_RECORD_LEN];
    if let Ok(len) = trainer.save_state(&PROGRESS, &mut out) {
        let mut loaded = T::<O>::ZERO;
        let progress = loaded.load_state(&out[..len]);
        prop_assert_eq!(progress, Ok(PROGRESS), "{:?}", setup);
        prop_assert_eq!(state_bits(&loaded), state_bits(&trainer));
        let mut again = vec![0u8; len];
        prop_assert_eq!(loaded.save_state(&PROGRESS, &mut again), Ok(len));
        prop_assert!(again == out[..len]);
    }
    Ok(())
}

fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases: 512,
            failure_persistence: None,
            ..Config::default()
        },
        proptest::test_runner::TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    )
}

#[test]
fn every_record_saving_accepts_loads_back_bit_identically() {
    let values = (
        (0.0f32..1.0, 0.0f32..1.0, 0.0f32..0.1, 1e-9f32..1e-3),
        (proptest::bool::ANY, proptest::bool::ANY, 0.01f32..5.0),
        setups(),
        0u8..4,
    );
    runner()
        .run(
            &values,
            |((lr, beta, wd, eps), (norm, value, clip), setup, kind)| match kind {
                0 => {
                    let c = SgdConfig {
                        lr,
                        momentum: beta,
                        weight_decay: wd,
                        clip_norm: maybe(norm, clip),
                        clip_value: maybe(value, clip),
                    };
                    round_trip(T::new(net(), Sgd::<Net>::ZERO, Mse), &setup, |o| {
                        o.set_config(c)
                    })
                }
                1 => {
                    let c = SgdConfig::new(lr).with_weight_decay(wd);
                    let c = SgdConfig {
                        clip_norm: maybe(norm, clip),
                        ..c
                    };
                    round_trip(
                        T::new(net(), Sgd::<Net, NoMomentum>::ZERO, Mse),
                        &setup,
                        |o| o.set_config(c),
                    )
                }
                _ => {
                    let c = AdamConfig::new(lr)
                        .with_betas(beta, 1.0 - eps * 10.0)
                        .with_eps(eps)
                        .with_weight_decay(wd);
                    let c = AdamConfig {
                        clip_value: maybe(value, clip),
                        clip_norm: maybe(norm, clip),
                        ..c
                    };
                    round_trip(T::new(net(), Adam::<Net>::ZERO, Mse), &setup, |o| {
                        o.set_config(c)
                    })
                }
            },
        )
        .unwrap();
}
