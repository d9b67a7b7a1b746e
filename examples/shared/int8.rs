//! Int8 inference of the digits classifier: the 64-32-10 network trained on the host
//! (`examples/data/digits_base.rs`) quantised with the training images as calibration
//! data, and its held-out accuracy in `f32` and in int8. Shared by the host example
//! `int8` and the firmware example `fw_int8`, which print the same lines.

#![allow(dead_code)] // each example uses a different part

use stackprop::quant::{QDense, QDenseView, QLayer, QNet, quantize};
use stackprop::*;

use crate::digits::{Class, Digits, Image, Split};
use crate::digits_base::{HIDDEN_B, HIDDEN_W, OUTPUT_B, OUTPUT_W};

/// The float network.
pub type Net = (Dense<64, 32, Relu>, Dense<32, 10, Identity>);
/// Its int8 form.
pub type QDigits = QNet<(QDense<64, 32>, QDense<32, 10>), 64, 10>;
/// The pre-trained float network, in flash.
pub static NET: Net = (
    Dense::new(HIDDEN_W, HIDDEN_B),
    Dense::new(OUTPUT_W, OUTPUT_B),
);
/// The run fails if int8 loses more than this much held-out accuracy.
pub const MAX_ACCURACY_LOSS: f64 = 0.005;

/// The training images, decoded one at a time: the calibration data.
pub fn calibration() -> impl Iterator<Item = Image> {
    let train = Digits::new(Split::Train);
    (0..train.len()).filter_map(move |i| sample(&train, i).map(|(x, _)| x))
}

/// Image `i` of `data` and its class.
pub fn sample(data: &Digits, i: usize) -> Option<(Image, usize)> {
    let (mut x, mut t): (Image, Class) = ([0.0; 64], [0.0; 10]);
    data.load(i, &mut x, &mut t).ok()?;
    Some((x, argmax(&t)))
}

/// Quantises [`NET`] with every training image as calibration data.
pub fn quantize_digits() -> Result<QDigits, Error> {
    quantize(&NET, calibration())
}

/// The float network's class for `x`.
pub fn predict_f32(x: &Image) -> usize {
    let mut cache = <CacheOf<Net, 1>>::ZERO;
    NET.forward(core::array::from_ref(x), &mut cache);
    argmax(&Net::output(&cache)[0])
}

/// Held-out results, the same on the host and the device.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    /// Held-out images.
    pub total: usize,
    /// Classified right by the float network.
    pub correct_f32: usize,
    /// Classified right by the int8 network.
    pub correct_int8: usize,
    /// Images where the two networks disagree.
    pub disagree: usize,
    /// FNV-1a of every int8 logit of the held-out images, in order.
    pub logits_hash: u32,
}

impl Report {
    /// Float accuracy in [0, 1].
    pub fn accuracy_f32(&self) -> f64 {
        self.correct_f32 as f64 / self.total.max(1) as f64
    }
    /// Int8 accuracy in [0, 1].
    pub fn accuracy_int8(&self) -> f64 {
        self.correct_int8 as f64 / self.total.max(1) as f64
    }
    /// `true` if int8 is within [`MAX_ACCURACY_LOSS`] of float.
    pub fn ok(&self) -> bool {
        self.accuracy_int8() >= self.accuracy_f32() - MAX_ACCURACY_LOSS
    }
}

/// Runs both networks on every held-out image.
pub fn evaluate(q: &QDigits) -> Result<Report, Error> {
    let held_out = Digits::new(Split::HeldOut);
    let mut r = Report {
        logits_hash: FNV_OFFSET,
        ..Report::default()
    };
    for i in 0..held_out.len() {
        let (x, class) = sample(&held_out, i).ok_or(Error::IndexOutOfRange {
            index: i,
            len: held_out.len(),
        })?;
        let logits = q.logits(&x)?;
        let int8 = argmax(&logits);
        let f32_class = predict_f32(&x);
        r.total += 1;
        r.correct_f32 += usize::from(f32_class == class);
        r.correct_int8 += usize::from(int8 == class);
        r.disagree += usize::from(f32_class != int8);
        r.logits_hash = fnv(r.logits_hash, logits.iter().map(|&v| v as u8));
    }
    Ok(r)
}

/// FNV-1a of every parameter of `q`, layer by layer: equal on two machines only if the
/// networks are bit for bit the same.
pub fn network_hash(q: &QDigits) -> u32 {
    let mut h = fnv(FNV_OFFSET, q.input().scale().to_le_bytes());
    h = fnv(h, [q.input().zero_point() as u8]);
    q.layers().visit(&mut |l: QDenseView<'_>| {
        h = fnv(h, l.weights.iter().map(|&v| v as u8));
        h = fnv(h, l.bias.iter().flat_map(|v| v.to_le_bytes()));
        h = fnv(h, l.multiplier.iter().flat_map(|v| v.to_le_bytes()));
        h = fnv(h, l.shift.iter().map(|&v| v as u8));
        let zs = [l.input_zero_point, l.output_zero_point, l.min, l.max];
        h = fnv(h, zs.map(|v| v as u8));
    });
    h = fnv(h, q.output().scale().to_le_bytes());
    fnv(h, [q.output().zero_point() as u8])
}

/// The lines both examples print, for CI to compare.
pub struct Lines<'a>(pub &'a QDigits, pub &'a Report);

impl core::fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Lines(q, r) = self;
        writeln!(f, "int8 network hash {:08x}", network_hash(q))?;
        writeln!(f, "int8 held-out logits hash {:08x}", r.logits_hash)?;
        writeln!(
            f,
            "int8 held-out accuracy {}/{} (f32 {}/{}, {} images classified differently)",
            r.correct_int8, r.total, r.correct_f32, r.total, r.disagree
        )?;
        write!(f, "int8 network bytes {}", QDigits::BYTES)
    }
}

const FNV_OFFSET: u32 = 0x811c_9dc5;

fn fnv(mut h: u32, bytes: impl IntoIterator<Item = u8>) -> u32 {
    for b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// The index of the largest value, the lowest among equal ones.
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best = 0;
    for (k, v) in row.iter().enumerate() {
        if row.get(best).is_some_and(|b| v > b) {
            best = k;
        }
    }
    best
}
