//! Firmware: int8 inference of the digits classifier on a Cortex-M4F. Quantises the
//! 64-32-10 network pre-trained on the host (`examples/data/digits_base.rs`) on the
//! device, with the training images read from flash as calibration data, checks that
//! the result is bit for bit the `static` the host wrote (`examples/data/digits_int8.rs`),
//! prints the held-out accuracy in `f32` and in int8, the bytes of the int8 network and
//! the instructions of a prediction, and fails unless int8 is within half a point of
//! `f32`. The host example `int8` prints the same `int8` lines. Runs in QEMU:
//!
//! ```sh
//! cargo run --release --example fw_int8 --target thumbv7em-none-eabihf
//! ```

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
#[path = "shared/firmware.rs"]
mod firmware;

#[cfg(target_os = "none")]
#[path = "shared/digits.rs"]
mod digits;

#[cfg(target_os = "none")]
#[rustfmt::skip]
#[path = "data/digits_base.rs"]
mod digits_base;

#[cfg(target_os = "none")]
#[rustfmt::skip]
#[path = "data/digits_int8.rs"]
mod digits_int8;

#[cfg(target_os = "none")]
#[path = "shared/int8.rs"]
mod int8;

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::hprintln;
    use panic_semihosting as _;
    use stackprop::*;

    use crate::digits::{Digits, Split};
    use crate::digits_int8::DIGITS_INT8;
    use crate::firmware;
    use crate::int8::{self, Lines, QDigits};

    #[entry]
    fn main() -> ! {
        firmware::start_counter();
        let ok = match run() {
            Ok(ok) => ok,
            Err(e) => {
                hprintln!("error: {}", e);
                false
            }
        };
        firmware::exit(ok)
    }

    fn run() -> Result<bool, Error> {
        hprintln!("digits 64-32-10 classifier (pre-trained on the host) in int8");
        let (q, quantize_instructions) = firmware::instructions(int8::quantize_digits);
        let q = q?;
        let same = q == DIGITS_INT8;
        hprintln!(
            "quantised on the device in {} instructions (calibration: {} training images); \
             identical to the static the host wrote: {}",
            quantize_instructions,
            Digits::new(Split::Train).len(),
            same
        );
        let report = int8::evaluate(&q)?;
        hprintln!("{}", Lines(&q, &report));
        hprintln!(
            "held-out accuracy: f32 {} %, int8 {} %",
            100.0 * report.accuracy_f32(),
            100.0 * report.accuracy_int8()
        );
        measure(&DIGITS_INT8)?;
        let ok = same && report.ok();
        if !ok {
            hprintln!("int8 is not within the required accuracy, or differs from the host's");
        }
        Ok(ok)
    }

    /// Instructions and stack of predictions with the network in flash.
    fn measure(q: &'static QDigits) -> Result<(), Error> {
        let held_out = Digits::new(Split::HeldOut);
        let (mut min, mut max, mut sum, mut n) = (u64::MAX, 0, 0, 0);
        for i in 0..held_out.len() {
            let Some((x, _)) = int8::sample(&held_out, i) else {
                continue;
            };
            let xq = q.quantize_input(&x)?;
            let (_, count) = firmware::instructions(|| q.predict_q(&xq));
            (min, max, sum, n) = (min.min(count), max.max(count), sum + count, n + 1);
        }
        let (x, _) = int8::sample(&held_out, 0).ok_or(Error::EmptyDataset)?;
        let xq = q.quantize_input(&x)?;
        let (_, dense_count) = firmware::instructions(|| q.predict_q(&[0x7f; 64]));
        let (class, float_input) = firmware::instructions(|| q.predict(&x));
        class?;
        let (_, stack) = firmware::stack_use(|| q.predict_q(&xq));
        let (_, f32_count) = firmware::instructions(|| int8::predict_f32(&x));
        hprintln!(
            "quantised network in flash: {} B (f32 parameters: {} B)",
            QDigits::BYTES,
            4 * (64 * 32 + 32 + 32 * 10 + 10)
        );
        hprintln!(
            "instructions per int8 predict (int8 input), held-out images: mean {}, min {}, max {}; \
             no zero input: {}",
            sum / n.max(1),
            min,
            max,
            dense_count
        );
        hprintln!(
            "instructions per int8 predict from f32 input (quantising it too): {} (image 0); \
             per f32 predict: {}",
            float_input,
            f32_count
        );
        hprintln!("stack of an int8 predict: {} B", stack);
        hprintln!("flash (code + constants): {} B", firmware::flash_bytes());
        Ok(())
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_int8 is firmware: cargo run --release --example fw_int8 --target thumbv7em-none-eabihf"
    );
}
