//! The device's part of the walk-through, run on the host: load the imported network
//! from its parameter record, fine-tune it with Adam on a small batch, and save the
//! training-state record; also write the batch and the network's predictions after
//! training (`predictions.safetensors`) for the Python check on the exported file.
//!
//! ```sh
//! cargo run --example finetune -- fixtures/mlp_f32.sprc target/walkthrough
//! ```
//!
//! The network type comes from the generated `fixtures/mlp_f32.rs`; on a device the
//! same code runs with the record in flash (`Checkpoints`) instead of a file.

use std::error::Error;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use stackprop::persist::{Architecture, Progress};
use stackprop::{Adam, AdamConfig, SoftmaxCrossEntropy, SplitMix64, Trainer, Zero};

// Only `Net` is used here; `FLASH` and the statics serve inference from flash.
#[allow(dead_code)]
#[path = "../fixtures/mlp_f32.rs"]
mod mlp;

const N: usize = 32;
const STEPS: u64 = 200;

type Tuner = Trainer<mlp::Net, Adam<mlp::Net>, SoftmaxCrossEntropy, N>;

/// Inputs in [-1, 1)^5, labelled by which of three sums is largest.
fn batch(rng: &mut SplitMix64) -> ([[f32; 5]; N], [[f32; 3]; N]) {
    let x: [[f32; 5]; N] =
        core::array::from_fn(|_| core::array::from_fn(|_| (rng.next_f64() * 2.0 - 1.0) as f32));
    let t = core::array::from_fn(|i| {
        let r = x[i];
        let scores = [r[0] + r[1], r[2] - r[3], r[4]];
        let k = (0..3).fold(0, |k, j| if scores[j] > scores[k] { j } else { k });
        core::array::from_fn(|j| f32::from(u8::from(j == k)))
    });
    (x, t)
}

fn accuracy(y: &[[f32; 3]; N], t: &[[f32; 3]; N]) -> usize {
    let argmax = |r: &[f32; 3]| (0..3).fold(0, |k, j| if r[j] > r[k] { j } else { k });
    y.iter()
        .zip(t)
        .filter(|(y, t)| argmax(y) == argmax(t))
        .count()
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [record, out] = args.as_slice() else {
        return Err("usage: finetune PARAMS.sprc OUT_DIR".into());
    };
    let mut net = mlp::Net::ZERO;
    net.load_params(&std::fs::read(record)?)
        .map_err(|e| format!("{record}: {e}"))?;

    let mut rng = SplitMix64::new(10);
    let (x, t) = batch(&mut rng);
    let mut trainer = Tuner::new(net, Adam::new(AdamConfig::new(0.01))?, SoftmaxCrossEntropy);
    let before = trainer.loss(&x, &t)?;
    let correct_before = accuracy(trainer.predict(&x), &t);
    for _ in 0..STEPS {
        trainer.step(&x, &t)?;
    }
    let after = trainer.loss(&x, &t)?;
    let y = *trainer.predict(&x);
    println!(
        "fine-tuned {STEPS} Adam steps on {N} samples: loss {before:.4} -> {after:.4}, \
         correct {correct_before}/{N} -> {}/{N}",
        accuracy(&y, &t)
    );

    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let mut state = vec![0u8; Tuner::STATE_RECORD_LEN];
    trainer.save_state(&Progress { steps: STEPS, rng }, &mut state)?;
    std::fs::write(out.join("state.sprc"), &state)?;
    let mut params = vec![0u8; mlp::Net::PARAMS_RECORD_LEN];
    trainer.net.save_params(&mut params)?;
    std::fs::write(out.join("params.sprc"), &params)?;

    let bytes = |rows: &[[f32; 5]]| {
        rows.iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let xb = bytes(&x);
    let yb: Vec<u8> = y.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let views = [
        ("x", TensorView::new(Dtype::F32, vec![N, 5], &xb)?),
        ("y", TensorView::new(Dtype::F32, vec![N, 3], &yb)?),
    ];
    std::fs::write(
        out.join("predictions.safetensors"),
        safetensors::serialize(views, None)?,
    )?;
    println!(
        "wrote {0}/state.sprc ({1} bytes), {0}/params.sprc ({2} bytes), {0}/predictions.safetensors",
        out.display(),
        state.len(),
        params.len()
    );
    Ok(())
}
