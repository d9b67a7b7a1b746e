//! Loads arbitrary bytes as parameter and training-state records: no panic, nothing
//! non-finite accepted, the destination untouched on error, and anything accepted
//! saved back to the very same bytes.
//!
//! The first input byte picks how the rest becomes a record: raw bytes; a valid
//! record with an XOR mask applied at some offset (CRC left as is, or recomputed so
//! the checks behind it are reached); or a valid record cut or extended.
//!
//! `cargo +nightly fuzz run load_record`

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackprop::persist::{Architecture, OptimizerState, Progress, crc32};
use stackprop::*;

type Net = (
    Dense<3, 4, Tanh>,
    Frozen<Dense<4, 4, Relu>>,
    Dense<4, 2, Identity, f32, NoBias>,
);
type Net64 = (Dense<2, 3, Tanh, f64>, Dense<3, 1, Identity, f64>);
type AdamTrainer = Trainer<Net, Adam<Net>, Mse, 1>;
type SgdTrainer = Trainer<Net64, Sgd<Net64, WithMomentum>, Mse, 1>;

struct Fixtures {
    adam: AdamTrainer,
    sgd: SgdTrainer,
    /// Valid records: params of Net, params of Net64, state of each trainer.
    records: [Vec<u8>; 4],
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut rng = SplitMix64::new(1);
        let mut net = Net::ZERO;
        net.init(Init::HeNormal, &mut rng);
        let mut adam = AdamTrainer::new(net, Adam::new(AdamConfig::new(0.01)).unwrap(), Mse);
        let mut net64 = Net64::ZERO;
        net64.init(Init::GlorotUniform, &mut rng);
        let config = SgdConfig::new(0.1).with_momentum(0.9).with_clip_norm(10.0);
        let mut sgd = SgdTrainer::new(net64, Sgd::new(config).unwrap(), Mse);
        for k in 0..3 {
            adam.step(&[[0.5, -1.0, k as f32]], &[[1.0, -1.0]]).unwrap();
            sgd.step(&[[0.25, k as f64]], &[[0.5]]).unwrap();
        }
        let progress = Progress { steps: 3, rng };
        let mut records = [
            vec![0; Net::PARAMS_RECORD_LEN],
            vec![0; Net64::PARAMS_RECORD_LEN],
            vec![0; AdamTrainer::STATE_RECORD_LEN],
            vec![0; SgdTrainer::STATE_RECORD_LEN],
        ];
        adam.net.save_params(&mut records[0]).unwrap();
        sgd.net.save_params(&mut records[1]).unwrap();
        adam.save_state(&progress, &mut records[2]).unwrap();
        sgd.save_state(&progress, &mut records[3]).unwrap();
        Fixtures { adam, sgd, records }
    })
}

fn bits<'a, S: Scalar>(values: impl Iterator<Item = &'a S>) -> Vec<u64> {
    values.map(|v| v.to_f64().to_bits()).collect()
}

fn all_finite<'a, S: Scalar>(mut values: impl Iterator<Item = &'a S>) -> bool {
    values.all(|v| v.is_finite())
}

fn check_params<L: Architecture + Clone>(net: &L, bytes: &[u8]) {
    let mut dst = net.clone();
    match dst.load_params(bytes) {
        Ok(()) => {
            assert!(
                all_finite(dst.params().flatten()),
                "non-finite parameter accepted"
            );
            let mut again = vec![0; L::PARAMS_RECORD_LEN];
            dst.save_params(&mut again).expect("a loaded network saves");
            assert_eq!(again, bytes, "an accepted record saves back to other bytes");
        }
        Err(_) => assert_eq!(
            bits(dst.params().flatten()),
            bits(net.params().flatten()),
            "destination changed by a refused record"
        ),
    }
}

fn check_state<L, O, const N: usize>(trainer: &Trainer<L, O, Mse, N>, bytes: &[u8])
where
    L: Architecture + Clone,
    O: OptimizerState<L> + Clone,
    L::Cache<N>: Clone,
{
    let mut dst = trainer.clone();
    let snapshot = |t: &Trainer<L, O, Mse, N>| {
        let mut b = bits(t.net.params().flatten());
        b.extend(bits(t.optimizer.state().flatten()));
        b.push(t.optimizer.counter());
        b
    };
    match dst.load_state(bytes) {
        Ok(progress) => {
            assert!(
                all_finite(dst.net.params().flatten()),
                "non-finite parameter accepted"
            );
            assert!(
                all_finite(dst.optimizer.state().flatten()),
                "non-finite state accepted"
            );
            let mut again = vec![0; Trainer::<L, O, Mse, N>::STATE_RECORD_LEN];
            dst.save_state(&progress, &mut again)
                .expect("a loaded state saves");
            assert_eq!(again, bytes, "an accepted record saves back to other bytes");
        }
        Err(_) => assert_eq!(snapshot(&dst), snapshot(trainer), "destination changed"),
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixtures();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let base = &f.records[usize::from(mode >> 4) % 4];
    let bytes = match mode % 4 {
        0 => rest.to_vec(),
        1 | 2 => {
            // rest = offset (2 bytes) then the mask.
            let mut bytes = base.clone();
            if let [lo, hi, mask @ ..] = rest {
                let at = usize::from(u16::from_le_bytes([*lo, *hi])) % bytes.len();
                for (b, m) in bytes[at..].iter_mut().zip(mask) {
                    *b ^= m;
                }
            }
            if mode % 4 == 2 {
                let body = bytes.len() - 4;
                let crc = crc32(&bytes[..body]);
                bytes[body..].copy_from_slice(&crc.to_le_bytes());
            }
            bytes
        }
        _ => {
            // A valid record cut short or with bytes appended.
            let cut = rest.first().map_or(0, |&c| usize::from(c));
            let mut bytes = base.clone();
            if mode & 8 == 0 {
                bytes.truncate(bytes.len().saturating_sub(cut));
            } else {
                bytes.extend_from_slice(rest);
            }
            bytes
        }
    };
    check_params(&f.adam.net, &bytes);
    check_params(&f.sgd.net, &bytes);
    check_state(&f.adam, &bytes);
    check_state(&f.sgd, &bytes);
});
