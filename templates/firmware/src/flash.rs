//! A NOR flash simulated in RAM, for QEMU: erased bytes read `0xFF` and a write can
//! only clear bits, as on the real thing. On a board, delete this file and hand
//! `Checkpoints` the HAL's flash driver (anything implementing `NorFlash`).

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// `LEN` bytes of simulated flash in sectors of [`RamFlash::ERASE_SIZE`].
pub struct RamFlash<const LEN: usize>([u8; LEN]);

impl<const LEN: usize> RamFlash<LEN> {
    /// A fully erased flash.
    pub const fn new() -> Self {
        Self([0xFF; LEN])
    }

    fn range(&mut self, from: u32, len: usize) -> Result<&mut [u8], OutOfBounds> {
        let from = from as usize;
        let to = from.checked_add(len).ok_or(OutOfBounds)?;
        self.0.get_mut(from..to).ok_or(OutOfBounds)
    }
}

/// An access past the end of the flash.
#[derive(Debug)]
pub struct OutOfBounds;

impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

impl<const LEN: usize> ErrorType for RamFlash<LEN> {
    type Error = OutOfBounds;
}

impl<const LEN: usize> ReadNorFlash for RamFlash<LEN> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        bytes.copy_from_slice(self.range(offset, bytes.len())?);
        Ok(())
    }

    fn capacity(&self) -> usize {
        LEN
    }
}

impl<const LEN: usize> NorFlash for RamFlash<LEN> {
    /// Word writes and 4 KiB sectors, as on many Cortex-M parts' internal flash.
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
