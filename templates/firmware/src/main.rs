//! Trains a small network on the device from a `const` dataset, prints the loss over
//! semihosting, checkpoints the training state to (simulated) NOR flash, and checks
//! that the checkpoint restores the trained network. `cargo run --release` runs it in
//! QEMU; the exit status is 0 on success.

#![no_std]
#![no_main]

mod flash;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;
use stackprop::optim::Schedule;
use stackprop::persist::{CheckpointError, Checkpoints, Progress};
use stackprop::{
    Adam, AdamConfig, Dense, Error, Init, Layer, Mse, Remainder, Samples, Sigmoid, SplitMix64,
    Tanh, Trainer, Zero,
};

use crate::flash::{OutOfBounds, RamFlash};

/// 2 inputs, 8 tanh units, 1 sigmoid output.
type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
/// Batches of 4 samples; every size is a const generic, checked at compile time.
const BATCH: usize = 4;
type Xor = Trainer<Net, Adam<Net>, Mse, BATCH>;

/// The dataset lives in flash (`const`), here XOR.
const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const TARGETS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

/// The initialisation and the shuffles follow from this seed; on a board, seed from
/// its hardware RNG (or a unique ID) so that devices differ.
const SEED: u64 = 7;
/// The learning rate per epoch: 5 epochs of linear warm-up to 0.05, then a cosine
/// descent to 0.005 over 200 epochs. A `const`: a few bytes of flash, no state.
const SCHEDULE: Schedule<f32> = Schedule::cosine(0.05, 200, 0.005).with_warmup(5);
const MAX_EPOCHS: u64 = 2_000;
const PRINT_EVERY: u64 = 10;
/// Done once every sample is classified and the mean loss is this low.
const TARGET_LOSS: f32 = 0.01;

/// The training state's record: its length is known at compile time.
const RECORD: usize = Xor::STATE_RECORD_LEN;
/// A checkpoint slot: whole 4 KiB sectors holding the record and a 24-byte marker.
const SLOT: usize = (RECORD + 24).div_ceil(4096) * 4096;
type Flash = RamFlash<{ 2 * SLOT }>;

#[entry]
fn main() -> ! {
    // `static mut` locals of `#[entry]` become `&'static mut`: in .bss/.data, not on the stack.
    static mut TRAINER: Xor = Xor::ZERO;
    static mut RESTORED: Xor = Xor::ZERO;
    static mut SCRATCH: [u8; RECORD] = [0; RECORD];
    static mut FLASH: Flash = Flash::new();

    let ok = match run(TRAINER, RESTORED, SCRATCH, FLASH) {
        Ok(ok) => ok,
        Err(Failure::Training(e)) => {
            hprintln!("training error: {}", e);
            false
        }
        Err(Failure::Checkpoint(e)) => {
            hprintln!("checkpoint error: {}", e);
            false
        }
    };
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

fn run(
    trainer: &mut Xor,
    restored: &mut Xor,
    scratch: &mut [u8; RECORD],
    flash: &'static mut Flash,
) -> Result<bool, Failure> {
    // Two slots at offset 0: a reset at any moment leaves the old or the new checkpoint.
    let mut checkpoints = Checkpoints::new(flash, 0, SLOT as u32)?;
    let mut rng = SplitMix64::new(SEED);
    trainer
        .optimizer
        .set_config(AdamConfig::new(SCHEDULE.lr(0)?))?;
    // After a reset on a real board the flash still holds the last checkpoint: resume.
    let first = match checkpoints.load_state(trainer, scratch)? {
        Some(progress) => {
            hprintln!("resuming from the checkpoint of epoch {}", progress.steps);
            rng = progress.rng;
            progress.steps + 1
        }
        None => {
            hprintln!("no checkpoint: training from scratch (seed {})", SEED);
            trainer.net.init(Init::GlorotUniform, &mut rng);
            1
        }
    };

    let data = Samples::new(&INPUTS, &TARGETS)?;
    for epoch in first..=MAX_EPOCHS {
        let lr = SCHEDULE.apply(epoch - 1, &mut trainer.optimizer)?;
        let report = trainer.train_epoch(&data, Some(&mut rng), Remainder::Reject)?;
        let eval = trainer.evaluate(&data)?;
        let done = eval.correct == eval.total && eval.loss < TARGET_LOSS;
        if epoch % PRINT_EVERY == 0 || done {
            hprintln!(
                "epoch {}  lr {}  loss {}  accuracy {}/{}",
                epoch,
                lr,
                report.mean_loss,
                eval.correct,
                eval.total
            );
            let progress = Progress { steps: epoch, rng };
            let sequence = checkpoints.save_state(trainer, &progress, scratch)?;
            hprintln!("  checkpoint {} saved ({} bytes)", sequence, RECORD);
        }
        if done {
            // What a reset would find: the newest checkpoint, restored into a blank trainer.
            let progress = checkpoints.load_state(restored, scratch)?;
            let same = progress.map(|p| p.steps) == Some(epoch)
                && restored.predict(&INPUTS) == trainer.predict(&INPUTS);
            hprintln!(
                "trained in {} epochs; the checkpoint restores it: {}",
                epoch,
                if same { "yes" } else { "NO" }
            );
            return Ok(same);
        }
    }
    hprintln!("not trained in {} epochs", MAX_EPOCHS);
    Ok(false)
}

/// Why the run stopped.
enum Failure {
    Training(Error),
    Checkpoint(CheckpointError<OutOfBounds>),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Training(e)
    }
}

impl From<CheckpointError<OutOfBounds>> for Failure {
    fn from(e: CheckpointError<OutOfBounds>) -> Self {
        Self::Checkpoint(e)
    }
}
