//! Trains the 64-32-10 handwritten-digits classifier on the host: the same run, with
//! the same seed and the same numbers, as the firmware example `fw_digits`.
//!
//! ```sh
//! cargo run --release --example digits
//! ```
//!
//! It writes its per-epoch loss and accuracy to `target/plots/digits.csv` and draws
//! them in `target/plots/digits.svg`.
//!
//! With `-- --export FILE` it also writes the trained weights as Rust `const`s: that is
//! how `examples/data/digits_base.rs`, the pre-trained network that the fine-tuning
//! examples start from, was made.

use std::fmt::Write as _;
use std::process::ExitCode;

#[path = "shared/digits.rs"]
mod digits;
#[path = "shared/plot.rs"]
mod plot;

use digits::{DigitsTrainer, EPOCHS, N, REQUIRED_ACCURACY, SEED};
use stackprop::{Layer, Zero};

fn main() -> ExitCode {
    let memory = DigitsTrainer::FOOTPRINT;
    println!(
        "digits 64-32-10 relu, softmax CE, Adam, batch {N}, seed {SEED}, {EPOCHS} epochs: \
         trainer {} bytes",
        memory.total()
    );
    // 70 KB: on the heap here, in a static on the device.
    let mut trainer = Box::new(DigitsTrainer::ZERO);
    let mut rows = Vec::new();
    let result = digits::train(&mut trainer, |e| {
        println!("{e}");
        rows.push(plot::Row {
            epoch: e.number as u32,
            train_loss: e.train_loss.into(),
            held_out_loss: e.held_out.loss.into(),
            accuracy: e.held_out.accuracy(),
        });
    });
    if let Err(e) = draw(rows) {
        eprintln!("cannot write the training curve: {e}");
        return ExitCode::FAILURE;
    }
    let export = std::env::args().skip_while(|a| a != "--export").nth(1);
    match result {
        Ok(last) if last.held_out.accuracy() >= REQUIRED_ACCURACY => {
            println!("held-out accuracy {} %", 100.0 * last.held_out.accuracy());
            match export.map(|path| std::fs::write(&path, rust_consts(&trainer.net))) {
                Some(Err(e)) => {
                    eprintln!("cannot write the weights: {e}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Ok(last) => {
            eprintln!(
                "held-out accuracy {:.2} % is below {:.0} %",
                100.0 * last.held_out.accuracy(),
                100.0 * REQUIRED_ACCURACY
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The training curve as CSV and SVG in `target/plots/`.
fn draw(rows: Vec<plot::Row>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = plot::out_dir()?;
    plot::write_csv(&dir.join("digits.csv"), &rows)?;
    let title = "digits 64-32-10, Adam, batch 32 (host)";
    let run = plot::Run {
        label: "host".into(),
        rows,
    };
    plot::draw_curves(&dir.join("digits.svg"), title, &[run])?;
    println!("training curve: {}", dir.join("digits.svg").display());
    Ok(())
}

/// The network's parameters as Rust source: one `const` per tensor, every float written
/// in its shortest exact form, so the compiled constants equal the trained values.
fn rust_consts(net: &digits::Net) -> String {
    let mut out = String::from(
        "//! The 64-32-10 digits classifier trained on the host, written by\n\
         //! `cargo run --release --example digits -- --export examples/data/digits_base.rs`.\n\n",
    );
    let names = ["HIDDEN_W", "HIDDEN_B", "OUTPUT_W", "OUTPUT_B"];
    let types = [
        "[[f32; 32]; 64]",
        "[f32; 32]",
        "[[f32; 10]; 32]",
        "[f32; 10]",
    ];
    let docs = [
        "The hidden layer's weights, `w[input][neuron]`.",
        "The hidden layer's biases.",
        "The output layer's weights, `w[input][neuron]`.",
        "The output layer's biases.",
    ];
    let widths = [32, 32, 10, 10];
    let tensors = net.params().zip(names).zip(types).zip(docs).zip(widths);
    for ((((values, name), ty), doc), width) in tensors {
        let _ = writeln!(out, "/// {doc}\npub const {name}: {ty} = [");
        let rows = values.chunks(width);
        let nested = values.len() > width;
        for row in rows {
            let items: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
            if nested {
                let _ = writeln!(out, "    [{}],", items.join(", "));
            } else {
                let _ = writeln!(out, "    {},", items.join(", "));
            }
        }
        out.push_str("];\n");
    }
    out
}
