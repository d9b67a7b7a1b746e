//! Parameter and training-state records: bit-exact round trips, a precise error for
//! every corrupted header field, every truncation and every flipped bit, and a
//! destination left untouched whenever loading fails.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseResult, TestRunner};
use proptest::{prop_assert, prop_assert_eq};
use stackprop::persist::{
    Architecture, HEADER_LEN, LAYER_LEN, LayerShape, OptimizerState, PROGRESS_LEN, Progress,
    RecordError, RecordKind, crc32, scalar_width,
};
use stackprop::*;

type Small = (Dense<2, 3, Tanh>, Dense<3, 1, Sigmoid>);
type NoBias64 = (
    Dense<3, 4, Relu, f64, NoBias>,
    Dense<4, 2, Identity, f64, NoBias>,
);
type Tuned = (
    Frozen<Dense<2, 4, Tanh>>,
    Dense<4, 2, Identity, f32, NoBias>,
);
type Open = (Dense<2, 4, Tanh>, Dense<4, 2, Identity, f32, NoBias>);
type Mixed64 = (
    Dense<2, 3, Tanh, f64>,
    Frozen<Dense<3, 3, Relu, f64, NoBias>>,
    Dense<3, 2, Identity, f64>,
);
type Wide = (
    Dense<16, 32, Relu>,
    Dense<32, 8, Relu>,
    Dense<8, 4, Identity>,
);

/// Every scalar of `values` as its bits widened to 64, for exact comparison (NaN too).
fn bits<'a, S: Scalar>(values: impl Iterator<Item = &'a S>) -> Vec<u64> {
    values.map(|v| v.to_f64().to_bits()).collect()
}

fn param_bits<L: Layer>(net: &L) -> Vec<u64> {
    bits(net.params().flatten())
}

fn state_bits<L: Architecture, O: OptimizerState<L>>(o: &O) -> (Vec<u64>, u64) {
    (bits(o.state().flatten()), o.counter())
}

fn random_net<L: Layer + Zero>(seed: u64) -> L {
    let mut net = L::ZERO;
    net.init(Init::HeNormal, &mut SplitMix64::new(seed));
    // Biases start at zero: give them values too, so they are checked as well.
    let mut rng = SplitMix64::new(seed ^ 0xB1A5);
    for p in net.params_mut().flatten() {
        if p.to_f64() == 0.0 {
            *p = L::Scalar::from_f64(rng.next_f64() - 0.5);
        }
    }
    net
}

fn params_record<L: Architecture>(net: &L) -> Vec<u8> {
    let mut buf = vec![0u8; L::PARAMS_RECORD_LEN];
    assert_eq!(net.save_params(&mut buf), Ok(L::PARAMS_RECORD_LEN));
    buf
}

/// Recomputes the trailing CRC, so a test can reach the checks behind it.
fn reseal(record: &mut [u8]) {
    let body = record.len() - 4;
    let crc = crc32(&record[..body]);
    record[body..].copy_from_slice(&crc.to_le_bytes());
}

/// Loads `bytes` into a copy of `net`, expecting `Err(expected)` and `net` unchanged.
fn refused<L: Architecture + Clone>(net: &L, bytes: &[u8]) -> Error {
    let mut dst = net.clone();
    let err = dst
        .load_params(bytes)
        .expect_err("a bad record must be refused");
    assert_eq!(
        param_bits(&dst),
        param_bits(net),
        "destination changed by {err:?}"
    );
    err
}

// ---------------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------------

fn params_round_trip<L: Architecture + Zero>(seed: u64) {
    let net = random_net::<L>(seed);
    let record = params_record(&net);
    assert_eq!(record.len(), L::PARAMS_RECORD_LEN);
    let mut back = L::ZERO;
    back.load_params(&record).expect("a valid record loads");
    assert_eq!(param_bits(&back), param_bits(&net));
    // Saving what was loaded gives the same bytes.
    assert_eq!(params_record(&back), record);
}

#[test]
fn parameters_round_trip_bit_exactly() {
    params_round_trip::<Small>(1);
    params_round_trip::<NoBias64>(2);
    params_round_trip::<Tuned>(3);
    params_round_trip::<Mixed64>(4);
    params_round_trip::<Wide>(5);
    params_round_trip::<Dense<5, 1, Identity, f64, NoBias>>(6);
}

#[test]
fn special_values_keep_their_bits() {
    let mut net = Small::ZERO;
    let values = [
        -0.0,
        f32::MIN_POSITIVE / 8.0, // subnormal
        -f32::MIN_POSITIVE / 3.0,
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        1.0 + f32::EPSILON,
    ];
    for (p, v) in net.params_mut().flatten().zip(values) {
        *p = v;
    }
    let mut back = Small::ZERO;
    back.load_params(&params_record(&net)).expect("loads");
    let raw = |n: &Small| {
        n.params()
            .flatten()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(raw(&back), raw(&net));

    let mut net = NoBias64::ZERO;
    for (p, v) in net
        .params_mut()
        .flatten()
        .zip([-0.0, 5e-324, f64::MAX, -1e-310])
    {
        *p = v;
    }
    let mut back = NoBias64::ZERO;
    back.load_params(&params_record(&net)).expect("loads");
    assert_eq!(param_bits(&back), param_bits(&net));
}

#[test]
fn the_layout_is_the_documented_one() {
    let mut net = Dense::<2, 3, Identity, f64>::ZERO;
    net.w = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    net.b = [7.0, 8.0, 9.0];
    let r = params_record(&net);
    assert_eq!(r.len(), 16 + 12 + 9 * 8 + 4);
    assert_eq!(&r[0..4], b"SPRC");
    assert_eq!(u16::from_le_bytes([r[4], r[5]]), 1);
    assert_eq!((r[6], r[7]), (8, 1));
    let word = |at: usize| u32::from_le_bytes(r[at..at + 4].try_into().unwrap());
    assert_eq!(word(8) as usize, r.len());
    assert_eq!((word(12), word(16), word(20), word(24)), (1, 2, 3, 1));
    let floats: Vec<f64> = r[28..28 + 72]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(floats, [1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    assert_eq!(word(100), crc32(&r[..100]));
}

#[test]
fn a_parameter_record_fits_the_same_network_with_layers_frozen() {
    let open = random_net::<Open>(9);
    let mut tuned = Tuned::ZERO;
    tuned
        .load_params(&params_record(&open))
        .expect("frozen flags are not recorded");
    assert_eq!(param_bits(&tuned), param_bits(&open));
    // And back.
    let mut again = Open::ZERO;
    again.load_params(&params_record(&tuned)).expect("loads");
    assert_eq!(param_bits(&again), param_bits(&open));
}

/// Trains a few steps, so the optimizer state is not trivial.
/// The training-state record of `trainer` with progress `steps` and `SplitMix64::new(seed)`.
fn state_record<L, O, const N: usize>(
    trainer: &Trainer<L, O, Mse, N>,
    steps: u64,
    seed: u64,
) -> Vec<u8>
where
    L: Architecture,
    O: OptimizerState<L>,
{
    let mut record = vec![0u8; Trainer::<L, O, Mse, N>::STATE_RECORD_LEN];
    let progress = Progress {
        steps,
        rng: SplitMix64::new(seed),
    };
    trainer.save_state(&progress, &mut record).unwrap();
    record
}

fn trained<L, O>(net: L, optimizer: O, steps: usize) -> Trainer<L, O, Mse, 3>
where
    L: Architecture<Scalar = f64, Input = [f64; 2], Output = [f64; 2]>,
    O: Optimizer<L>,
{
    let mut trainer = Trainer::new(net, optimizer, Mse);
    let x = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]];
    let t = [[0.1, -0.3], [0.7, 0.2], [0.0, 1.0]];
    for _ in 0..steps {
        trainer.step(&x, &t).expect("finite");
    }
    trainer
}

type Net64 = (Dense<2, 5, Tanh, f64>, Dense<5, 2, Identity, f64>);
type Tuned64 = (Frozen<Dense<2, 5, Tanh, f64>>, Dense<5, 2, Identity, f64>);

fn state_round_trip<L, O>(optimizer: O)
where
    L: Architecture<Scalar = f64, Input = [f64; 2], Output = [f64; 2]> + Zero,
    O: Optimizer<L> + OptimizerState<L> + Zero,
{
    let trainer = trained(random_net::<L>(7), optimizer, 4);
    let progress = Progress {
        steps: 0xDEAD_BEEF_0123,
        rng: SplitMix64::new(0xFEED_FACE_CAFE_F00D),
    };
    let mut record = vec![0u8; Trainer::<L, O, Mse, 3>::STATE_RECORD_LEN];
    let len = trainer.save_state(&progress, &mut record).expect("saves");
    assert_eq!(len, record.len());

    let mut resumed = Trainer::<L, O, Mse, 3>::ZERO;
    assert_eq!(resumed.load_state(&record), Ok(progress));
    assert_eq!(param_bits(&resumed.net), param_bits(&trainer.net));
    assert_eq!(
        state_bits::<L, O>(&resumed.optimizer),
        state_bits::<L, O>(&trainer.optimizer)
    );
}

#[test]
fn training_states_round_trip_bit_exactly() {
    let sgd = SgdConfig::new(0.1)
        .with_momentum(0.9)
        .with_weight_decay(1e-3);
    state_round_trip::<Net64, _>(Sgd::<Net64, WithMomentum>::new(sgd).unwrap());
    let clipped = sgd.with_clip_norm(2.0).with_clip_value(0.5);
    state_round_trip::<Net64, _>(Sgd::<Net64, WithMomentum>::new(clipped).unwrap());
    let adam = AdamConfig::new(0.01).with_clip_norm(1.0);
    state_round_trip::<Net64, _>(Adam::<Net64>::new(adam).unwrap());
    state_round_trip::<Net64, _>(Sgd::<Net64, NoMomentum>::new(SgdConfig::new(0.2)).unwrap());
    state_round_trip::<Net64, _>(Adam::<Net64>::new(AdamConfig::new(0.01)).unwrap());
    state_round_trip::<Tuned64, _>(Sgd::<Tuned64, WithMomentum>::new(sgd).unwrap());
    state_round_trip::<Tuned64, _>(Adam::<Tuned64>::new(AdamConfig::new(0.01)).unwrap());
}

#[test]
fn f32_training_state_round_trips() {
    type Net = (
        Dense<2, 4, Tanh>,
        Frozen<Dense<4, 4, Relu>>,
        Dense<4, 1, Sigmoid>,
    );
    type T = Trainer<Net, Adam<Net>, Bce, 2>;
    let mut trainer = T::new(
        random_net(3),
        Adam::new(AdamConfig::new(0.05)).unwrap(),
        Bce,
    );
    for _ in 0..3 {
        trainer
            .step(&[[0.5, 1.0], [-1.0, 0.0]], &[[1.0], [0.0]])
            .unwrap();
    }
    let mut record = [0u8; T::STATE_RECORD_LEN];
    let progress = Progress {
        steps: 3,
        rng: SplitMix64::new(11),
    };
    trainer.save_state(&progress, &mut record).unwrap();
    let mut resumed = T::ZERO;
    assert_eq!(resumed.load_state(&record), Ok(progress));
    assert_eq!(param_bits(&resumed.net), param_bits(&trainer.net));
    assert_eq!(
        state_bits::<Net, _>(&resumed.optimizer),
        state_bits::<Net, _>(&trainer.optimizer)
    );
    assert_eq!(resumed.optimizer.config(), trainer.optimizer.config());
}

#[test]
fn record_lengths_are_constants() {
    const P: usize = Small::PARAMS_RECORD_LEN;
    const S: usize = Trainer::<Net64, Adam<Net64>, Mse, 3>::STATE_RECORD_LEN;
    let trainable = 2 * 5 + 5 + 5 * 2 + 2;
    assert_eq!(P, 16 + 2 * 12 + (6 + 3 + 3 + 1) * 4 + 4);
    assert_eq!(
        S,
        16 + 2 * 12 + 28 + (trainable + 9 + 2 * trainable) * 8 + 4
    );
    let _buffers: ([u8; P], [u8; S]) = ([0; P], [0; S]);
}

// ---------------------------------------------------------------------------------
// Corrupted headers, truncations, flipped bits.
// ---------------------------------------------------------------------------------

/// Writes `value` little-endian at `at`.
fn poke(record: &mut [u8], at: usize, value: &[u8]) {
    record[at..at + value.len()].copy_from_slice(value);
}

#[test]
fn every_header_field_has_its_error() {
    let net = random_net::<Small>(2);
    let good = params_record(&net);
    let len = good.len();
    let d1 = HEADER_LEN + LAYER_LEN; // descriptor of layer 1
    let shape1 = LayerShape::new(3, 1, true, false);
    #[rustfmt::skip]
    let cases: Vec<(&str, usize, Vec<u8>, Error)> = vec![
        ("magic", 0, b"SPRD".to_vec(), RecordError::Magic { found: *b"SPRD" }.into()),
        ("version", 4, 2u16.to_le_bytes().to_vec(), RecordError::Version { found: 2 }.into()),
        ("scalar f64", 6, vec![8], RecordError::Scalar { expected: ScalarKind::F32, found: 8 }.into()),
        ("scalar unknown", 6, vec![0], RecordError::Scalar { expected: ScalarKind::F32, found: 0 }.into()),
        ("kind", 7, vec![2], RecordError::Kind { expected: RecordKind::Params, found: 2 }.into()),
        ("length", 8, 7u32.to_le_bytes().to_vec(), RecordError::HeaderLength { expected: len, found: 7 }.into()),
        ("layers", 12, 3u32.to_le_bytes().to_vec(), RecordError::LayerCount { expected: 2, found: 3 }.into()),
        ("inputs", d1, 4u32.to_le_bytes().to_vec(),
            RecordError::Shape { layer: 1, expected: shape1, found: LayerShape { inputs: 4, ..shape1 } }.into()),
        ("outputs", d1 + 4, 2u32.to_le_bytes().to_vec(),
            RecordError::Shape { layer: 1, expected: shape1, found: LayerShape { outputs: 2, ..shape1 } }.into()),
        ("no bias", d1 + 8, 0u32.to_le_bytes().to_vec(),
            RecordError::Shape { layer: 1, expected: shape1, found: LayerShape { flags: 0, ..shape1 } }.into()),
        ("frozen", d1 + 8, 3u32.to_le_bytes().to_vec(),
            RecordError::Shape { layer: 1, expected: shape1, found: LayerShape { flags: 3, ..shape1 } }.into()),
        ("crc", len - 4, (crc32(&good[..len - 4]) ^ 1).to_le_bytes().to_vec(),
            RecordError::Checksum { stored: crc32(&good[..len - 4]) ^ 1, computed: crc32(&good[..len - 4]) }.into()),
    ];
    for (field, at, value, expected) in cases {
        let mut bad = good.clone();
        poke(&mut bad, at, &value);
        assert_eq!(refused(&net, &bad), expected, "field {field}");
        // Header checks come before the CRC: the same with a matching CRC.
        if field != "crc" {
            reseal(&mut bad);
            assert_eq!(refused(&net, &bad), expected, "field {field}, resealed");
        }
    }
}

#[test]
fn state_header_fields_have_their_errors() {
    let trainer = trained(
        random_net::<Tuned64>(4),
        Sgd::<Tuned64, NoMomentum>::new(SgdConfig::new(0.1)).unwrap(),
        2,
    );
    let good = state_record(&trainer, 2, 1);
    let load = |bytes: &[u8]| {
        let mut dst = trainer.clone();
        let err = dst.load_state(bytes).expect_err("refused");
        assert_eq!(param_bits(&dst.net), param_bits(&trainer.net));
        assert_eq!(dst.optimizer, trainer.optimizer);
        err
    };
    let h = HEADER_LEN + 2 * LAYER_LEN;

    let mut bad = good.clone();
    poke(&mut bad, h, &3u32.to_le_bytes());
    assert_eq!(
        load(&bad),
        RecordError::Optimizer {
            expected: 1,
            found: 3
        }
        .into()
    );

    let mut bad = good.clone();
    poke(&mut bad, 7, &[1]);
    assert_eq!(
        load(&bad),
        RecordError::Kind {
            expected: RecordKind::State,
            found: 1
        }
        .into()
    );

    // The same record for the network without its frozen layer: the flags differ
    // (with no velocity buffer, the lengths agree).
    let mut open = Trainer::<Net64, Sgd<Net64, NoMomentum>, Mse, 3>::ZERO;
    assert_eq!(
        good.len(),
        Trainer::<Net64, Sgd<Net64, NoMomentum>, Mse, 3>::STATE_RECORD_LEN
    );
    let expected = LayerShape::new(2, 5, true, false);
    assert_eq!(
        open.load_state(&good),
        Err(RecordError::Shape {
            layer: 0,
            expected,
            found: expected.with_frozen(true)
        }
        .into())
    );

    // A parameter record is not a state record, and the other way round.
    assert_eq!(
        load(&params_record(&trainer.net)),
        RecordError::Length {
            expected: good.len(),
            found: Tuned64::PARAMS_RECORD_LEN
        }
        .into()
    );
    let mut net = trainer.net;
    assert!(matches!(
        net.load_params(&good),
        Err(Error::Record(RecordError::Length { .. }))
    ));
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let net = random_net::<Small>(3);
    let good = params_record(&net);
    for len in 0..good.len() {
        assert_eq!(
            refused(&net, &good[..len]),
            RecordError::Length {
                expected: good.len(),
                found: len
            }
            .into()
        );
    }
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        refused(&net, &longer),
        RecordError::Length {
            expected: good.len(),
            found: good.len() + 1
        }
        .into()
    );
}

/// Every single-bit flip of `good` is refused: in the header with a header error, in
/// the payload or CRC with a CRC error. `load` must leave its destination unchanged.
fn every_bit_flip_refused(good: &[u8], header: usize, load: impl Fn(&[u8]) -> Error) {
    let mut bad = good.to_vec();
    for byte in 0..good.len() {
        for bit in 0..8 {
            bad[byte] ^= 1 << bit;
            let err = load(&bad);
            let checksum = matches!(err, Error::Record(RecordError::Checksum { .. }));
            assert_eq!(checksum, byte >= header, "byte {byte} bit {bit}: {err:?}");
            bad[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn every_flipped_bit_of_a_parameter_record_is_refused() {
    let net = random_net::<Small>(4);
    let good = params_record(&net);
    let header = HEADER_LEN + 2 * LAYER_LEN;
    every_bit_flip_refused(&good, header, |bad| refused(&net, bad));

    let net = random_net::<Mixed64>(5);
    let good = params_record(&net);
    every_bit_flip_refused(&good, HEADER_LEN + 3 * LAYER_LEN, |bad| refused(&net, bad));
}

#[test]
fn every_flipped_bit_of_a_state_record_is_refused() {
    let trainer = trained(
        random_net::<Net64>(6),
        Adam::new(AdamConfig::new(0.01)).unwrap(),
        3,
    );
    let good = state_record(&trainer, 3, 5);
    let before = state_bits::<Net64, _>(&trainer.optimizer);
    // The optimizer id is a header field too.
    every_bit_flip_refused(&good, HEADER_LEN + 2 * LAYER_LEN + 4, |bad| {
        let mut dst = trainer.clone();
        let err = dst.load_state(bad).expect_err("refused");
        assert_eq!(param_bits(&dst.net), param_bits(&trainer.net));
        assert_eq!(state_bits::<Net64, _>(&dst.optimizer), before);
        err
    });
}

/// Seeded property-test runner.
fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x9E37_79B9_7F4A_7C15),
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{e}");
    }
}

#[test]
fn random_corruptions_of_a_wide_state_record_are_refused() {
    type T = Trainer<Wide, Adam<Wide>, Mse, 1>;
    let mut trainer = T::new(
        random_net(8),
        Adam::new(AdamConfig::new(0.01)).unwrap(),
        Mse,
    );
    let x = [core::array::from_fn(|i| i as f32 / 16.0)];
    trainer.step(&x, &[[1.0, 0.0, -1.0, 0.5]]).unwrap();
    let good = state_record(&trainer, 1, 2);
    let before = (
        param_bits(&trainer.net),
        state_bits::<Wide, _>(&trainer.optimizer),
    );
    let len = good.len();
    // One flipped bit, or up to four bytes overwritten anywhere.
    let strategy = (
        0..len * 8,
        proptest::collection::vec((0..len, proptest::num::u8::ANY), 1..=4),
        proptest::bool::ANY,
    );
    run(256, strategy, |(bit, writes, flip)| {
        let mut bad = good.clone();
        if flip {
            bad[bit / 8] ^= 1 << (bit % 8);
        } else {
            for (at, v) in writes {
                bad[at] = v;
            }
        }
        let mut dst = trainer.clone();
        let result = dst.load_state(&bad);
        if bad == good {
            prop_assert!(result.is_ok());
        } else {
            prop_assert!(result.is_err());
            prop_assert_eq!(
                (param_bits(&dst.net), state_bits::<Wide, _>(&dst.optimizer)),
                before.clone()
            );
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------
// Values behind a valid CRC.
// ---------------------------------------------------------------------------------

#[test]
fn non_finite_parameters_are_refused_even_with_a_valid_crc() {
    let net = random_net::<Small>(5);
    let good = params_record(&net);
    let start = HEADER_LEN + 2 * LAYER_LEN;
    let count = Small::PARAM_COUNT;
    for index in [0, 5, count - 1] {
        for bad_value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
            let mut bad = good.clone();
            let at = start + index * 4;
            poke(&mut bad, at, &bad_value.to_le_bytes());
            reseal(&mut bad);
            assert_eq!(
                refused(&net, &bad),
                RecordError::NonFinite { offset: at }.into()
            );
        }
    }
}

#[test]
fn non_finite_networks_are_not_saved() {
    let mut net = random_net::<NoBias64>(6);
    net.1.w[3][1] = f64::NAN;
    let mut out = vec![0xAA; NoBias64::PARAMS_RECORD_LEN];
    let offset = HEADER_LEN + 2 * LAYER_LEN + (12 + 3 * 2 + 1) * 8;
    assert_eq!(
        net.save_params(&mut out),
        Err(RecordError::NonFinite { offset }.into())
    );
    assert!(out.iter().all(|&b| b == 0xAA), "output unchanged");

    let mut short = vec![0u8; NoBias64::PARAMS_RECORD_LEN - 1];
    assert_eq!(
        random_net::<NoBias64>(1).save_params(&mut short),
        Err(RecordError::BufferTooSmall {
            needed: short.len() + 1,
            found: short.len()
        }
        .into())
    );
    // A longer buffer is fine: the record goes at its start.
    let mut long = vec![0u8; NoBias64::PARAMS_RECORD_LEN + 10];
    assert_eq!(
        random_net::<NoBias64>(1).save_params(&mut long),
        Ok(NoBias64::PARAMS_RECORD_LEN)
    );
}

#[test]
fn optimizer_state_out_of_range_is_refused() {
    let trainer = trained(
        random_net::<Net64>(6),
        Adam::new(AdamConfig::new(0.01)).unwrap(),
        3,
    );
    let good = state_record(&trainer, 3, 5);
    let h = HEADER_LEN + 2 * LAYER_LEN;
    let state = h + PROGRESS_LEN + Net64::PARAM_COUNT * 8;
    let trainable = Net64::TRAINABLE_COUNT;
    let load = |bytes: &[u8]| {
        let mut dst = trainer.clone();
        let err = dst.load_state(bytes).expect_err("refused");
        assert_eq!(param_bits(&dst.net), param_bits(&trainer.net));
        assert_eq!(
            state_bits::<Net64, _>(&dst.optimizer),
            state_bits::<Net64, _>(&trainer.optimizer)
        );
        err
    };
    let with = |at: usize, value: &[u8]| {
        let mut bad = good.clone();
        poke(&mut bad, at, value);
        reseal(&mut bad);
        load(&bad)
    };
    let scalar = |k: usize| state + k * scalar_width::<f64>();
    assert_eq!(
        with(scalar(0), &(-1.0f64).to_le_bytes()),
        Error::InvalidHyperParameter {
            name: "lr",
            expected: "finite and >= 0"
        }
    );
    assert_eq!(
        with(scalar(2), &1.0f64.to_le_bytes()),
        Error::InvalidHyperParameter {
            name: "beta2",
            expected: "in [0, 1)"
        }
    );
    let power = RecordError::InvalidState {
        what: "Adam beta power",
    }
    .into();
    assert_eq!(
        with(scalar(5), &(-1.0f64).to_le_bytes()),
        Error::InvalidHyperParameter {
            name: "clip_norm",
            expected: "finite and > 0"
        }
    );
    assert_eq!(with(scalar(7), &1.5f64.to_le_bytes()), power);
    assert_eq!(with(scalar(8), &(-0.1f64).to_le_bytes()), power);
    assert_eq!(
        with(scalar(9 + trainable + 3), &(-1e-9f64).to_le_bytes()),
        RecordError::InvalidState {
            what: "Adam second moment"
        }
        .into()
    );
    assert_eq!(
        with(scalar(9 + 4), &f64::NAN.to_le_bytes()),
        RecordError::NonFinite {
            offset: scalar(9 + 4)
        }
        .into()
    );
    assert_eq!(
        with(h + 4, &(1u64 << 32).to_le_bytes()),
        RecordError::InvalidState {
            what: "Adam step count"
        }
        .into()
    );
    // A negative first moment is fine: it is a running mean of gradients.
    let mut ok = good.clone();
    poke(&mut ok, scalar(9), &(-3.0f64).to_le_bytes());
    reseal(&mut ok);
    assert!(trainer.clone().load_state(&ok).is_ok());
}

#[test]
fn sgd_state_out_of_range_is_refused() {
    let trainer = trained(
        random_net::<Net64>(6),
        Sgd::<Net64, NoMomentum>::new(SgdConfig::new(0.1)).unwrap(),
        1,
    );
    let good = state_record(&trainer, 1, 5);
    let h = HEADER_LEN + 2 * LAYER_LEN;
    let state = h + PROGRESS_LEN + Net64::PARAM_COUNT * 8;
    let with = |at: usize, value: &[u8]| {
        let mut bad = good.clone();
        poke(&mut bad, at, value);
        reseal(&mut bad);
        let mut dst = trainer.clone();
        let err = dst.load_state(&bad).expect_err("refused");
        assert_eq!(dst.optimizer, trainer.optimizer);
        assert_eq!(param_bits(&dst.net), param_bits(&trainer.net));
        err
    };
    assert_eq!(
        with(h + 4, &2u64.to_le_bytes()),
        RecordError::InvalidState {
            what: "SGD counter"
        }
        .into()
    );
    // Momentum without a velocity buffer.
    assert!(matches!(
        with(state + 8, &0.9f64.to_le_bytes()),
        Error::InvalidHyperParameter {
            name: "momentum",
            ..
        }
    ));
    // Clipping off is +0 alone: −0 or a negative threshold is refused, so an accepted
    // record always saves back to the same bytes.
    for value in [-0.0f64, -1.0] {
        for at in [state + 24, state + 32] {
            assert!(matches!(
                with(at, &value.to_le_bytes()),
                Error::InvalidHyperParameter {
                    name: "clip_norm" | "clip_value",
                    ..
                }
            ));
        }
    }
}

#[test]
fn errors_read_well() {
    let e: Error = RecordError::Checksum {
        stored: 1,
        computed: 2,
    }
    .into();
    assert_eq!(
        e.to_string(),
        "record: CRC-32 mismatch: stored 0x00000001, computed 0x00000002"
    );
    let e: Error = RecordError::NonFinite { offset: 40 }.into();
    assert_eq!(
        e.to_string(),
        "record: a NaN or infinite value at byte 40 of the record"
    );
}
