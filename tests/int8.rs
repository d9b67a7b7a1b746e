//! Int8 inference: the digits classifier keeps its accuracy, the checked-in `static`
//! is what `quantize` produces today, every activation quantises, bad input is refused,
//! and the networks and their int8 outputs are exported (to `target/tmp/int8_*.json`)
//! for the independent NumPy reference, `python/int8_reference.py`, that CI runs.

#[path = "../examples/shared/digits.rs"]
mod digits;
#[rustfmt::skip]
#[path = "../examples/data/digits_base.rs"]
mod digits_base;
#[rustfmt::skip]
#[path = "../examples/data/digits_int8.rs"]
mod digits_int8;
#[path = "../examples/shared/int8.rs"]
mod int8;

use serde_json::{Value, json};
use stackprop::quant::{QDenseView, QLayer, QNet, QuantError, quantize};
use stackprop::*;

#[test]
fn digits_keep_their_accuracy_in_int8() {
    let q = int8::quantize_digits().expect("quantises");
    let r = int8::evaluate(&q).expect("evaluates");
    assert_eq!(r.total, 359);
    assert!(r.ok(), "{r:?}");
    // The figures the README quotes.
    assert_eq!((r.correct_f32, r.correct_int8, r.disagree), (348, 348, 0));
    assert_eq!(int8::QDigits::BYTES, 2772);
}

#[test]
fn the_static_in_flash_is_what_quantize_gives() {
    let q = int8::quantize_digits().expect("quantises");
    assert_eq!(q, digits_int8::DIGITS_INT8);
    let mut source = String::new();
    q.write_rust("DIGITS_INT8", &mut source).expect("writes");
    let file = include_str!("../examples/data/digits_int8.rs");
    assert!(
        file.ends_with(&source),
        "regenerate with the int8 example's --rust"
    );
}

#[test]
fn digits_export_for_the_reference() {
    let q = int8::quantize_digits().expect("quantises");
    let held_out = digits::Digits::new(digits::Split::HeldOut);
    let inputs: Vec<[f32; 64]> = (0..held_out.len())
        .map(|i| int8::sample(&held_out, i).expect("loads").0)
        .collect();
    export("digits", &q, &inputs);
}

/// Every activation: tables for tanh, sigmoid, leaky ReLU, softplus and SiLU.
type Tabled = (
    Dense<6, 12, Tanh>,
    Dense<12, 9, Sigmoid>,
    Dense<9, 8, LeakyRelu>,
    Dense<8, 7, Softplus>,
    Dense<7, 6, Silu>,
    Dense<6, 4, Relu>,
);

fn inputs<const K: usize>(n: usize, seed: u64) -> Vec<[f32; K]> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| core::array::from_fn(|_| (rng.next_f64() * 4.0 - 1.5) as f32))
        .collect()
}

#[test]
fn every_activation_quantises_close_to_float() {
    let mut net = Tabled::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(9));
    for l in [&mut net.0.b[..], &mut net.1.b[..], &mut net.5.b[..]] {
        l.iter_mut()
            .enumerate()
            .for_each(|(k, b)| *b = 0.1 * k as f32 - 0.3);
    }
    let x = inputs::<6>(300, 4);
    let q = quantize(&net, &x).expect("quantises");
    let mut worst = 0.0_f32;
    let mut cache = <CacheOf<Tabled, 1>>::ZERO;
    for x in &x {
        net.forward(core::array::from_ref(x), &mut cache);
        let want = Tabled::output(&cache)[0];
        let got = q.dequantize(&q.logits(x).expect("finite"));
        for (w, g) in want.iter().zip(got) {
            worst = worst.max((w - g).abs());
        }
    }
    // Six layers of int8 rounding: measured 3.5 % of the output range (255 steps).
    let range = 255.0 * q.output().scale();
    assert!(worst <= 0.05 * range, "worst {worst}, output range {range}");
    export("activations", &q, &x);
}

#[test]
fn f64_networks_quantise_too() {
    type Net64 = (Dense<3, 5, Tanh, f64>, Dense<5, 2, Identity, f64>);
    let mut net = Net64::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(2));
    let x = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [0.25, 0.75, 1.5]];
    let q = quantize(&net, &x).expect("quantises");
    let mut cache = <CacheOf<Net64, 1>>::ZERO;
    for x in &x {
        net.forward(core::array::from_ref(x), &mut cache);
        let want = Net64::output(&cache)[0];
        let got = q.dequantize(&q.logits(x).expect("finite"));
        for (w, g) in want.iter().zip(got) {
            assert!((w - f64::from(g)).abs() < 0.05, "{w} vs {g}");
        }
    }
}

#[test]
fn bad_input_is_refused_precisely() {
    type Small = (Dense<2, 3, Relu>, Dense<3, 2, Identity>);
    let mut net = Small::ZERO;
    net.init(Init::HeUniform, &mut SplitMix64::new(1));
    let none: [[f32; 2]; 0] = [];
    assert_eq!(
        quantize(&net, &none).map(|_| ()),
        Err(Error::Quant(QuantError::EmptyCalibration))
    );
    assert_eq!(
        quantize(&net, &[[0.0, f32::NAN]]).map(|_| ()),
        Err(Error::Quant(QuantError::NonFiniteCalibration))
    );
    let mut broken = net;
    broken.1.w[2][1] = f32::INFINITY;
    assert_eq!(
        quantize(&broken, &[[1.0, 0.5]]).map(|_| ()),
        Err(Error::Quant(QuantError::NonFiniteParameter { layer: 1 }))
    );
    let q = quantize(&net, &[[1.0, 0.5], [0.0, -1.0]]).expect("quantises");
    assert_eq!(q.predict(&[f32::NAN, 0.0]), Err(Error::NonFiniteInput));
}

/// Writes the network, the inputs (as `f32` bits) and stackprop's int8 logits and
/// classes to `target/tmp/int8_NAME.json`.
fn export<L, const IN: usize, const OUT: usize>(name: &str, q: &QNet<L, IN, OUT>, x: &[[f32; IN]])
where
    L: QLayer<Input = [i8; IN], Output = [i8; OUT]>,
{
    let mut layers = Vec::new();
    q.layers().visit(&mut |l: QDenseView<'_>| {
        layers.push(json!({
            "inputs": l.inputs,
            "outputs": l.outputs,
            "weights": l.weights,
            "bias": l.bias,
            "multiplier": l.multiplier,
            "shift": l.shift,
            "input_zero_point": l.input_zero_point,
            "output_zero_point": l.output_zero_point,
            "min": l.min,
            "max": l.max,
            "table": l.table.map(|t| t.to_vec()),
        }));
    });
    let samples: Vec<Value> = x
        .iter()
        .map(|x| {
            let logits = q.logits(x).expect("finite");
            json!({
                "x_bits": x.map(f32::to_bits).to_vec(),
                "logits": logits.to_vec(),
                "class": q.predict(x).expect("finite"),
            })
        })
        .collect();
    let params = |p: stackprop::quant::QParams| json!({"scale_bits": p.scale().to_bits(), "zero_point": p.zero_point()});
    let doc = json!({
        "input": params(q.input()),
        "output": params(q.output()),
        "layers": layers,
        "samples": samples,
    });
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("int8_{name}.json"));
    std::fs::write(&path, doc.to_string()).expect("writes the export");
}
