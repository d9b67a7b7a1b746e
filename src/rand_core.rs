//! Seeding from any `rand_core::RngCore` (the `rand_core` feature): a HAL's hardware
//! random number generator, or any generator of the `rand` ecosystem.

use ::rand_core::RngCore;

use crate::SplitMix64;

impl SplitMix64 {
    /// A generator seeded with 64 bits drawn from `source`, e.g. a microcontroller's
    /// hardware RNG, so that every device starts from different weights. Store the
    /// result's [`state`](SplitMix64::state) (a training-state record does) to repeat the run.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand_core::{RngCore, impls};
    /// use stackprop::SplitMix64;
    ///
    /// /// Stands in for a HAL's RNG driver, which implements `RngCore` the same way.
    /// struct Counter(u64);
    /// impl RngCore for Counter {
    ///     fn next_u32(&mut self) -> u32 { self.next_u64() as u32 }
    ///     fn next_u64(&mut self) -> u64 { self.0 += 1; self.0 }
    ///     fn fill_bytes(&mut self, dest: &mut [u8]) { impls::fill_bytes_via_next(self, dest) }
    ///     fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
    ///         self.fill_bytes(dest);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let mut hardware = Counter(41);
    /// assert_eq!(SplitMix64::from_rng_core(&mut hardware), SplitMix64::new(42));
    /// ```
    pub fn from_rng_core<R: RngCore + ?Sized>(source: &mut R) -> Self {
        Self::new(source.next_u64())
    }
}
