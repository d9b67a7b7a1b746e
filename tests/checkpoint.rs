//! Checkpoints in a simulated NOR flash: power cut after every byte of every erase and
//! write (torn words included), recovery of exactly the old or the new state, and
//! training resumed from a checkpoint bit-identical to an uninterrupted run.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash, check_erase, check_read,
    check_write,
};
use stackprop::persist::{
    Architecture, CheckpointError, Checkpoints, Loaded, OptimizerState, Progress, RecordError,
    SLOT_MAGIC, crc32,
};
use stackprop::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SimError {
    Bounds(NorFlashErrorKind),
    PowerLost,
    WrittenTwice,
    /// An ECC flash read a word a cut left torn or half-erased.
    Ecc,
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            SimError::Bounds(kind) => *kind,
            _ => NorFlashErrorKind::Other,
        }
    }
}

/// What the operation under way when power is lost leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Torn {
    /// The bytes before the cut are done, the rest untouched.
    Clean,
    /// As `Clean`, and the byte at the cut half done: some of its bits changed.
    Bits,
    /// Every byte from the cut to the end of the operation is undefined (within NOR
    /// physics for writes: only bits being cleared may clear).
    Undefined,
    /// As `Bits`, but an erase runs from the last byte down, so a slot's marker goes last.
    Backwards,
}

const TORN: [Torn; 4] = [Torn::Clean, Torn::Bits, Torn::Undefined, Torn::Backwards];

/// A NOR flash in memory: erase sets bytes to 0xFF, writes can only clear bits, a word
/// may be written once per erase, and power can be cut after any byte.
#[derive(Clone, Debug)]
struct SimFlash<const R: usize, const W: usize, const E: usize> {
    mem: Vec<u8>,
    written: Vec<bool>,
    /// Bytes that may still be erased or written before power is lost.
    budget: Option<usize>,
    /// Bytes erased or written so far.
    steps: usize,
    dead: bool,
    torn: Torn,
    noise: u64,
    /// Writes report success but change nothing (a worn-out flash).
    stuck: bool,
    /// ECC flash: reading a word a cut left half-written, or any word of a sector a
    /// cut left half-erased, fails (ECC words are `W` bytes).
    ecc: bool,
    /// Words whose ECC no longer matches, by word index.
    poisoned: Vec<bool>,
    /// Completed erases of each sector.
    erases: Vec<u32>,
}

impl<const R: usize, const W: usize, const E: usize> SimFlash<R, W, E> {
    fn new(len: usize) -> Self {
        Self {
            mem: vec![0xFF; len],
            written: vec![false; len / W],
            budget: None,
            steps: 0,
            dead: false,
            torn: Torn::Clean,
            noise: 0x1234_5678_9ABC_DEF1,
            stuck: false,
            ecc: false,
            poisoned: vec![false; len / W],
            erases: vec![0; len / E],
        }
    }

    /// An ECC flash of `len` bytes.
    fn ecc(len: usize) -> Self {
        Self {
            ecc: true,
            ..Self::new(len)
        }
    }

    /// Marks the words of `from..to` as failing ECC.
    fn poison(&mut self, from: usize, to: usize) {
        if self.ecc {
            for word in from / W..to.div_ceil(W) {
                self.poisoned[word] = true;
            }
        }
    }

    /// Power comes back: the memory is as the cut left it.
    fn reboot(&mut self) {
        self.dead = false;
        self.budget = None;
    }

    fn random(&mut self) -> u8 {
        self.noise ^= self.noise << 13;
        self.noise ^= self.noise >> 7;
        self.noise ^= self.noise << 17;
        (self.noise >> 24) as u8
    }

    /// How many of `n` bytes complete before power is lost; `None` if all do.
    fn cut(&mut self, n: usize) -> Option<usize> {
        self.steps += n;
        match self.budget {
            Some(budget) if budget < n => {
                self.budget = Some(0);
                self.dead = true;
                Some(budget)
            }
            Some(budget) => {
                self.budget = Some(budget - n);
                None
            }
            None => None,
        }
    }
}

impl<const R: usize, const W: usize, const E: usize> ErrorType for SimFlash<R, W, E> {
    type Error = SimError;
}

impl<const R: usize, const W: usize, const E: usize> ReadNorFlash for SimFlash<R, W, E> {
    const READ_SIZE: usize = R;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        if self.dead {
            return Err(SimError::PowerLost);
        }
        check_read(self, offset, bytes.len()).map_err(SimError::Bounds)?;
        let at = offset as usize;
        if self.poisoned[at / W..(at + bytes.len()).div_ceil(W)]
            .iter()
            .any(|&p| p)
        {
            return Err(SimError::Ecc);
        }
        bytes.copy_from_slice(&self.mem[at..at + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const R: usize, const W: usize, const E: usize> NorFlash for SimFlash<R, W, E> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        if self.dead {
            return Err(SimError::PowerLost);
        }
        check_erase(self, from, to).map_err(SimError::Bounds)?;
        let (from, to) = (from as usize, to as usize);
        let mut order: Vec<usize> = (from..to).collect();
        if self.torn == Torn::Backwards {
            order.reverse();
        }
        let done = self.cut(to - from);
        for (k, &i) in order.iter().enumerate() {
            match done {
                Some(d) if k > d || (k == d && self.torn == Torn::Clean) => {
                    if self.torn == Torn::Undefined {
                        self.mem[i] = self.random();
                    }
                }
                Some(d) if k == d => self.mem[i] |= self.random(),
                _ => {
                    self.mem[i] = 0xFF;
                    self.written[i / W] = false;
                    self.poisoned[i / W] = false;
                }
            }
        }
        if done.is_none() {
            for sector in from / E..to / E {
                self.erases[sector] += 1;
            }
        }
        match done {
            Some(d) => {
                // The sector being erased at the cut is half-erased; with undefined
                // tearing, so is every sector after it.
                let sector = order.get(d).map_or(from, |&i| i / E * E);
                if self.torn == Torn::Undefined {
                    self.poison(sector, to);
                } else {
                    self.poison(sector, sector + E);
                }
                Err(SimError::PowerLost)
            }
            None => Ok(()),
        }
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        if self.dead {
            return Err(SimError::PowerLost);
        }
        check_write(self, offset, bytes.len()).map_err(SimError::Bounds)?;
        let at = offset as usize;
        for word in at / W..(at + bytes.len()) / W {
            if std::mem::replace(&mut self.written[word], true) {
                return Err(SimError::WrittenTwice);
            }
        }
        if self.stuck {
            return Ok(());
        }
        let done = self.cut(bytes.len());
        for (k, &b) in bytes.iter().enumerate() {
            let i = at + k;
            let clear = self.mem[i] & !b; // the bits this write clears
            match done {
                Some(d) if k > d || (k == d && self.torn == Torn::Clean) => {
                    if self.torn == Torn::Undefined {
                        self.mem[i] &= !(clear & self.random());
                    }
                }
                Some(d) if k == d => self.mem[i] &= !(clear & self.random()),
                _ => self.mem[i] &= b,
            }
        }
        match done {
            Some(d) => {
                // The word being written at the cut is torn; with undefined tearing,
                // so is every word after it.
                let end = if self.torn == Torn::Undefined {
                    at + bytes.len()
                } else {
                    at + d + 1
                };
                self.poison(at + d, end.min(at + bytes.len()));
                Err(SimError::PowerLost)
            }
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------
// Records to store: training states of a small Adam trainer after 1, 2, 3... steps.
// ---------------------------------------------------------------------------------

type Net = (Dense<2, 3, Tanh>, Dense<3, 2, Identity>);
type Small = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, 2>;
const RECORD: usize = Small::STATE_RECORD_LEN;

fn small_trainer() -> Small {
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(3));
    Trainer::new(
        net,
        Adam::new(AdamConfig::new(0.05)).unwrap(),
        SoftmaxCrossEntropy,
    )
}

/// The state records after 1..=count steps.
fn records(count: usize) -> Vec<Vec<u8>> {
    let mut trainer = small_trainer();
    (1..=count)
        .map(|step| {
            let x = [[0.5, -1.0], [step as f32 / 4.0, 0.25]];
            trainer.step(&x, &[[1.0, 0.0], [0.0, 1.0]]).unwrap();
            let mut record = vec![0u8; RECORD];
            let progress = Progress {
                steps: step as u64,
                rng: SplitMix64::new(step as u64),
            };
            trainer.save_state(&progress, &mut record).unwrap();
            record
        })
        .collect()
}

/// The newest checkpoint after a reboot: its bytes and sequence number.
fn recover<const R: usize, const W: usize, const E: usize>(
    flash: &mut SimFlash<R, W, E>,
    offset: u32,
    slot: u32,
) -> Option<(Vec<u8>, u64)> {
    flash.reboot();
    let mut store = Checkpoints::new(flash, offset, slot).unwrap();
    let mut buf = vec![0u8; RECORD + 7];
    let loaded = store
        .load(&mut buf)
        .expect("the flash works after the reboot");
    let latest = store.latest().unwrap();
    assert_eq!(loaded, latest, "load and latest agree");
    loaded.map(|Loaded { sequence, len }| (buf[..len].to_vec(), sequence))
}

/// Cuts power after every byte of a save, each way a cut can tear it, after 0, 1 and
/// 2 earlier saves; the reboot must find exactly the old or the new record, and the
/// store must then take a new save normally.
fn power_cuts<const R: usize, const W: usize, const E: usize>(
    offset: u32,
    slot: u32,
    ecc: bool,
) -> usize {
    let recs = records(5);
    let len = offset as usize + 2 * slot as usize;
    let mut cuts = 0;
    for prior in 0..3 {
        let mut base = SimFlash::<R, W, E>::new(len);
        base.ecc = ecc;
        {
            let mut store = Checkpoints::new(&mut base, offset, slot).unwrap();
            for (k, record) in recs[..prior].iter().enumerate() {
                assert_eq!(store.save(record), Ok(k as u64 + 1));
            }
        }
        let old = prior
            .checked_sub(1)
            .map(|k| (recs[k].clone(), prior as u64));
        let new = (recs[prior].clone(), prior as u64 + 1);

        let mut measure = base.clone();
        measure.steps = 0;
        Checkpoints::new(&mut measure, offset, slot)
            .unwrap()
            .save(&new.0)
            .unwrap();
        let total = measure.steps;

        for cut in 0..=total {
            for torn in TORN {
                let mut flash = base.clone();
                flash.budget = Some(cut);
                flash.torn = torn;
                flash.noise ^= (cut as u64) << 8 | torn as u64;
                let result = Checkpoints::new(&mut flash, offset, slot)
                    .unwrap()
                    .save(&new.0);
                let found = recover(&mut flash, offset, slot);
                let case =
                    format!("{prior} earlier saves, cut after {cut} of {total} bytes, {torn:?}");
                if cut == total {
                    assert_eq!(result, Ok(new.1), "{case}");
                    assert_eq!(found.as_ref(), Some(&new), "{case}");
                } else {
                    assert_eq!(
                        result,
                        Err(CheckpointError::Flash(SimError::PowerLost)),
                        "{case}"
                    );
                    assert!(
                        found == old || found.as_ref() == Some(&new),
                        "{case}: {found:?}"
                    );
                }
                // Life goes on: the next save lands and wins.
                let next = &recs[4];
                let sequence = found.as_ref().map_or(0, |f| f.1) + 1;
                let mut store = Checkpoints::new(&mut flash, offset, slot).unwrap();
                assert_eq!(store.save(next), Ok(sequence), "{case}");
                assert_eq!(
                    recover(&mut flash, offset, slot),
                    Some((next.clone(), sequence)),
                    "{case}"
                );
                cuts += 1;
            }
        }
    }
    cuts
}

#[test]
fn a_power_cut_anywhere_leaves_the_old_or_the_new_checkpoint() {
    // Byte writes, 4-byte words, 16-byte words with 4-byte reads; slots of 1 or 2 sectors.
    let cuts = power_cuts::<1, 1, 512>(0, 512, false)
        + power_cuts::<1, 4, 256>(256, 512, false)
        + power_cuts::<4, 16, 1024>(1024, 1024, false);
    assert!(cuts > 10_000, "{cuts} cut points");
}

#[test]
fn a_power_cut_anywhere_on_ecc_flash_leaves_the_old_or_the_new_checkpoint() {
    // ECC flash: a torn word or a half-erased sector fails to read. 8-byte words in
    // 2 KiB sectors (STM32L4/G4 style), 16-byte words with 4-byte reads in 1 KiB
    // sectors, 4-byte words in 256-byte sectors with slots of two sectors.
    let cuts = power_cuts::<8, 8, 2048>(0, 2048, true)
        + power_cuts::<4, 16, 1024>(1024, 1024, true)
        + power_cuts::<1, 4, 256>(256, 512, true);
    assert!(cuts > 10_000, "{cuts} cut points");
}

#[test]
fn an_unreadable_slot_is_an_invalid_slot() {
    let recs = records(2);
    let mut flash = SimFlash::<1, 4, 256>::ecc(1024);
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    store.save(&recs[0]).unwrap();
    store.save(&recs[1]).unwrap(); // into slot 1
    // A word of the newest record fails ECC: the older one loads and the next save
    // replaces the unreadable slot.
    flash.poisoned[(512 + 24 + 100) / 4] = true;
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    let mut buf = [0u8; RECORD];
    let older = Some(Loaded {
        sequence: 1,
        len: RECORD,
    });
    assert_eq!(store.load(&mut buf), Ok(older));
    assert_eq!(store.latest(), Ok(older));
    assert_eq!(store.save(&recs[1]), Ok(2));
    assert_eq!(flash.mem[24..24 + RECORD], recs[0][..]);
    // Both slots unreadable: the flash is failing, and says so.
    flash.poisoned[0] = true;
    flash.poisoned[512 / 4] = true;
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    assert_eq!(
        store.load(&mut buf),
        Err(CheckpointError::Flash(SimError::Ecc))
    );
    assert_eq!(store.latest(), Err(CheckpointError::Flash(SimError::Ecc)));
    assert_eq!(
        store.save(&recs[0]),
        Err(CheckpointError::Flash(SimError::Ecc))
    );
}

#[test]
fn the_recovered_state_loads_into_a_trainer() {
    let recs = records(2);
    let mut flash = SimFlash::<1, 4, 256>::new(2048);
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    store.save(&recs[0]).unwrap();
    let mut buf = [0u8; RECORD];
    let loaded = store.load(&mut buf).unwrap().unwrap();
    let mut trainer = Small::ZERO;
    let progress = trainer.load_state(&buf[..loaded.len]).unwrap();
    assert_eq!(progress.steps, 1);
    assert_eq!(trainer.optimizer.steps(), 1);
}

// ---------------------------------------------------------------------------------
// Errors and corner cases.
// ---------------------------------------------------------------------------------

#[test]
fn bad_geometry_is_refused() {
    type F = SimFlash<1, 4, 256>;
    let geometry = |offset, slot| match Checkpoints::new(F::new(2048), offset, slot) {
        Err(CheckpointError::Geometry { what }) => what,
        other => panic!("expected a geometry error, got {other:?}"),
    };
    assert_eq!(
        geometry(100, 512),
        "offset not a multiple of the erase size"
    );
    assert_eq!(
        geometry(0, 300),
        "slot length not a multiple of the erase size"
    );
    assert_eq!(geometry(0, 0), "slot too small");
    assert_eq!(geometry(1024, 768), "slots past the end of the flash");
    assert!(Checkpoints::new(F::new(2048), 1024, 512).is_ok());
    let too_big = Checkpoints::new(SimFlash::<1, 512, 1024>::new(4096), 0, 1024);
    assert!(matches!(
        too_big,
        Err(CheckpointError::Geometry {
            what: "read or write size above MAX_UNIT"
        })
    ));
}

#[test]
fn size_errors_are_precise() {
    let mut store = Checkpoints::new(SimFlash::<1, 4, 256>::new(1024), 0, 256).unwrap();
    let capacity = store.capacity();
    assert_eq!(capacity, 256 - 24);
    let big = vec![1u8; capacity + 1];
    assert_eq!(
        store.save(&big),
        Err(CheckpointError::TooLarge {
            len: capacity + 1,
            capacity
        })
    );
    assert_eq!(store.save(&big[..capacity]), Ok(1));
    let mut small = [0u8; 10];
    assert_eq!(
        store.load(&mut small),
        Err(CheckpointError::BufferTooSmall {
            needed: capacity,
            found: 10
        })
    );
    // Records of every length, including empty and not a multiple of the word.
    for (k, len) in (0..=capacity).step_by(7).enumerate() {
        let record: Vec<u8> = (0..len).map(|i| (i * 13 + k) as u8).collect();
        assert_eq!(store.save(&record), Ok(k as u64 + 2));
        let mut buf = vec![0u8; capacity];
        assert_eq!(
            store.load(&mut buf),
            Ok(Some(Loaded {
                sequence: k as u64 + 2,
                len
            }))
        );
        assert_eq!(&buf[..len], &record[..]);
    }
}

#[test]
fn flash_errors_surface_and_a_silent_flash_fails_verification() {
    let recs = records(1);
    // Outside the flash: the driver's own error comes through.
    let mut flash = SimFlash::<1, 4, 256>::new(1024);
    flash.dead = true;
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    assert_eq!(
        store.save(&recs[0]),
        Err(CheckpointError::Flash(SimError::PowerLost))
    );
    assert_eq!(
        store.load(&mut [0u8; 8]),
        Err(CheckpointError::Flash(SimError::PowerLost))
    );

    let mut flash = SimFlash::<1, 4, 256>::new(1024);
    flash.stuck = true;
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    assert_eq!(store.save(&recs[0]), Err(CheckpointError::Verify));
    assert_eq!(store.latest(), Ok(None));
}

#[test]
fn a_corrupted_newest_slot_falls_back_to_the_older_one() {
    let recs = records(2);
    let mut flash = SimFlash::<1, 4, 256>::new(1024);
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    store.save(&recs[0]).unwrap();
    store.save(&recs[1]).unwrap(); // into slot 1
    flash.mem[512 + 24 + 100] ^= 0x10; // one bit of the newest record
    let mut store = Checkpoints::new(&mut flash, 0, 512).unwrap();
    let mut buf = [0u8; RECORD];
    assert_eq!(
        store.load(&mut buf),
        Ok(Some(Loaded {
            sequence: 1,
            len: RECORD
        }))
    );
    assert_eq!(&buf[..], &recs[0][..]);
    // The next save replaces the corrupted slot, not the good one.
    assert_eq!(store.save(&recs[1]), Ok(2));
    assert_eq!(flash.mem[24..24 + RECORD], recs[0][..]);
}

#[test]
fn the_sequence_number_cannot_wrap() {
    let mut flash = SimFlash::<1, 4, 256>::new(1024);
    Checkpoints::new(&mut flash, 0, 256)
        .unwrap()
        .save(b"abc")
        .unwrap();
    // Rewrite slot 0's marker with the last sequence number (and a matching CRC).
    let mut marker = flash.mem[..24].to_vec();
    assert_eq!(marker[..4], SLOT_MAGIC);
    marker[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    let crc = crc32(&marker[..20]);
    marker[20..24].copy_from_slice(&crc.to_le_bytes());
    flash.mem[..24].copy_from_slice(&marker);
    let mut store = Checkpoints::new(&mut flash, 0, 256).unwrap();
    assert_eq!(
        store.latest(),
        Ok(Some(Loaded {
            sequence: u64::MAX,
            len: 3
        }))
    );
    assert_eq!(store.save(b"def"), Err(CheckpointError::SequenceExhausted));
}

#[test]
fn a_record_for_another_trainer_is_refused_through_the_store() {
    let mut flash = SimFlash::<1, 4, 256>::new(2048);
    let mut store = Checkpoints::new(&mut flash, 0, 1024).unwrap();
    let mut scratch = [0u8; 1024];
    let sgd = Trainer::<Net, Sgd<Net, WithMomentum>, Mse, 2>::new(
        Net::ZERO,
        Sgd::new(SgdConfig::new(0.1)).unwrap(),
        Mse,
    );
    let progress = Progress {
        steps: 0,
        rng: SplitMix64::new(0),
    };
    store.save_state(&sgd, &progress, &mut scratch).unwrap();
    let mut adam = small_trainer();
    let before = adam.net;
    assert!(matches!(
        store.load_state(&mut adam, &mut scratch),
        Err(CheckpointError::Record(Error::Record(
            RecordError::Length { .. }
        )))
    ));
    assert_eq!(adam.net, before);
    assert!(matches!(
        store.save_state(&adam, &progress, &mut scratch[..10]),
        Err(CheckpointError::Record(Error::Record(
            RecordError::BufferTooSmall { .. }
        )))
    ));
}

// ---------------------------------------------------------------------------------
// Training resumed from a checkpoint.
// ---------------------------------------------------------------------------------

/// 10 samples of two interleaved arcs: a length that batches of 4 do not divide.
fn arcs() -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let x: Vec<[f64; 2]> = (0..10)
        .map(|i| {
            let a = i as f64 * 0.6;
            let r = if i % 2 == 0 { 1.0 } else { -1.0 };
            [r * a.cos(), r * a.sin() + 0.1 * a]
        })
        .collect();
    let t = (0..10)
        .map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] })
        .collect();
    (x, t)
}

type Arcs = (
    Dense<2, 6, Tanh, f64>,
    Frozen<Dense<6, 6, Tanh, f64>>,
    Dense<6, 2, Identity, f64>,
);

fn bits<L: Architecture, O: OptimizerState<L>>(
    t: &Trainer<L, O, SoftmaxCrossEntropy, 4>,
) -> Vec<u64> {
    t.net
        .params()
        .flatten()
        .chain(t.optimizer.state().flatten())
        .map(|v| v.to_f64().to_bits())
        .chain([t.optimizer.counter()])
        .collect()
}

/// Trains `EPOCHS` shuffled epochs in one go, then again with a checkpoint after every
/// possible epoch, reloaded into a fresh `Trainer::ZERO`; all runs end bit-identical.
fn resumes_bit_exactly<O>(optimizer: O)
where
    O: Optimizer<Arcs> + OptimizerState<Arcs> + Zero + Clone,
{
    const EPOCHS: u64 = 6;
    let (x, t) = arcs();
    let data = Samples::new(&x, &t).unwrap();
    let start = || {
        let mut rng = SplitMix64::new(2024);
        let mut net = Arcs::ZERO;
        net.init(Init::GlorotUniform, &mut rng);
        (
            Trainer::<_, _, _, 4>::new(net, optimizer.clone(), SoftmaxCrossEntropy),
            rng,
        )
    };

    let (mut reference, mut rng) = start();
    for _ in 0..EPOCHS {
        reference
            .train_epoch(&data, Some(&mut rng), Remainder::Wrap)
            .unwrap();
    }

    for stop in 0..=EPOCHS {
        let mut flash = SimFlash::<1, 4, 256>::new(8192);
        let mut scratch = [0u8; 4096];
        {
            let (mut trainer, mut rng) = start();
            for _ in 0..stop {
                trainer
                    .train_epoch(&data, Some(&mut rng), Remainder::Wrap)
                    .unwrap();
            }
            let mut store = Checkpoints::new(&mut flash, 0, 4096).unwrap();
            // An older checkpoint first, so the store holds two.
            store
                .save_state(
                    &start().0,
                    &Progress {
                        steps: 0,
                        rng: SplitMix64::new(1),
                    },
                    &mut scratch,
                )
                .unwrap();
            store
                .save_state(&trainer, &Progress { steps: stop, rng }, &mut scratch)
                .unwrap();
        } // the trainer and its generator are gone: only the flash remains

        let mut resumed = Trainer::<Arcs, O, SoftmaxCrossEntropy, 4>::ZERO;
        let mut store = Checkpoints::new(&mut flash, 0, 4096).unwrap();
        let progress = store
            .load_state(&mut resumed, &mut scratch)
            .unwrap()
            .expect("saved");
        assert_eq!(progress.steps, stop);
        let mut rng = progress.rng;
        for _ in progress.steps..EPOCHS {
            resumed
                .train_epoch(&data, Some(&mut rng), Remainder::Wrap)
                .unwrap();
        }
        assert_eq!(
            bits(&resumed),
            bits(&reference),
            "stopped after epoch {stop}"
        );
        assert_eq!(rng, {
            let (_, mut r) = start();
            for _ in 0..EPOCHS {
                Permutation::new(x.len(), &mut r);
            }
            r
        });
    }
}

#[test]
fn training_resumed_from_a_checkpoint_is_bit_identical() {
    resumes_bit_exactly(Adam::<Arcs>::new(AdamConfig::new(0.02)).unwrap());
    // Clipping is part of the recorded configuration.
    let sgd = SgdConfig::new(0.05)
        .with_momentum(0.9)
        .with_weight_decay(1e-3)
        .with_clip_norm(0.5);
    resumes_bit_exactly(Sgd::<Arcs, WithMomentum>::new(sgd).unwrap());
    let adam = AdamConfig::new(0.02).with_clip_value(0.05);
    resumes_bit_exactly(Adam::<Arcs>::new(adam).unwrap());
}

#[test]
fn step_by_step_training_resumes_bit_exactly() {
    // Batches drawn with the generator, one step at a time, checkpoint after step k.
    type T = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, 2>;
    let (x, t) = arcs();
    let run = |trainer: &mut T, rng: &mut SplitMix64, steps: std::ops::Range<u64>| {
        for _ in steps {
            let i = rng.below(10) as usize;
            let j = rng.below(10) as usize;
            let f = |v: [f64; 2]| v.map(|e| e as f32);
            trainer
                .step(&[f(x[i]), f(x[j])], &[f(t[i]), f(t[j])])
                .unwrap();
        }
    };
    let (mut reference, mut rng) = (small_trainer(), SplitMix64::new(9));
    run(&mut reference, &mut rng, 0..40);
    for k in [0, 1, 17, 39, 40] {
        let (mut trainer, mut rng) = (small_trainer(), SplitMix64::new(9));
        run(&mut trainer, &mut rng, 0..k);
        let mut record = [0u8; T::STATE_RECORD_LEN];
        trainer
            .save_state(&Progress { steps: k, rng }, &mut record)
            .unwrap();
        let mut resumed = T::ZERO;
        let progress = resumed.load_state(&record).unwrap();
        let mut rng = progress.rng;
        run(&mut resumed, &mut rng, progress.steps..40);
        let p = |t: &T| {
            t.net
                .params()
                .flatten()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(p(&resumed), p(&reference), "checkpoint after step {k}");
        assert_eq!(resumed.optimizer.steps(), 40);
    }
}

// ---------------------------------------------------------------------------------
// FlashSnapshot on ECC flash.
// ---------------------------------------------------------------------------------

/// Cuts power after every byte of a `FlashSnapshot` save on an ECC flash, each way a
/// cut can tear it, after 0, 1 and 2 earlier snapshots; after the reboot `restore`
/// gives exactly the old or the new state, and the next save lands.
fn snapshot_power_cuts<const R: usize, const W: usize, const E: usize>(
    offset: u32,
    slot: u32,
) -> usize {
    use stackprop::persist::FlashSnapshot;
    let mut trainer = small_trainer();
    let states: Vec<(Net, Adam<Net>)> = (0..4)
        .map(|step| {
            let x = [[0.5, -1.0], [step as f32 / 4.0, 0.25]];
            trainer.step(&x, &[[1.0, 0.0], [0.0, 1.0]]).unwrap();
            (trainer.net, trainer.optimizer)
        })
        .collect();
    let len = offset as usize + 2 * slot as usize;
    let restore = |flash: &mut SimFlash<R, W, E>| {
        flash.reboot();
        let checkpoints = Checkpoints::new(flash, offset, slot).unwrap();
        let mut store = FlashSnapshot::<_, RECORD>::new(checkpoints);
        let (mut net, mut opt) = (Net::ZERO, Adam::<Net>::ZERO);
        match SnapshotStore::<Net, Adam<Net>>::restore(&mut store, &mut net, &mut opt) {
            Ok(()) => Some((net, opt)),
            Err(Error::NoSnapshot) => None,
            Err(e) => panic!("the flash works after the reboot: {e:?}"),
        }
    };
    let same = |a: &Option<(Net, Adam<Net>)>, b: Option<&(Net, Adam<Net>)>| match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            let bits = |s: &(Net, Adam<Net>)| {
                let mut record = vec![0u8; RECORD];
                Trainer::<Net, Adam<Net>, SoftmaxCrossEntropy, 2>::new(
                    s.0,
                    s.1,
                    SoftmaxCrossEntropy,
                )
                .save_state(
                    &Progress {
                        steps: 0,
                        rng: SplitMix64::new(0),
                    },
                    &mut record,
                )
                .unwrap();
                record
            };
            bits(a) == bits(b)
        }
        _ => false,
    };
    let mut cuts = 0;
    for prior in 0..3 {
        let mut base = SimFlash::<R, W, E>::ecc(len);
        {
            let mut store =
                FlashSnapshot::<_, RECORD>::new(Checkpoints::new(&mut base, offset, slot).unwrap())
                    .with_write_every(1)
                    .unwrap();
            for (net, opt) in &states[..prior] {
                store.save(net, opt).unwrap();
            }
        }
        let old = prior.checked_sub(1).map(|k| &states[k]);
        let new = &states[prior];
        let mut measure = base.clone();
        measure.steps = 0;
        FlashSnapshot::<_, RECORD>::new(Checkpoints::new(&mut measure, offset, slot).unwrap())
            .save(&new.0, &new.1)
            .unwrap();
        let total = measure.steps;
        for cut in 0..total {
            for torn in TORN {
                let mut flash = base.clone();
                flash.budget = Some(cut);
                flash.torn = torn;
                flash.noise ^= (cut as u64) << 8 | torn as u64;
                let mut store = FlashSnapshot::<_, RECORD>::new(
                    Checkpoints::new(&mut flash, offset, slot).unwrap(),
                );
                assert!(store.save(&new.0, &new.1).is_err());
                let found = restore(&mut flash);
                let case =
                    format!("{prior} earlier snapshots, cut after {cut} of {total}, {torn:?}");
                assert!(same(&found, old) || same(&found, Some(new)), "{case}");
                let next = &states[3];
                let mut store = FlashSnapshot::<_, RECORD>::new(
                    Checkpoints::new(&mut flash, offset, slot).unwrap(),
                );
                assert_eq!(store.save(&next.0, &next.1), Ok(()), "{case}");
                assert!(same(&restore(&mut flash), Some(next)), "{case}");
                cuts += 1;
            }
        }
    }
    cuts
}

#[test]
fn a_power_cut_anywhere_on_ecc_flash_leaves_the_old_or_the_new_snapshot() {
    let cuts =
        snapshot_power_cuts::<8, 8, 2048>(0, 2048) + snapshot_power_cuts::<1, 4, 256>(0, 512);
    assert!(cuts > 10_000, "{cuts} cut points");
}

/// `fw_digits`'s measured training step (README, QEMU `-icount`) on an 80 MHz
/// Cortex-M4F at one instruction per cycle: an upper bound on its step rate.
const DIGITS_STEPS_PER_SECOND: f64 = 80e6 / 566_908.0;

#[test]
fn flash_snapshot_wear_with_the_defaults_lasts_ten_years() {
    use stackprop::persist::{DEFAULT_WRITE_EVERY, FlashSnapshot};
    let snapshot_every = WatchdogConfig::<f32>::new().snapshot_every;
    let mut flash = SimFlash::<1, 4, 256>::new(2048);
    let mut store = FlashSnapshot::<_, RECORD>::new(Checkpoints::new(&mut flash, 0, 1024).unwrap());
    let trainer = small_trainer();
    // The first save and then one in DEFAULT_WRITE_EVERY is written.
    let saves = 4 * DEFAULT_WRITE_EVERY as usize + 1;
    for _ in 0..saves {
        store.save(&trainer.net, &trainer.optimizer).unwrap();
    }
    let most = *flash.erases.iter().max().unwrap();
    assert_eq!(flash.erases, [3, 3, 3, 3, 2, 2, 2, 2], "5 records written");
    // After the first save, each sector is erased twice in 4 × DEFAULT_WRITE_EVERY saves.
    let least = *flash.erases.iter().min().unwrap();
    let saves_per_erase = (saves - 1) as f64 / f64::from(least);
    let steps_per_erase = saves_per_erase * f64::from(snapshot_every);
    let hours = steps_per_erase / DIGITS_STEPS_PER_SECOND / 3600.0;
    let years = 10_000.0 * hours / (24.0 * 365.25);
    println!(
        "{saves} saves, most erases of a sector {most}; at {DIGITS_STEPS_PER_SECOND:.1} steps/s a sector is erased every {steps_per_erase} steps = {hours:.1} h: 10,000 cycles last {years:.1} years"
    );
    assert_eq!(steps_per_erase, 6_553_600.0);
    assert_eq!(format!("{hours:.1} {years:.1}"), "12.9 14.7");
    assert!(years >= 10.0);
}
