//! [`Checkpoints`]: the newest record kept in two NOR-flash slots, so that losing
//! power at any moment leaves the previous or the new checkpoint loadable.

use core::fmt;

use embedded_storage::nor_flash::NorFlash;

use crate::persist::{Architecture, Crc32, OptimizerState, Progress, crc32};
use crate::{Error, Trainer};

/// The largest read or write unit ([`ReadNorFlash::READ_SIZE`] and
/// [`NorFlash::WRITE_SIZE`]) supported; the staging buffer has this size.
///
/// [`ReadNorFlash::READ_SIZE`]: embedded_storage::nor_flash::ReadNorFlash::READ_SIZE
pub const MAX_UNIT: usize = 256;

/// The first four bytes of a committed slot.
pub const SLOT_MAGIC: [u8; 4] = *b"SPCK";

/// Bytes of the commit marker before padding.
const MARKER_LEN: usize = 24;

/// What went wrong while saving or loading a checkpoint.
///
/// # Generics
///
/// `E` is the flash driver's error type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError<E> {
    /// The flash driver failed; the operation stopped there.
    Flash(E),
    /// A record could not be written or was refused on loading.
    Record(Error),
    /// The slots do not fit the flash: misaligned, too small, or past its end.
    Geometry {
        /// What is wrong.
        what: &'static str,
    },
    /// The record is longer than a slot holds.
    TooLarge {
        /// The record's length.
        len: usize,
        /// The most a slot holds, [`Checkpoints::capacity`].
        capacity: usize,
    },
    /// The buffer is shorter than the checkpoint being loaded.
    BufferTooSmall {
        /// The checkpoint's length.
        needed: usize,
        /// The buffer's length.
        found: usize,
    },
    /// The slot just written does not read back as the checkpoint written (a worn or
    /// failing flash); the previous checkpoint is still there.
    Verify,
    /// The sequence number reached `u64::MAX`; at one save a millisecond that takes
    /// 584 million years.
    SequenceExhausted,
}

impl<E: fmt::Debug> fmt::Display for CheckpointError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flash(e) => write!(f, "flash error: {e:?}"),
            Self::Record(e) => write!(f, "{e}"),
            Self::Geometry { what } => write!(f, "checkpoint slots: {what}"),
            Self::TooLarge { len, capacity } => {
                write!(
                    f,
                    "a record of {len} bytes does not fit a slot of {capacity}"
                )
            }
            Self::BufferTooSmall { needed, found } => {
                write!(
                    f,
                    "the checkpoint needs {needed} bytes, the buffer has {found}"
                )
            }
            Self::Verify => f.write_str("the checkpoint did not read back as written"),
            Self::SequenceExhausted => f.write_str("the checkpoint sequence number is exhausted"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for CheckpointError<E> {}

/// Where a checkpoint was found: its sequence number and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The sequence number, from 1 for the first save; each save adds 1.
    pub sequence: u64,
    /// The record's length in bytes.
    pub len: usize,
}

/// A slot's commit marker, as read back.
#[derive(Clone, Copy, Debug)]
struct Marker {
    len: usize,
    sequence: u64,
    crc: u32,
}

/// Two flash slots holding the newest record and the one before it.
///
/// # Layout and guarantee
///
/// The region `offset .. offset + 2·slot_len` of the flash holds slot 0 and then
/// slot 1; `offset` and `slot_len` are multiples of the erase size. A slot holds a
/// commit marker in its first `u = max(READ_SIZE, WRITE_SIZE)`-rounded 24 bytes, then
/// the record, padded with `0xFF` to a multiple of `u`. The marker is (little-endian):
///
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 4 | `SPCK` |
/// | 4 | 4 | record length, `u32` |
/// | 8 | 8 | sequence number, `u64` |
/// | 16 | 4 | CRC-32 of the record |
/// | 20 | 4 | CRC-32 of marker bytes 0..20 |
///
/// [`save`](Checkpoints::save) writes into the slot *not* holding the newest valid
/// checkpoint: it erases that slot, writes the record, and writes the marker last,
/// with the sequence number one above the newest. A slot counts only if its marker
/// and its record both pass their CRC-32, and loading takes the valid slot with the
/// highest sequence. So a reset during a save (mid-erase or mid-write included)
/// leaves the newest checkpoint before it untouched and loadable, and once the
/// marker is written the new one wins. The sequence number is a `u64` starting at 1:
/// it cannot wrap in practice, and [`CheckpointError::SequenceExhausted`] reports it
/// if it ever would.
///
/// On a flash with ECC (STM32L4/G4/H7/U5 and others), a cut during a write or an
/// erase leaves words whose reads return an error rather than garbage. A slot that
/// fails to read counts as invalid: loading falls back to the other slot and the next
/// save erases and rewrites the unreadable one. Only when both slots fail to read is
/// the driver's error returned. (A read error that is transient rather than left by
/// a cut, on the newest slot during a save, makes that save overwrite the newest
/// checkpoint; the one before it stays.)
///
/// Every call reads the slots afresh: nothing is cached between calls. Each save erases
/// one slot, so a slot's sectors are erased once per two saves; with the 10k to 100k
/// erase cycles NOR flash typically endures, choose the save interval accordingly.
///
/// # Examples
///
/// A record saved and loaded back through an in-memory flash (any
/// `embedded_storage::nor_flash::NorFlash` driver works the same way):
///
/// ```
/// use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
/// use stackprop::persist::Checkpoints;
///
/// struct Ram([u8; 4096]);
/// impl ErrorType for Ram { type Error = NorFlashErrorKind; }
/// impl ReadNorFlash for Ram {
///     const READ_SIZE: usize = 1;
///     fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
///         let at = offset as usize;
///         bytes.copy_from_slice(self.0.get(at..at + bytes.len()).ok_or(NorFlashErrorKind::OutOfBounds)?);
///         Ok(())
///     }
///     fn capacity(&self) -> usize { self.0.len() }
/// }
/// impl NorFlash for Ram {
///     const WRITE_SIZE: usize = 4;
///     const ERASE_SIZE: usize = 1024;
///     fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
///         self.0[from as usize..to as usize].fill(0xFF);
///         Ok(())
///     }
///     fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
///         for (cell, b) in self.0[offset as usize..].iter_mut().zip(bytes) { *cell &= b; }
///         Ok(())
///     }
/// }
///
/// let mut store = Checkpoints::new(Ram([0xFF; 4096]), 0, 2048)?;
/// let mut buf = [0u8; 64];
/// assert_eq!(store.load(&mut buf)?, None);
/// store.save(b"first")?;
/// assert_eq!(store.save(b"second")?, 2);
/// let loaded = store.load(&mut buf)?.expect("a checkpoint");
/// assert_eq!(&buf[..loaded.len], b"second");
/// # Ok::<(), stackprop::persist::CheckpointError<NorFlashErrorKind>>(())
/// ```
#[derive(Debug)]
pub struct Checkpoints<F> {
    flash: F,
    offset: u32,
    slot_len: u32,
}

/// `x` rounded up to a multiple of `unit`.
const fn round_up(x: usize, unit: usize) -> usize {
    x.div_ceil(unit) * unit
}

impl<F: NorFlash> Checkpoints<F> {
    /// The read and write unit: every flash access is a multiple of it.
    const UNIT: usize = {
        let unit = if F::READ_SIZE > F::WRITE_SIZE {
            F::READ_SIZE
        } else {
            F::WRITE_SIZE
        };
        if unit == 0 { 1 } else { unit }
    };
    /// Bytes of the marker area at the start of a slot.
    const MARKER_AREA: usize = round_up(MARKER_LEN, Self::UNIT);
    /// Bytes read at a time when checking a slot: a multiple of the unit.
    const CHUNK: usize = if Self::UNIT >= MAX_UNIT {
        Self::UNIT
    } else {
        MAX_UNIT / Self::UNIT * Self::UNIT
    };

    /// Checkpoints in two slots of `slot_len` bytes from `offset` of `flash`.
    ///
    /// Reads and writes nothing yet.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Geometry`] if `offset` or `slot_len` is not a multiple of
    /// the erase size, if the erase size is not a multiple of the read and write
    /// sizes, if those exceed [`MAX_UNIT`], if a slot cannot hold its marker and one
    /// byte, or if the slots run past the end of the flash (or past the 4 GiB that
    /// `u32` offsets address).
    pub fn new(flash: F, offset: u32, slot_len: u32) -> Result<Self, CheckpointError<F::Error>> {
        let geometry = |what| Err(CheckpointError::Geometry { what });
        let erase = F::ERASE_SIZE as u64;
        if Self::UNIT > MAX_UNIT {
            return geometry("read or write size above MAX_UNIT");
        }
        if erase == 0 || F::ERASE_SIZE % Self::UNIT != 0 {
            return geometry("erase size not a multiple of the read and write sizes");
        }
        if u64::from(offset) % erase != 0 {
            return geometry("offset not a multiple of the erase size");
        }
        if u64::from(slot_len) % erase != 0 {
            return geometry("slot length not a multiple of the erase size");
        }
        if slot_len as usize <= Self::MARKER_AREA {
            return geometry("slot too small");
        }
        let end = u64::from(offset) + 2 * u64::from(slot_len);
        if end > flash.capacity() as u64 {
            return geometry("slots past the end of the flash");
        }
        if end > u64::from(u32::MAX) {
            return geometry("slots past the 4 GiB that flash offsets address");
        }
        Ok(Self {
            flash,
            offset,
            slot_len,
        })
    }

    /// The longest record a slot holds.
    pub fn capacity(&self) -> usize {
        self.slot_len as usize - Self::MARKER_AREA
    }

    /// The flash, e.g. to use the rest of it.
    pub fn flash(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the flash back.
    pub fn into_inner(self) -> F {
        self.flash
    }

    /// Saves `record` as the newest checkpoint; returns its sequence number.
    ///
    /// Erases and writes only the slot not holding the newest valid checkpoint (a slot
    /// that fails to read is not valid), marker last, then reads it back; see [`Checkpoints`] for why a reset at any moment is
    /// safe.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::TooLarge`], [`CheckpointError::SequenceExhausted`],
    /// [`CheckpointError::Flash`] from the driver (the previous checkpoint stays
    /// loadable), or [`CheckpointError::Verify`] if the slot does not read back.
    pub fn save(&mut self, record: &[u8]) -> Result<u64, CheckpointError<F::Error>> {
        let capacity = self.capacity();
        if record.len() > capacity {
            return Err(CheckpointError::TooLarge {
                len: record.len(),
                capacity,
            });
        }
        let newest = self.newest()?;
        let sequence = match newest {
            None => 1,
            Some((_, m)) => m
                .sequence
                .checked_add(1)
                .ok_or(CheckpointError::SequenceExhausted)?,
        };
        let slot = newest.map_or(0, |(slot, _)| 1 - slot);
        let base = self.slot_start(slot);
        self.flash
            .erase(base, base + self.slot_len)
            .map_err(CheckpointError::Flash)?;

        // The record: its whole units straight from the slice, the tail padded.
        let start = base + Self::MARKER_AREA as u32;
        let body = record.len() - record.len() % Self::UNIT;
        let (whole, tail) = record.split_at(body);
        if !whole.is_empty() {
            self.flash
                .write(start, whole)
                .map_err(CheckpointError::Flash)?;
        }
        if !tail.is_empty() {
            let mut unit = [0xFF; MAX_UNIT];
            let unit = unit.get_mut(..Self::UNIT).unwrap_or_default();
            copy(unit, tail);
            self.flash
                .write(start + body as u32, unit)
                .map_err(CheckpointError::Flash)?;
        }

        // The marker, last: until it is complete the slot does not count.
        let mut marker = [0xFF; MAX_UNIT];
        let marker = marker.get_mut(..Self::MARKER_AREA).unwrap_or_default();
        encode_marker(marker, record.len() as u32, sequence, crc32(record));
        self.flash
            .write(base, marker)
            .map_err(CheckpointError::Flash)?;

        match self.check_slot(slot)? {
            Some(m) if m.sequence == sequence && m.len == record.len() => Ok(sequence),
            _ => Err(CheckpointError::Verify),
        }
    }

    /// Copies the newest valid checkpoint into the start of `buf`; `None` if no slot
    /// holds one (a fresh flash).
    ///
    /// If the newest slot fails its CRC or fails to read when read into `buf`, the
    /// other one is tried.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::BufferTooSmall`], or [`CheckpointError::Flash`] if both
    /// slots fail to read.
    pub fn load(&mut self, buf: &mut [u8]) -> Result<Option<Loaded>, CheckpointError<F::Error>> {
        let mut unreadable = Unreadable::default();
        let markers = [
            unreadable.check(self.read_marker(0)),
            unreadable.check(self.read_marker(1)),
        ];
        let mut order = [0, 1];
        if let [Some(a), Some(b)] = markers
            && b.sequence > a.sequence
        {
            order = [1, 0];
        }
        for slot in order {
            let Some(m) = markers.get(slot).copied().flatten() else {
                continue;
            };
            let found = buf.len();
            let dst = buf
                .get_mut(..m.len)
                .ok_or(CheckpointError::BufferTooSmall {
                    needed: m.len,
                    found,
                })?;
            let read = self.read_record(slot, dst);
            if unreadable.check(read.map(Some)).is_some() && crc32(dst) == m.crc {
                return Ok(Some(Loaded {
                    sequence: m.sequence,
                    len: m.len,
                }));
            }
        }
        unreadable.result().map(|()| None)
    }

    /// The newest valid checkpoint's sequence number and length, checked but not
    /// copied; `None` if there is none.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Flash`] if both slots fail to read.
    pub fn latest(&mut self) -> Result<Option<Loaded>, CheckpointError<F::Error>> {
        Ok(self.newest()?.map(|(_, m)| Loaded {
            sequence: m.sequence,
            len: m.len,
        }))
    }

    /// Saves `trainer`'s training state (see [`Trainer::save_state`]), staging the
    /// record in `scratch`; returns the sequence number.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Record`] if the state cannot be written (a buffer too
    /// small, a non-finite value), otherwise as [`save`](Checkpoints::save).
    pub fn save_state<L: Architecture, O: OptimizerState<L>, E, const N: usize>(
        &mut self,
        trainer: &Trainer<L, O, E, N>,
        progress: &Progress,
        scratch: &mut [u8],
    ) -> Result<u64, CheckpointError<F::Error>> {
        let len = trainer
            .save_state(progress, scratch)
            .map_err(CheckpointError::Record)?;
        self.save(scratch.get(..len).unwrap_or_default())
    }

    /// Loads the newest checkpoint into `trainer` (see [`Trainer::load_state`]),
    /// staging it in `scratch`; `None` if there is none, and the trainer is unchanged.
    ///
    /// # Errors
    ///
    /// As [`load`](Checkpoints::load), or [`CheckpointError::Record`] if the newest
    /// checkpoint is not a training state of this trainer; the trainer is unchanged then.
    pub fn load_state<L: Architecture, O: OptimizerState<L>, E, const N: usize>(
        &mut self,
        trainer: &mut Trainer<L, O, E, N>,
        scratch: &mut [u8],
    ) -> Result<Option<Progress>, CheckpointError<F::Error>> {
        match self.load(scratch)? {
            None => Ok(None),
            Some(loaded) => trainer
                .load_state(scratch.get(..loaded.len).unwrap_or_default())
                .map(Some)
                .map_err(CheckpointError::Record),
        }
    }

    fn slot_start(&self, slot: usize) -> u32 {
        self.offset + if slot == 0 { 0 } else { self.slot_len }
    }

    /// The valid slot with the highest sequence number, and its marker.
    fn newest(&mut self) -> Result<Option<(usize, Marker)>, CheckpointError<F::Error>> {
        let mut unreadable = Unreadable::default();
        let a = unreadable.check(self.check_slot(0));
        let b = unreadable.check(self.check_slot(1));
        unreadable.result()?;
        Ok(match (a, b) {
            (Some(a), Some(b)) if b.sequence > a.sequence => Some((1, b)),
            (Some(a), _) => Some((0, a)),
            (None, Some(b)) => Some((1, b)),
            (None, None) => None,
        })
    }

    /// The slot's marker if it is intact and its record passes the CRC.
    fn check_slot(&mut self, slot: usize) -> Result<Option<Marker>, CheckpointError<F::Error>> {
        let Some(m) = self.read_marker(slot)? else {
            return Ok(None);
        };
        let mut crc = Crc32::new();
        let mut chunk = [0u8; MAX_UNIT];
        let chunk = chunk.get_mut(..Self::CHUNK).unwrap_or_default();
        let start = self.slot_start(slot) + Self::MARKER_AREA as u32;
        let mut done = 0;
        while done < m.len {
            // Whole units, and never past the record's last unit (nor the slot).
            let take = (m.len - done).min(chunk.len());
            let read = round_up(take, Self::UNIT).min(chunk.len());
            let part = chunk.get_mut(..read).unwrap_or_default();
            if take == 0 || part.is_empty() {
                return Ok(None); // unreachable: `new` bounds the unit
            }
            self.flash
                .read(start + done as u32, part)
                .map_err(CheckpointError::Flash)?;
            crc.update(part.get(..take).unwrap_or_default());
            done += take;
        }
        Ok((crc.finish() == m.crc).then_some(m))
    }

    /// The slot's marker, if its magic and CRC are right and its length fits.
    fn read_marker(&mut self, slot: usize) -> Result<Option<Marker>, CheckpointError<F::Error>> {
        let mut area = [0u8; MAX_UNIT];
        let area = area.get_mut(..Self::MARKER_AREA).unwrap_or_default();
        self.flash
            .read(self.slot_start(slot), area)
            .map_err(CheckpointError::Flash)?;
        Ok(decode_marker(area).filter(|m| m.len <= self.capacity()))
    }

    /// Reads the slot's record into `dst` (its length is the record's).
    fn read_record(
        &mut self,
        slot: usize,
        dst: &mut [u8],
    ) -> Result<(), CheckpointError<F::Error>> {
        let start = self.slot_start(slot) + Self::MARKER_AREA as u32;
        let body = dst.len() - dst.len() % Self::UNIT;
        let (whole, tail) = dst.split_at_mut(body);
        if !whole.is_empty() {
            self.flash
                .read(start, whole)
                .map_err(CheckpointError::Flash)?;
        }
        if !tail.is_empty() {
            let mut unit = [0u8; MAX_UNIT];
            let unit = unit.get_mut(..Self::UNIT).unwrap_or_default();
            self.flash
                .read(start + body as u32, unit)
                .map_err(CheckpointError::Flash)?;
            copy(tail, unit);
        }
        Ok(())
    }
}

/// Read errors met while looking at both slots. On a flash with ECC, a power cut
/// during a write or an erase leaves words whose reads fail; such a slot counts as
/// invalid, like one that reads back garbage. Only if both slots fail to read is the
/// flash itself failing, and the error is reported.
struct Unreadable<E> {
    slots: u8,
    error: Option<E>,
}

impl<E> Default for Unreadable<E> {
    fn default() -> Self {
        Self {
            slots: 0,
            error: None,
        }
    }
}

impl<E> Unreadable<E> {
    /// A slot's value, `None` (invalid) if reading it failed.
    fn check<T>(&mut self, read: Result<Option<T>, CheckpointError<E>>) -> Option<T> {
        match read {
            Ok(value) => value,
            Err(CheckpointError::Flash(e)) => {
                self.slots = self.slots.saturating_add(1);
                self.error = Some(e);
                None
            }
            Err(_) => None,
        }
    }

    /// The driver's error if both slots failed to read.
    fn result(self) -> Result<(), CheckpointError<E>> {
        match self.error {
            Some(e) if self.slots >= 2 => Err(CheckpointError::Flash(e)),
            _ => Ok(()),
        }
    }
}

/// Copies as many bytes as both slices have.
fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

fn encode_marker(out: &mut [u8], len: u32, sequence: u64, crc: u32) {
    let mut m = [0u8; MARKER_LEN];
    copy(&mut m, &SLOT_MAGIC);
    copy(m.get_mut(4..8).unwrap_or_default(), &len.to_le_bytes());
    copy(
        m.get_mut(8..16).unwrap_or_default(),
        &sequence.to_le_bytes(),
    );
    copy(m.get_mut(16..20).unwrap_or_default(), &crc.to_le_bytes());
    let own = crc32(m.get(..20).unwrap_or_default());
    copy(m.get_mut(20..24).unwrap_or_default(), &own.to_le_bytes());
    copy(out, &m);
}

fn decode_marker(bytes: &[u8]) -> Option<Marker> {
    let field = |range: core::ops::Range<usize>| bytes.get(range);
    let word = |range| -> Option<u32> { Some(u32::from_le_bytes(field(range)?.try_into().ok()?)) };
    if field(0..4)? != SLOT_MAGIC || word(20..24)? != crc32(field(0..20)?) {
        return None;
    }
    Some(Marker {
        len: usize::try_from(word(4..8)?).ok()?,
        sequence: u64::from_le_bytes(field(8..16)?.try_into().ok()?),
        crc: word(16..20)?,
    })
}
