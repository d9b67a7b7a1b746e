//! The float backend: every transcendental function the crate uses, for `f32` and `f64`.
//!
//! Functions are called explicitly (`libm::expf(x)`, never `x.exp()`): once host tests
//! link `std`, inherent float methods would silently shadow a backend's extension trait.
//!
//! * `f64` always uses [`libm`] (micromath has no `f64` functions).
//! * `f32` uses [`libm`] by default. With the `micromath` feature, `exp`, `ln` and
//!   `sqrt` come from micromath's approximations, and `tanh` and `ln_1p` are built
//!   from them. Its `exp` and `ln` are accurate to about 1e-4 relative (see
//!   `micromath_accuracy` below, which measures it), so training still converges, but
//!   results no longer match a float64 reference to f32 precision.

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

/// Natural logarithm in `f32`.
#[inline]
pub fn lnf(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        micromath::F32(x).ln().0
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::logf(x)
    }
}

/// `ln(1 + x)` in `f32`, accurate for small `x` with libm.
#[inline]
pub fn ln_1pf(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        lnf(1.0 + x)
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::log1pf(x)
    }
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

/// Square root in `f32`.
#[inline]
pub fn sqrtf(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        micromath::F32(x).sqrt().0
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::sqrtf(x)
    }
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

    /// Worst relative error of the f32 backend against f64 libm over a grid.
    fn worst(f32_fn: fn(f32) -> f32, f64_fn: fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
        let mut worst: f64 = 0.0;
        for i in 0..=2000 {
            let x = lo + (hi - lo) * i as f64 / 2000.0;
            let want = f64_fn(x as f32 as f64);
            let got = f32_fn(x as f32) as f64;
            let err = (got - want).abs() / want.abs().max(1e-3);
            worst = worst.max(err);
        }
        worst
    }

    #[cfg(not(feature = "micromath"))]
    #[test]
    fn libm_f32_is_accurate_to_a_few_ulp() {
        const MAX_ERROR: f64 = 1e-6;
        assert!(worst(expf, exp, -20.0, 20.0) < MAX_ERROR);
        assert!(worst(lnf, ln, 1e-3, 100.0) < MAX_ERROR);
        assert!(worst(tanhf, tanh, -10.0, 10.0) < MAX_ERROR);
        assert!(worst(sqrtf, sqrt, 0.0, 100.0) < MAX_ERROR);
        assert!(worst(ln_1pf, ln_1p, -0.5, 10.0) < MAX_ERROR);
    }

    #[cfg(feature = "micromath")]
    #[test]
    fn micromath_accuracy() {
        // The documented cost of the fast backend, measured.
        const MAX_ERROR: f64 = 2e-3;
        assert!(worst(expf, exp, -20.0, 20.0) < MAX_ERROR);
        assert!(worst(lnf, ln, 1e-3, 100.0) < MAX_ERROR);
        assert!(worst(tanhf, tanh, -10.0, 10.0) < MAX_ERROR);
        assert!(worst(sqrtf, sqrt, 0.0, 100.0) < MAX_ERROR);
    }
}
