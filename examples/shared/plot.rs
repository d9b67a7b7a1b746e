//! Training curves as CSV and SVG for the host examples (`digits`, `spirals`) and the
//! `plot_log` tool: per-epoch loss and accuracy, one or more runs on one chart.

#![allow(dead_code)] // each example uses a different part

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// From 1.
    pub epoch: u32,
    /// The mean training loss of the epoch.
    pub train_loss: f64,
    /// The loss on the held-out samples after the epoch.
    pub held_out_loss: f64,
    /// The held-out accuracy after the epoch, in [0, 1].
    pub accuracy: f64,
}

/// A training run: its rows and how the chart's legend names it.
pub struct Run {
    pub label: String,
    pub rows: Vec<Row>,
}

/// Where the examples write their CSV and SVG files: `target/plots/`.
pub fn out_dir() -> std::io::Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Writes `rows` as CSV with a header line; floats in their shortest exact form.
pub fn write_csv(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let mut out = String::from("epoch,train_loss,held_out_loss,held_out_accuracy\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            r.epoch, r.train_loss, r.held_out_loss, r.accuracy
        );
    }
    std::fs::write(path, out)
}

/// Reads the epoch lines of a printed training log (`digits`, `fw_digits`):
/// `epoch N  train loss X  held-out loss Y  accuracy C/T`, with anything after.
pub fn parse_log(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if !line.starts_with("epoch ") {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: {line}", number + 1);
        let t: Vec<&str> = line.split_whitespace().collect();
        let shape = [
            (2, "train"),
            (3, "loss"),
            (5, "held-out"),
            (6, "loss"),
            (8, "accuracy"),
        ];
        if t.len() < 10 || shape.iter().any(|&(i, word)| t[i] != word) {
            return Err(bad(
                "not `epoch N  train loss X  held-out loss Y  accuracy C/T`",
            ));
        }
        let (correct, total) = t[9].split_once('/').ok_or_else(|| bad("accuracy"))?;
        let correct: f64 = correct.parse().map_err(|_| bad("accuracy"))?;
        let total: f64 = total.parse().map_err(|_| bad("accuracy"))?;
        let row = Row {
            epoch: t[1].parse().map_err(|_| bad("epoch"))?,
            train_loss: t[4].parse().map_err(|_| bad("train loss"))?,
            held_out_loss: t[7].parse().map_err(|_| bad("held-out loss"))?,
            accuracy: correct / total,
        };
        if total <= 0.0 || !(row.train_loss.is_finite() && row.held_out_loss.is_finite()) {
            return Err(bad("a value out of range"));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err("no `epoch …` lines".into());
    }
    Ok(rows)
}

/// Run `i`'s line style among `runs`: alone, a plain line; with others, the first run
/// wide and pale and the next ones thin and dark with a dot per epoch, so that runs that
/// coincide stay visible on top of each other.
fn style(color: RGBColor, run: usize, runs: usize) -> (ShapeStyle, Option<ShapeStyle>) {
    match (run, runs) {
        (_, 1) => (color.stroke_width(2), None),
        (0, _) => (color.mix(0.35).stroke_width(7), None),
        _ => (color.stroke_width(1), Some(color.filled())),
    }
}

/// `what`, followed by the run's label when there are several runs.
fn name(what: &str, run: &Run, runs: usize) -> String {
    if runs == 1 {
        what.to_string()
    } else {
        format!("{what} ({})", run.label)
    }
}

/// Ticks of a log-scale axis: 1, 2 and 5 times the powers of ten within `low..high`.
fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(low.log10().floor());
    while decade <= high {
        for m in [1.0, 2.0, 5.0] {
            let t = m * decade;
            if (low..=high).contains(&t) {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const HELD_OUT: RGBColor = RGBColor(214, 39, 40);

/// Draws the runs' losses (log scale, left) and held-out accuracy (right) per epoch.
pub fn draw_curves(path: &Path, title: &str, runs: &[Run]) -> Result<(), Box<dyn Error>> {
    let rows = || runs.iter().flat_map(|r| &r.rows);
    let last = rows().map(|r| r.epoch).max().ok_or("no rows to draw")?;
    let losses = || rows().flat_map(|r| [r.train_loss, r.held_out_loss]);
    let low = losses().fold(f64::INFINITY, f64::min).max(1e-6);
    let high = losses().fold(0.0, f64::max).max(low * 10.0);
    let acc_low = rows().map(|r| r.accuracy).fold(1.0, f64::min);

    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(500);
    let x = 0.0..f64::from(last) + 0.5;

    let mut loss = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(
            x.clone(),
            (low * 0.8..high * 1.25)
                .log_scale()
                .with_key_points(log_ticks(low * 0.8, high * 1.25)),
        )?;
    loss.configure_mesh()
        .light_line_style(WHITE)
        .x_desc("epoch")
        .y_desc("loss (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;
    for (i, run) in runs.iter().enumerate() {
        for (color, what, value) in [
            (
                TRAIN,
                "train loss",
                (|r: &Row| r.train_loss) as fn(&Row) -> f64,
            ),
            (HELD_OUT, "held-out loss", |r: &Row| r.held_out_loss),
        ] {
            let points: Vec<(f64, f64)> = run
                .rows
                .iter()
                .map(|r| (f64::from(r.epoch), value(r)))
                .collect();
            let (line, dot) = style(color, i, runs.len());
            loss.draw_series(LineSeries::new(points.clone(), line))?
                .label(name(what, run, runs.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
            if let Some(dot) = dot {
                loss.draw_series(points.iter().map(|&p| Circle::new(p, 2, dot)))?;
            }
        }
    }
    loss.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;

    let bottom = (acc_low - 0.05).clamp(0.0, 0.95);
    let mut acc = ChartBuilder::on(&right)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x, bottom * 100.0..100.5)?;
    acc.configure_mesh()
        .light_line_style(WHITE)
        .x_desc("epoch")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("held-out accuracy (%)")
        .draw()?;
    for (i, run) in runs.iter().enumerate() {
        let points: Vec<(f64, f64)> = run
            .rows
            .iter()
            .map(|r| (f64::from(r.epoch), 100.0 * r.accuracy))
            .collect();
        let (line, dot) = style(HELD_OUT, i, runs.len());
        acc.draw_series(LineSeries::new(points.clone(), line))?
            .label(name("held-out accuracy", run, runs.len()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
        if let Some(dot) = dot {
            acc.draw_series(points.iter().map(|&p| Circle::new(p, 2, dot)))?;
        }
    }
    acc.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Class colours: pale for the regions, full for the samples.
const CLASS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// Draws the class a classifier gives each cell of a square grid over `[-r, r]²`
/// (`classes[row][column]`, row 0 at the bottom) and the samples on top.
pub fn draw_boundary(
    path: &Path,
    title: &str,
    r: f64,
    classes: &[Vec<usize>],
    samples: &[([f32; 2], usize)],
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (560, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-r..r, -r..r)?;
    chart.configure_mesh().disable_mesh().draw()?;
    let cells = classes.len() as f64;
    let step = 2.0 * r / cells;
    // One rectangle per run of equal cells in a row: a few hundred instead of thousands.
    let mut regions = Vec::new();
    for (row, line) in classes.iter().enumerate() {
        let y0 = -r + row as f64 * step;
        let mut start = 0;
        for column in 1..=line.len() {
            if column == line.len() || line[column] != line[start] {
                let color = CLASS[line[start] % CLASS.len()].mix(0.25).filled();
                let x0 = -r + start as f64 * step;
                let x1 = -r + column as f64 * step;
                regions.push(Rectangle::new([(x0, y0), (x1, y0 + step)], color));
                start = column;
            }
        }
    }
    chart.draw_series(regions)?;
    chart.draw_series(samples.iter().map(|&([x, y], class)| {
        let color = CLASS[class % CLASS.len()];
        Circle::new((f64::from(x), f64::from(y)), 3, color.filled())
    }))?;
    root.present()?;
    Ok(())
}
