//! [`FlashSnapshot`]: a [`Watchdog`](crate::Watchdog)'s last good state in NOR flash,
//! so that it survives a reset.

use embedded_storage::nor_flash::NorFlash;

use crate::persist::record::{read_state, write_state};
use crate::persist::{Architecture, CheckpointError, Checkpoints, OptimizerState, Progress};
use crate::{Error, SnapshotStore, SplitMix64};

/// A [`SnapshotStore`] that keeps its snapshot as a training-state record in
/// [`Checkpoints`]: power-loss safe, and still there after a reset (load it with
/// [`Checkpoints::load_state`] at start-up).
///
/// `LEN` is the staging buffer's length: at least the trainer's
/// [`STATE_RECORD_LEN`](crate::Trainer::STATE_RECORD_LEN). The record's
/// [`Progress`] is left at zero: a snapshot holds the network and the optimizer only.
///
/// # Flash wear
///
/// Each record written erases one slot, so a slot's sectors are erased once per two
/// records. To bound wear, only the first save and then every `write_every`-th save
/// ([`DEFAULT_WRITE_EVERY`] unless set with
/// [`with_write_every`](FlashSnapshot::with_write_every)) is written; the saves in
/// between return `Ok` and write nothing, so a rollback returns to the last state
/// written, which may be older than the watchdog's last snapshot.
///
/// With the defaults (a [`Watchdog`](crate::Watchdog) snapshot every 100 steps, a
/// write every 32,768 snapshots) a sector is erased once per 6,553,600 steps. At the
/// `fw_digits` step rate, 566,908 instructions per step measured under QEMU, on an
/// 80 MHz Cortex-M4F at one instruction per cycle (an upper bound on the step rate:
/// 141 steps a second), that is one erase every 12.9 hours, and a 10,000-cycle flash
/// lasts 14.7 years (`tests/checkpoint.rs` asserts these figures). Each reset also
/// writes once, at the first save.
///
/// # Examples
///
/// A store for a watchdog, over any `NorFlash` driver (here a stand-in in RAM):
///
/// ```
/// # use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};
/// # struct Ram([u8; 8192]);
/// # #[derive(Debug)] struct Oob;
/// # impl NorFlashError for Oob { fn kind(&self) -> NorFlashErrorKind { NorFlashErrorKind::OutOfBounds } }
/// # impl ErrorType for Ram { type Error = Oob; }
/// # impl ReadNorFlash for Ram {
/// #     const READ_SIZE: usize = 1;
/// #     fn read(&mut self, at: u32, out: &mut [u8]) -> Result<(), Oob> {
/// #         out.copy_from_slice(self.0.get(at as usize..at as usize + out.len()).ok_or(Oob)?); Ok(())
/// #     }
/// #     fn capacity(&self) -> usize { self.0.len() }
/// # }
/// # impl NorFlash for Ram {
/// #     const WRITE_SIZE: usize = 1;
/// #     const ERASE_SIZE: usize = 1024;
/// #     fn erase(&mut self, from: u32, to: u32) -> Result<(), Oob> {
/// #         self.0.get_mut(from as usize..to as usize).ok_or(Oob)?.fill(0xff); Ok(())
/// #     }
/// #     fn write(&mut self, at: u32, data: &[u8]) -> Result<(), Oob> {
/// #         for (c, d) in self.0.get_mut(at as usize..at as usize + data.len()).ok_or(Oob)?.iter_mut().zip(data) { *c &= d; }
/// #         Ok(())
/// #     }
/// # }
/// use stackprop::persist::{Checkpoints, FlashSnapshot};
/// use stackprop::*;
/// type Net = (Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid>);
/// type T = Trainer<Net, Sgd<Net>, Mse, 4>;
///
/// let checkpoints = Checkpoints::new(Ram([0xff; 8192]), 0, 4096).expect("fits");
/// let mut store = FlashSnapshot::<_, { T::STATE_RECORD_LEN }>::new(checkpoints);
/// let mut net = Net::ZERO;
/// net.init(Init::GlorotUniform, &mut SplitMix64::new(1));
/// let mut sgd = Sgd::<Net>::new(SgdConfig::new(0.1))?;
/// store.save(&net, &sgd)?;
///
/// let saved = net;
/// net.0.w[0][0] = 9.0;
/// store.restore(&mut net, &mut sgd)?;
/// assert_eq!(net, saved);
/// # Ok::<(), Error>(())
/// ```
pub struct FlashSnapshot<F, const LEN: usize> {
    checkpoints: Checkpoints<F>,
    staging: [u8; LEN],
    write_every: u32,
    /// Saves since the last one written; `None` before the first.
    skipped: Option<u32>,
}

/// The default of [`FlashSnapshot::with_write_every`]: one save in 32,768 is written.
pub const DEFAULT_WRITE_EVERY: u32 = 32_768;

impl<F: NorFlash, const LEN: usize> FlashSnapshot<F, LEN> {
    /// A store writing to `checkpoints`. A checkpoint already in them counts as the
    /// snapshot.
    pub const fn new(checkpoints: Checkpoints<F>) -> Self {
        Self {
            checkpoints,
            staging: [0; LEN],
            write_every: DEFAULT_WRITE_EVERY,
            skipped: None,
        }
    }

    /// Writes the first save and then one save in `write_every` (1 writes every
    /// save); see [Flash wear](FlashSnapshot#flash-wear).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if `write_every` is 0.
    pub fn with_write_every(mut self, write_every: u32) -> Result<Self, Error> {
        if write_every == 0 {
            return Err(Error::InvalidHyperParameter {
                name: "write_every",
                expected: ">= 1",
            });
        }
        self.write_every = write_every;
        Ok(self)
    }

    /// One save in this many is written.
    pub const fn write_every(&self) -> u32 {
        self.write_every
    }

    /// The checkpoints, e.g. to load the snapshot into a trainer after a reset.
    pub fn checkpoints(&mut self) -> &mut Checkpoints<F> {
        &mut self.checkpoints
    }

    /// Gives the checkpoints back.
    pub fn into_inner(self) -> Checkpoints<F> {
        self.checkpoints
    }
}

impl<L, O, F, const LEN: usize> SnapshotStore<L, O> for FlashSnapshot<F, LEN>
where
    L: Architecture,
    O: OptimizerState<L>,
    F: NorFlash,
{
    /// # Errors
    ///
    /// [`Error::Record`] if the staging buffer is shorter than the record or a value is
    /// not finite; [`Error::Storage`] if the flash fails or the record does not fit a
    /// slot. The previous snapshot stays loadable either way.
    fn save(&mut self, net: &L, optimizer: &O) -> Result<(), Error> {
        if let Some(skipped) = self.skipped
            && skipped.saturating_add(1) < self.write_every
        {
            self.skipped = Some(skipped.saturating_add(1));
            return Ok(());
        }
        let progress = Progress {
            steps: 0,
            rng: SplitMix64::new(0),
        };
        let len = write_state(net, optimizer, &progress, &mut self.staging)?;
        let record = self.staging.get(..len).unwrap_or_default();
        self.checkpoints.save(record).map_err(storage)?;
        self.skipped = Some(0);
        Ok(())
    }

    /// # Errors
    ///
    /// [`Error::NoSnapshot`] if the flash holds no checkpoint, [`Error::Record`] if it
    /// holds one of another network or optimizer, [`Error::Storage`] if the flash
    /// fails. `net` and `optimizer` are unchanged on any error.
    fn restore(&mut self, net: &mut L, optimizer: &mut O) -> Result<(), Error> {
        let loaded = self
            .checkpoints
            .load(&mut self.staging)
            .map_err(storage)?
            .ok_or(Error::NoSnapshot)?;
        read_state(
            net,
            optimizer,
            self.staging.get(..loaded.len).unwrap_or_default(),
        )
        .map(|_| ())
    }
}

fn storage<E>(error: CheckpointError<E>) -> Error {
    match error {
        CheckpointError::Record(e) => e,
        CheckpointError::Flash(_) => Error::Storage {
            what: "the flash driver failed",
        },
        CheckpointError::Verify => Error::Storage {
            what: "the slot written does not read back",
        },
        CheckpointError::TooLarge { .. } | CheckpointError::Geometry { .. } => Error::Storage {
            what: "the record does not fit the checkpoint slots",
        },
        CheckpointError::BufferTooSmall { .. } => Error::Storage {
            what: "the staging buffer is shorter than the checkpoint",
        },
        CheckpointError::SequenceExhausted => Error::Storage {
            what: "the checkpoint sequence number is exhausted",
        },
    }
}
