//! Continual learning under sensor drift, shared by the host example `drift` and the
//! firmware example `fw_drift` so both print the same numbers.
//!
//! The 64-32-10 digits classifier trained on the host (`examples/data/digits_base.rs`)
//! is deployed. Its camera then ages over [`DAYS`] days: the contrast fades linearly to
//! 40 % and the black level rises to 35 % grey (see [`sensor`]). Every day
//! [`PER_DAY`] labelled images taken with that day's sensor arrive. Three copies of the
//! network are compared on held-out images of the old (clean) and of today's sensor:
//!
//! - **frozen**: never trained;
//! - **naive**: fine-tuned every day on the day's images only;
//! - **replay**: fine-tuned every day on the day's images plus a [`ReplayBuffer`]
//!   holding a uniform sample of everything seen, the clean images it was deployed
//!   with included.
//!
//! Each day's training steps go through a [`Watchdog`], and the whole state (both
//! trained networks with their Adam state, the shuffling generators, the buffer) is
//! saved at the end of every day as one checkpoint in two slots of NOR flash
//! ([`Checkpoints`]), so a reset resumes at the start of the next day.

#![allow(dead_code)] // each example uses a different part

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use stackprop::persist::{CheckpointError, Checkpoints, Progress};
use stackprop::replay::{Chain, ReplayBuffer};
use stackprop::*;

use crate::digits::{Class, Digits, Distortion, Image, Split};
use crate::digits_base::{HIDDEN_B, HIDDEN_W, OUTPUT_B, OUTPUT_W};

/// The classifier: 64 pixels, 32 relu neurons, 10 class scores.
pub type Net = (Dense<64, 32, Relu>, Dense<32, 10, Identity>);
/// Mini-batches of 8.
pub const N: usize = 8;
/// Adam on softmax cross-entropy, the whole network trainable.
pub type Learner = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, N>;
/// The deployed network.
pub const DEPLOYED: Learner = Learner::new(
    (
        Dense::new(HIDDEN_W, HIDDEN_B),
        Dense::new(OUTPUT_W, OUTPUT_B),
    ),
    <Adam<Net> as Zero>::ZERO,
    SoftmaxCrossEntropy,
);

/// Days of drift.
pub const DAYS: usize = 30;
/// Labelled images arriving per day.
pub const PER_DAY: usize = 8;
/// Training steps (batches) each learner takes per day.
pub const STEPS_PER_DAY: usize = 20;
/// Adam's learning rate.
pub const LEARNING_RATE: f32 = 0.002;
/// Samples the replay buffer holds.
pub const CAPACITY: usize = 96;
/// Clean training images offered to the buffer at deployment (it keeps a uniform
/// sample of them, as it does of everything later).
pub const CLEAN_OFFERED: usize = 320;
/// Pixels are in [0, 1]; the buffer stores them in steps of 1/255.
pub type Buffer = ReplayBuffer<CAPACITY, 64, 10>;
/// The seed of the order of the training images, the shuffles and the reservoir.
pub const SEED: u64 = 13;
/// The day after which the examples simulate a reset and resume from flash.
pub const RESET_AFTER: usize = 12;
/// Goals of the replay variant on the last day: old-sensor accuracy at most this
/// below the deployed network's, in points.
pub const MAX_OLD_DROP: f64 = 0.02;
/// And at least this on the drifted sensor.
pub const REQUIRED_NEW: f64 = 0.90;

/// The sensor on `day` (0 = deployment): contrast fades linearly from 100 % to 40 %
/// and the black level rises from 0 to 35 % grey by the last day.
pub fn sensor(day: usize) -> Distortion {
    let p = day.min(DAYS) as f32 / DAYS as f32;
    Distortion {
        shift_right: 0,
        gain: 1.0 - 0.6 * p,
        offset: 0.35 * p,
    }
}

/// The training images in the order they arrive: first the clean images the buffer
/// starts with, then [`PER_DAY`] a day, each through that day's sensor.
fn arrival_order() -> Permutation {
    Permutation::new(Digits::new(Split::Train).len(), &mut SplitMix64::new(SEED))
}

/// The labelled images of one day (day 0: the clean images at deployment).
#[derive(Clone, Copy, Debug)]
pub struct Arrivals {
    order: Permutation,
    first: usize,
    len: usize,
    images: Digits,
}

impl Arrivals {
    /// What arrives on `day`.
    pub fn of_day(day: usize) -> Self {
        let (first, len) = match day {
            0 => (0, CLEAN_OFFERED),
            d => (CLEAN_OFFERED + (d - 1) * PER_DAY, PER_DAY),
        };
        Self {
            order: arrival_order(),
            first,
            len,
            images: Digits::distorted(Split::Train, sensor(day)),
        }
    }
}

impl Dataset<Image, Class> for Arrivals {
    fn len(&self) -> usize {
        self.len
    }

    fn load(&self, index: usize, x: &mut Image, t: &mut Class) -> Result<(), Error> {
        if index >= self.len {
            return Err(Error::IndexOutOfRange {
                index,
                len: self.len,
            });
        }
        self.images.load(self.order.get(self.first + index), x, t)
    }
}

/// Held-out accuracy on the old sensor and on today's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Clean held-out images.
    pub old: Evaluation<f32>,
    /// Held-out images through today's sensor.
    pub new: Evaluation<f32>,
}

/// One day's comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Day {
    /// 0 = deployment.
    pub day: usize,
    /// The network never trained.
    pub frozen: Scores,
    /// Fine-tuned on each day's images only.
    pub naive: Scores,
    /// Fine-tuned on each day's images and the replay buffer.
    pub replay: Scores,
}

/// The same line on the host and on the device.
impl core::fmt::Display for Day {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "day {}", self.day)?;
        for (name, s) in [
            ("frozen", &self.frozen),
            ("naive", &self.naive),
            ("replay", &self.replay),
        ] {
            write!(
                f,
                "  {name} old {}/{} new {}/{}",
                s.old.correct, s.old.total, s.new.correct, s.new.total
            )?;
        }
        Ok(())
    }
}

/// Everything that changes as the days pass; `const`, so it can be a `static`.
pub struct Drift {
    /// The next day to run (1-based; `DAYS + 1` when done).
    pub next_day: usize,
    /// Never trained.
    pub frozen: Learner,
    /// Fine-tuned on new images only.
    pub naive: Learner,
    /// Fine-tuned with replay.
    pub replay: Learner,
    /// The reservoir of labelled images.
    pub buffer: Buffer,
    naive_rng: SplitMix64,
    replay_rng: SplitMix64,
}

/// Bytes of a checkpoint: the day, two training states and the buffer.
pub const CHECKPOINT_LEN: usize = 4 + 2 * Learner::STATE_RECORD_LEN + Buffer::SAVED_LEN;

/// Simulated NOR flash of this many bytes.
pub const FLASH_LEN: usize = 2 * SLOT_LEN as usize;
/// A checkpoint slot: whole 4 KiB sectors holding a checkpoint and its marker.
pub const SLOT_LEN: u32 = (CHECKPOINT_LEN as u32 / 4096 + 1) * 4096;

impl Drift {
    /// The deployed state, before day 1 and before the buffer is filled.
    pub const START: Self = Self {
        next_day: 1,
        frozen: DEPLOYED,
        naive: DEPLOYED,
        replay: DEPLOYED,
        buffer: Buffer::new(0.0, 1.0),
        naive_rng: SplitMix64::new(SEED + 1),
        replay_rng: SplitMix64::new(SEED + 2),
    };

    /// Deployment: sets the learning rates and offers the clean images to the buffer.
    pub fn deploy(&mut self) -> Result<(), Error> {
        *self = Self::START;
        for learner in [&mut self.naive, &mut self.replay] {
            learner
                .optimizer
                .set_config(AdamConfig::new(LEARNING_RATE))?;
        }
        offer_all(&mut self.buffer, &Arrivals::of_day(0), &mut self.replay_rng)
    }

    /// Held-out scores of the three networks under `day`'s sensor.
    pub fn scores(&mut self, day: usize) -> Result<Day, Error> {
        let old = Digits::new(Split::HeldOut);
        let new = Digits::distorted(Split::HeldOut, sensor(day));
        let score = |l: &mut Learner| -> Result<Scores, Error> {
            Ok(Scores {
                old: l.evaluate(&old)?,
                new: l.evaluate(&new)?,
            })
        };
        Ok(Day {
            day,
            frozen: score(&mut self.frozen)?,
            naive: score(&mut self.naive)?,
            replay: score(&mut self.replay)?,
        })
    }

    /// Runs the next day: both learners train on what arrived, watched, then the
    /// day's images join the buffer.
    pub fn run_day(&mut self) -> Result<Day, Error> {
        let day = self.next_day;
        let today = Arrivals::of_day(day);
        watched_steps(&mut self.naive, &today, &mut self.naive_rng)?;
        watched_steps(
            &mut self.replay,
            &Chain::new(&today, &self.buffer),
            &mut self.replay_rng,
        )?;
        offer_all(&mut self.buffer, &today, &mut self.replay_rng)?;
        self.next_day += 1;
        self.scores(day)
    }

    /// Saves the state as the newest checkpoint, staged in `scratch`.
    pub fn save<F: NorFlash>(
        &self,
        checkpoints: &mut Checkpoints<F>,
        scratch: &mut [u8; CHECKPOINT_LEN],
    ) -> Result<(), Error> {
        let (day, rest) = scratch.split_at_mut(4);
        day.copy_from_slice(&(self.next_day as u32).to_le_bytes());
        let (naive, rest) = rest.split_at_mut(Learner::STATE_RECORD_LEN);
        let (replay, buffer) = rest.split_at_mut(Learner::STATE_RECORD_LEN);
        let steps = self.next_day as u64;
        self.naive.save_state(
            &Progress {
                steps,
                rng: self.naive_rng,
            },
            naive,
        )?;
        self.replay.save_state(
            &Progress {
                steps,
                rng: self.replay_rng,
            },
            replay,
        )?;
        self.buffer.save(buffer)?;
        checkpoints.save(scratch).map_err(storage)?;
        Ok(())
    }

    /// Resumes from the newest checkpoint; `false` (and the state untouched) if the
    /// flash holds none.
    pub fn resume<F: NorFlash>(
        &mut self,
        checkpoints: &mut Checkpoints<F>,
        scratch: &mut [u8; CHECKPOINT_LEN],
    ) -> Result<bool, Error> {
        let Some(loaded) = checkpoints.load(scratch).map_err(storage)? else {
            return Ok(false);
        };
        if loaded.len != CHECKPOINT_LEN {
            return Err(Error::LengthMismatch {
                expected: CHECKPOINT_LEN,
                found: loaded.len,
            });
        }
        let (day, rest) = scratch.split_at(4);
        let (naive, rest) = rest.split_at(Learner::STATE_RECORD_LEN);
        let (replay, buffer) = rest.split_at(Learner::STATE_RECORD_LEN);
        let mut day_bytes = [0u8; 4];
        day_bytes.copy_from_slice(day);
        self.next_day = u32::from_le_bytes(day_bytes) as usize;
        self.naive_rng = self.naive.load_state(naive)?.rng;
        self.replay_rng = self.replay.load_state(replay)?.rng;
        self.buffer.restore(buffer)?;
        Ok(true)
    }

    /// Whether the replay variant met its goals on `last`, against `start`.
    pub fn goals_met(start: &Day, last: &Day) -> bool {
        let drop = start.replay.old.accuracy() - last.replay.old.accuracy();
        drop <= MAX_OLD_DROP && last.replay.new.accuracy() >= REQUIRED_NEW
    }
}

fn storage<E>(e: CheckpointError<E>) -> Error {
    match e {
        CheckpointError::Record(e) => e,
        _ => Error::Storage {
            what: "checkpoint flash",
        },
    }
}

fn offer_all<D: Dataset<Image, Class>>(
    buffer: &mut Buffer,
    data: &D,
    rng: &mut SplitMix64,
) -> Result<(), Error> {
    let (mut x, mut t) = ([0.0; 64], [0.0; 10]);
    for i in 0..data.len() {
        data.load(i, &mut x, &mut t)?;
        buffer.offer(&x, &t, rng)?;
    }
    Ok(())
}

/// [`STEPS_PER_DAY`] batches of [`N`] from shuffled passes over `data` (a new order
/// each pass), each step taken through a watchdog that refuses a blown-up or
/// non-finite batch and rolls back to the day's start.
fn watched_steps<D: Dataset<Image, Class>>(
    learner: &mut Learner,
    data: &D,
    rng: &mut SplitMix64,
) -> Result<(), Error> {
    let config = WatchdogConfig {
        warmup: 2,
        snapshot_every: 1000,
        // A blown-up batch under a drifting sensor rolls back to the day's start at
        // once (with a lower rate) rather than being skipped as an outlier.
        patience: 1,
        ..WatchdogConfig::new()
    };
    let mut watchdog = Watchdog::<f32, Snapshot<Net, Adam<Net>>, 8>::new(config, Snapshot::ZERO)?;
    let len = data.len();
    if len == 0 {
        return Err(Error::EmptyDataset);
    }
    let mut order = Permutation::new(len, rng);
    let mut position = 0;
    let (mut x, mut t) = ([[0.0; 64]; N], [[0.0; 10]; N]);
    for _ in 0..STEPS_PER_DAY {
        for (x, t) in x.iter_mut().zip(t.iter_mut()) {
            if position == len {
                order = Permutation::new(len, rng);
                position = 0;
            }
            data.load(order.get(position), x, t)?;
            position += 1;
        }
        watchdog.step(learner, &x, &t)?;
    }
    Ok(())
}

/// NOR flash simulated in RAM: erased bytes read 0xFF, a write only clears bits,
/// 4 KiB sectors, as on a real part.
pub struct SimFlash(pub [u8; FLASH_LEN]);

impl SimFlash {
    /// A fully erased flash.
    pub const ERASED: Self = Self([0xFF; FLASH_LEN]);

    fn range(&mut self, from: u32, len: usize) -> Result<&mut [u8], OutOfBounds> {
        let from = from as usize;
        self.0
            .get_mut(from..from.checked_add(len).ok_or(OutOfBounds)?)
            .ok_or(OutOfBounds)
    }
}

/// An access past the end of the simulated flash.
#[derive(Debug)]
pub struct OutOfBounds;

impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

impl ErrorType for SimFlash {
    type Error = OutOfBounds;
}

impl ReadNorFlash for SimFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        bytes.copy_from_slice(self.range(offset, bytes.len())?);
        Ok(())
    }

    fn capacity(&self) -> usize {
        FLASH_LEN
    }
}

impl NorFlash for SimFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
        let len = to.checked_sub(from).ok_or(OutOfBounds)? as usize;
        self.range(from, len)?.fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
        for (cell, &byte) in self.range(offset, bytes.len())?.iter_mut().zip(bytes) {
            *cell &= byte;
        }
        Ok(())
    }
}

/// The whole scenario: deploys (or resumes from `flash`), runs the days, checkpoints
/// after each, and simulates a reset after day `reset_after` (none if `None`): the
/// state is thrown away and rebuilt from the flash. Calls `report` with the
/// deployment scores and every day's. Returns the deployment and the last day.
pub fn run(
    state: &mut Drift,
    flash: &mut SimFlash,
    scratch: &mut [u8; CHECKPOINT_LEN],
    reset_after: Option<usize>,
    mut report: impl FnMut(&Day),
) -> Result<(Day, Day), Error> {
    state.deploy()?;
    let start = state.scores(0)?;
    report(&start);
    let mut checkpoints = Checkpoints::new(flash, 0, SLOT_LEN).map_err(storage)?;
    let mut last = start;
    while state.next_day <= DAYS {
        last = state.run_day()?;
        report(&last);
        state.save(&mut checkpoints, scratch)?;
        if reset_after == Some(last.day) {
            // Power lost: RAM is gone, the flash is not.
            *state = Drift::START;
            state.deploy()?;
            if !state.resume(&mut checkpoints, scratch)? {
                return Err(Error::NoSnapshot);
            }
        }
    }
    Ok((start, last))
}
