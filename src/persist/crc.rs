//! CRC-32 (IEEE 802.3, the one of zlib, PNG and Python's `zlib.crc32`).
//!
//! Reflected polynomial `0xEDB8_8320`, initial value and final XOR `0xFFFF_FFFF`.
//! The 1 KiB table is built at compile time. Written out rather than taken from a crate:
//! it is twenty lines, and the incremental form [`Crc32`] is all the records and the
//! checkpoint slots need.

/// The byte-at-a-time table of the reflected polynomial, built at compile time.
// Evaluated by the compiler: an index out of range would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// An incremental CRC-32: feed bytes in any number of pieces, then [`finish`](Crc32::finish).
///
/// # Examples
///
/// ```
/// use stackprop::persist::Crc32;
/// let mut crc = Crc32::new();
/// crc.update(b"12345");
/// crc.update(b"6789");
/// assert_eq!(crc.finish(), 0xCBF4_3926); // the standard check value
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32 {
    state: u32,
}

impl Crc32 {
    /// The CRC of no bytes yet.
    pub const fn new() -> Self {
        Self { state: 0xFFFF_FFFF }
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.state;
        for &byte in bytes {
            let index = usize::from((c as u8) ^ byte);
            c = TABLE.get(index).copied().unwrap_or(0) ^ (c >> 8);
        }
        self.state = c;
    }

    /// The CRC of every byte fed so far.
    pub const fn finish(&self) -> u32 {
        self.state ^ 0xFFFF_FFFF
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

/// The CRC-32 of `bytes`: the same value as Python's `zlib.crc32(bytes)`.
///
/// # Examples
///
/// ```
/// assert_eq!(stackprop::persist::crc32(b""), 0);
/// assert_eq!(stackprop::persist::crc32(b"123456789"), 0xCBF4_3926);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time reference, straight from the definition.
    fn slow(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn known_answers() {
        // Values of zlib.crc32.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        assert_eq!(crc32(&[0u8; 32]), 0x190A_55AD);
        assert_eq!(crc32(&[0xFFu8; 32]), 0xFF6C_AB0B);
    }

    #[test]
    fn table_matches_bitwise_definition() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for len in 0..data.len() {
            assert_eq!(crc32(&data[..len]), slow(&data[..len]));
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: [u8; 64] = core::array::from_fn(|i| (i * 31) as u8);
        for split in 0..=data.len() {
            let mut crc = Crc32::new();
            crc.update(&data[..split]);
            crc.update(&data[split..]);
            assert_eq!(crc.finish(), crc32(&data));
        }
    }
}
