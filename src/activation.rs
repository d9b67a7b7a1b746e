//! Elementwise activation functions f^l with their exact derivatives.
//!
//! Each activation is a unit struct implementing [`Activation`]: `f(a)` gives
//! Z = f(A), and `df(a, z)` gives f'(A) from both the pre-activation `a` and the output
//! `z = f(a)`, so a function picks whichever is cheaper (sigmoid and tanh use `z`).

use crate::Scalar;

/// An elementwise activation function f with its derivative f'.
///
/// # Examples
///
/// A user-defined activation, "square":
///
/// ```
/// use stackprop::{Activation, Scalar};
///
/// #[derive(Clone, Copy, Debug, Default)]
/// struct Square;
///
/// impl<S: Scalar> Activation<S> for Square {
///     fn f(a: S) -> S { a * a }
///     fn df(a: S, _z: S) -> S { a + a }
/// }
///
/// assert_eq!(<Square as Activation<f32>>::f(3.0), 9.0);
/// assert_eq!(<Square as Activation<f32>>::df(3.0, 9.0), 6.0);
/// ```
pub trait Activation<S: Scalar> {
    /// f(a).
    fn f(a: S) -> S;
    /// f'(a), given also `z` = f(a).
    fn df(a: S, z: S) -> S;
}

/// f(x) = x, f'(x) = 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

/// f(x) = max(x, 0), f'(x) = 1 if x > 0 else 0 (so f'(0) = 0, as in PyTorch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu;

/// f(x) = x if x > 0 else 0.01·x; f'(x) = 1 if x > 0 else 0.01 (PyTorch's default slope).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeakyRelu;

/// The logistic function s(x) = 1 / (1 + e^(−x)), f' = s(x)(1 − s(x)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigmoid;

/// f(x) = tanh(x), f' = 1 − tanh²(x).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

/// f(x) = ln(1 + e^x), computed without overflow for any x; f' = s(x).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softplus;

/// SiLU (swish): f(x) = x·s(x), f' = s(x)(1 + x(1 − s(x))).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Silu;

/// The slope of [`LeakyRelu`] below zero.
pub const LEAKY_RELU_SLOPE: f64 = 0.01;

/// s(x) = 1 / (1 + e^(−x)) without overflow: e^(−|x|) never exceeds 1.
#[inline]
pub(crate) fn logistic<S: Scalar>(x: S) -> S {
    if x >= S::ZERO {
        S::ONE / (S::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (S::ONE + e)
    }
}

impl<S: Scalar> Activation<S> for Identity {
    #[inline(always)]
    fn f(a: S) -> S {
        a
    }
    #[inline(always)]
    fn df(_a: S, _z: S) -> S {
        S::ONE
    }
}

impl<S: Scalar> Activation<S> for Relu {
    #[inline(always)]
    fn f(a: S) -> S {
        if a > S::ZERO { a } else { S::ZERO }
    }
    #[inline(always)]
    fn df(a: S, _z: S) -> S {
        if a > S::ZERO { S::ONE } else { S::ZERO }
    }
}

impl<S: Scalar> Activation<S> for LeakyRelu {
    #[inline(always)]
    fn f(a: S) -> S {
        if a > S::ZERO {
            a
        } else {
            S::from_f64(LEAKY_RELU_SLOPE) * a
        }
    }
    #[inline(always)]
    fn df(a: S, _z: S) -> S {
        if a > S::ZERO {
            S::ONE
        } else {
            S::from_f64(LEAKY_RELU_SLOPE)
        }
    }
}

impl<S: Scalar> Activation<S> for Sigmoid {
    #[inline]
    fn f(a: S) -> S {
        logistic(a)
    }
    #[inline(always)]
    fn df(_a: S, z: S) -> S {
        z * (S::ONE - z)
    }
}

impl<S: Scalar> Activation<S> for Tanh {
    #[inline]
    fn f(a: S) -> S {
        a.tanh()
    }
    #[inline(always)]
    fn df(_a: S, z: S) -> S {
        S::ONE - z * z
    }
}

impl<S: Scalar> Activation<S> for Softplus {
    #[inline]
    fn f(a: S) -> S {
        // ln(1 + e^a) = max(a, 0) + ln(1 + e^(−|a|)).
        a.max(S::ZERO) + (-a.abs()).exp().ln_1p()
    }
    #[inline]
    fn df(a: S, _z: S) -> S {
        logistic(a)
    }
}

impl<S: Scalar> Activation<S> for Silu {
    #[inline]
    fn f(a: S) -> S {
        a * logistic(a)
    }
    #[inline]
    fn df(a: S, _z: S) -> S {
        let s = logistic(a);
        s * (S::ONE + a * (S::ONE - s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers: (x, f(x), f'(x)) in float64, computed independently.
    fn check<F: Activation<f64>>(cases: &[(f64, f64, f64)]) {
        const TOL: f64 = 1e-14;
        for &(x, fx, dfx) in cases {
            let z = F::f(x);
            assert!(
                (z - fx).abs() <= TOL * fx.abs().max(1.0),
                "f({x}) = {z}, want {fx}"
            );
            let d = F::df(x, z);
            assert!(
                (d - dfx).abs() <= TOL * dfx.abs().max(1.0),
                "f'({x}) = {d}, want {dfx}"
            );
        }
    }

    #[test]
    fn known_answers() {
        check::<Identity>(&[(-2.5, -2.5, 1.0), (3.0, 3.0, 1.0)]);
        check::<Relu>(&[(-2.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1.5, 1.5, 1.0)]);
        check::<LeakyRelu>(&[(-2.0, -0.02, 0.01), (0.0, 0.0, 0.01), (1.5, 1.5, 1.0)]);
        check::<Sigmoid>(&[
            (0.0, 0.5, 0.25),
            (2.0, 0.8807970779778823, 0.10499358540350662),
            (-2.0, 0.11920292202211755, 0.1049935854035065),
        ]);
        check::<Tanh>(&[
            (0.0, 0.0, 1.0),
            (1.0, 0.7615941559557649, 0.41997434161402614),
        ]);
        check::<Softplus>(&[
            (0.0, core::f64::consts::LN_2, 0.5),
            (2.0, 2.1269280110429727, 0.8807970779778823),
            (-30.0, 9.357622968839737e-14, 9.357622968839299e-14),
        ]);
        check::<Silu>(&[
            (0.0, 0.0, 0.5),
            (1.0, 0.7310585786300049, 0.9276705118714869),
        ]);
    }

    #[test]
    fn no_overflow_at_large_magnitudes() {
        for x in [-1000.0_f32, -100.0, 100.0, 1000.0] {
            assert!(<Sigmoid as Activation<f32>>::f(x).is_finite());
            assert!(<Softplus as Activation<f32>>::f(x).is_finite());
            assert!(<Silu as Activation<f32>>::f(x).is_finite());
            assert!(<Silu as Activation<f32>>::df(x, 0.0).is_finite());
        }
        assert_eq!(<Softplus as Activation<f32>>::f(100.0), 100.0);
    }

    #[test]
    fn derivatives_match_central_differences() {
        fn fd<F: Activation<f64>>(x: f64) {
            let h = 1e-6;
            let want = (F::f(x + h) - F::f(x - h)) / (2.0 * h);
            let got = F::df(x, F::f(x));
            assert!((got - want).abs() < 1e-8, "{x}: {got} vs {want}");
        }
        for x in [-3.0, -0.7, 0.4, 2.2] {
            fd::<Identity>(x);
            fd::<Relu>(x);
            fd::<LeakyRelu>(x);
            fd::<Sigmoid>(x);
            fd::<Tanh>(x);
            fd::<Softplus>(x);
            fd::<Silu>(x);
        }
    }
}
