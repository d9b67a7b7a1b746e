//! [`EarlyStopping`]: stop training once the loss in a [`LossHistory`] has not
//! improved by more than `min_delta` for `patience` losses.

use crate::{Error, LossHistory, Scalar};

/// The early-stopping rule of Keras' `EarlyStopping` (mode `min`), read from a
/// [`LossHistory`].
///
/// An *improvement* is a new best loss more than `min_delta` below the reference, the
/// best loss at the previous improvement (the first finite loss is always one).
/// [`check`](Self::check) answers `true` once `patience` losses have been pushed after
/// the last improvement (or `patience` losses with no finite one at all). Called after
/// every push, this is Keras' rule exactly; called less often, it sees the history's
/// best loss, which the history tracks over all pushes, so no improvement is missed
/// (only a chain of small steps that together exceed `min_delta` between two calls
/// counts as one).
///
/// `const`-constructible, with the state of one loss and two counts: no heap.
///
/// # Examples
///
/// ```
/// use stackprop::{EarlyStopping, LossHistory};
/// let mut history = LossHistory::<f32, 8>::new();
/// let mut stop = EarlyStopping::new(3).with_min_delta(0.01);
/// let mut stopped_at = None;
/// for (epoch, loss) in [1.0, 0.8, 0.795, 0.799, 0.792, 0.5].into_iter().enumerate() {
///     history.push(loss);
///     if stop.check(&history)? {
///         stopped_at = Some(epoch);
///         break;
///     }
/// }
/// // 0.795, 0.799 and 0.792 are within 0.01 of 0.8: three losses without an improvement.
/// assert_eq!(stopped_at, Some(4));
/// assert_eq!(stop.reference(), Some(0.8));
/// # Ok::<(), stackprop::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping<S> {
    patience: u32,
    min_delta: S,
    /// The best loss at the last improvement.
    reference: Option<S>,
    /// `LossHistory::pushed` just after the push that improved.
    improved_at: usize,
}

impl<S: Scalar> EarlyStopping<S> {
    /// Stops after `patience` (≥ 1) losses without any decrease of the best loss.
    pub const fn new(patience: u32) -> Self {
        Self {
            patience,
            min_delta: S::ZERO,
            reference: None,
            improved_at: 0,
        }
    }

    /// Counts a new best loss as an improvement only if it is more than `min_delta`
    /// (finite, ≥ 0) below the reference.
    pub const fn with_min_delta(mut self, min_delta: S) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Whether to stop, after taking in the losses pushed to `history` since the
    /// previous call. `history` must be the same one, or a clone of it, at every call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if `patience` is 0 or `min_delta` is not
    /// finite and ≥ 0; nothing changes.
    pub fn check<const H: usize>(&mut self, history: &LossHistory<S, H>) -> Result<bool, Error> {
        if self.patience == 0 {
            return Err(Error::InvalidHyperParameter {
                name: "patience",
                expected: ">= 1",
            });
        }
        if !(self.min_delta.is_finite() && self.min_delta >= S::ZERO) {
            return Err(Error::InvalidHyperParameter {
                name: "min_delta",
                expected: "finite and >= 0",
            });
        }
        if let Some(best) = history.best() {
            let improved = self
                .reference
                .is_none_or(|reference| best < reference - self.min_delta);
            if improved {
                self.reference = Some(best);
                self.improved_at = history.pushed().saturating_sub(history.since_best());
            }
        }
        let waited = history.pushed().saturating_sub(self.improved_at);
        Ok(waited >= self.patience as usize)
    }

    /// The best loss at the last improvement; `None` before the first finite loss.
    pub fn reference(&self) -> Option<S> {
        self.reference
    }

    /// How many losses without an improvement stop the run.
    pub fn patience(&self) -> u32 {
        self.patience
    }

    /// Forgets every loss seen, for a new run (with a new history).
    pub fn reset(&mut self) {
        self.reference = None;
        self.improved_at = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The epoch (from 0) at which the rule stops, checking after every push.
    fn stops_at(losses: &[f64], patience: u32, min_delta: f64) -> Option<usize> {
        let mut history = LossHistory::<f64, 4>::new();
        let mut stop = EarlyStopping::new(patience).with_min_delta(min_delta);
        losses.iter().position(|&loss| {
            history.push(loss);
            stop.check(&history).unwrap()
        })
    }

    /// Keras' `EarlyStopping(mode="min")` loop, written out.
    fn keras(losses: &[f64], patience: u32, min_delta: f64) -> Option<usize> {
        let (mut best, mut wait) = (f64::INFINITY, 0);
        losses.iter().position(|&loss| {
            wait += 1;
            if loss + min_delta < best {
                best = loss;
                wait = 0;
            }
            wait >= patience
        })
    }

    #[test]
    fn stops_exactly_after_patience_losses_without_improvement() {
        let losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.5];
        assert_eq!(stops_at(&losses, 3, 0.0), Some(4));
        assert_eq!(stops_at(&losses, 4, 0.0), None);
        assert_eq!(stops_at(&losses, 1, 0.0), Some(2));
        // A steady decrease never stops, however long.
        let falling: [f64; 100] = core::array::from_fn(|i| 1.0 / (i + 1) as f64);
        assert_eq!(stops_at(&falling, 1, 0.0), None);
    }

    #[test]
    fn min_delta_ignores_small_improvements() {
        let losses = [1.0, 0.95, 0.949, 0.948, 0.947, 0.946];
        assert_eq!(stops_at(&losses, 3, 0.0), None);
        assert_eq!(stops_at(&losses, 3, 0.01), Some(4));
        // 0.95 is 0.05 below 1.0: an improvement with min_delta 0.04, not with 0.05.
        assert_eq!(stops_at(&[1.0, 0.95, 0.95], 2, 0.04), None);
        assert_eq!(stops_at(&[1.0, 0.95, 0.95], 2, 0.05), Some(2));
    }

    #[test]
    fn agrees_with_keras_on_noisy_curves() {
        let mut rng = crate::SplitMix64::new(5);
        for run in 0..200 {
            let losses: [f64; 60] =
                core::array::from_fn(|i| 1.0 / (1.0 + i as f64 * 0.1) + 0.05 * rng.next_f64());
            let patience = 1 + (run % 7) as u32;
            let min_delta = [0.0, 1e-3, 1e-2][run % 3];
            assert_eq!(
                stops_at(&losses, patience, min_delta),
                keras(&losses, patience, min_delta),
                "run {run}"
            );
        }
    }

    #[test]
    fn non_finite_losses_never_improve() {
        assert_eq!(stops_at(&[f64::NAN, f64::NAN], 2, 0.0), Some(1));
        assert_eq!(stops_at(&[1.0, f64::NAN, f64::INFINITY], 2, 0.0), Some(2));
    }

    #[test]
    fn checks_less_often_than_pushes_still_count_from_the_best() {
        let mut history = LossHistory::<f32, 2>::new();
        let mut stop = EarlyStopping::new(3);
        for loss in [1.0, 0.5, 0.7, 0.8] {
            history.push(loss);
        }
        // 0.5 is no longer held (H = 2), but it is still the history's best.
        assert!(!stop.check(&history).unwrap());
        assert_eq!(stop.reference(), Some(0.5));
        history.push(0.9);
        assert!(stop.check(&history).unwrap());
    }

    #[test]
    fn bad_settings_are_refused() {
        let history = LossHistory::<f32, 2>::new();
        let name = |mut s: EarlyStopping<f32>| match s.check(&history) {
            Err(Error::InvalidHyperParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(name(EarlyStopping::new(0)), "patience");
        assert_eq!(
            name(EarlyStopping::new(2).with_min_delta(-1.0)),
            "min_delta"
        );
        assert_eq!(
            name(EarlyStopping::new(2).with_min_delta(f32::NAN)),
            "min_delta"
        );
    }
}
