//! The replay buffer: reservoir sampling keeps every sample seen with probability C/M,
//! it never holds more than C, its bytes give the inputs back within the documented
//! quantisation step, bad samples are refused with nothing changed, and an epoch trains
//! on new and replayed samples together.

use stackprop::replay::{Chain, Offered, ReplayBuffer};
use stackprop::{
    Adam, AdamConfig, Dataset, Dense, Error, Identity, Relu, Remainder, Samples,
    SoftmaxCrossEntropy, SplitMix64, Trainer, Zero,
};

const ONE_HOT_0: [f32; 2] = [1.0, 0.0];

/// Sample `i` of a stream: its index is its first input, exactly representable as a
/// quantisation code (inputs in [0, 255]).
fn numbered(i: usize) -> [f32; 1] {
    [i as f32]
}

#[test]
fn every_sample_seen_is_kept_with_probability_c_over_m() {
    const C: usize = 10;
    const M: usize = 100;
    const TRIALS: usize = 20_000;
    let mut rng = SplitMix64::new(2026);
    let mut kept = [0u32; M];
    for _ in 0..TRIALS {
        let mut buffer = ReplayBuffer::<C, 1, 2>::new(0.0, 255.0);
        for i in 0..M {
            buffer.offer(&numbered(i), &ONE_HOT_0, &mut rng).unwrap();
        }
        assert_eq!(buffer.len(), C);
        let (mut x, mut t) = ([0.0_f32], [0.0_f32; 2]);
        for j in 0..C {
            buffer.load(j, &mut x, &mut t).unwrap();
            kept[x[0] as usize] += 1;
        }
    }
    // Each index is kept with probability p = C/M: expected 2000 of 20000 trials.
    let p = C as f64 / M as f64;
    let expected = TRIALS as f64 * p;
    let sd = (TRIALS as f64 * p * (1.0 - p)).sqrt();
    let chi2: f64 = kept
        .iter()
        .map(|&k| (f64::from(k) - expected).powi(2) / expected)
        .sum();
    // The counts are not independent (they sum to C·TRIALS), which only makes the
    // statistic smaller; 148.2 is the 0.999 quantile of chi-square with 99 degrees.
    assert!(chi2 < 148.2, "chi-square {chi2:.1} over {M} indices");
    for (i, &k) in kept.iter().enumerate() {
        let z = (f64::from(k) - expected) / sd;
        assert!(z.abs() < 5.0, "index {i} kept {k} times, z = {z:.1}");
    }
    // Early and late samples alike: the first and last tenth keep the same share.
    let head: u32 = kept[..10].iter().sum();
    let tail: u32 = kept[M - 10..].iter().sum();
    let diff = (f64::from(head) - f64::from(tail)).abs() / (10.0 * expected);
    assert!(diff < 0.03, "first tenth {head}, last tenth {tail}");
}

#[test]
fn the_capacity_is_never_exceeded() {
    let mut buffer = ReplayBuffer::<7, 1, 2>::new(0.0, 255.0);
    let mut rng = SplitMix64::new(1);
    let (mut added, mut replaced, mut dropped) = (0, 0, 0);
    for i in 0..1000 {
        match buffer
            .offer(&numbered(i % 256), &ONE_HOT_0, &mut rng)
            .unwrap()
        {
            Offered::Added => added += 1,
            Offered::Replaced(j) => {
                assert!(j < 7);
                replaced += 1;
            }
            Offered::Dropped => dropped += 1,
        }
        assert_eq!(buffer.len(), (i + 1).min(7));
        assert_eq!(Dataset::<[f32; 1], [f32; 2]>::len(&buffer), buffer.len());
    }
    assert_eq!((added, buffer.seen()), (7, 1000));
    // Sample n > C is stored with probability C/n: about C·ln(1000/7) ≈ 35 of them.
    assert!((20..=55).contains(&replaced), "{replaced} replaced");
    assert_eq!(added + replaced + dropped, 1000);
    let (mut x, mut t) = ([0.0_f32], [0.0_f32; 2]);
    assert_eq!(
        buffer.load(7, &mut x, &mut t),
        Err(Error::IndexOutOfRange { index: 7, len: 7 })
    );
}

#[test]
fn quantisation_moves_an_input_by_at_most_a_half_step() {
    let (lo, hi) = (-2.0_f32, 3.0_f32);
    let half_step = f64::from(hi - lo) / 510.0;
    let mut rng = SplitMix64::new(9);
    let mut worst = 0.0_f64;
    for _ in 0..200 {
        let mut buffer = ReplayBuffer::<1, 16, 3>::new(lo, hi);
        let mut x = [0.0_f64; 16];
        for v in &mut x {
            *v = f64::from(lo) + rng.next_f64() * f64::from(hi - lo);
        }
        x[0] = f64::from(lo);
        x[15] = f64::from(hi);
        buffer.offer(&x, &[0.0, 0.0, 1.0], &mut rng).unwrap();
        let (mut back, mut t) = ([0.0_f64; 16], [0.0_f64; 3]);
        buffer.load(0, &mut back, &mut t).unwrap();
        assert_eq!(t, [0.0, 0.0, 1.0]);
        assert_eq!((back[0], back[15]), (f64::from(lo), f64::from(hi)));
        for (a, b) in x.iter().zip(&back) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(
        worst <= half_step + 1e-12,
        "worst {worst}, bound {half_step}"
    );
    // The bound is tight: random values come close to it.
    assert!(worst > 0.9 * half_step, "worst {worst}");
}

#[test]
fn bad_samples_are_refused_and_change_nothing() {
    let mut buffer = ReplayBuffer::<4, 3, 2>::new(0.0, 1.0);
    let mut rng = SplitMix64::new(3);
    buffer
        .offer(&[0.1_f32, 0.2, 0.3], &ONE_HOT_0, &mut rng)
        .unwrap();
    let (before, rng_before) = (buffer, rng);
    let cases: [([f32; 3], [f32; 2], Error); 8] = [
        ([0.1, f32::NAN, 0.3], ONE_HOT_0, Error::NonFiniteInput),
        ([0.1, 0.2, f32::INFINITY], ONE_HOT_0, Error::NonFiniteInput),
        (
            [0.1, 0.2, 1.01],
            ONE_HOT_0,
            Error::InputOutOfRange { index: 2 },
        ),
        (
            [-0.01, 0.2, 0.3],
            ONE_HOT_0,
            Error::InputOutOfRange { index: 0 },
        ),
        ([0.1, 0.2, 0.3], [f32::NAN, 1.0], Error::NonFiniteTarget),
        ([0.1, 0.2, 0.3], [1.0, 1.0], Error::TargetNotOneHot),
        ([0.1, 0.2, 0.3], [0.0, 0.0], Error::TargetNotOneHot),
        ([0.1, 0.2, 0.3], [0.5, 0.5], Error::TargetNotOneHot),
    ];
    for (x, t, error) in cases {
        assert_eq!(buffer.offer(&x, &t, &mut rng), Err(error), "{x:?} {t:?}");
        assert_eq!((buffer, rng), (before, rng_before));
    }
    for (lo, hi) in [
        (1.0, 0.0),
        (0.5, 0.5),
        (f32::NAN, 1.0),
        (0.0, f32::INFINITY),
    ] {
        let mut bad = ReplayBuffer::<4, 3, 2>::new(lo, hi);
        assert_eq!(
            bad.offer(&[0.1_f32, 0.2, 0.3], &ONE_HOT_0, &mut rng),
            Err(Error::InvalidHyperParameter {
                name: "replay range",
                expected: "finite with lo < hi"
            })
        );
        assert_eq!(bad.seen(), 0);
    }
}

#[test]
fn a_saved_buffer_loads_back_and_a_foreign_one_is_refused() {
    type Buffer = ReplayBuffer<5, 3, 4>;
    let mut buffer = Buffer::new(0.0, 2.0);
    let mut rng = SplitMix64::new(4);
    for i in 0..12 {
        let mut t = [0.0_f32; 4];
        t[i % 4] = 1.0;
        buffer
            .offer(&[i as f32 / 6.0, 0.5, 1.0], &t, &mut rng)
            .unwrap();
    }
    let mut bytes = [0u8; Buffer::SAVED_LEN];
    assert_eq!(buffer.save(&mut bytes), Ok(Buffer::SAVED_LEN));
    assert_eq!(Buffer::SAVED_LEN, 36 + 5 * 4);
    let mut back = Buffer::new(0.0, 1.0);
    back.restore(&bytes).unwrap();
    assert_eq!(back, buffer);

    let empty = Buffer::new(0.0, 1.0);
    let mut target = empty;
    assert_eq!(
        target.restore(&bytes[1..]),
        Err(Error::LengthMismatch {
            expected: Buffer::SAVED_LEN,
            found: Buffer::SAVED_LEN - 1
        })
    );
    assert_eq!(
        buffer.save(&mut [0u8; 10]),
        Err(Error::LengthMismatch {
            expected: Buffer::SAVED_LEN,
            found: 10
        })
    );
    // Corruptions: magic, the capacity, the length past C, a class past L.
    for (at, value) in [(0, b'X'), (4, 6), (16, 6), (36, 4)] {
        let mut bad = bytes;
        bad[at] = value;
        assert!(
            matches!(
                target.restore(&bad),
                Err(Error::InvalidHyperParameter {
                    name: "replay record",
                    ..
                })
            ),
            "byte {at}"
        );
        assert_eq!(target, empty);
    }
    // A buffer with another class count has the same length, and is refused.
    let other = ReplayBuffer::<5, 3, 2>::new(0.0, 1.0);
    let mut same_len = [0u8; ReplayBuffer::<5, 3, 2>::SAVED_LEN];
    other.save(&mut same_len).unwrap();
    assert_eq!(same_len.len(), bytes.len());
    assert!(target.restore(&same_len).is_err());
    assert_eq!(target, empty);
}

#[test]
fn an_epoch_trains_on_new_and_replayed_samples_together() {
    type Net = (Dense<2, 8, Relu>, Dense<8, 2, Identity>);
    let mut trainer = Trainer::<Net, Adam<Net>, SoftmaxCrossEntropy, 4>::new(
        Net::ZERO,
        Adam::ZERO,
        SoftmaxCrossEntropy,
    );
    trainer.optimizer.set_config(AdamConfig::new(0.01)).unwrap();
    let mut rng = SplitMix64::new(5);
    let mut buffer = ReplayBuffer::<6, 2, 2>::new(0.0, 1.0);
    for i in 0..20 {
        let c = i % 2;
        let t = if c == 0 { [1.0_f32, 0.0] } else { [0.0, 1.0] };
        buffer
            .offer(&[c as f32, 1.0 - c as f32], &t, &mut rng)
            .unwrap();
    }
    let x = [[0.0_f32, 1.0], [1.0, 0.0], [0.0, 0.9]];
    let t = [[1.0_f32, 0.0], [0.0, 1.0], [1.0, 0.0]];
    let today = Samples::new(&x, &t).unwrap();
    let mixed = Chain::new(&today, &buffer);
    assert_eq!(mixed.len(), 9);
    let (mut xi, mut ti) = ([0.0_f32; 2], [0.0_f32; 2]);
    mixed.load(3, &mut xi, &mut ti).unwrap();
    buffer.load(0, &mut xi, &mut ti).unwrap();
    assert_eq!(
        mixed.load(9, &mut xi, &mut ti),
        Err(Error::IndexOutOfRange { index: 9, len: 9 })
    );
    let report = trainer
        .train_epoch(&mixed, Some(&mut rng), Remainder::Wrap)
        .unwrap();
    assert_eq!(
        (report.batches, report.trained, report.repeated),
        (3, 12, 3)
    );
}
