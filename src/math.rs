//! The float backend: every transcendental function the crate uses, for `f32` and `f64`.
//!
//! Functions are called explicitly (`libm::expf(x)`, never `x.exp()`): once host tests
//! link `std`, inherent float methods would silently shadow a backend's extension trait.
//!
//! * `f64` always uses [`libm`] (micromath has no `f64` functions).
//! * `f32` uses [`libm`] by default: every function within 2e-7 relative of the
//!   float64 result (measured by the tests below).
//! * With the `micromath` feature, `f32` `exp` comes from micromath's approximation
//!   and `tanh` is built from it: the functions behind sigmoid, tanh, softplus, SiLU
//!   and softmax. Measured over their working range (tests below), `exp` is within
//!   2.4e-3 relative and `tanh` within 3.2e-3 relative (1.1e-3 absolute), so training
//!   converges as before but values match a float64 reference only to about 1e-2.
//!   `ln` and `sqrt` stay on libm: micromath's `ln` is off by up to 0.12 absolute and
//!   its `sqrt` by up to 6 % relative, which would distort cross-entropy losses and
//!   Adam's step sizes.

/// `e^x` in `f32`.
#[inline]
pub fn expf(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        micromath::F32(x).exp().0
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::expf(x)
    }
}

/// Natural logarithm in `f32` (always libm).
#[inline]
pub fn lnf(x: f32) -> f32 {
    libm::logf(x)
}

/// `ln(1 + x)` in `f32`, accurate for small `x` (always libm).
#[inline]
pub fn ln_1pf(x: f32) -> f32 {
    libm::log1pf(x)
}

/// Hyperbolic tangent in `f32`.
#[inline]
pub fn tanhf(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        // tanh(|x|) = (1 - e^(-2|x|)) / (1 + e^(-2|x|)): no overflow for any x.
        let e = expf(-2.0 * x.abs());
        let t = (1.0 - e) / (1.0 + e);
        if x < 0.0 { -t } else { t }
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::tanhf(x)
    }
}

/// Square root in `f32` (always libm).
#[inline]
pub fn sqrtf(x: f32) -> f32 {
    libm::sqrtf(x)
}

/// `e^x` in `f64`.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// Natural logarithm in `f64`.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `ln(1 + x)` in `f64`.
#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

/// Hyperbolic tangent in `f64`.
#[inline]
pub fn tanh(x: f64) -> f64 {
    libm::tanh(x)
}

/// Square root in `f64`.
#[inline]
pub fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worst relative error of an f32 function against its f64 counterpart on a grid
    /// over [lo, hi], skipping points where the true value is 0.
    fn worst_relative(f32_fn: fn(f32) -> f32, f64_fn: fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
        (0..=20_000)
            .map(|i| {
                let x = (lo + (hi - lo) * f64::from(i) / 20_000.0) as f32;
                let want = f64_fn(f64::from(x));
                let got = f64::from(f32_fn(x));
                if want == 0.0 {
                    0.0
                } else {
                    ((got - want) / want).abs()
                }
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn libm_functions_are_accurate_to_a_few_ulp() {
        const MAX_ERROR: f64 = 2e-7;
        assert!(worst_relative(lnf, ln, 1e-3, 100.0) < MAX_ERROR);
        assert!(worst_relative(sqrtf, sqrt, 1e-6, 100.0) < MAX_ERROR);
        assert!(worst_relative(ln_1pf, ln_1p, -0.5, 10.0) < MAX_ERROR);
    }

    #[cfg(not(feature = "micromath"))]
    #[test]
    fn libm_exp_and_tanh_are_accurate_to_a_few_ulp() {
        const MAX_ERROR: f64 = 2e-7;
        assert!(worst_relative(expf, exp, -20.0, 20.0) < MAX_ERROR);
        assert!(worst_relative(tanhf, tanh, -10.0, 10.0) < MAX_ERROR);
    }

    #[cfg(feature = "micromath")]
    #[test]
    fn micromath_exp_and_tanh_accuracy() {
        // The documented cost of the fast backend, measured.
        assert!(worst_relative(expf, exp, -20.0, 20.0) < 2.5e-3);
        assert!(worst_relative(tanhf, tanh, -10.0, 10.0) < 3.5e-3);
    }
}
