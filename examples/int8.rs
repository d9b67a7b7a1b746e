//! Quantises the pre-trained 64-32-10 digits classifier to int8 on the host and prints
//! its held-out accuracy next to the float network's: the same lines, bit for bit, as
//! the firmware example `fw_int8` prints after quantising on the device.
//!
//! ```sh
//! cargo run --release --example int8
//! ```
//!
//! With `-- --rust FILE` it also writes the int8 network as a Rust `static`: that is
//! how `examples/data/digits_int8.rs`, which `fw_int8` compiles into flash, was made.

use std::process::ExitCode;

#[path = "shared/digits.rs"]
mod digits;
#[rustfmt::skip]
#[path = "data/digits_base.rs"]
mod digits_base;
#[path = "shared/int8.rs"]
mod int8;

fn main() -> ExitCode {
    let result = int8::quantize_digits().and_then(|q| Ok((q, int8::evaluate(&q)?)));
    let (q, report) = match result {
        Ok(done) => done,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", int8::Lines(&q, &report));
    if let Some(path) = std::env::args().skip_while(|a| a != "--rust").nth(1) {
        let mut source = String::from(
            "//! The 64-32-10 digits classifier of `digits_base.rs` in int8, written by\n\
             //! `cargo run --release --example int8 -- --rust examples/data/digits_int8.rs`.\n\n\
             /// The int8 network, in flash.\n",
        );
        let written = q.write_rust("DIGITS_INT8", &mut source);
        if let Err(e) = written
            .map_err(std::io::Error::other)
            .and_then(|()| std::fs::write(&path, source))
        {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "int8 accuracy {:.2} % is more than {} points below f32 {:.2} %",
            100.0 * report.accuracy_int8(),
            100.0 * int8::MAX_ACCURACY_LOSS,
            100.0 * report.accuracy_f32()
        );
        ExitCode::FAILURE
    }
}
