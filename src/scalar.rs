//! [`Scalar`]: the one trait through which the crate computes in `f32` or `f64`.

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::{Zero, math};

/// Which IEEE 754 format a [`Scalar`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// `f32`, binary32: what a Cortex-M4F computes in.
    F32,
    /// `f64`, binary64: what host-side numerics and gradient checks need.
    F64,
}

/// A floating-point number the network computes in: `f32` or `f64`.
///
/// Transcendental functions go through the float backend in [`crate::math`], so that
/// `f32` can switch to micromath's approximations while `f64` stays on libm.
///
/// # Examples
///
/// ```
/// use stackprop::Scalar;
/// fn logistic<S: Scalar>(x: S) -> S { S::ONE / (S::ONE + (-x).exp()) }
/// assert_eq!(logistic(0.0_f64), 0.5);
/// assert_eq!(logistic(0.0_f32), 0.5);
/// ```
pub trait Scalar:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Zero
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Send
    + Sync
    + 'static
{
    /// One.
    const ONE: Self;
    /// One half.
    const HALF: Self;
    /// The format, recorded in serialised headers and reports.
    const KIND: ScalarKind;
    /// Ten: the [`WatchdogConfig`](crate::WatchdogConfig)'s default `blowup`.
    const TEN: Self;
    /// 0.9: [`AdamConfig`](crate::AdamConfig)'s default `beta1`.
    const ADAM_BETA1: Self;
    /// 0.999: [`AdamConfig`](crate::AdamConfig)'s default `beta2`.
    const ADAM_BETA2: Self;
    /// 1e-8: [`AdamConfig`](crate::AdamConfig)'s default `eps`.
    const ADAM_EPS: Self;
    /// 1e-3: the [`WatchdogConfig`](crate::WatchdogConfig)'s default `loss_floor`.
    const WATCHDOG_LOSS_FLOOR: Self;

    /// The nearest value to `x` (exact for `f64`, round-to-nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// `self` widened to `f64` (always exact).
    fn to_f64(self) -> f64;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + self)`, accurate near zero.
    fn ln_1p(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;

    /// `self · a + b`: fused (rounded once) under the `x86` feature on x86 targets with
    /// FMA, else a multiply and an add.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::Scalar;
    /// assert_eq!(Scalar::mul_add(2.0_f32, 3.0, 1.0), 7.0);
    /// ```
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    /// `true` unless NaN or infinite.
    fn is_finite(self) -> bool;

    /// The larger of the two; `self` if they compare unordered (NaN).
    #[inline]
    fn max(self, other: Self) -> Self {
        if other > self { other } else { self }
    }

    /// The smaller of the two; `self` if they compare unordered (NaN).
    #[inline]
    fn min(self, other: Self) -> Self {
        if other < self { other } else { self }
    }
}

impl Scalar for f32 {
    const ONE: Self = 1.0;
    const HALF: Self = 0.5;
    const KIND: ScalarKind = ScalarKind::F32;
    const TEN: Self = 10.0;
    const ADAM_BETA1: Self = 0.9;
    const ADAM_BETA2: Self = 0.999;
    const ADAM_EPS: Self = 1e-8;
    const WATCHDOG_LOSS_FLOOR: Self = 1e-3;

    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn exp(self) -> Self {
        math::expf(self)
    }
    #[inline]
    fn ln(self) -> Self {
        math::lnf(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        math::ln_1pf(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        math::tanhf(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        math::sqrtf(self)
    }
    #[inline]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        math::mul_addf(self, a, b)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

impl Scalar for f64 {
    const ONE: Self = 1.0;
    const HALF: Self = 0.5;
    const KIND: ScalarKind = ScalarKind::F64;
    const TEN: Self = 10.0;
    const ADAM_BETA1: Self = 0.9;
    const ADAM_BETA2: Self = 0.999;
    const ADAM_EPS: Self = 1e-8;
    const WATCHDOG_LOSS_FLOOR: Self = 1e-3;

    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn exp(self) -> Self {
        math::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        math::ln(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        math::ln_1p(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        math::tanh(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        math::sqrt(self)
    }
    #[inline]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        math::mul_add(self, a, b)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

/// `true` if every value is finite.
#[inline]
pub(crate) fn all_finite<S: Scalar>(values: &[S]) -> bool {
    let mut probe = FiniteProbe::new();
    for &v in values {
        probe.add(v);
    }
    probe.all_finite()
}

/// Tells whether every value it was given is finite, without a branch per value.
///
/// On SIMD targets it folds booleans, which LLVM vectorises. Elsewhere (a Cortex-M4F)
/// a boolean fold moves each value to an integer register, and once LLVM unrolls a
/// loop over a small constant-size array it spills those to the stack; there the probe
/// sums `x - x` in floating point instead, which is 0 for a finite `x` and NaN
/// otherwise, so the sum stays 0 exactly when every value was finite.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FiniteProbe<S> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    ok: bool,
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    sum: S,
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    scalar: core::marker::PhantomData<S>,
}

impl<S: Scalar> FiniteProbe<S> {
    /// A probe that has seen nothing.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        {
            Self {
                ok: true,
                scalar: core::marker::PhantomData,
            }
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Self { sum: S::ZERO }
        }
    }

    /// Takes `x` into account.
    #[inline(always)]
    #[allow(clippy::eq_op)] // `x - x` is the point: 0 for finite `x`, NaN otherwise
    pub(crate) fn add(&mut self, x: S) {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        {
            self.ok &= x.is_finite();
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        {
            self.sum += x - x;
        }
    }

    /// `true` if every value added was finite.
    #[inline(always)]
    pub(crate) fn all_finite(self) -> bool {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        {
            self.ok
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        {
            self.sum == S::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_min_keep_self_on_nan() {
        assert_eq!(Scalar::max(1.0_f64, 2.0), 2.0);
        assert_eq!(Scalar::min(1.0_f64, 2.0), 1.0);
        assert!(Scalar::max(f64::NAN, 2.0).is_nan());
        assert_eq!(Scalar::max(2.0_f32, f32::NAN), 2.0);
    }

    #[test]
    fn all_finite_rejects_nan_and_inf() {
        assert!(all_finite(&[1.0_f32, -2.0]));
        assert!(!all_finite(&[1.0_f32, f32::NAN]));
        assert!(!all_finite(&[f64::INFINITY]));
    }
}
