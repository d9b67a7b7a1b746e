//! Int8 inference: post-training quantisation of a trained `f32` or `f64` network, and
//! an integer-only `predict`, with the arithmetic of TensorFlow Lite Micro and CMSIS-NN.
//!
//! [`quantize`] runs the float network on calibration inputs, records the range of
//! every layer's values, and returns a [`QNet`]: int8 weights (symmetric, one scale per
//! neuron), `i32` biases, int8 activations with a zero point, and per-neuron Q31
//! multipliers with shifts. A `QNet` is fixed arrays only, so it can be a `static` in
//! flash; [`QNet::write_rust`] prints one as Rust source.
//!
//! ```
//! use stackprop::quant::{QDense, QNet, quantize};
//! use stackprop::*;
//!
//! type Net = (Dense<4, 8, Relu>, Dense<8, 3, Identity>);
//! let mut net = Net::ZERO;
//! net.init(Init::HeUniform, &mut SplitMix64::new(5));
//! let x = [[0.1_f32, 0.9, 0.3, 0.0], [0.7, 0.2, 0.5, 1.0], [0.0, 0.0, 1.0, 0.4]];
//! let q: QNet<(QDense<4, 8>, QDense<8, 3>), 4, 3> = quantize(&net, &x)?;
//! let logits = q.logits(&x[0])?; // int8
//! let real = q.dequantize(&logits); // ≈ the float network's outputs
//! assert_eq!(q.predict(&x[0])?, q.predict_q(&q.quantize_input(&x[0])?));
//!
//! let mut source = String::new();
//! q.write_rust("NET", &mut source).expect("a String takes any text");
//! assert!(source.starts_with("pub static NET: stackprop::quant::QNet<"));
//! # let _ = real;
//! # Ok::<(), Error>(())
//! ```
//!
//! # The arithmetic, exactly
//!
//! Every integer operation below is exact; "round" is to nearest with ties away from
//! zero unless said otherwise. CI checks the int8 outputs bit for bit against an
//! independent NumPy implementation of this section (`python/int8_reference.py`).
//!
//! **Real values and int8.** A tensor has a scale s > 0 (an `f32`) and a zero point
//! z ∈ [−128, 127]: real = s·(q − z). Weights have z = 0 and one scale per neuron.
//!
//! **Inputs.** A float input x (rounded to `f32` first if it is an `f64`) becomes
//! q = clamp(round(v) + z_x, −128, 127), where v = x / s_x is one IEEE `f32` division
//! (round to nearest even), clamped to [−512, 512]
//! ([`requant::quantize_f32`]). NaN or ±∞ is an error.
//!
//! **A layer** ([`QDense`]) with input zero point z_x, weights W\[i\]\[j\], biases B\[j\],
//! multipliers M\[j\], shifts S\[j\], output zero point z_y and clamp [lo, hi] computes,
//! for each neuron j:
//!
//! 1. acc = B\[j\] + Σ_i (x\[i\] − z_x)·W\[i\]\[j\], in `i32` (it cannot overflow:
//!    [`QDense::new`] refuses |B\[j\]| > 2^31 − 1 − IN·255·127);
//! 2. r = [`requantize`](requant::requantize)(acc, M\[j\], S\[j\]): with l = max(S, 0) and
//!    t = max(−S, 0), r = RDBPOT(SRDHM(sat(acc·2^l), M), t), where
//!    * SRDHM(a, b) ([`saturating_rounding_doubling_high_mul`](requant::saturating_rounding_doubling_high_mul)):
//!      ⌊(a·b + 2^30) / 2^31⌋ with a·b exact (64 bits), i.e. ties toward +∞ (gemmlowp
//!      writes it as (p + n) / 2^31 truncated, n = 2^30 for p ≥ 0, else 1 − 2^30);
//!      a = b = −2^31 gives 2^31 − 1;
//!    * RDBPOT(x, t) ([`rounding_divide_by_pot`](requant::rounding_divide_by_pot)):
//!      with m = 2^t − 1, (x >> t) + 1 if (x & m) > (m >> 1) + (1 if x < 0, else 0), else x >> t
//!      (arithmetic shift, two's complement `&`);
//!    * sat(·) saturates to the `i32` range;
//! 3. v = clamp(r + z_y, lo, hi), r + z_y saturating in `i32`;
//! 4. y\[j\] = v, or, for a layer with a [`Table`], y\[j\] = table\[v + 128\] (then lo, hi =
//!    −128, 127).
//!
//! **Outputs.** The last layer's int8 values are the logits; `predict` is the index of
//! the largest, the lowest index among equal ones. Their real values are
//! s_y·(y − z_y) ([`QNet::dequantize`]).
//!
//! # How `quantize` chooses the numbers
//!
//! These run once, in `f64`, on the host or the device (same result on both: IEEE
//! arithmetic and libm's `frexp` only); the int8 path above does not depend on them.
//!
//! * **Activation parameters** (asymmetric, per tensor) from the calibrated range
//!   [min, max] of a tensor: lo = min(min, 0), hi = max(max, 0) (hi = lo + 1 if they are
//!   equal); s = (hi − lo)/255 rounded to `f32`; z = clamp(round(−128 − lo/s), −128, 127).
//!   The network's input uses the range of the calibration inputs; each layer's output
//!   the range of its float outputs Z.
//! * **Weights** (symmetric, per neuron): s_w\[j\] = max_i |w\[i\]\[j\]| / 127 (1 if the
//!   column is zero); W\[i\]\[j\] = clamp(round(w\[i\]\[j\] / s_w\[j\]), −127, 127).
//! * **Biases**: B\[j\] = round(b\[j\] / (s_x·s_w\[j\])).
//! * **Multipliers**: M\[j\], S\[j\] = [`quantize_multiplier`](requant::quantize_multiplier)(s_x·s_w\[j\] / s_t),
//!   where s_t is the output scale s_y, or, for a table layer, the scale s_a of its
//!   pre-activations A (calibrated like an output).
//! * **Activations**: [`Identity`](crate::Identity) clamps to [−128, 127];
//!   [`Relu`](crate::Relu) to [z_y, 127], so real values below 0 become 0, fused with
//!   no extra rounding. Every other activation of the crate ([`QuantActivation`])
//!   is a 256-entry table per layer: table\[k\] = clamp(round(f(s_a·(k − 128 − z_a)) / s_y)
//!   + z_y, −128, 127), f in `f64`, as TFLite does for int8 `Logistic` and `Tanh`.
//!
//! An activation without a `QuantActivation` impl does not compile with `quantize`
//! (the compiler says "`…` has no int8 form").

mod error;
mod net;
mod qdense;
mod qlayer;
mod quantize;
pub mod requant;

pub use error::QuantError;
pub use net::{QNet, QParams};
pub use qdense::{Lookup, NoTable, QDense, QuantActivation, Table};
pub use qlayer::{QDenseView, QLayer};
pub use quantize::{Quantize, Range, quantize};
