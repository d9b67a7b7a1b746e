//! [`ReplayBuffer`]: a fixed-size, uniform sample of every labelled example a device
//! has seen (reservoir sampling), kept as bytes.

use crate::data::Dataset;
use crate::error::Error;
use crate::init::SplitMix64;
use crate::scalar::Scalar;

/// Quantisation levels of a stored input value: codes `0..=LEVELS`.
const LEVELS: f64 = 255.0;
/// Bytes of a saved buffer before its samples: magic, `C`, `K`, `L`, length, seen, range.
const HEADER: usize = 4 + 4 + 4 + 4 + 4 + 8 + 4 + 4;
const MAGIC: [u8; 4] = *b"SPRB";

/// Up to `C` labelled samples of `K` inputs and `L` classes, each kept with equal
/// probability out of all those offered (Algorithm R, Vitter 1985), in
/// `C·(K + 1)` bytes plus a few counters.
///
/// Inputs are quantised to one byte each: a value `x` of the range `[lo, hi]` given
/// to [`new`](ReplayBuffer::new) is stored as `q = round(255·(x − lo)/(hi − lo))` and
/// read back as `lo + q·(hi − lo)/255`, so a round trip moves it by at most
/// `(hi − lo)/510` (plus the scalar's rounding). Targets must be one-hot and are
/// stored as the class index. The buffer is a [`Dataset`]: pass it, or a
/// [`Chain`](crate::replay::Chain) of new samples and it, to
/// [`Trainer::train_epoch`](crate::Trainer::train_epoch).
///
/// # Generics
///
/// `C` samples of `K` inputs, targets of `L` classes (at most 256).
///
/// # Examples
///
/// ```
/// use stackprop::{Dataset, SplitMix64};
/// use stackprop::replay::ReplayBuffer;
/// // Room for 2 samples of 3 inputs in [0, 1] and 2 classes: 8 bytes of samples.
/// static EMPTY: ReplayBuffer<2, 3, 2> = ReplayBuffer::new(0.0, 1.0);
/// let mut buffer = EMPTY;
/// let mut rng = SplitMix64::new(7);
/// for i in 0..10 {
///     let class = i % 2;
///     let t = if class == 0 { [1.0_f32, 0.0] } else { [0.0, 1.0] };
///     buffer.offer(&[0.5, 0.25, class as f32], &t, &mut rng)?;
/// }
/// assert_eq!((buffer.len(), buffer.seen()), (2, 10));
/// let (mut x, mut t) = ([0.0_f32; 3], [0.0_f32; 2]);
/// buffer.load(0, &mut x, &mut t)?;
/// assert!((x[1] - 0.25).abs() <= 1.0 / 510.0);
/// assert_eq!(x[2], t[1]); // the label travels with its input
/// // Out of range, or not one-hot: refused, nothing stored.
/// assert!(buffer.offer(&[1.5, 0.0, 0.0], &[1.0, 0.0], &mut rng).is_err());
/// assert!(buffer.offer(&[0.5, 0.0, 0.0], &[0.5, 0.5], &mut rng).is_err());
/// assert_eq!(buffer.seen(), 10);
/// # Ok::<(), stackprop::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplayBuffer<const C: usize, const K: usize, const L: usize> {
    inputs: [[u8; K]; C],
    classes: [u8; C],
    len: usize,
    seen: u64,
    lo: f32,
    hi: f32,
}

/// What [`ReplayBuffer::offer`] did with a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offered {
    /// Stored in a free place.
    Added,
    /// Stored in place of the sample at this index.
    Replaced(usize),
    /// Not kept (it still counts as seen).
    Dropped,
}

impl<const C: usize, const K: usize, const L: usize> ReplayBuffer<C, K, L> {
    /// Bytes that [`save`](ReplayBuffer::save) writes for a buffer of this type.
    pub const SAVED_LEN: usize = HEADER + C * (K + 1);

    /// An empty buffer for inputs in `[lo, hi]`. A `const fn`, so the buffer can be a
    /// `static`. The range is checked by [`offer`](ReplayBuffer::offer).
    pub const fn new(lo: f32, hi: f32) -> Self {
        const { assert!(L >= 1 && L <= 256, "class indices are stored in a byte") };
        Self {
            inputs: [[0; K]; C],
            classes: [0; C],
            len: 0,
            seen: 0,
            lo,
            hi,
        }
    }

    /// The samples held, at most `C`.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// `true` if no sample is held.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity `C`.
    pub const fn capacity(&self) -> usize {
        C
    }

    /// The samples offered so far (kept or not).
    pub const fn seen(&self) -> u64 {
        self.seen
    }

    /// The class of stored sample `index`.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] if `index >= self.len()`.
    pub fn class(&self, index: usize) -> Result<usize, Error> {
        self.classes
            .get(index)
            .filter(|_| index < self.len)
            .map(|&c| usize::from(c))
            .ok_or(Error::IndexOutOfRange {
                index,
                len: self.len,
            })
    }

    fn check_range(&self) -> Result<(), Error> {
        if self.lo.is_finite() && self.hi.is_finite() && self.lo < self.hi {
            Ok(())
        } else {
            Err(Error::InvalidHyperParameter {
                name: "replay range",
                expected: "finite with lo < hi",
            })
        }
    }

    /// Offers one labelled sample: while the buffer has room it is stored; after
    /// that, the `n`-th sample offered replaces a uniformly chosen stored one with
    /// probability `C/n`, so every sample seen is held with the same probability.
    ///
    /// # Errors
    ///
    /// Nothing is changed (the sample does not count as seen, `rng` is not drawn from)
    /// on [`Error::InvalidHyperParameter`] if the range given to `new` is not finite
    /// with `lo < hi`, [`Error::NonFiniteInput`] / [`Error::NonFiniteTarget`],
    /// [`Error::InputOutOfRange`] if an input lies outside `[lo, hi]`, or
    /// [`Error::TargetNotOneHot`] unless `t` has one 1 and otherwise zeros.
    pub fn offer<S: Scalar>(
        &mut self,
        x: &[S; K],
        t: &[S; L],
        rng: &mut SplitMix64,
    ) -> Result<Offered, Error> {
        self.check_range()?;
        let (lo, hi) = (f64::from(self.lo), f64::from(self.hi));
        let mut codes = [0u8; K];
        for (index, (&v, code)) in x.iter().zip(codes.iter_mut()).enumerate() {
            let v = v.to_f64();
            if !v.is_finite() {
                return Err(Error::NonFiniteInput);
            }
            if !(lo..=hi).contains(&v) {
                return Err(Error::InputOutOfRange { index });
            }
            // In [0, 255] by the check above; `as` saturates anyway.
            *code = libm::round((v - lo) / (hi - lo) * LEVELS) as u8;
        }
        let class = one_hot_class(t)?;
        self.seen = self.seen.saturating_add(1);
        let place = if self.len < C {
            self.len += 1;
            Some((self.len - 1, Offered::Added))
        } else {
            let j = rng.below(self.seen);
            usize::try_from(j)
                .ok()
                .filter(|&j| j < C)
                .map(|j| (j, Offered::Replaced(j)))
        };
        let Some((index, offered)) = place else {
            return Ok(Offered::Dropped);
        };
        if let (Some(slot), Some(c)) = (self.inputs.get_mut(index), self.classes.get_mut(index)) {
            *slot = codes;
            *c = class;
        }
        Ok(offered)
    }

    /// Writes the buffer (samples, counters and range) into `out`; returns the bytes
    /// written, [`SAVED_LEN`](ReplayBuffer::SAVED_LEN).
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if `out` is shorter than `SAVED_LEN`.
    pub fn save(&self, out: &mut [u8]) -> Result<usize, Error> {
        let found = out.len();
        let out = out
            .get_mut(..Self::SAVED_LEN)
            .ok_or(Error::LengthMismatch {
                expected: Self::SAVED_LEN,
                found,
            })?;
        let mut w = Writer { out, at: 0 };
        w.put(&MAGIC);
        for n in [C, K, L, self.len] {
            w.put(&(n as u32).to_le_bytes());
        }
        w.put(&self.seen.to_le_bytes());
        w.put(&self.lo.to_le_bytes());
        w.put(&self.hi.to_le_bytes());
        w.put(&self.classes);
        for row in &self.inputs {
            w.put(row);
        }
        Ok(Self::SAVED_LEN)
    }

    /// Replaces the buffer with one written by [`save`](ReplayBuffer::save) (restoring
    /// it after a reset).
    ///
    /// # Errors
    ///
    /// Nothing is changed on [`Error::LengthMismatch`] if `bytes` is not
    /// `SAVED_LEN` long, or [`Error::InvalidHyperParameter`] (`"replay record"`) if
    /// they are not a buffer of this `C`, `K`, `L` (wrong magic or sizes, more
    /// samples than `C`, fewer seen than held, a class `>= L`).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() != Self::SAVED_LEN {
            return Err(Error::LengthMismatch {
                expected: Self::SAVED_LEN,
                found: bytes.len(),
            });
        }
        let bad = Error::InvalidHyperParameter {
            name: "replay record",
            expected: "a replay buffer of the same capacity, input and class counts",
        };
        let mut r = Reader { bytes, at: 0 };
        let magic: [u8; 4] = r.take()?;
        let mut sizes = [0usize; 4];
        for n in &mut sizes {
            *n = u32::from_le_bytes(r.take()?) as usize;
        }
        let seen = u64::from_le_bytes(r.take()?);
        let lo = f32::from_le_bytes(r.take()?);
        let hi = f32::from_le_bytes(r.take()?);
        let classes: [u8; C] = r.take()?;
        let [c, k, l, len] = sizes;
        if magic != MAGIC
            || (c, k, l) != (C, K, L)
            || len > C
            || seen < len as u64
            || classes.iter().take(len).any(|&c| usize::from(c) >= L)
        {
            return Err(bad);
        }
        let mut inputs = [[0u8; K]; C];
        for row in &mut inputs {
            *row = r.take()?;
        }
        *self = Self {
            inputs,
            classes,
            len,
            seen,
            lo,
            hi,
        };
        Ok(())
    }
}

/// The index of the single 1 in a one-hot target.
fn one_hot_class<S: Scalar, const L: usize>(t: &[S; L]) -> Result<u8, Error> {
    let mut class = None;
    for (i, &v) in t.iter().enumerate() {
        let v = v.to_f64();
        if !v.is_finite() {
            return Err(Error::NonFiniteTarget);
        }
        if v == 1.0 && class.is_none() {
            class = Some(i);
        } else if v != 0.0 {
            return Err(Error::TargetNotOneHot);
        }
    }
    class
        .and_then(|c| u8::try_from(c).ok())
        .ok_or(Error::TargetNotOneHot)
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        if let Some(dst) = self.out.get_mut(self.at..end) {
            dst.copy_from_slice(bytes);
        }
        self.at = end;
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const M: usize>(&mut self) -> Result<[u8; M], Error> {
        let end = self.at + M;
        let found = self.bytes.len();
        let part = self
            .bytes
            .get(self.at..end)
            .and_then(|b| <[u8; M]>::try_from(b).ok())
            .ok_or(Error::LengthMismatch {
                expected: end,
                found,
            })?;
        self.at = end;
        Ok(part)
    }
}

impl<S: Scalar, const C: usize, const K: usize, const L: usize> Dataset<[S; K], [S; L]>
    for ReplayBuffer<C, K, L>
{
    fn len(&self) -> usize {
        self.len
    }

    fn load(&self, index: usize, x: &mut [S; K], t: &mut [S; L]) -> Result<(), Error> {
        let class = self.class(index)?;
        let row = self.inputs.get(index).ok_or(Error::IndexOutOfRange {
            index,
            len: self.len,
        })?;
        let (lo, step) = (
            f64::from(self.lo),
            (f64::from(self.hi) - f64::from(self.lo)) / LEVELS,
        );
        for (out, &q) in x.iter_mut().zip(row) {
            *out = S::from_f64(lo + f64::from(q) * step);
        }
        for (i, out) in t.iter_mut().enumerate() {
            *out = if i == class { S::ONE } else { S::ZERO };
        }
        Ok(())
    }
}
