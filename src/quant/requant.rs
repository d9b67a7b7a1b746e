//! The integer arithmetic of int8 inference: fixed-point requantisation exactly as
//! gemmlowp and TensorFlow Lite define it, and the float-to-int8 rounding of inputs.
//!
//! Every function here is exact integer (or exact IEEE `f32`) arithmetic with the
//! rounding spelled out, so any implementation that follows the formulas in
//! [`crate::quant`] gets the same bits.

/// a·b / 2^31 rounded to the nearest integer with ties toward +∞, saturated: gemmlowp's
/// `SaturatingRoundingDoublingHighMul`.
///
/// With p = a·b as a 64-bit integer, gemmlowp computes (p + n) / 2^31 truncated toward
/// zero, with n = 2^30 if p ≥ 0 and n = 1 − 2^30 otherwise; that equals
/// ⌊(p + 2^30) / 2^31⌋ (so −1.5 becomes −1 and 1.5 becomes 2). The one product that does
/// not fit, a = b = −2^31, gives 2^31 − 1.
///
/// # Examples
///
/// ```
/// use stackprop::quant::requant::saturating_rounding_doubling_high_mul as srdhm;
/// assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29); // 0.5 · 0.5 in Q31
/// assert_eq!(srdhm(3, 1 << 30), 2); // 1.5: ties go up
/// assert_eq!(srdhm(-3, 1 << 30), -1); // −1.5 too
/// assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
/// ```
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // gemmlowp's truncating division with a sign-dependent nudge equals this floor:
    // two instructions on a 32-bit core instead of a 64-bit division. Only
    // a = b = −2^31 (handled above) leaves the `i32` range.
    ((i64::from(a) * i64::from(b) + (1 << 30)) >> 31) as i32
}

/// `x / 2^e` rounded to nearest with ties away from zero: gemmlowp's
/// `RoundingDivideByPOT`, for 0 ≤ e ≤ 31 (larger `e` are treated as 31).
///
/// With m = 2^e − 1, r = x & m (two's complement) and t = ⌊m / 2⌋ + (1 if x < 0 else 0):
/// the result is (x >> e) + (1 if r > t else 0), where `>>` is the arithmetic shift.
///
/// # Examples
///
/// ```
/// use stackprop::quant::requant::rounding_divide_by_pot as rdbpot;
/// assert_eq!(rdbpot(5, 1), 3); // 2.5 → 3
/// assert_eq!(rdbpot(-5, 1), -3); // −2.5 → −3
/// assert_eq!(rdbpot(-6, 2), -2); // −1.5 → −2
/// assert_eq!(rdbpot(7, 0), 7);
/// ```
#[inline]
pub fn rounding_divide_by_pot(x: i32, e: u32) -> i32 {
    let e = e.min(31);
    // 2^e − 1 without a 64-bit shift: 1 << 31 wraps to 2^31 in u32, minus 1 is 2^31 − 1.
    let mask = (1_u32 << e).wrapping_sub(1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(remainder > threshold)
}

/// The accumulator `acc` scaled by the real multiplier M = `multiplier` · 2^(`shift` − 31):
/// TFLite's `MultiplyByQuantizedMultiplier`.
///
/// `shift` is taken as clamped to [−31, 30] (what [`quantize_multiplier`] produces).
/// With l = max(`shift`, 0) and r = max(−`shift`, 0): the result is
/// `rounding_divide_by_pot(saturating_rounding_doubling_high_mul(acc · 2^l, multiplier), r)`,
/// where acc · 2^l saturates to the `i32` range.
///
/// # Examples
///
/// ```
/// use stackprop::quant::requant::{quantize_multiplier, requantize};
/// let (m, shift) = quantize_multiplier(0.25).expect("in range");
/// assert_eq!(requantize(1000, m, shift), 250);
/// assert_eq!(requantize(-1002, m, shift), -251); // −250.5 → −251
/// ```
#[inline]
pub fn requantize(acc: i32, multiplier: i32, shift: i8) -> i32 {
    let left = shift.clamp(0, 30) as u32;
    let right = (-i32::from(shift)).clamp(0, 31) as u32;
    let scaled = acc.saturating_mul(1 << left);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(scaled, multiplier),
        right,
    )
}

/// Splits a real multiplier M > 0 into a Q31 `multiplier` in [2^30, 2^31) and a `shift`
/// with M ≈ multiplier · 2^(shift − 31): TFLite's `QuantizeMultiplier`.
///
/// M = f · 2^e with f in [0.5, 1) (`frexp`); multiplier = round(f · 2^31), ties away from
/// zero; if that is 2^31 it becomes 2^30 and e grows by one. A multiplier below 2^−31
/// (e < −31) becomes (0, 0): every output is then the zero point. Returns `None` for
/// M ≤ 0, non-finite M, or M ≥ 2^30 (e > 30), where `shift` would leave its range.
///
/// # Examples
///
/// ```
/// use stackprop::quant::requant::quantize_multiplier;
/// assert_eq!(quantize_multiplier(0.5), Some((1 << 30, 0)));
/// assert_eq!(quantize_multiplier(3.0), Some((3 << 29, 2)));
/// assert_eq!(quantize_multiplier(0.0), None);
/// ```
pub fn quantize_multiplier(m: f64) -> Option<(i32, i8)> {
    if !(m.is_finite() && m > 0.0) {
        return None;
    }
    let (f, mut e) = libm::frexp(m);
    let mut q = round_half_away(f * 2_147_483_648.0) as i64;
    if q == 1 << 31 {
        q /= 2;
        e += 1;
    }
    if e < -31 {
        return Some((0, 0));
    }
    if e > 30 {
        return None;
    }
    Some((q as i32, e as i8))
}

/// Rounds to the nearest integer, ties away from zero (C's `round`), exactly.
#[inline]
pub(crate) fn round_half_away(x: f64) -> f64 {
    let t = libm::trunc(x);
    let frac = x - t; // exact
    if frac >= 0.5 {
        t + 1.0
    } else if frac <= -0.5 {
        t - 1.0
    } else {
        t
    }
}

/// An `f32` input x as int8 with `scale` s and zero point z:
/// q = clamp(round(x / s) + z, −128, 127).
///
/// x / s is one IEEE `f32` division (rounded to nearest even), clamped to [−512, 512]
/// so it converts to an integer exactly; round is ties away from zero. `x` must be
/// finite (callers check) and `scale` positive and finite.
///
/// # Examples
///
/// ```
/// use stackprop::quant::requant::quantize_f32;
/// assert_eq!(quantize_f32(0.625, 0.25, -128), -125); // 2.5 → 3, − 128
/// assert_eq!(quantize_f32(-2.5, 1.0, 0), -3);
/// assert_eq!(quantize_f32(1e9, 1.0, 0), 127);
/// ```
#[inline]
pub fn quantize_f32(x: f32, scale: f32, zero_point: i8) -> i8 {
    let v = (x / scale).clamp(-512.0, 512.0);
    let t = v as i32; // toward zero, exact in this range
    let frac = v - t as f32; // exact
    let r = if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    };
    (r + i32::from(zero_point)).clamp(-128, 127) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ⌊(a·b + 2^30) / 2^31⌋ in i128, saturated.
    fn srdhm_reference(a: i32, b: i32) -> i32 {
        let p = i128::from(a) * i128::from(b);
        let r = (p + (1 << 30)).div_euclid(1 << 31);
        r.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32
    }

    #[test]
    fn high_mul_matches_the_definition() {
        let values = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -12345,
            -3,
            -1,
            0,
            1,
            2,
            3,
            77_777,
            1 << 30,
            i32::MAX - 1,
            i32::MAX,
        ];
        for &a in &values {
            for &b in &values {
                assert_eq!(
                    saturating_rounding_doubling_high_mul(a, b),
                    srdhm_reference(a, b),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn divide_by_pot_rounds_half_away_from_zero() {
        for x in -1000..=1000 {
            for e in 0..6 {
                let want = (f64::from(x) / f64::from(1 << e)).round() as i32;
                assert_eq!(rounding_divide_by_pot(x, e), want, "{x} >> {e}");
            }
        }
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
    }

    #[test]
    fn multiplier_round_trips() {
        for &m in &[1e-9, 0.0001234, 0.3, 0.5, 0.999_999_999_9, 1.0, 7.25, 1e6] {
            let (q, shift) = quantize_multiplier(m).expect("in range");
            assert!((1 << 30..=i32::MAX).contains(&q), "{m}: {q}");
            let back = f64::from(q) * 2f64.powi(i32::from(shift) - 31);
            assert!((back - m).abs() <= m * 1e-9, "{m}: {back}");
        }
        assert_eq!(quantize_multiplier(1e-12), Some((0, 0)));
        assert_eq!(quantize_multiplier(f64::NAN), None);
        assert_eq!(quantize_multiplier(-1.0), None);
        assert_eq!(quantize_multiplier(2f64.powi(31)), None);
    }

    #[test]
    fn requantize_is_close_to_the_real_product() {
        for &m in &[0.000_37, 0.01, 0.5, 0.9, 1.5, 40.0] {
            let (q, shift) = quantize_multiplier(m).expect("in range");
            for acc in (-100_000..100_000).step_by(997) {
                let want = (f64::from(acc) * m).round();
                let got = f64::from(requantize(acc, q, shift));
                assert!((got - want).abs() <= 1.0, "{acc} · {m}: {got} vs {want}");
            }
        }
        // acc · 2^10 saturates to 2^31 − 1 before the multiply by M / 2^10.
        let (q, shift) = quantize_multiplier(1000.0).expect("in range");
        let saturated = saturating_rounding_doubling_high_mul(i32::MAX, q);
        assert_eq!(requantize(i32::MAX / 2, q, shift), saturated);
    }

    #[test]
    fn input_rounding_is_exact() {
        assert_eq!(quantize_f32(0.49999997, 1.0, 0), 0);
        assert_eq!(quantize_f32(0.5, 1.0, 0), 1);
        assert_eq!(quantize_f32(-0.5, 1.0, 0), -1);
        assert_eq!(quantize_f32(-1e30, 1e-3, 5), -128);
        assert_eq!(round_half_away(0.49999999999999994), 0.0);
        assert_eq!(round_half_away(-2.5), -3.0);
    }
}
