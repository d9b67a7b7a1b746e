//! Import checks every name, dtype, shape and width, and refuses what stackprop cannot
//! express with a message that names the tensor; export writes what PyTorch loads.

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use stackprop::persist::Architecture;
use stackprop::{Dense, Identity, Relu, Tanh, Zero};
use stackprop_torch_bridge::error::BridgeError;
use stackprop_torch_bridge::net::Scalar;
use stackprop_torch_bridge::record;
use stackprop_torch_bridge::spec::Act;
use stackprop_torch_bridge::torch::{self, bf16_to_f64, f16_to_f64};

/// A tensor of `f32` values (or raw bytes of another dtype).
struct T(&'static str, Dtype, Vec<usize>, Vec<u8>);

fn f32s(name: &'static str, shape: &[usize], vals: &[f32]) -> T {
    T(
        name,
        Dtype::F32,
        shape.to_vec(),
        vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )
}

fn file(tensors: &[T]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|T(n, d, s, b)| {
            (
                (*n).to_owned(),
                TensorView::new(*d, s.clone(), b).expect("sizes agree"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serializable")
}

/// Linear(2, 3) + ReLU, Linear(3, 1): weights [out, in].
fn good() -> Vec<T> {
    vec![
        f32s("0.weight", &[3, 2], &[1., 2., 3., 4., 5., 6.]),
        f32s("0.bias", &[3], &[0.5, -0.5, 0.25]),
        f32s("2.weight", &[1, 3], &[7., 8., 9.]),
    ]
}

const ACTS: [Act; 2] = [Act::Relu, Act::Identity];

fn refuse(tensors: &[T], acts: &[Act]) -> String {
    torch::import(&file(tensors), acts, None)
        .expect_err("refused")
        .to_string()
}

#[test]
fn a_state_dict_becomes_a_record_the_crate_loads() {
    let imported = torch::import(&file(&good()), &ACTS, None).expect("valid");
    assert!(imported.notes.is_empty());
    assert_eq!(imported.names, ["0.weight", "2.weight"]);
    let bytes = record::write_params(&imported.net).expect("finite");
    type Net = (
        Dense<2, 3, Relu>,
        Dense<3, 1, Identity, f32, stackprop::NoBias>,
    );
    let mut net = Net::ZERO;
    net.load_params(&bytes).expect("accepted");
    // W^0[i][j] is torch's weight[j][i].
    assert_eq!(net.0.w, [[1., 3., 5.], [2., 4., 6.]]);
    assert_eq!(net.0.b, [0.5, -0.5, 0.25]);
    assert_eq!(net.1.w, [[7.], [8.], [9.]]);
    // The wrong network refuses it: a bias where the file has none.
    let mut other = <(Dense<2, 3, Relu>, Dense<3, 1, Tanh>)>::ZERO;
    assert!(other.load_params(&bytes).is_err());
}

#[test]
fn every_problem_is_named() {
    let mut t = good();
    t.push(f32s("1.running_mean", &[3], &[0.; 3]));
    let e = refuse(&t, &ACTS);
    assert!(
        e.contains("`1.running_mean`") && e.contains("nn.Linear layers only"),
        "{e}"
    );

    let mut t = good();
    t[0] = T("0.weight", Dtype::I32, vec![3, 2], vec![0; 24]);
    let e = refuse(&t, &ACTS);
    assert!(e.contains("`0.weight` has dtype I32"), "{e}");

    let mut t = good();
    t[0] = f32s("0.weight", &[3, 2, 1], &[1., 2., 3., 4., 5., 6.]);
    let e = refuse(&t, &ACTS);
    assert!(
        e.contains("`0.weight` has shape [3, 2, 1]") && e.contains("2 dimensions"),
        "{e}"
    );

    let mut t = good();
    t[1] = f32s("0.bias", &[2], &[0.5, -0.5]);
    let e = refuse(&t, &ACTS);
    assert!(e.contains("`0.bias` has shape [2]; expected [3]"), "{e}");

    let mut t = good();
    t[2] = f32s("2.weight", &[1, 4], &[7., 8., 9., 10.]);
    let e = refuse(&t, &ACTS);
    assert!(
        e.contains("`2.weight` takes 4 inputs but the layer before gives 3"),
        "{e}"
    );

    let mut t = good();
    t[1] = f32s("0.bias", &[3], &[0.5, f32::NAN, 0.25]);
    let e = refuse(&t, &ACTS);
    assert!(
        e.contains("`0.bias` holds a NaN or infinite value at flat index 1"),
        "{e}"
    );

    let mut t = good();
    t.remove(0);
    let e = refuse(&t, &ACTS);
    assert!(e.contains("`0.bias`: a bias without the weight"), "{e}");

    let e = refuse(&good(), &[Act::Relu]);
    assert!(e.contains("2 nn.Linear layers but 1 activations"), "{e}");

    let mut t = good();
    t[2] = f32s("head.2.weight", &[1, 3], &[7., 8., 9.]);
    let e = refuse(&t, &ACTS);
    assert!(e.contains("prefix"), "{e}");

    let mut t = good();
    t[2] = f32s("fc.weight", &[1, 3], &[7., 8., 9.]);
    let e = refuse(&t, &ACTS);
    assert!(
        e.contains("`fc.weight`") && e.contains("not numbered"),
        "{e}"
    );

    let e = torch::import(b"not a safetensors file", &ACTS, None)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("not a valid .safetensors file"), "{e}");
}

#[test]
fn gaps_and_prefixes_are_fine_on_import() {
    // nn.Sequential(Linear, ReLU, Dropout, Linear) inside a module called `net`.
    let t = vec![
        f32s("net.0.weight", &[3, 2], &[1., 2., 3., 4., 5., 6.]),
        f32s("net.0.bias", &[3], &[0.5, -0.5, 0.25]),
        f32s("net.3.weight", &[1, 3], &[7., 8., 9.]),
    ];
    let imported = torch::import(&file(&t), &ACTS, None).expect("valid");
    assert_eq!(imported.names, ["net.0.weight", "net.3.weight"]);
    // Module 10 comes after module 2, not before it.
    let t = vec![
        f32s("10.weight", &[1, 3], &[7., 8., 9.]),
        f32s("2.weight", &[3, 2], &[1., 2., 3., 4., 5., 6.]),
    ];
    let imported = torch::import(&file(&t), &ACTS, None).expect("valid");
    assert_eq!(imported.names, ["2.weight", "10.weight"]);
}

#[test]
fn half_precision_widens_exactly() {
    assert_eq!(f16_to_f64(0x3C00), 1.0);
    assert_eq!(f16_to_f64(0xC000), -2.0);
    assert_eq!(f16_to_f64(0x7BFF), 65504.0);
    assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
    assert_eq!(f16_to_f64(0x3555), 0.333_251_953_125);
    assert!(f16_to_f64(0x7C00).is_infinite() && f16_to_f64(0x7E00).is_nan());
    assert_eq!(bf16_to_f64(0x3F80), 1.0);
    assert_eq!(bf16_to_f64(0xC0A0), -5.0);
    // Every f16 value is an f32 value: widening loses nothing.
    for bits in (0..=0xFFFFu16).filter(|b| b & 0x7C00 != 0x7C00) {
        let x = f16_to_f64(bits);
        assert_eq!(f64::from(x as f32), x, "{bits:#06x}");
    }

    let half: Vec<u8> = [0x3C00u16, 0x3555, 0xC000, 0x0001, 0x7BFF, 0x8000]
        .iter()
        .flat_map(|b| b.to_le_bytes())
        .collect();
    let t = vec![T("0.weight", Dtype::F16, vec![3, 2], half)];
    let imported = torch::import(&file(&t), &[Act::Tanh], None).expect("valid");
    assert_eq!(imported.net.scalar, Scalar::F32);
    assert_eq!(
        imported.notes,
        ["widened 6 F16/BF16 values to f32 (exactly)"]
    );
    // Torch's rows [1, 1/3], [-2, 2^-24], [65504, -0], transposed.
    assert_eq!(
        imported.net.layers[0].w,
        [1.0, -2.0, 65504.0, 0.333_251_953_125, 2f64.powi(-24), -0.0]
    );
    let inf: Vec<u8> = [0x3C00u16, 0x7C00]
        .iter()
        .flat_map(|b| b.to_le_bytes())
        .collect();
    let t = vec![T("0.weight", Dtype::F16, vec![1, 2], inf)];
    let e = refuse(&t, &[Act::Tanh]);
    assert!(e.contains("flat index 1"), "{e}");
}

#[test]
fn f64_becomes_f32_only_when_asked_and_says_so() {
    let vals = [0.1f64, 0.5, -0.25];
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = vec![T("0.weight", Dtype::F64, vec![1, 3], bytes)];
    let imported = torch::import(&file(&t), &[Act::Identity], None).expect("valid");
    assert_eq!(imported.net.scalar, Scalar::F64);
    assert_eq!(imported.net.layers[0].w, vals);
    let imported = torch::import(&file(&t), &[Act::Identity], Some(Scalar::F32)).expect("valid");
    assert_eq!(imported.net.scalar, Scalar::F32);
    assert_eq!(imported.net.layers[0].w, [f64::from(0.1f32), 0.5, -0.25]);
    assert_eq!(
        imported.notes,
        ["rounded F64 values to f32: 1 of 3 changed"]
    );
    // Out of f32's range: refused rather than made infinite.
    let bytes: Vec<u8> = [1e300f64].iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = vec![T("0.weight", Dtype::F64, vec![1, 1], bytes)];
    let err = torch::import(&file(&t), &[Act::Identity], Some(Scalar::F32)).expect_err("refused");
    assert!(matches!(err, BridgeError::NonFinite { .. }), "{err}");
}

#[test]
fn export_writes_torch_names_and_layout() {
    let imported = torch::import(&file(&good()), &ACTS, None).expect("valid");
    let acts = [Act::Tanh, Act::Identity];
    let bytes = torch::export(&imported.net, &acts, "").expect("one activation per layer");
    let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(names, ["0.bias", "0.weight", "2.weight"]);
    let w = st.tensor("0.weight").expect("present");
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[3usize, 2][..]));
    let back: Vec<f32> = w
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    assert_eq!(back, [1., 2., 3., 4., 5., 6.]);
    let (_, meta) = SafeTensors::read_metadata(&bytes).expect("valid");
    let meta = meta.metadata().clone().expect("metadata");
    assert_eq!(meta["stackprop.layers"], "tanh,identity");
    assert_eq!(meta["format"], "pt");
    // Import of the export is the same network.
    let again = torch::import(&bytes, &acts, None).expect("valid");
    assert_eq!(again.net, imported.net);
    assert_eq!(
        torch::sequential_source(&imported.net, &acts),
        "nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1, bias=False))"
    );
    assert!(matches!(
        torch::export(&imported.net, &[Act::Tanh], ""),
        Err(BridgeError::LayerCount {
            layers: 2,
            activations: 1
        })
    ));
    // With a prefix, for a model that holds the nn.Sequential as `net`.
    let bytes = torch::export(&imported.net, &acts, "net.").expect("valid");
    let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
    assert!(st.tensor("net.2.weight").is_ok());
}
