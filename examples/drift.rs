//! Continual learning under sensor drift, on the host: the same run, with the same
//! numbers, as the firmware example `fw_drift`; also writes the per-day figures as
//! CSV and draws them as an SVG.
//!
//! ```sh
//! cargo run --release --example drift -- target/drift
//! ```

use std::process::ExitCode;

#[path = "shared/digits.rs"]
mod digits;
#[rustfmt::skip]
#[path = "data/digits_base.rs"]
mod digits_base;
#[path = "shared/drift.rs"]
mod drift;

use drift::{CHECKPOINT_LEN, Day, Drift, RESET_AFTER, SimFlash};

fn main() -> ExitCode {
    let out = std::env::args().nth(1);
    let mut state = Box::new(Drift::START);
    let mut flash = Box::new(SimFlash::ERASED);
    let mut scratch = Box::new([0u8; CHECKPOINT_LEN]);
    let mut days = Vec::new();
    let result = drift::run(
        &mut state,
        &mut flash,
        &mut scratch,
        Some(RESET_AFTER),
        |d| {
            println!("{d}");
            days.push(*d);
        },
    );
    let (start, last) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("reset after day {RESET_AFTER}: resumed from the checkpoint in flash");
    if let Some(dir) = out
        && let Err(e) = write_outputs(std::path::Path::new(&dir), &days)
    {
        eprintln!("error writing {dir}: {e}");
        return ExitCode::FAILURE;
    }
    summary(&start, &last);
    if Drift::goals_met(&start, &last) {
        ExitCode::SUCCESS
    } else {
        eprintln!("replay missed its goals");
        ExitCode::FAILURE
    }
}

fn summary(start: &Day, last: &Day) {
    for (name, s0, s) in [
        ("frozen", &start.frozen, &last.frozen),
        ("naive", &start.naive, &last.naive),
        ("replay", &start.replay, &last.replay),
    ] {
        println!(
            "{name}: old sensor {:.1} % -> {:.1} %, drifted sensor {:.1} % -> {:.1} %",
            100.0 * s0.old.accuracy(),
            100.0 * s.old.accuracy(),
            100.0 * s0.new.accuracy(),
            100.0 * s.new.accuracy()
        );
    }
}

/// `drift.csv` (accuracies in % per day) and `drift.svg` (the same, drawn) in `dir`.
fn write_outputs(dir: &std::path::Path, days: &[Day]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let pct = |e: &stackprop::Evaluation<f32>| 100.0 * e.accuracy();
    let mut csv =
        String::from("day,frozen_old,frozen_new,naive_old,naive_new,replay_old,replay_new\n");
    for d in days {
        csv += &format!(
            "{},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2}\n",
            d.day,
            pct(&d.frozen.old),
            pct(&d.frozen.new),
            pct(&d.naive.old),
            pct(&d.naive.new),
            pct(&d.replay.old),
            pct(&d.replay.new)
        );
    }
    std::fs::write(dir.join("drift.csv"), csv)?;
    std::fs::write(dir.join("drift.svg"), svg(days))
}

/// A variant's name, colour, and (old, today's) accuracy of a day.
type Series = (&'static str, &'static str, fn(&Day) -> (f64, f64));

/// A line chart of held-out accuracy per day: solid for today's sensor, dashed for
/// the old one; one colour per variant.
fn svg(days: &[Day]) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 420.0, 60.0, 200.0, 40.0, 50.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let (y_min, y_max) = (30.0, 100.0);
    let x = |day: usize| left + pw * day as f64 / drift::DAYS as f64;
    let y = |pct: f64| top + ph * (y_max - pct.clamp(y_min, y_max)) / (y_max - y_min);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\
         Held-out accuracy as the sensor drifts (digits 64-32-10)</text>\n",
        left + pw / 2.0
    );
    for pct in (30..=100).step_by(10) {
        let yy = y(f64::from(pct));
        s += &format!(
            "<line x1=\"{left}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{pct} %</text>\n",
            left + pw,
            left - 6.0,
            yy + 4.0
        );
    }
    for day in (0..=drift::DAYS).step_by(5) {
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{day}</text>\n",
            x(day),
            top + ph + 18.0
        );
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">day (contrast fades to 40 %, \
         black rises to 35 % grey)</text>\n\
         <rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#444\"/>\n",
        left + pw / 2.0,
        h - 12.0
    );
    let series: [Series; 3] = [
        ("frozen", "#888888", |d| {
            (d.frozen.old.accuracy(), d.frozen.new.accuracy())
        }),
        ("naive", "#d62728", |d| {
            (d.naive.old.accuracy(), d.naive.new.accuracy())
        }),
        ("replay", "#1f77b4", |d| {
            (d.replay.old.accuracy(), d.replay.new.accuracy())
        }),
    ];
    for (i, (name, colour, get)) in series.iter().enumerate() {
        for (old, dash, label) in [
            (false, "", "today's sensor"),
            (true, " stroke-dasharray=\"6 4\"", "old sensor"),
        ] {
            let points: Vec<String> = days
                .iter()
                .map(|d| {
                    let (o, n) = get(d);
                    format!("{:.1},{:.1}", x(d.day), y(100.0 * if old { o } else { n }))
                })
                .collect();
            s += &format!(
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} points=\"{}\"/>\n",
                points.join(" ")
            );
            let ly = top + 10.0 + 36.0 * i as f64 + if old { 16.0 } else { 0.0 };
            let lx = left + pw + 12.0;
            s += &format!(
                "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
                 <text x=\"{}\" y=\"{}\">{name}, {label}</text>\n",
                lx + 24.0,
                lx + 30.0,
                ly + 4.0
            );
        }
    }
    s + "</svg>\n"
}
