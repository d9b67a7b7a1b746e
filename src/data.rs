//! Datasets that stay where they are (a `const` array in flash, a packed byte blob),
//! and a heap-free shuffle of their order.

use crate::layer::{InputBatch, OutputBatch};
use crate::{Error, Layer, SplitMix64};

/// A read-only, indexable set of (input, target) samples.
///
/// Implement it to decode samples on the fly from a compact form (e.g. 4-bit pixels
/// in flash); [`Samples`] covers the plain case of two slices.
pub trait Dataset<I, T> {
    /// The number of samples.
    fn len(&self) -> usize;

    /// `true` if there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes sample `index` into `x` and `t`.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] if `index >= self.len()`.
    fn load(&self, index: usize, x: &mut I, t: &mut T) -> Result<(), Error>;
}

/// A dataset held in two slices of rows, inputs and targets.
///
/// # Examples
///
/// ```
/// use stackprop::{Dataset, Samples};
/// const X: [[f32; 2]; 4] = [[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
/// const T: [[f32; 1]; 4] = [[0.], [1.], [1.], [0.]];
/// let data = Samples::new(&X, &T)?;
/// assert_eq!(data.len(), 4);
/// // `const`: a dataset in flash can be a `static`.
/// static XOR: Samples<[f32; 2], [f32; 1]> = match Samples::new(&X, &T) {
///     Ok(samples) => samples,
///     Err(_) => panic!("as many targets as inputs"),
/// };
/// assert_eq!(XOR.len(), 4);
/// assert!(Samples::new(&X, &T[..3]).is_err());
/// # Ok::<(), stackprop::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Samples<'a, I, T> {
    inputs: &'a [I],
    targets: &'a [T],
}

impl<'a, I, T> Samples<'a, I, T> {
    /// Pairs `inputs[i]` with `targets[i]`.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if the slices differ in length.
    pub const fn new(inputs: &'a [I], targets: &'a [T]) -> Result<Self, Error> {
        if inputs.len() == targets.len() {
            Ok(Self { inputs, targets })
        } else {
            Err(Error::LengthMismatch {
                expected: inputs.len(),
                found: targets.len(),
            })
        }
    }
}

impl<I: Copy, T: Copy> Dataset<I, T> for Samples<'_, I, T> {
    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn load(&self, index: usize, x: &mut I, t: &mut T) -> Result<(), Error> {
        match (self.inputs.get(index), self.targets.get(index)) {
            (Some(xi), Some(ti)) => {
                *x = *xi;
                *t = *ti;
                Ok(())
            }
            _ => Err(Error::IndexOutOfRange {
                index,
                len: self.inputs.len(),
            }),
        }
    }
}

/// Views a flat slice of `N·K` scalars (say, a DMA buffer of sensor readings) as a
/// batch of `N` rows of `K`, without copying.
///
/// # Examples
///
/// ```
/// let flat = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let x: &[[f32; 3]; 2] = stackprop::batch(&flat)?;
/// assert_eq!(x[1], [4.0, 5.0, 6.0]);
/// assert!(stackprop::batch::<f32, 4, 2>(&flat).is_err());
/// # Ok::<(), stackprop::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `flat.len() != N·K`.
pub fn batch<S, const K: usize, const N: usize>(flat: &[S]) -> Result<&[[S; K]; N], Error> {
    const { assert!(K > 0, "rows need at least one column") };
    let (rows, rest) = flat.as_chunks::<K>();
    match <&[[S; K]; N]>::try_from(rows) {
        Ok(rows) if rest.is_empty() => Ok(rows),
        _ => Err(Error::LengthMismatch {
            expected: N.saturating_mul(K),
            found: flat.len(),
        }),
    }
}

/// Like [`batch`], mutably: lets a flat output buffer receive dE/dX or predictions.
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `flat.len() != N·K`.
pub fn batch_mut<S, const K: usize, const N: usize>(
    flat: &mut [S],
) -> Result<&mut [[S; K]; N], Error> {
    const { assert!(K > 0, "rows need at least one column") };
    let found = flat.len();
    let (rows, rest) = flat.as_chunks_mut::<K>();
    let whole = rest.is_empty();
    match <&mut [[S; K]; N]>::try_from(rows) {
        Ok(rows) if whole => Ok(rows),
        _ => Err(Error::LengthMismatch {
            expected: N.saturating_mul(K),
            found,
        }),
    }
}

/// What an epoch does with the last `len % N` samples when the dataset's length is
/// not a multiple of the batch size N. There is no default: the choice is explicit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remainder {
    /// Fill the last batch with samples from the start of this epoch's order, so
    /// every sample is trained on and `N − len % N` of them twice.
    Wrap,
    /// Leave the last `len % N` samples of this epoch's (shuffled) order out, and
    /// count them in [`EpochReport::skipped`](crate::EpochReport::skipped). Which
    /// samples those are changes from epoch to epoch when shuffling.
    Skip,
    /// Refuse: the epoch returns [`Error::PartialBatch`] before training anything.
    Reject,
}

/// One row of a batch, `[S; K]`: what [`Layer::Input`](crate::Layer::Input) and
/// [`Layer::Output`](crate::Layer::Output) are. It brings [`batch`] and [`batch_mut`]
/// to code that names a row only through a layer, where `K` is not a number.
///
/// # Examples
///
/// Code generic over the network views flat buffers as its batches:
///
/// ```
/// use stackprop::prelude::*;
/// use stackprop::{input_batch, output_batch_mut};
///
/// fn predict_flat<L: Layer, const N: usize>(
///     trainer: &mut Trainer<L, Sgd<L>, Mse, N>,
///     x: &[L::Scalar],
///     y: &mut [L::Scalar],
/// ) -> Result<(), Error> {
///     let x = input_batch::<L, N>(x)?;
///     *output_batch_mut::<L, N>(y)? = *trainer.predict(x);
///     Ok(())
/// }
///
/// type Net = (Dense<3, 2, Identity>,);
/// let mut net = Net::ZERO;
/// net.0.w = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let mut trainer = Trainer::<Net, Sgd<Net>, Mse, 2>::new(net, Sgd::ZERO, Mse);
/// let mut y = [0.0; 4];
/// predict_flat(&mut trainer, &[1.0, 2.0, 3.0, 0.0, 0.0, 1.0], &mut y)?;
/// assert_eq!(y, [4.0, 5.0, 1.0, 1.0]);
/// assert!(predict_flat(&mut trainer, &[1.0; 5], &mut y).is_err()); // not 2 rows of 3
/// # Ok::<(), Error>(())
/// ```
pub trait Row<S>: Sized {
    /// [`batch`] for rows of this type: `flat` as `N` rows.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if `flat` is not `N` rows long.
    fn batch<const N: usize>(flat: &[S]) -> Result<&[Self; N], Error>;

    /// [`batch_mut`] for rows of this type.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if `flat` is not `N` rows long.
    fn batch_mut<const N: usize>(flat: &mut [S]) -> Result<&mut [Self; N], Error>;
}

impl<S, const K: usize> Row<S> for [S; K] {
    #[inline]
    fn batch<const N: usize>(flat: &[S]) -> Result<&[Self; N], Error> {
        batch(flat)
    }

    #[inline]
    fn batch_mut<const N: usize>(flat: &mut [S]) -> Result<&mut [Self; N], Error> {
        batch_mut(flat)
    }
}

/// [`batch`] for the inputs of network `L`: `flat` as an [`InputBatch<L, N>`].
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `flat` is not `N` input rows long.
pub fn input_batch<L: Layer, const N: usize>(
    flat: &[L::Scalar],
) -> Result<&InputBatch<L, N>, Error> {
    L::Input::batch(flat)
}

/// [`batch_mut`] for the inputs of network `L` (e.g. to receive dE/dX).
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `flat` is not `N` input rows long.
pub fn input_batch_mut<L: Layer, const N: usize>(
    flat: &mut [L::Scalar],
) -> Result<&mut InputBatch<L, N>, Error> {
    L::Input::batch_mut(flat)
}

/// [`batch`] for the outputs (or targets) of network `L`: an [`OutputBatch<L, N>`].
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `flat` is not `N` output rows long.
pub fn output_batch<L: Layer, const N: usize>(
    flat: &[L::Scalar],
) -> Result<&OutputBatch<L, N>, Error> {
    L::Output::batch(flat)
}

/// [`batch_mut`] for the outputs of network `L` (e.g. to receive predictions).
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `flat` is not `N` output rows long.
pub fn output_batch_mut<L: Layer, const N: usize>(
    flat: &mut [L::Scalar],
) -> Result<&mut OutputBatch<L, N>, Error> {
    L::Output::batch_mut(flat)
}

/// A pseudo-random permutation of `0..len` that needs no memory per element.
///
/// A 4-round Feistel network on the smallest even number of bits that covers `len`,
/// with cycle-walking to stay below `len`: a bijection for any key, so every index
/// appears exactly once per epoch, whatever the dataset's size.
///
/// # Examples
///
/// ```
/// use stackprop::{Permutation, SplitMix64};
/// let p = Permutation::new(10, &mut SplitMix64::new(1));
/// let mut seen = [false; 10];
/// for i in 0..10 { seen[p.get(i)] = true; }
/// assert!(seen.iter().all(|&s| s));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permutation {
    len: usize,
    half_bits: u32,
    keys: [u32; 4],
}

impl Permutation {
    /// A fresh random order of `0..len`, drawn from `rng`.
    pub const fn new(len: usize, rng: &mut SplitMix64) -> Self {
        let bits = usize::BITS - len.saturating_sub(1).leading_zeros();
        let half_bits = if bits < 2 { 1 } else { bits.div_ceil(2) };
        let keys = [
            rng.next_u32(),
            rng.next_u32(),
            rng.next_u32(),
            rng.next_u32(),
        ];
        Self {
            len,
            half_bits,
            keys,
        }
    }

    /// The identity order `0, 1, …, len − 1`.
    pub const fn identity(len: usize) -> Self {
        Self {
            len,
            half_bits: 0,
            keys: [0; 4],
        }
    }

    /// The number of indices permuted.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// `true` if the permutation is of no indices.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The index at position `i`; `i` itself if `i >= len`.
    pub fn get(&self, i: usize) -> usize {
        if self.half_bits == 0 || i >= self.len {
            return i;
        }
        // Cycle-walk: the Feistel network permutes 0..2^(2h) ⊇ 0..len, so following
        // it from i < len reaches an index below len again.
        let mut v = i as u64;
        loop {
            v = self.feistel(v);
            if v < self.len as u64 {
                return v as usize;
            }
        }
    }

    fn feistel(&self, v: u64) -> u64 {
        let h = self.half_bits;
        let mask = (1u64 << h) - 1;
        let (mut left, mut right) = (v >> h, v & mask);
        for &key in &self.keys {
            let mixed = (right as u32 ^ key).wrapping_mul(0x9E37_79B1);
            let f = u64::from(mixed ^ (mixed >> 15)) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << h) | right
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_for_many_sizes() {
        let mut rng = SplitMix64::new(5);
        for len in [1usize, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100, 1437] {
            let p = Permutation::new(len, &mut rng);
            let mut seen = [false; 1437];
            for i in 0..len {
                let j = p.get(i);
                assert!(j < len && !seen[j], "len {len}: {i} -> {j}");
                seen[j] = true;
            }
        }
    }

    #[test]
    fn permutation_shuffles() {
        let p = Permutation::new(100, &mut SplitMix64::new(9));
        let fixed = (0..100).filter(|&i| p.get(i) == i).count();
        assert!(fixed < 10, "{fixed} fixed points");
        assert_eq!(Permutation::identity(5).get(3), 3);
    }

    #[test]
    fn batch_views_check_the_length() {
        let mut flat = [0.0_f64; 6];
        assert!(batch::<f64, 2, 3>(&flat).is_ok());
        assert_eq!(
            batch::<f64, 2, 2>(&flat),
            Err(Error::LengthMismatch {
                expected: 4,
                found: 6
            })
        );
        assert_eq!(
            batch::<f64, 4, 1>(&flat[..5]),
            Err(Error::LengthMismatch {
                expected: 4,
                found: 5
            })
        );
        batch_mut::<f64, 3, 2>(&mut flat).expect("6 = 2·3")[1][2] = 7.0;
        assert_eq!(flat[5], 7.0);
        assert!(batch_mut::<f64, 5, 1>(&mut flat).is_err());
    }

    #[test]
    fn batch_views_of_zero_sized_rows_do_not_overflow() {
        let flat = [(); 6];
        assert_eq!(
            batch::<(), 3, { usize::MAX }>(&flat),
            Err(Error::LengthMismatch {
                expected: usize::MAX,
                found: 6
            })
        );
        assert!(batch::<(), 3, 2>(&flat).is_ok());
    }

    #[test]
    fn a_permutation_of_every_index_stays_in_range() {
        let p = Permutation::new(usize::MAX, &mut SplitMix64::new(1));
        for i in [0, 1, usize::MAX / 2, usize::MAX - 1] {
            assert!(p.get(i) < usize::MAX);
        }
        assert_eq!(p.get(usize::MAX), usize::MAX);
    }

    #[test]
    fn samples_load_checks_the_index() {
        let x = [[1.0_f32], [2.0]];
        let t = [[0.0_f32], [1.0]];
        let data = Samples::new(&x, &t).expect("same lengths");
        let (mut xi, mut ti) = ([0.0], [0.0]);
        assert_eq!(data.load(1, &mut xi, &mut ti), Ok(()));
        assert_eq!((xi, ti), ([2.0], [1.0]));
        assert_eq!(
            data.load(2, &mut xi, &mut ti),
            Err(Error::IndexOutOfRange { index: 2, len: 2 })
        );
    }
}
