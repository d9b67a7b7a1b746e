//! The arithmetic of a dense layer over a batch, as loops over fixed-size arrays.
//!
//! Every size is a const generic, so the compiler knows every trip count, and every
//! loop walks arrays with `zip`, `chunks` or `get` on ranges it can prove in bounds, so
//! there are no bounds checks to emit and nothing can panic. Names follow the seed
//! note: `x` = Z^l (the layer input), `w` = W^l, `b` = b^l, `a` = A^l, `z` = Z^(l+1),
//! and `d…` = dE/d….
//!
//! `w` is stored as in the seed note, `w[i][j]` for input i and output j, so the
//! forward pass and dE/dW run along `j`, the contiguous axis. The multiply-adds run in
//! register tiles (module `tile`, private): the forward pass and dE/dW sum in the same
//! order as a plain loop; dE/dX = Δ·Wᵀ uses the same tiles over a transposed panel of W
//! on SIMD targets (summing over `j` in order) and in-order dot products on scalar FPUs
//! such as the Cortex-M4F. Under the `x86` feature, on x86 targets with FMA, every
//! multiply-add is fused ([`Scalar::mul_add`]).

mod tile;

use crate::{Activation, Scalar};
use tile::{DOT_I, DOT_S, LANES, ROWS, column_tiles, columns_mut, dot, outer, outer1};

/// A = X·W + 1·b and Z = f(A).
#[inline(never)]
pub fn forward<S: Scalar, F: Activation<S>, const IN: usize, const OUT: usize, const N: usize>(
    w: &[[S; OUT]; IN],
    b: Option<&[S; OUT]>,
    x: &[[S; IN]; N],
    a: &mut [[S; OUT]; N],
    z: &mut [[S; OUT]; N],
) {
    let (x_blocks, x_rest) = x.as_chunks::<ROWS>();
    let (a_blocks, a_rest) = a.as_chunks_mut::<ROWS>();
    let (z_blocks, z_rest) = z.as_chunks_mut::<ROWS>();
    for ((x, a), z) in x_blocks.iter().zip(a_blocks).zip(z_blocks) {
        forward_rows::<S, F, IN, OUT, ROWS>(w, b, x, a, z);
    }
    for ((x, a), z) in x_rest.iter().zip(a_rest).zip(z_rest) {
        let (x, a, z) = (
            core::array::from_ref(x),
            core::array::from_mut(a),
            core::array::from_mut(z),
        );
        forward_rows::<S, F, IN, OUT, 1>(w, b, x, a, z);
    }
}

/// The forward pass of `R` rows: A and Z are written tile by tile, straight from the
/// accumulators.
#[inline(always)]
fn forward_rows<S: Scalar, F: Activation<S>, const IN: usize, const OUT: usize, const R: usize>(
    w: &[[S; OUT]; IN],
    b: Option<&[S; OUT]>,
    x: &[[S; IN]; R],
    a: &mut [[S; OUT]; R],
    z: &mut [[S; OUT]; R],
) {
    let x_at = |i: usize, r: usize| {
        x.get(r)
            .and_then(|row| row.get(i))
            .copied()
            .unwrap_or(S::ZERO)
    };
    column_tiles!(OUT; lo, W => {
        outer_rows::<S, R, W, IN, OUT>(x_at, w, lo, b, |r, acc| {
            let a_row = a.get_mut(r).and_then(|row| columns_mut::<S, W, OUT>(row, lo));
            let z_row = z.get_mut(r).and_then(|row| columns_mut::<S, W, OUT>(row, lo));
            if let (Some(a_row), Some(z_row)) = (a_row, z_row) {
                *a_row = *acc;
                for (z, &acc) in z_row.iter_mut().zip(acc) {
                    *z = F::f(acc);
                }
            }
        })
    });
}

/// [`outer`] for `R` = [`ROWS`], [`outer1`] for `R` = 1.
#[inline(always)]
fn outer_rows<S: Scalar, const R: usize, const W: usize, const K: usize, const OUT: usize>(
    a: impl Fn(usize, usize) -> S,
    b: &[[S; OUT]; K],
    lo: usize,
    init: Option<&[S; OUT]>,
    store: impl FnMut(usize, &[S; W]),
) {
    if R == ROWS {
        outer::<S, W, K, OUT>(a, b, lo, init, store);
    } else {
        outer1::<S, W, K, OUT>(a, b, lo, init, store);
    }
}

/// The backward recurrences of one layer.
///
/// With Δ = dE/dA = dE/dZ^(l+1) ⊙ f'(A):
/// dE/dW = Xᵀ·Δ, dE/db = Σ_rows Δ, and dE/dX = Δ·Wᵀ (only if `dx` is given).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn backward<S: Scalar, F: Activation<S>, const IN: usize, const OUT: usize, const N: usize>(
    w: &[[S; OUT]; IN],
    x: &[[S; IN]; N],
    a: &[[S; OUT]; N],
    z: &[[S; OUT]; N],
    dz: &[[S; OUT]; N],
    da: &mut [[S; OUT]; N],
    dw: &mut [[S; OUT]; IN],
    db: Option<&mut [S; OUT]>,
    dx: Option<&mut [[S; IN]; N]>,
) {
    // Δ and dE/db in one pass.
    let mut db = db;
    if let Some(db) = db.as_deref_mut() {
        db.fill(S::ZERO);
    }
    for (((da_row, dz_row), a_row), z_row) in da.iter_mut().zip(dz).zip(a).zip(z) {
        for (((da_j, &dz_j), &a_j), &z_j) in da_row.iter_mut().zip(dz_row).zip(a_row).zip(z_row) {
            *da_j = dz_j * F::df(a_j, z_j);
        }
        if let Some(db) = db.as_deref_mut() {
            for (db_j, &da_j) in db.iter_mut().zip(da_row.iter()) {
                *db_j += da_j;
            }
        }
    }
    let da = &*da;

    // dE/dW = Xᵀ·Δ: tiles of ROWS inputs, summed over the samples in order.
    let (dw_blocks, dw_rest) = dw.as_chunks_mut::<ROWS>();
    for (block, dw) in dw_blocks.iter_mut().enumerate() {
        let i0 = block * ROWS;
        weight_rows::<S, IN, OUT, N, ROWS>(x, da, i0, dw);
    }
    let rest0 = IN / ROWS * ROWS;
    for (k, dw) in dw_rest.iter_mut().enumerate() {
        weight_rows::<S, IN, OUT, N, 1>(x, da, rest0 + k, core::array::from_mut(dw));
    }

    if let Some(dx) = dx {
        input_grad::<S, IN, OUT, N>(w, da, dx);
    }
}

/// Rows `i0..i0 + R` of dE/dW = Xᵀ·Δ.
#[inline(always)]
fn weight_rows<S: Scalar, const IN: usize, const OUT: usize, const N: usize, const R: usize>(
    x: &[[S; IN]; N],
    da: &[[S; OUT]; N],
    i0: usize,
    dw: &mut [[S; OUT]; R],
) {
    let x_at = |s: usize, r: usize| {
        x.get(s)
            .and_then(|row| row.get(i0 + r))
            .copied()
            .unwrap_or(S::ZERO)
    };
    column_tiles!(OUT; lo, W => {
        outer_rows::<S, R, W, N, OUT>(x_at, da, lo, None, |r, acc| {
            if let Some(dw_row) = dw.get_mut(r).and_then(|row| columns_mut::<S, W, OUT>(row, lo)) {
                *dw_row = *acc;
            }
        })
    });
}

/// dE/dX = Δ·Wᵀ.
///
/// With SIMD lanes ([`LANES`] > 1), as the outer-product tiles of the forward pass over
/// a transposed copy of W, one column panel at a time: `panel[j][c]` = W[lo + c][j]
/// for the inputs `lo..lo + W` (at most [`COLS`](tile::COLS) × OUT values on the stack;
/// 32 KiB for OUT = 256 with AVX-512), reused by every block of samples. Written as
/// lane-split dot products instead, LLVM's SLP vectoriser transposes every tile in
/// registers and the product runs several times slower. On scalar FPUs (`LANES` = 1,
/// the Cortex-M4F) there is nothing to transpose for and no stack to spare: tiles of
/// [`DOT_S`] rows of Δ against [`DOT_I`] rows of W, each an in-order sum.
#[inline(always)]
fn input_grad<S: Scalar, const IN: usize, const OUT: usize, const N: usize>(
    w: &[[S; OUT]; IN],
    da: &[[S; OUT]; N],
    dx: &mut [[S; IN]; N],
) {
    if LANES == 1 {
        let (da_blocks, da_rest) = da.as_chunks::<DOT_S>();
        let (dx_blocks, dx_rest) = dx.as_chunks_mut::<DOT_S>();
        for (da, dx) in da_blocks.iter().zip(dx_blocks) {
            dot_rows::<S, DOT_S, IN, OUT>(w, da, dx);
        }
        for (da, dx) in da_rest.iter().zip(dx_rest) {
            let (da, dx) = (core::array::from_ref(da), core::array::from_mut(dx));
            dot_rows::<S, 1, IN, OUT>(w, da, dx);
        }
        return;
    }
    column_tiles!(IN; lo, W => {
        let mut panel = [[S::ZERO; W]; OUT];
        for (c, w_row) in w.iter().skip(lo).take(W).enumerate() {
            for (panel_j, &w) in panel.iter_mut().zip(w_row) {
                if let Some(p) = panel_j.get_mut(c) {
                    *p = w;
                }
            }
        }
        let (da_blocks, da_rest) = da.as_chunks::<ROWS>();
        let (dx_blocks, dx_rest) = dx.as_chunks_mut::<ROWS>();
        for (da, dx) in da_blocks.iter().zip(dx_blocks) {
            panel_rows::<S, ROWS, W, IN, OUT>(&panel, da, lo, dx);
        }
        for (da, dx) in da_rest.iter().zip(dx_rest) {
            let (da, dx) = (core::array::from_ref(da), core::array::from_mut(dx));
            panel_rows::<S, 1, W, IN, OUT>(&panel, da, lo, dx);
        }
    });
}

/// dE/dX for `RS` samples in dot tiles (scalar FPUs).
#[inline(always)]
fn dot_rows<S: Scalar, const RS: usize, const IN: usize, const OUT: usize>(
    w: &[[S; OUT]; IN],
    da: &[[S; OUT]; RS],
    dx: &mut [[S; IN]; RS],
) {
    let (w_blocks, w_rest) = w.as_chunks::<DOT_I>();
    for (block, w) in w_blocks.iter().enumerate() {
        let sums = dot::<S, RS, DOT_I, OUT>(da, w);
        let i0 = block * DOT_I;
        for (dx_row, sums) in dx.iter_mut().zip(&sums) {
            if let Some(dx_row) = columns_mut::<S, DOT_I, IN>(dx_row, i0) {
                *dx_row = *sums;
            }
        }
    }
    let rest0 = IN / DOT_I * DOT_I;
    for (k, w) in w_rest.iter().enumerate() {
        let sums = dot::<S, RS, 1, OUT>(da, core::array::from_ref(w));
        for (dx_row, [sum]) in dx.iter_mut().zip(sums) {
            if let Some(dx_i) = dx_row.get_mut(rest0 + k) {
                *dx_i = sum;
            }
        }
    }
}

/// `dx[r][lo..lo + W] = Σ_j da[r][j] · panel[j]` for `R` rows.
#[inline(always)]
fn panel_rows<S: Scalar, const R: usize, const W: usize, const IN: usize, const OUT: usize>(
    panel: &[[S; W]; OUT],
    da: &[[S; OUT]; R],
    lo: usize,
    dx: &mut [[S; IN]; R],
) {
    let da_at = |j: usize, r: usize| {
        da.get(r)
            .and_then(|row| row.get(j))
            .copied()
            .unwrap_or(S::ZERO)
    };
    outer_rows::<S, R, W, OUT, W>(da_at, panel, 0, None, |r, acc| {
        if let Some(dx_row) = dx
            .get_mut(r)
            .and_then(|row| columns_mut::<S, W, IN>(row, lo))
        {
            *dx_row = *acc;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Identity, Tanh};

    #[test]
    fn forward_matches_hand_computation() {
        let w = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let b = [0.5, -0.5];
        let x = [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]];
        let (mut a, mut z) = ([[0.0; 2]; 2], [[0.0; 2]; 2]);
        forward::<f64, Identity, 3, 2, 2>(&w, Some(&b), &x, &mut a, &mut z);
        assert_eq!(a, [[-3.5, -4.5], [5.5, 7.5]]);
        assert_eq!(z, a);
        forward::<f64, Tanh, 3, 2, 2>(&w, None, &x, &mut a, &mut z);
        assert_eq!(a, [[-4.0, -4.0], [5.0, 8.0]]);
        assert_eq!(z[1][0], libm::tanh(5.0));
    }

    #[test]
    fn backward_matches_hand_computation() {
        let w = [[1.0, 2.0], [3.0, 4.0]];
        let x = [[1.0, -1.0]];
        let (mut a, mut z) = ([[0.0; 2]; 1], [[0.0; 2]; 1]);
        forward::<f64, Identity, 2, 2, 1>(&w, None, &x, &mut a, &mut z);
        let dz = [[1.0, 10.0]];
        let (mut da, mut dw, mut db, mut dx) =
            ([[0.0; 2]; 1], [[0.0; 2]; 2], [0.0; 2], [[0.0; 2]; 1]);
        backward::<f64, Identity, 2, 2, 1>(
            &w,
            &x,
            &a,
            &z,
            &dz,
            &mut da,
            &mut dw,
            Some(&mut db),
            Some(&mut dx),
        );
        assert_eq!(da, dz);
        assert_eq!(dw, [[1.0, 10.0], [-1.0, -10.0]]);
        assert_eq!(db, [1.0, 10.0]);
        assert_eq!(dx, [[21.0, 43.0]]);
    }

    /// Deterministic values in [-1, 1).
    fn fill<const R: usize, const C: usize>(seed: u64) -> [[f64; C]; R] {
        let mut state = seed;
        core::array::from_fn(|_| {
            core::array::from_fn(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1_u64 << 52) as f64 - 1.0
            })
        })
    }

    /// The tiled kernels against the plain loops they replace, on sizes that leave
    /// remainders in every direction: rows past the last tile of 4, columns past the
    /// last whole tile (tails of 16, 8, 4, 2 and 1), inputs past the last panel.
    fn matches_plain_loops<const IN: usize, const OUT: usize, const N: usize>() {
        let w = fill::<IN, OUT>(1);
        let [b] = fill::<1, OUT>(2);
        let x = fill::<N, IN>(3);
        let dz = fill::<N, OUT>(4);
        let (mut a, mut z) = ([[0.0; OUT]; N], [[0.0; OUT]; N]);
        forward::<f64, Tanh, IN, OUT, N>(&w, Some(&b), &x, &mut a, &mut z);
        let (mut da, mut dw, mut db, mut dx) = (
            [[0.0; OUT]; N],
            [[0.0; OUT]; IN],
            [0.0; OUT],
            [[0.0; IN]; N],
        );
        backward::<f64, Tanh, IN, OUT, N>(
            &w,
            &x,
            &a,
            &z,
            &dz,
            &mut da,
            &mut dw,
            Some(&mut db),
            Some(&mut dx),
        );
        // Same summation order as the kernels (in order over the summed index), so
        // the results agree to rounding (exactly, unless multiply-adds are fused).
        let close = |got: f64, want: f64| (got - want).abs() <= 1e-13 * want.abs().max(1.0);
        for s in 0..N {
            for j in 0..OUT {
                let want = (0..IN).fold(b[j], |acc, i| acc + x[s][i] * w[i][j]);
                assert!(close(a[s][j], want), "a[{s}][{j}] {} vs {want}", a[s][j]);
                assert_eq!(z[s][j], libm::tanh(a[s][j]));
                assert_eq!(da[s][j], dz[s][j] * (1.0 - z[s][j] * z[s][j]));
            }
            for i in 0..IN {
                let want = (0..OUT).fold(0.0, |acc, j| acc + da[s][j] * w[i][j]);
                assert!(close(dx[s][i], want), "dx[{s}][{i}] {} vs {want}", dx[s][i]);
            }
        }
        for j in 0..OUT {
            let want = (0..N).fold(0.0, |acc, s| acc + da[s][j]);
            assert!(close(db[j], want), "db[{j}]");
            for i in 0..IN {
                let want = (0..N).fold(0.0, |acc, s| acc + x[s][i] * da[s][j]);
                assert!(close(dw[i][j], want), "dw[{i}][{j}] {} vs {want}", dw[i][j]);
            }
        }
    }

    #[test]
    fn tiles_match_plain_loops_for_every_remainder() {
        matches_plain_loops::<1, 1, 1>();
        matches_plain_loops::<3, 5, 2>();
        matches_plain_loops::<9, 31, 7>();
        matches_plain_loops::<37, 63, 6>();
        matches_plain_loops::<64, 10, 32>();
        matches_plain_loops::<33, 47, 5>();
    }
}
