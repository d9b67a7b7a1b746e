//! Draws the training curves of printed logs on one chart: the epoch lines
//! (`epoch N  train loss X  held-out loss Y  accuracy C/T`) that `digits` prints on the
//! host and `fw_digits` prints on the device.
//!
//! ```sh
//! cargo run --release --example digits > digits.log
//! cargo run --release --example fw_digits --target thumbv7em-none-eabihf > fw_digits.log
//! cargo run --release --example plot_log -- host=digits.log device=fw_digits.log digits.svg
//! ```
//!
//! Each `LABEL=LOG` becomes one run in the legend; the last argument is the SVG to write.
//! It also writes each run's numbers as CSV, next to the SVG (`digits-host.csv`, …).

use std::path::Path;
use std::process::ExitCode;

#[path = "shared/plot.rs"]
mod plot;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plot_log: {e}\nusage: plot_log LABEL=LOG [LABEL=LOG ...] OUT.svg");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (out, logs) = args.split_last().ok_or("no arguments")?;
    if logs.is_empty() || !out.ends_with(".svg") {
        return Err("give at least one LABEL=LOG and then the .svg to write".into());
    }
    let out = Path::new(out);
    let mut runs = Vec::new();
    for arg in logs {
        let (label, log) = arg
            .split_once('=')
            .ok_or_else(|| format!("`{arg}` is not LABEL=LOG"))?;
        let text = std::fs::read_to_string(log).map_err(|e| format!("{log}: {e}"))?;
        let rows = plot::parse_log(&text).map_err(|e| format!("{log}: {e}"))?;
        let csv = out.with_file_name(format!(
            "{}-{label}.csv",
            out.file_stem().and_then(|s| s.to_str()).unwrap_or("run")
        ));
        plot::write_csv(&csv, &rows)?;
        println!(
            "{label}: {} epochs from {log}, written to {}",
            rows.len(),
            csv.display()
        );
        runs.push(plot::Run {
            label: label.into(),
            rows,
        });
    }
    let mut title = "digits 64-32-10, Adam, batch 32: ".to_string()
        + &runs
            .iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
    if runs.len() > 1 && runs.iter().all(|r| r.rows == runs[0].rows) {
        title += " (every number identical)";
        println!("the runs printed identical numbers");
    }
    plot::draw_curves(out, &title, &runs)?;
    println!("chart: {}", out.display());
    Ok(())
}
