//! Trains a 2-32-32-3 classifier on three interleaved spirals with Adam and softmax
//! cross-entropy, in shuffled mini-batches, and reports accuracy on held-out samples.
//! The learning rate warms up for 10 epochs and then follows a cosine; training stops
//! early once the epoch loss has not improved by 1e-4 for 25 epochs.
//!
//! It writes its per-epoch loss and accuracy to `target/plots/spirals.csv`, draws them
//! in `target/plots/spirals.svg`, and draws the classes it gives the plane, with the
//! samples, in `target/plots/spirals-boundary.svg`.
//!
//! ```sh
//! cargo run --release --example spirals
//! ```
//!
//! Shows the dataset path: samples in slices, `train_epoch` with a batch size (32) that
//! does not divide the training set (240), so the `Remainder` policy matters, and
//! `evaluate` on a test split.

use std::f64::consts::TAU;
use std::process::ExitCode;

use stackprop::optim::Schedule;
use stackprop::*;

#[path = "shared/plot.rs"]
mod plot;

type Net = (
    Dense<2, 32, Relu>,
    Dense<32, 32, Relu>,
    Dense<32, 3, Identity>,
);
const N: usize = 32;
type SpiralTrainer = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, N>;

const PER_CLASS: usize = 100;
const CLASSES: usize = 3;
const EPOCHS: u64 = 300;
/// Linear warm-up over 10 epochs to 0.01, then a cosine down to 1e-4 at the last epoch.
const SCHEDULE: Schedule<f32> = Schedule::cosine(0.01, EPOCHS as u32 - 10, 1e-4).with_warmup(10);
/// The example fails (non-zero exit) below this held-out accuracy.
const REQUIRED_ACCURACY: f64 = 0.9;

/// Three spirals of `PER_CLASS` points each, with a little noise; one-hot targets.
fn spirals(rng: &mut SplitMix64) -> (Vec<[f32; 2]>, Vec<[f32; 3]>) {
    let mut x = Vec::new();
    let mut t = Vec::new();
    for class in 0..CLASSES {
        for i in 0..PER_CLASS {
            let r = i as f64 / PER_CLASS as f64;
            let angle = class as f64 * TAU / CLASSES as f64
                + 1.75 * TAU * r / 2.0
                + 0.15 * (rng.next_f64() - 0.5);
            x.push([(r * angle.cos()) as f32, (r * angle.sin()) as f32]);
            let mut onehot = [0.0; 3];
            onehot[class] = 1.0;
            t.push(onehot);
        }
    }
    (x, t)
}

fn main() -> ExitCode {
    match run() {
        Ok(accuracy) if accuracy >= REQUIRED_ACCURACY => ExitCode::SUCCESS,
        Ok(accuracy) => {
            eprintln!(
                "held-out accuracy {:.1} % is below {:.0} %",
                100.0 * accuracy,
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

fn run() -> Result<f64, Box<dyn std::error::Error>> {
    let mut rng = SplitMix64::new(3);
    let (x, t) = spirals(&mut rng);
    // Every fifth sample is held out: 240 train, 60 test.
    let split = |keep: bool| -> (Vec<[f32; 2]>, Vec<[f32; 3]>) {
        x.iter()
            .zip(&t)
            .enumerate()
            .filter(|(i, _)| (i % 5 == 4) != keep)
            .map(|(_, (x, t))| (*x, *t))
            .unzip()
    };
    let (train_x, train_t) = split(true);
    let (test_x, test_t) = split(false);
    let train = Samples::new(&train_x, &train_t)?;
    let test = Samples::new(&test_x, &test_t)?;

    let mut net = Net::ZERO;
    net.init(Init::HeUniform, &mut rng);
    let adam = Adam::new(AdamConfig::new(SCHEDULE.lr(0)?))?;
    // Tens of kilobytes: boxed, to keep it off the main thread's stack in debug builds.
    let mut trainer = Box::new(SpiralTrainer::new(net, adam, SoftmaxCrossEntropy));
    println!(
        "2-32-32-3 relu, Adam lr 0.01 (10 epochs of warm-up, then cosine), batch {N}: {} training samples, {} held out, trainer {} bytes",
        train.len(),
        test.len(),
        SpiralTrainer::FOOTPRINT.total()
    );

    let mut history = LossHistory::<f32, 20>::new();
    let mut early_stop = EarlyStopping::new(25).with_min_delta(1e-4);
    let mut rows = Vec::new();
    for epoch in 1..=EPOCHS {
        SCHEDULE.apply(epoch - 1, &mut trainer.optimizer)?;
        let report = trainer.train_epoch(&train, Some(&mut rng), Remainder::Wrap)?;
        history.push(report.mean_loss);
        let stop = early_stop.check(&history)?;
        let eval = trainer.evaluate(&test)?;
        rows.push(plot::Row {
            epoch: epoch as u32,
            train_loss: report.mean_loss.into(),
            held_out_loss: eval.loss.into(),
            accuracy: eval.accuracy(),
        });
        if epoch % 50 == 0 || epoch == 1 || stop {
            println!(
                "epoch {epoch:3}  train loss {:.4} ({} batches, {} samples repeated)  test loss {:.4}  test accuracy {:.1} %",
                report.mean_loss,
                report.batches,
                report.repeated,
                eval.loss,
                100.0 * eval.accuracy()
            );
        }
        if stop {
            println!("stopped early: no improvement of 1e-4 in 25 epochs");
            break;
        }
    }
    let eval = trainer.evaluate(&test)?;
    println!(
        "best epoch loss {:.4}, {} epochs ago; held-out accuracy {:.1} % ({} of {})",
        history.best().unwrap_or(f32::NAN),
        history.since_best(),
        100.0 * eval.accuracy(),
        eval.correct,
        eval.total
    );

    let dir = plot::out_dir()?;
    plot::write_csv(&dir.join("spirals.csv"), &rows)?;
    let title = "spirals 2-32-32-3, Adam with warm-up and cosine, batch 32";
    let run = plot::Run {
        label: "host".into(),
        rows,
    };
    plot::draw_curves(&dir.join("spirals.svg"), title, &[run])?;
    let classes = classify_grid(&mut trainer);
    let samples: Vec<([f32; 2], usize)> = x.iter().zip(&t).map(|(x, t)| (*x, argmax(t))).collect();
    let title = format!(
        "spirals: the trained classifier's regions ({:.1} % held out)",
        100.0 * eval.accuracy()
    );
    plot::draw_boundary(
        &dir.join("spirals-boundary.svg"),
        &title,
        EXTENT,
        &classes,
        &samples,
    )?;
    println!("pictures: {}", dir.display());
    Ok(eval.accuracy())
}

/// The drawn square is [-EXTENT, EXTENT]², in GRID × GRID cells.
const EXTENT: f64 = 1.1;
const GRID: usize = 160;

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// The predicted class at the centre of each grid cell, `[row][column]`, row 0 at the
/// bottom; predicted N cells at a time.
fn classify_grid(trainer: &mut SpiralTrainer) -> Vec<Vec<usize>> {
    let centre = |i: usize| (-EXTENT + (i as f64 + 0.5) * 2.0 * EXTENT / GRID as f64) as f32;
    let cells: Vec<[f32; 2]> = (0..GRID * GRID)
        .map(|k| [centre(k % GRID), centre(k / GRID)])
        .collect();
    let mut classes = Vec::with_capacity(cells.len());
    for chunk in cells.chunks(N) {
        let mut batch = [[0.0; 2]; N];
        batch[..chunk.len()].copy_from_slice(chunk);
        let y = trainer.predict(&batch);
        classes.extend(y[..chunk.len()].iter().map(|y| argmax(y)));
    }
    classes.chunks(GRID).map(<[usize]>::to_vec).collect()
}
