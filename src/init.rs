//! Seedable, deterministic weight initialisation: [`SplitMix64`] and the [`Init`] schemes.
//!
//! Every draw is computed in `f64` with the pure-Rust libm and only then rounded to the
//! network's scalar, so the same seed gives bit-identical weights on a host and on a
//! microcontroller. To seed from a hardware RNG, read a `u64` from it and pass that.

/// The SplitMix64 pseudo-random generator (as in Vigna's `splitmix64.c`): small, fast, seedable.
///
/// Not cryptographic; it exists so initialisation and shuffling are reproducible
/// from one `u64` on every platform. Its state is that one `u64`.
///
/// # Examples
///
/// ```
/// use stackprop::prelude::SplitMix64;
/// let mut a = SplitMix64::new(42);
/// let mut b = SplitMix64::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let u = a.next_f64();
/// assert!((0.0..1.0).contains(&u));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The generator's whole state: `SplitMix64::new(rng.state())` continues the same
    /// stream.
    pub const fn state(&self) -> u64 {
        self.state
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub const fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniform draw from [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform draw from `0..n` (0 if `n` is 0), without modulo bias worth noting
    /// for `n` far below 2^64.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// How [`Layer::init`](crate::Layer::init) draws weights. Biases start at zero.
///
/// `fan_in` is K^l and `fan_out` is K^(l+1) of the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Glorot/Xavier uniform: U(−a, a) with a = √(6 / (fan_in + fan_out))
    /// (`torch.nn.init.xavier_uniform_`). Suits tanh and sigmoid layers.
    GlorotUniform,
    /// He/Kaiming uniform: U(−a, a) with a = √(6 / fan_in)
    /// (`torch.nn.init.kaiming_uniform_` with its relu gain). Suits relu layers.
    HeUniform,
    /// He/Kaiming normal: N(0, 2 / fan_in) (`torch.nn.init.kaiming_normal_`).
    HeNormal,
}

impl Init {
    /// One weight for a layer with the given fans (a fan of 0 counts as 1, so the
    /// weight is always finite).
    pub fn sample(self, fan_in: usize, fan_out: usize, rng: &mut SplitMix64) -> f64 {
        let uniform = |bound: f64, rng: &mut SplitMix64| bound * (2.0 * rng.next_f64() - 1.0);
        let (fan_in, fan_out) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match self {
            Init::GlorotUniform => uniform(libm::sqrt(6.0 / (fan_in + fan_out)), rng),
            Init::HeUniform => uniform(libm::sqrt(6.0 / fan_in), rng),
            Init::HeNormal => {
                // Box–Muller; 1 − u lies in (0, 1], so its logarithm is finite.
                let u1 = 1.0 - rng.next_f64();
                let u2 = rng.next_f64();
                let normal =
                    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2);
                normal * libm::sqrt(2.0 / fan_in)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs of SplitMix64 seeded with 0, as published with the algorithm.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(3);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn extreme_fans_give_finite_weights() {
        let mut rng = SplitMix64::new(4);
        for init in [Init::GlorotUniform, Init::HeUniform, Init::HeNormal] {
            for (fan_in, fan_out) in [(0, 0), (usize::MAX, usize::MAX), (1, usize::MAX)] {
                assert!(init.sample(fan_in, fan_out, &mut rng).is_finite());
            }
        }
    }

    #[test]
    fn schemes_have_their_spread() {
        let mut rng = SplitMix64::new(11);
        let n = 20_000;
        let var = |init: Init, rng: &mut SplitMix64| {
            (0..n)
                .map(|_| init.sample(50, 30, rng).powi(2))
                .sum::<f64>()
                / n as f64
        };
        // Var U(−a, a) = a²/3.
        assert!((var(Init::GlorotUniform, &mut rng) - 6.0 / 80.0 / 3.0).abs() < 2e-3);
        assert!((var(Init::HeUniform, &mut rng) - 6.0 / 50.0 / 3.0).abs() < 3e-3);
        assert!((var(Init::HeNormal, &mut rng) - 2.0 / 50.0).abs() < 3e-3);
    }
}
