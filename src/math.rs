//! The float backend: every transcendental function the crate uses, for `f32` and `f64`.
//!
//! Functions are called explicitly (`libm::expf(x)`, never `x.exp()`): once host tests
//! link `std`, inherent float methods would silently shadow a backend's extension trait.
//!
//! * `f64` always uses [`libm`] (micromath has no `f64` functions).
//! * `f32` `exp` and `tanh`, the functions behind sigmoid, tanh, softplus, SiLU and
//!   softmax, are this module's own: a range reduction and a short polynomial in f32
//!   arithmetic only, with no table and one branch. They are within 1.5e-7 relative of
//!   the float64 result (about 2 ulp, measured by the tests below), as accurate as
//!   libm's, and much cheaper where it matters: on a Cortex-M4F `exp` takes 27
//!   instructions instead of libm's 57, and `tanh` 21–40 instead of 91 (measured with
//!   `examples/fw_bench.rs`); on x86-64 LLVM can vectorise them.
//! * `f32` `ln` and `ln_1p` use [`libm`]: within 2e-7 relative.
//! * `f32` `sqrt` uses [`libm`] except on x86, where libm's `sqrtf` is an inline-assembly
//!   `sqrtss`: LLVM cannot vectorise it, and in a build with AVX enabled (`-C
//!   target-cpu=native`) that legacy-SSE instruction between AVX code costs a state
//!   transition each call (Adam's update on 16-32-32-4 took 22 µs in the default build
//!   and 300 µs with AVX). There `sqrtf` is Newton's method on 1/√x in `f64`, plain
//!   arithmetic that vectorises: the result is the correctly rounded square root on
//!   every input the tests try (see [`sqrtf`]). With the `x86` feature it is the
//!   `sqrtss` instruction itself, reached through `safe_arch` as LLVM's generic sqrt,
//!   which does vectorise.
//! * With the `micromath` feature, `f32` `exp` comes from micromath's approximation
//!   and `tanh` is built from it. Measured over their working range (tests below), `exp`
//!   is within 2.4e-3 relative and `tanh` within 3.2e-3 relative (1.1e-3 absolute), so
//!   training converges as before but values match a float64 reference only to about
//!   1e-2. It is not faster on a Cortex-M4F (see the README); it remains for targets
//!   without an FPU. `ln` and `sqrt` stay on libm: micromath's `ln` is off by up to
//!   0.12 absolute and its `sqrt` by up to 6 % relative, which would distort
//!   cross-entropy losses and Adam's step sizes.

/// `e^x` in `f32`.
#[inline]
pub fn expf(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        micromath::F32(x).exp().0
    }
    #[cfg(not(feature = "micromath"))]
    {
        exp_poly(x)
    }
}

/// `e^x` by reduction to `2^k · e^r`, `|r| ≤ ln 2 / 2`, and a degree-6 polynomial for
/// `e^r` (coefficients fitted for minimax relative error).
#[cfg(not(feature = "micromath"))]
#[inline]
#[cfg_attr(feature = "micromath", allow(dead_code))]
fn exp_poly(x: f32) -> f32 {
    const LOG2_E: f32 = core::f32::consts::LOG2_E;
    // ln 2 split in two so that `k · LN2_HI` is exact for every k in range.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    // e^x is above f32::MAX beyond this, and below half the smallest subnormal before
    // UNDERFLOW.
    const OVERFLOW: f32 = 88.722_84;
    const UNDERFLOW: f32 = -103.972_08;
    const C: [f32; 5] = [
        0.499_999_88,
        0.166_665_18,
        0.041_669_51,
        0.008_368_915,
        0.001_375_273_6,
    ];
    if x > OVERFLOW || x.is_nan() {
        // +∞ for large x, NaN stays NaN.
        return x + f32::INFINITY;
    }
    if x < UNDERFLOW {
        return 0.0;
    }
    let kf = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let q = C[0] + r * (C[1] + r * (C[2] + r * (C[3] + r * C[4])));
    let p = 1.0 + (r + r * r * q);
    // 2^k as two normal powers of two, so that k = 128 (just below overflow) and
    // k < -126 (subnormal results, rounded once by the last product) both work.
    let k = kf as i32;
    let half = k / 2;
    p * pow2(half) * pow2(k - half)
}

/// `2^k` for `k` in [-126, 127].
#[cfg(not(feature = "micromath"))]
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
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
    let a = x.abs();
    #[cfg(feature = "micromath")]
    let t = {
        // tanh(|x|) = (1 - e^(-2|x|)) / (1 + e^(-2|x|)): no overflow for any x.
        let e = expf(-2.0 * a);
        (1.0 - e) / (1.0 + e)
    };
    #[cfg(not(feature = "micromath"))]
    let t = if a < 0.625 {
        // An odd polynomial near 0, where the formula below would cancel.
        const C: [f32; 5] = [
            -0.333_332_8,
            0.133_313_82,
            -0.053_735_4,
            0.020_626_5,
            -0.005_692_182_6,
        ];
        let s = a * a;
        a + a * (s * (C[0] + s * (C[1] + s * (C[2] + s * (C[3] + s * C[4])))))
    } else {
        // 1 - 2 / (e^(2|x|) + 1); e^(2|x|) = ∞ beyond |x| = 44 gives exactly 1. NaN
        // stays NaN.
        1.0 - 2.0 / (exp_poly(a + a) + 1.0)
    };
    if x < 0.0 { -t } else { t }
}

/// Square root in `f32`.
///
/// With the `x86` feature on x86, the `sqrtss` instruction (vectorised to `sqrtps`),
/// correctly rounded. Otherwise libm's everywhere but on x86, where it is four Newton steps for 1/√x in `f64` from
/// a bit-pattern estimate (relative error below 3.5e-2, then 1.8e-3, 4.7e-6, 3.3e-11 and
/// the `f64` rounding, about 3e-16), multiplied by x and rounded once to `f32`. So the
/// result is the correctly rounded √x unless √x lies within about 3e-16 (relative) of
/// the midpoint between two `f32`s; no input among the 8.5 million the tests check does
/// (three steps were not enough: √ of some subnormals lies within 3e-11 of one). √−0 = −0, √+∞ = +∞, and negative or NaN inputs give NaN.
#[inline]
pub fn sqrtf(x: f32) -> f32 {
    #[cfg(all(feature = "x86", any(target_arch = "x86", target_arch = "x86_64")))]
    {
        use safe_arch::{get_f32_from_m128_s, set_m128_s, sqrt_m128_s};
        get_f32_from_m128_s(sqrt_m128_s(set_m128_s(x)))
    }
    #[cfg(all(not(feature = "x86"), any(target_arch = "x86", target_arch = "x86_64")))]
    {
        /// The bit-pattern estimate of 1/√x for `f64`.
        const MAGIC: u64 = 0x5FE6_EB50_C7B5_37A9;
        let d = f64::from(x);
        let mut y = f64::from_bits(MAGIC.wrapping_sub(d.to_bits() >> 1));
        for _ in 0..4 {
            y *= 1.5 - 0.5 * d * y * y;
        }
        let root = (d * y) as f32;
        // The estimate is meaningless for negative, infinite and NaN inputs.
        if (0.0..f32::INFINITY).contains(&x) {
            root
        } else if x == f32::INFINITY {
            x
        } else {
            f32::NAN
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        libm::sqrtf(x)
    }
}

/// Whether [`mul_addf`] and [`mul_add`] fuse: the `x86` feature on an x86 target with FMA.
pub const FUSED_MUL_ADD: bool = cfg!(all(
    feature = "x86",
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "fma"
));

/// `x · a + b` in `f32`: one rounding if [`FUSED_MUL_ADD`], else two.
///
/// The fused form goes through `_mm_fmadd_ss`, which LLVM sees as its generic `fma`:
/// in a loop its vectorisers widen it to `vfmadd…ps`, so a multiply-add costs one
/// instruction instead of two.
#[inline(always)]
pub fn mul_addf(x: f32, a: f32, b: f32) -> f32 {
    #[cfg(all(
        feature = "x86",
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "fma"
    ))]
    {
        use safe_arch::{fused_mul_add_m128_s, get_f32_from_m128_s, set_m128_s};
        get_f32_from_m128_s(fused_mul_add_m128_s(
            set_m128_s(x),
            set_m128_s(a),
            set_m128_s(b),
        ))
    }
    #[cfg(not(all(
        feature = "x86",
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "fma"
    )))]
    {
        x * a + b
    }
}

/// `x · a + b` in `f64`: one rounding if [`FUSED_MUL_ADD`], else two.
#[inline(always)]
pub fn mul_add(x: f64, a: f64, b: f64) -> f64 {
    #[cfg(all(
        feature = "x86",
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "fma"
    ))]
    {
        use safe_arch::{fused_mul_add_m128d_s, get_f64_from_m128d_s, set_m128d_s};
        get_f64_from_m128d_s(fused_mul_add_m128d_s(
            set_m128d_s(x),
            set_m128d_s(a),
            set_m128d_s(b),
        ))
    }
    #[cfg(not(all(
        feature = "x86",
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "fma"
    )))]
    {
        x * a + b
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

    #[test]
    fn sqrtf_is_correctly_rounded() {
        // Every 251st bit pattern of the positive finite f32s, subnormals included, and
        // the edges.
        let mut bits = 0_u32;
        while bits < f32::INFINITY.to_bits() {
            let x = f32::from_bits(bits);
            assert_eq!(sqrtf(x), libm::sqrt(f64::from(x)) as f32, "sqrt({x:e})");
            bits += 251;
        }
        for x in [0.0, f32::MIN_POSITIVE, f32::MAX, 1.0, 4.0, 2.0] {
            assert_eq!(sqrtf(x), libm::sqrt(f64::from(x)) as f32, "sqrt({x:e})");
        }
        assert_eq!(sqrtf(-0.0).to_bits(), (-0.0_f32).to_bits());
        assert_eq!(sqrtf(f32::INFINITY), f32::INFINITY);
        assert!(sqrtf(-1.0).is_nan() && sqrtf(f32::NAN).is_nan());
        assert!(sqrtf(f32::NEG_INFINITY).is_nan() && sqrtf(-f32::MIN_POSITIVE).is_nan());
    }

    #[cfg(not(feature = "micromath"))]
    #[test]
    fn polynomial_exp_and_tanh_are_accurate_to_two_ulp() {
        const MAX_ERROR: f64 = 1.5e-7;
        assert!(worst_relative(expf, exp, -87.0, 88.7) < MAX_ERROR);
        assert!(worst_relative(expf, exp, -1.0, 1.0) < MAX_ERROR);
        assert!(worst_relative(tanhf, tanh, -10.0, 10.0) < MAX_ERROR);
        assert!(worst_relative(tanhf, tanh, -0.7, 0.7) < MAX_ERROR);
        assert!(worst_relative(tanhf, tanh, 1e-6, 1e-2) < MAX_ERROR);
    }

    #[cfg(not(feature = "micromath"))]
    #[test]
    fn polynomial_exp_and_tanh_at_the_edges() {
        assert_eq!(expf(0.0), 1.0);
        assert_eq!(expf(88.8), f32::INFINITY);
        assert_eq!(expf(f32::INFINITY), f32::INFINITY);
        assert_eq!(expf(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf(-104.0), 0.0);
        assert!(expf(f32::NAN).is_nan());
        // Largest finite result, and subnormal results, rounded as in float64.
        assert!(
            ((f64::from(expf(88.72)) - exp(88.72_f32.into())) / exp(88.72_f32.into())).abs()
                < 1.5e-7
        );
        for x in [-88.0_f32, -95.0, -100.0, -103.0] {
            let want = exp(f64::from(x));
            let ulp = f64::from(f32::from_bits(1));
            assert!((f64::from(expf(x)) - want).abs() <= ulp, "{x}");
        }
        assert_eq!(tanhf(0.0), 0.0);
        assert_eq!(tanhf(50.0), 1.0);
        assert_eq!(tanhf(-50.0), -1.0);
        assert_eq!(tanhf(f32::INFINITY), 1.0);
        assert!(tanhf(f32::NAN).is_nan());
        assert_eq!(tanhf(1e-30), 1e-30);
    }

    #[cfg(not(feature = "micromath"))]
    #[test]
    fn polynomial_exp_is_accurate_everywhere() {
        // Every 97th f32 in the normal-result range (about 9 million values).
        let (lo, hi) = ((-87.3_f32).to_bits(), 88.7_f32.to_bits());
        let worst = (0..hi)
            .step_by(97)
            .chain((0x8000_0000..lo).step_by(97))
            .map(f32::from_bits)
            .map(|x| ((f64::from(expf(x)) - exp(x.into())) / exp(x.into())).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1.5e-7, "{worst}");
    }

    #[cfg(feature = "micromath")]
    #[test]
    fn micromath_exp_and_tanh_accuracy() {
        // The documented cost of the fast backend, measured.
        assert!(worst_relative(expf, exp, -20.0, 20.0) < 2.5e-3);
        assert!(worst_relative(tanhf, tanh, -10.0, 10.0) < 3.5e-3);
    }
}
