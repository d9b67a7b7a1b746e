//! [`LossHistory`]: the last `H` losses of a training run, in a fixed-capacity ring.

use crate::Scalar;

/// The most recent `H` losses (per step or per epoch), with the best loss seen and
/// how long ago it was, for stopping rules and divergence checks in unattended training.
///
/// A ring buffer of `H` values, no heap, with no panicking path. Non-finite
/// losses are recorded (so a check can see them) but never become the best.
///
/// # Examples
///
/// ```
/// use stackprop::LossHistory;
/// let mut history = LossHistory::<f32, 3>::new();
/// for loss in [0.9, 0.5, 0.6, 0.7] {
///     history.push(loss);
/// }
/// assert_eq!(history.recent(), Some(0.7));
/// assert_eq!(history.best(), Some(0.5));
/// assert_eq!(history.since_best(), 2);
/// assert!((history.mean().unwrap() - 0.6).abs() < 1e-6); // of the last 3
/// assert_eq!(history.oldest_first().collect::<Vec<_>>(), [0.5, 0.6, 0.7]);
/// ```
#[derive(Clone, Debug)]
pub struct LossHistory<S, const H: usize> {
    losses: [S; H],
    /// Where the next loss goes.
    next: usize,
    /// Losses held, at most `H`.
    held: usize,
    best: Option<S>,
    since_best: usize,
    pushed: usize,
}

impl<S: Scalar, const H: usize> LossHistory<S, H> {
    /// An empty history (`const`, so it can sit in a `static`).
    pub const fn new() -> Self {
        const { assert!(H > 0, "a loss history needs room for at least one loss") };
        Self {
            losses: [S::ZERO; H],
            next: 0,
            held: 0,
            best: None,
            since_best: 0,
            pushed: 0,
        }
    }

    /// Records a loss, dropping the oldest if `H` are held.
    pub fn push(&mut self, loss: S) {
        if let Some(slot) = self.losses.get_mut(self.next) {
            *slot = loss;
        }
        self.next = if self.next + 1 >= H { 0 } else { self.next + 1 };
        self.held = (self.held + 1).min(H);
        self.pushed = self.pushed.saturating_add(1);
        if loss.is_finite() && self.best.is_none_or(|best| loss < best) {
            self.best = Some(loss);
            self.since_best = 0;
        } else {
            self.since_best = self.since_best.saturating_add(1);
        }
    }

    /// The latest loss.
    pub fn recent(&self) -> Option<S> {
        if self.held == 0 {
            return None;
        }
        let last = if self.next == 0 { H - 1 } else { self.next - 1 };
        self.losses.get(last).copied()
    }

    /// The lowest finite loss ever pushed (not only among the last `H`).
    pub fn best(&self) -> Option<S> {
        self.best
    }

    /// Pushes since the best loss: 0 if the latest loss is the best.
    pub fn since_best(&self) -> usize {
        self.since_best
    }

    /// Losses pushed in all, including those no longer held.
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// The mean of the losses held.
    pub fn mean(&self) -> Option<S> {
        if self.held == 0 {
            return None;
        }
        let held = self.losses.get(..self.held).unwrap_or_default();
        let sum = held.iter().fold(S::ZERO, |s, &l| s + l);
        Some(sum / S::from_f64(self.held as f64))
    }

    /// The losses held, oldest first.
    pub fn oldest_first(&self) -> impl Iterator<Item = S> + '_ {
        // Until the ring is full the oldest is at 0; then it is the next to go.
        let start = if self.held < H { 0 } else { self.next };
        let (newer, older) = self.losses.split_at(start.min(H));
        older.iter().chain(newer).take(self.held).copied()
    }
}

impl<S: Scalar, const H: usize> Default for LossHistory<S, H> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_losses_are_held_but_never_best() {
        let mut h = LossHistory::<f64, 2>::new();
        assert_eq!((h.recent(), h.best(), h.mean()), (None, None, None));
        h.push(f64::NAN);
        assert_eq!(h.best(), None);
        h.push(1.0);
        h.push(f64::INFINITY);
        assert_eq!(h.best(), Some(1.0));
        assert_eq!(h.since_best(), 1);
        assert_eq!(h.pushed(), 3);
        assert_eq!(h.recent(), Some(f64::INFINITY));
    }
}
