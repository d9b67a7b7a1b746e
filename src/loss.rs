//! Error functions E(Y, T) with PyTorch's mean reduction, and their gradients dE/dY.
//!
//! A batch's loss is the mean over its N rows of a per-row loss, and every per-row loss
//! is already the mean over that row's K outputs where PyTorch averages elementwise.
//! So for the elementwise losses E = (1/(N·K)) Σ, exactly as `reduction='mean'`, and for
//! softmax cross-entropy E = (1/N) Σ over rows, as `CrossEntropyLoss`.

use crate::scalar::all_finite;
use crate::{Error, Scalar};

/// An error function E, given per row of the batch: E = (1/N) Σ_s `row_loss(y_s, t_s)`.
///
/// # Examples
///
/// A user-defined loss, mean absolute error:
///
/// ```
/// use stackprop::{Loss, Scalar};
///
/// #[derive(Clone, Copy, Debug, Default)]
/// struct Mae;
///
/// impl<S: Scalar> Loss<S> for Mae {
///     fn row_loss(&self, y: &[S], t: &[S]) -> S {
///         let k = S::from_f64(y.len() as f64);
///         y.iter().zip(t).fold(S::ZERO, |e, (&y, &t)| e + (y - t).abs()) / k
///     }
///     fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) {
///         let k = S::from_f64(y.len() as f64);
///         for ((d, &y), &t) in dy.iter_mut().zip(y).zip(t) {
///             let sign = if y > t { S::ONE } else if y < t { -S::ONE } else { S::ZERO };
///             *d = scale * sign / k;
///         }
///     }
/// }
///
/// let y = [[1.0_f32, 2.0]];
/// let t = [[0.0_f32, 4.0]];
/// assert_eq!(Mae.loss(&y, &t), 1.5);
/// ```
pub trait Loss<S: Scalar> {
    /// The loss of one row `y` (the network's output for one sample) against its target `t`.
    fn row_loss(&self, y: &[S], t: &[S]) -> S;

    /// Writes `scale` · d(row_loss)/dy into `dy`.
    fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]);

    /// Checks that one target row lies in the loss's domain; the training calls
    /// refuse a batch holding a row it rejects, before changing anything.
    ///
    /// The default accepts every finite row.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteTarget`] for a NaN or infinite value (the default), or
    /// [`Error::InvalidTarget`] saying what the loss accepts.
    #[inline]
    fn check_target(&self, t: &[S]) -> Result<(), Error> {
        if all_finite(t) {
            Ok(())
        } else {
            Err(Error::NonFiniteTarget)
        }
    }

    /// [`row_grad`](Loss::row_grad) and [`row_loss`](Loss::row_loss) at once. Override
    /// it where the two share work (softmax cross-entropy computes its exponentials once).
    #[inline]
    fn row_loss_and_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) -> S {
        self.row_grad(y, t, scale, dy);
        self.row_loss(y, t)
    }

    /// E(Y, T): the mean of the row losses over the batch (NaN for an empty batch).
    #[inline]
    fn loss<R: AsRef<[S]>>(&self, y: &[R], t: &[R]) -> S {
        let sum = y.iter().zip(t).fold(S::ZERO, |e, (y, t)| {
            e + self.row_loss(y.as_ref(), t.as_ref())
        });
        sum / S::from_f64(y.len() as f64)
    }

    /// Writes dE/dY into `dy` and returns E(Y, T) (NaN for an empty batch).
    #[inline]
    fn loss_and_grad<R: AsRef<[S]> + AsMut<[S]>>(&self, y: &[R], t: &[R], dy: &mut [R]) -> S {
        let inv_n = S::ONE / S::from_f64(y.len() as f64);
        let mut sum = S::ZERO;
        for ((y, t), dy) in y.iter().zip(t).zip(dy.iter_mut()) {
            sum += self.row_loss_and_grad(y.as_ref(), t.as_ref(), inv_n, dy.as_mut());
        }
        sum * inv_n
    }
}

/// Mean squared error: E = (1/M) Σ (y − t)², dE/dY = 2(y − t)/M (`torch.nn.MSELoss`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

/// Huber loss with delta 1 (`torch.nn.HuberLoss`): ½d² if |d| < 1, else |d| − ½.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Huber;

/// Binary cross-entropy on probabilities (`torch.nn.BCELoss`): the last activation
/// should be [`Sigmoid`](crate::Sigmoid), targets lie in [0, 1].
///
/// As in PyTorch, each logarithm is clamped at −100, so an output of exactly 0 or 1
/// gives a large finite loss, and the gradient's denominator y(1 − y) is clamped
/// at 1e-12. A target outside [0, 1] (which would make the loss negative and
/// unbounded) is refused with [`Error::InvalidTarget`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bce;

/// Softmax cross-entropy on logits (`torch.nn.CrossEntropyLoss` with probability
/// targets): the last activation should be [`Identity`](crate::Identity).
///
/// Fused and stable: the row maximum is subtracted before `exp`, so logits of any
/// magnitude give finite values. Targets may be one-hot or soft rows: every entry
/// ≥ 0 and the row summing to 1 within 1e-3; any other row (which would make the loss
/// negative and unbounded) is refused with [`Error::InvalidTarget`].
/// The gradient is the exact derivative, softmax(y)·Σt − t, which is softmax(y) − t
/// for rows that sum to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

#[inline]
fn width<S: Scalar>(y: &[S]) -> S {
    S::from_f64(y.len() as f64)
}

impl<S: Scalar> Loss<S> for Mse {
    #[inline]
    fn row_loss(&self, y: &[S], t: &[S]) -> S {
        let sum = y.iter().zip(t).fold(S::ZERO, |e, (&y, &t)| {
            let d = y - t;
            e + d * d
        });
        sum / width(y)
    }
    #[inline]
    fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) {
        let c = (scale + scale) / width(y);
        for ((dy, &y), &t) in dy.iter_mut().zip(y).zip(t) {
            *dy = c * (y - t);
        }
    }
}

impl<S: Scalar> Loss<S> for Huber {
    #[inline]
    fn row_loss(&self, y: &[S], t: &[S]) -> S {
        let sum = y.iter().zip(t).fold(S::ZERO, |e, (&y, &t)| {
            let d = (y - t).abs();
            e + if d < S::ONE {
                S::HALF * d * d
            } else {
                d - S::HALF
            }
        });
        sum / width(y)
    }
    #[inline]
    fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) {
        let c = scale / width(y);
        for ((dy, &y), &t) in dy.iter_mut().zip(y).zip(t) {
            let d = y - t;
            *dy = c * d.max(-S::ONE).min(S::ONE);
        }
    }
}

impl<S: Scalar> Loss<S> for Bce {
    #[inline]
    fn row_loss(&self, y: &[S], t: &[S]) -> S {
        let floor = S::from_f64(-100.0);
        let sum = y.iter().zip(t).fold(S::ZERO, |e, (&y, &t)| {
            let ln_y = y.ln().max(floor);
            let ln_1my = (S::ONE - y).ln().max(floor);
            e - (t * ln_y + (S::ONE - t) * ln_1my)
        });
        sum / width(y)
    }
    #[inline]
    fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) {
        let c = scale / width(y);
        let eps = S::from_f64(1e-12);
        for ((dy, &y), &t) in dy.iter_mut().zip(y).zip(t) {
            *dy = c * (y - t) / (y * (S::ONE - y)).max(eps);
        }
    }

    #[inline]
    fn check_target(&self, t: &[S]) -> Result<(), Error> {
        if t.iter().all(|&t| t >= S::ZERO && t <= S::ONE) {
            Ok(())
        } else {
            Err(Error::InvalidTarget {
                expected: "in [0, 1]",
            })
        }
    }
}

/// The largest value of a row (0 for an empty row).
#[inline]
fn row_max<S: Scalar>(y: &[S]) -> S {
    y.iter()
        .fold(y.first().copied().unwrap_or(S::ZERO), |m, &v| m.max(v))
}

/// The row maximum and ln Σ e^(y − max): log_softmax(y)_j = y_j − max − ln_sum.
#[inline]
fn log_sum_exp<S: Scalar>(y: &[S]) -> (S, S) {
    let max = row_max(y);
    let sum = y.iter().fold(S::ZERO, |s, &v| s + (v - max).exp());
    (max, sum.ln())
}

impl<S: Scalar> Loss<S> for SoftmaxCrossEntropy {
    #[inline]
    fn row_loss(&self, y: &[S], t: &[S]) -> S {
        let (max, ln_sum) = log_sum_exp(y);
        y.iter()
            .zip(t)
            .fold(S::ZERO, |e, (&y, &t)| e - t * (y - max - ln_sum))
    }
    #[inline]
    fn row_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) {
        let (max, ln_sum) = log_sum_exp(y);
        let t_sum = t.iter().fold(S::ZERO, |s, &t| s + t);
        for ((dy, &y), &t) in dy.iter_mut().zip(y).zip(t) {
            let p = (y - max - ln_sum).exp();
            *dy = scale * (p * t_sum - t);
        }
    }

    #[inline]
    fn check_target(&self, t: &[S]) -> Result<(), Error> {
        let sum = t.iter().fold(S::ZERO, |s, &t| s + t);
        if t.iter().all(|&t| t >= S::ZERO) && (sum - S::ONE).abs() <= S::from_f64(1e-3) {
            Ok(())
        } else {
            Err(Error::InvalidTarget {
                expected: "non-negative, summing to 1 within 1e-3",
            })
        }
    }

    #[inline]
    fn row_loss_and_grad(&self, y: &[S], t: &[S], scale: S, dy: &mut [S]) -> S {
        // One exponential per logit: dy holds e^(y − max) until the sum is known.
        let max = row_max(y);
        let mut sum = S::ZERO;
        for (e, &y) in dy.iter_mut().zip(y) {
            *e = (y - max).exp();
            sum += *e;
        }
        let ln_sum = sum.ln();
        let inv_sum = S::ONE / sum;
        let t_sum = t.iter().fold(S::ZERO, |s, &t| s + t);
        let mut loss = S::ZERO;
        for ((dy, &y), &t) in dy.iter_mut().zip(y).zip(t) {
            loss -= t * (y - max - ln_sum);
            *dy = scale * (*dy * inv_sum * t_sum - t);
        }
        loss
    }
}

/// `true` where the two rows pick the same class: argmax for rows of two or more,
/// and the same side of ½ for a single output. A non-finite output picks no class.
pub(crate) fn same_class<S: Scalar>(y: &[S], t: &[S]) -> bool {
    if !all_finite(y) {
        return false;
    }
    match (y, t) {
        ([y], [t]) => (*y > S::HALF) == (*t > S::HALF),
        _ => argmax(y) == argmax(t),
    }
}

/// Index of the first largest value (0 for an empty row).
pub(crate) fn argmax<S: Scalar>(row: &[S]) -> usize {
    let mut best = 0;
    let mut best_value = None;
    for (i, &v) in row.iter().enumerate() {
        if best_value.is_none_or(|b| v > b) {
            best = i;
            best_value = Some(v);
        }
    }
    best
}

/// Softmax probabilities of one row of logits, computed stably.
///
/// # Examples
///
/// ```
/// let mut p = [0.0_f32; 3];
/// stackprop::loss::softmax(&[1000.0, 1000.0, -1000.0], &mut p);
/// assert_eq!(p, [0.5, 0.5, 0.0]);
/// ```
pub fn softmax<S: Scalar>(logits: &[S], probabilities: &mut [S]) {
    let (max, ln_sum) = log_sum_exp(logits);
    for (p, &y) in probabilities.iter_mut().zip(logits) {
        *p = (y - max - ln_sum).exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-14;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= TOL * b.abs().max(1.0)
    }

    /// Central finite differences of the batch loss against `loss_and_grad`.
    fn check_grad<E: Loss<f64>, const K: usize, const N: usize>(
        e: &E,
        y: [[f64; K]; N],
        t: [[f64; K]; N],
    ) {
        let mut dy = [[0.0; K]; N];
        let value = e.loss_and_grad(&y, &t, &mut dy);
        assert!(close(value, e.loss(&y, &t)));
        for s in 0..N {
            for j in 0..K {
                let h = 1e-6;
                let (mut yp, mut ym) = (y, y);
                yp[s][j] += h;
                ym[s][j] -= h;
                let fd = (e.loss(&yp, &t) - e.loss(&ym, &t)) / (2.0 * h);
                assert!(
                    (fd - dy[s][j]).abs() < 1e-8,
                    "[{s}][{j}]: {} vs {fd}",
                    dy[s][j]
                );
            }
        }
    }

    #[test]
    fn known_values() {
        let y = [[0.5, -1.0], [2.0, 0.0]];
        let t = [[0.0, 1.0], [0.5, -2.5]];
        // d = [0.5, -2, 1.5, 2.5]
        assert!(close(Mse.loss(&y, &t), (0.25 + 4.0 + 2.25 + 6.25) / 4.0));
        assert!(close(Huber.loss(&y, &t), (0.125 + 1.5 + 1.0 + 2.0) / 4.0));
        let p = [[0.25, 0.5]];
        let q = [[1.0, 0.5]];
        let want = -(0.25_f64.ln() + 0.5 * 0.5_f64.ln() + 0.5 * 0.5_f64.ln()) / 2.0;
        assert!(close(Bce.loss(&p, &q), want));
        let logits = [[1.0, 2.0, 3.0]];
        let onehot = [[0.0, 0.0, 1.0]];
        let lse = (1.0_f64.exp() + 2.0_f64.exp() + 3.0_f64.exp()).ln();
        assert!(close(SoftmaxCrossEntropy.loss(&logits, &onehot), lse - 3.0));
    }

    #[test]
    fn gradients_match_finite_differences() {
        let y = [[0.3, -1.7, 2.2], [1.1, 0.2, -0.4]];
        let t = [[0.0, 1.0, 0.5], [1.0, -2.0, 0.3]];
        check_grad(&Mse, y, t);
        check_grad(&Huber, y, t);
        check_grad(&SoftmaxCrossEntropy, y, [[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]]);
        check_grad(&Bce, [[0.3, 0.9], [0.05, 0.6]], [[0.0, 1.0], [0.25, 1.0]]);
    }

    #[test]
    fn softmax_cross_entropy_is_stable_for_logits_of_magnitude_100() {
        let y = [[100.0_f32, -100.0, 50.0], [-100.0, -100.0, 100.0]];
        let t = [[1.0_f32, 0.0, 0.0], [0.0, 1.0, 0.0]];
        let mut dy = [[0.0; 3]; 2];
        let e = SoftmaxCrossEntropy.loss_and_grad(&y, &t, &mut dy);
        assert!(e.is_finite() && dy.iter().flatten().all(|d| d.is_finite()));
        // Row 2 misses by 200 nats: E = (0 + 200) / 2.
        assert!((e - 100.0).abs() < 1e-3, "{e}");
        assert!((dy[1][1] + 0.5).abs() < 1e-6 && (dy[1][2] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn loss_is_zero_at_the_target() {
        let t = [[0.25, -3.0]];
        assert_eq!(Mse.loss(&t, &t), 0.0);
        assert_eq!(Huber.loss(&t, &t), 0.0);
    }

    #[test]
    fn bce_clamps_the_logarithm_like_pytorch() {
        let e: f64 = Bce.loss(&[[0.0]], &[[1.0]]);
        assert_eq!(e, 100.0);
    }

    #[test]
    fn classes() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
        assert!(same_class(&[0.9_f32], &[1.0]));
        assert!(!same_class(&[0.4_f32], &[1.0]));
        assert!(same_class(&[0.1, 2.0, 0.3], &[0.0, 1.0, 0.0]));
    }
}
