//! [`Chain`]: two datasets as one, so an epoch mixes new and replayed samples.

use crate::data::Dataset;
use crate::error::Error;

/// Two datasets one after the other: indices `0..first.len()` are `first`'s, the
/// rest `second`'s. With a shuffling `rng`, an epoch of
/// `Chain::new(&today, &buffer)` mixes new and replayed samples in every batch.
///
/// # Examples
///
/// ```
/// use stackprop::{Dataset, Samples};
/// use stackprop::replay::Chain;
/// let (x1, t1) = ([[1.0_f32]], [[0.0_f32]]);
/// let (x2, t2) = ([[2.0_f32], [3.0]], [[1.0_f32], [1.0]]);
/// let (a, b) = (Samples::new(&x1, &t1)?, Samples::new(&x2, &t2)?);
/// let both = Chain::new(&a, &b);
/// let (mut x, mut t) = ([0.0], [0.0]);
/// both.load(2, &mut x, &mut t)?;
/// assert_eq!((both.len(), x, t), (3, [3.0], [1.0]));
/// assert!(both.load(3, &mut x, &mut t).is_err());
/// # Ok::<(), stackprop::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Chain<'a, A, B> {
    first: &'a A,
    second: &'a B,
}

impl<'a, A, B> Chain<'a, A, B> {
    /// `first`, then `second`.
    pub const fn new(first: &'a A, second: &'a B) -> Self {
        Self { first, second }
    }
}

impl<I, T, A: Dataset<I, T>, B: Dataset<I, T>> Dataset<I, T> for Chain<'_, A, B> {
    fn len(&self) -> usize {
        self.first.len().saturating_add(self.second.len())
    }

    fn load(&self, index: usize, x: &mut I, t: &mut T) -> Result<(), Error> {
        let n = self.first.len();
        let result = match index.checked_sub(n) {
            None => self.first.load(index, x, t),
            Some(i) => self.second.load(i, x, t),
        };
        result.map_err(|e| match e {
            Error::IndexOutOfRange { .. } => Error::IndexOutOfRange {
                index,
                len: self.len(),
            },
            e => e,
        })
    }
}
