//! The records this tool writes are the crate's own: byte-identical to `save_params`,
//! accepted by `load_params`, and read back exactly (training-state records too).

use stackprop::persist::{Architecture, Progress};
use stackprop::{
    Adam, AdamConfig, Dense, Identity, Init, Layer, LeakyRelu, Mse, NoBias, Relu, Sgd, SgdConfig,
    Sigmoid, Silu, Softplus, SplitMix64, Tanh, Trainer, WithMomentum, Zero,
};
use stackprop_torch_bridge::net::{Network, Scalar};
use stackprop_torch_bridge::record;

/// Writes `net` with the crate, reads it with the tool, writes it with the tool: the
/// bytes agree, and the crate loads the tool's bytes into a fresh network equal to `net`.
fn same_record<L: Architecture + Zero + PartialEq + core::fmt::Debug>(seed: u64, scalar: Scalar) {
    let mut net = L::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(seed));
    let mut bytes = vec![0u8; L::PARAMS_RECORD_LEN];
    net.save_params(&mut bytes).expect("finite");
    let read = record::read(&bytes).expect("a valid record");
    assert!(read.state.is_none());
    assert_eq!(read.net.scalar, scalar);
    assert_eq!(read.net.layers.len(), L::LAYER_COUNT);
    let written = record::write_params(&read.net).expect("finite");
    assert_eq!(written, bytes);
    let mut copy = L::ZERO;
    copy.load_params(&written)
        .expect("the crate accepts the tool's record");
    assert_eq!(copy, net);
}

#[test]
fn parameter_records_are_the_crates_own() {
    same_record::<(Dense<2, 3, Tanh>, Dense<3, 1, Identity>)>(1, Scalar::F32);
    same_record::<(
        Dense<5, 8, Tanh, f64>,
        Dense<8, 7, Relu, f64, NoBias>,
        Dense<7, 3, Identity, f64>,
    )>(2, Scalar::F64);
    same_record::<Dense<4, 4, Sigmoid, f32, NoBias>>(3, Scalar::F32);
    same_record::<(
        Dense<3, 6, LeakyRelu>,
        Dense<6, 6, Softplus, f32, NoBias>,
        Dense<6, 5, Silu>,
        Dense<5, 4, Relu>,
        Dense<4, 3, Tanh, f32, NoBias>,
        Dense<3, 2, Identity>,
    )>(4, Scalar::F32);
    // Seven layers: a nested tuple, the same record as the flat list of layers.
    same_record::<(
        (
            Dense<2, 3, Relu, f64>,
            Dense<3, 3, Relu, f64>,
            Dense<3, 3, Relu, f64, NoBias>,
            Dense<3, 3, Relu, f64>,
            Dense<3, 3, Relu, f64>,
            Dense<3, 3, Relu, f64>,
        ),
        Dense<3, 1, Identity, f64>,
    )>(5, Scalar::F64);
}

#[test]
fn training_state_records_are_read_back() {
    type Net = (Dense<3, 4, Tanh>, Dense<4, 2, Identity, f32, NoBias>);
    type T = Trainer<Net, Adam<Net>, Mse, 2>;
    let mut net = Net::ZERO;
    let mut rng = SplitMix64::new(8);
    net.init(Init::GlorotUniform, &mut rng);
    let mut trainer = T::new(net, Adam::new(AdamConfig::new(0.01)).expect("valid"), Mse);
    for _ in 0..3 {
        trainer
            .step(
                &[[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]],
                &[[1.0, 0.0], [0.0, 1.0]],
            )
            .expect("finite");
    }
    let mut bytes = [0u8; T::STATE_RECORD_LEN];
    trainer
        .save_state(&Progress { steps: 3, rng }, &mut bytes)
        .expect("finite");
    let read = record::read(&bytes).expect("a valid record");
    let state = read.state.expect("a training state");
    assert_eq!((state.optimizer, state.counter, state.steps), (3, 3, 3));
    assert_eq!(state.rng, rng.state());
    // Adam: 9 scalars, then m and v of the 3·4 + 4 + 4·2 trainable parameters.
    assert_eq!(state.values.len(), 9 + 2 * 24);
    assert_eq!(state.frozen, [false, false]);
    // Its parameters are those of the trainer's network, as a parameter record says.
    let mut params = vec![0u8; Net::PARAMS_RECORD_LEN];
    trainer.net.save_params(&mut params).expect("finite");
    assert_eq!(record::write_params(&read.net).expect("finite"), params);

    type S = Trainer<Net, Sgd<Net, WithMomentum>, Mse, 2>;
    let sgd = S::new(
        trainer.net,
        Sgd::new(SgdConfig::new(0.1)).expect("valid"),
        Mse,
    );
    let mut bytes = [0u8; S::STATE_RECORD_LEN];
    sgd.save_state(&Progress { steps: 0, rng }, &mut bytes)
        .expect("finite");
    let state = record::read(&bytes).expect("valid").state.expect("state");
    // SGD with a velocity buffer: 5 scalars and one per trainable parameter.
    assert_eq!((state.optimizer, state.values.len()), (2, 5 + 24));
}

#[test]
fn damaged_records_are_refused_naming_the_field() {
    type Net = (Dense<2, 3, Tanh>, Dense<3, 1, Identity>);
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(3));
    let mut good = [0u8; Net::PARAMS_RECORD_LEN];
    net.save_params(&mut good).expect("finite");
    let reason = |bytes: &[u8]| record::read(bytes).expect_err("refused").to_string();

    let mut bad = good;
    bad[0] = b'X';
    assert!(reason(&bad).contains("magic"), "{}", reason(&bad));
    let mut bad = good;
    bad[30] ^= 1;
    assert!(reason(&bad).contains("CRC-32"), "{}", reason(&bad));
    assert!(reason(&good[..good.len() - 1]).contains("header says"));
    // A second layer that does not take the first one's outputs, resealed.
    let mut bad = good;
    bad[28..32].copy_from_slice(&4u32.to_le_bytes());
    let body = bad.len() - 4;
    let crc = stackprop::persist::crc32(&bad[..body]);
    bad[body..].copy_from_slice(&crc.to_le_bytes());
    assert!(
        reason(&bad).contains("layer 1 takes 4 inputs but layer 0 gives 3"),
        "{}",
        reason(&bad)
    );
    // A NaN weight, resealed.
    let mut bad = good;
    bad[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
    let crc = stackprop::persist::crc32(&bad[..body]);
    bad[body..].copy_from_slice(&crc.to_le_bytes());
    assert!(
        reason(&bad).contains("NaN or infinity at byte 40"),
        "{}",
        reason(&bad)
    );
}

#[test]
fn networks_that_cannot_be_recorded_are_refused() {
    let mut net = Network {
        scalar: Scalar::F32,
        layers: vec![stackprop_torch_bridge::net::Layer {
            inputs: 2,
            outputs: 2,
            w: vec![1.0, 2.0, 3.0, f64::INFINITY],
            b: None,
        }],
    };
    assert!(record::write_params(&net).is_err());
    net.layers[0].w[3] = 4.0;
    assert!(record::write_params(&net).is_ok());
}

/// Every single-byte change of a training-state record, with the CRC resealed so the
/// later checks are reached, is read or refused, never a panic; the length and CRC
/// checks refuse every change they see.
#[test]
fn no_byte_change_panics() {
    type Net = (Dense<3, 4, Tanh>, Dense<4, 2, Identity, f32, NoBias>);
    type T = Trainer<Net, Adam<Net>, Mse, 1>;
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(4));
    let trainer = T::new(net, Adam::new(AdamConfig::new(0.01)).expect("valid"), Mse);
    let mut good = [0u8; T::STATE_RECORD_LEN];
    trainer
        .save_state(
            &Progress {
                steps: 0,
                rng: SplitMix64::new(4),
            },
            &mut good,
        )
        .expect("finite");
    let body = good.len() - 4;
    for pos in 0..good.len() {
        for x in [0x01u8, 0x80, 0xFF] {
            let mut bad = good;
            bad[pos] ^= x;
            assert!(
                record::read(&bad).is_err(),
                "byte {pos} ^ {x:#x} accepted without resealing"
            );
            let crc = stackprop::persist::crc32(&bad[..body]);
            bad[body..].copy_from_slice(&crc.to_le_bytes());
            let _ = record::read(&bad);
        }
    }
    for len in 0..good.len() {
        assert!(record::read(&good[..len]).is_err());
    }
}
