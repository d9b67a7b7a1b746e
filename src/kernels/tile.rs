//! Register tiles: the loops that do the multiply-adds, and their sizes per target.
//!
//! Every product of a dense layer is one of two shapes:
//!
//! * **outer** (`out = init + Σ_k a_k ⊗ b_k`): the forward pass (k = input i, a row of W
//!   per k), dE/dW (k = sample s, a row of Δ per k) and, on SIMD targets, dE/dX over a
//!   transposed panel of W (k = output j). A tile of [`ROWS`] output rows × [`COLS`]
//!   columns sits in registers while k runs; each k loads `ROWS` scalars of `a` and one
//!   chunk of `b`'s row and does `ROWS·COLS` multiply-adds. The sum over k runs in
//!   order, exactly as a plain loop would.
//! * **dot** (`out[s][i] = Σ_j d[s][j]·w[i][j]`): dE/dX = Δ·Wᵀ on scalar FPUs, where
//!   both operands run along j: [`DOT_S`] rows of Δ × [`DOT_I`] rows of W, each pair an
//!   in-order sum.
//!
//! The tile sizes depend on the target, and only through the constants below:
//!
//! * x86: [`LANES`] is the f32 width of the vectors LLVM uses (4 with SSE, 8 with AVX,
//!   also with AVX-512, where it prefers 256-bit vectors); an outer tile row is two
//!   vectors (four with AVX-512's 32 registers), so 8 (16) accumulators.
//! * Anything else, above all the Cortex-M4F (32 single-precision registers, no SIMD):
//!   `LANES = 1`, and 4 × 4 tiles of scalars, 16 accumulators, with 8 loads per 16
//!   `vmla.f32`, for the outer and the dot tiles alike.
//!
//! Every loop walks fixed-size arrays or slices whose lengths are constants after
//! inlining, so LLVM unrolls the tile loops, keeps the accumulators in registers and
//! drops every bounds check; the `get`s only exist to keep the code free of panics.

use crate::Scalar;

/// The f32 lanes of one 256-bit register. Also with AVX-512: LLVM prefers 256-bit
/// vectors on the CPUs that have it, and tiles built for 16 lanes measured 1.6× slower
/// on 256-256-256-10.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "avx"
))]
pub(crate) const LANES: usize = 8;
/// The f32 lanes of one SSE register.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    not(target_feature = "avx")
))]
pub(crate) const LANES: usize = 4;
/// One lane: a scalar FPU.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
pub(crate) const LANES: usize = 1;

/// Columns of an outer tile.
pub(crate) const COLS: usize = if LANES == 1 {
    4
} else if cfg!(target_feature = "avx512f") {
    4 * LANES
} else {
    2 * LANES
};
/// Columns of the outer tiles of layers at least this wide: with AVX-512's 32 registers,
/// 6 vectors per row (24 accumulators), which measured 256-256-256-10 at 554–583 µs
/// against 618–633 µs with [`COLS`] (alternating runs); narrower layers keep `COLS`.
pub(crate) const WIDE_COLS: usize = if LANES > 1 && cfg!(target_feature = "avx512f") {
    6 * LANES
} else {
    COLS
};
/// Rows of an outer tile.
pub(crate) const ROWS: usize = 4;
const _: () = assert!(ROWS == 4, "`outer` spells out four rows");
/// Rows of Δ in a dot tile.
pub(crate) const DOT_S: usize = 4;
/// Rows of W in a dot tile.
pub(crate) const DOT_I: usize = 4;

/// Defines an outer tile of a fixed number of rows, written out row by row.
///
/// The rows are spelled out rather than looped over: with a loop over the rows LLVM's
/// loop vectoriser (on AVX-512) vectorises *across* rows, with gathers and scatters of
/// accumulators kept in memory. Written out, the body of the k loop is straight-line
/// code that the SLP vectoriser packs into whole-register multiply-adds, and the k loop
/// itself is a float reduction that the loop vectoriser leaves alone.
macro_rules! outer_tile {
    ($(#[$doc:meta])* $name:ident, $rows:literal, [$($r:ident $ri:literal),+]) => {
        $(#[$doc])*
        #[inline(always)]
        pub(crate) fn $name<S: Scalar, const W: usize, const K: usize, const OUT: usize>(
            a: impl Fn(usize, usize) -> S,
            b: &[[S; OUT]; K],
            lo: usize,
            init: Option<&[S; OUT]>,
            mut store: impl FnMut(usize, &[S; W]),
        ) {
            let start = init
                .and_then(|init| columns::<S, W, OUT>(init, lo))
                .copied()
                .unwrap_or([S::ZERO; W]);
            $( let mut $r = start; )+
            for (k, b_k) in b.iter().enumerate() {
                let Some(b_k) = columns::<S, W, OUT>(b_k, lo) else {
                    continue;
                };
                $( mul_add(&mut $r, a(k, $ri), b_k); )+
            }
            $( store($ri, &$r); )+
        }
    };
}

outer_tile!(
    /// `out_r = init + Σ_k a(k, r) · b[k][lo..lo + W]` for the [`ROWS`] rows of a tile;
    /// `store(r, out_r)` receives each row.
    outer,
    4,
    [r0 0, r1 1, r2 2, r3 3]
);

outer_tile!(
    /// [`outer`] for a single row, the rows left over when [`ROWS`] does not divide the
    /// row count.
    outer1,
    1,
    [r0 0]
);

/// `acc += a · b`, lane by lane.
#[inline(always)]
fn mul_add<S: Scalar, const W: usize>(acc: &mut [S; W], a: S, b: &[S; W]) {
    for (acc, &b) in acc.iter_mut().zip(b) {
        *acc = a.mul_add(b, *acc);
    }
}

/// `row[lo..lo + W]` as an array.
#[inline(always)]
pub(crate) fn columns<S, const W: usize, const OUT: usize>(
    row: &[S; OUT],
    lo: usize,
) -> Option<&[S; W]> {
    row.get(lo..).and_then(|row| row.first_chunk::<W>())
}

/// `row[lo..lo + W]` as a mutable array.
#[inline(always)]
pub(crate) fn columns_mut<S, const W: usize, const OUT: usize>(
    row: &mut [S; OUT],
    lo: usize,
) -> Option<&mut [S; W]> {
    row.get_mut(lo..).and_then(|row| row.first_chunk_mut::<W>())
}

/// Runs `$body` once per column tile of `0..$out`, with `$lo` the first column and
/// `$w` the tile's width as a `const`: tiles of [`WIDE_COLS`] columns, then of [`COLS`],
/// then the columns left over in tiles of 16, 8, 4, 2 and 1 (each narrower than `COLS`,
/// each at most once), so that every tile has a width known at compile time and its
/// accumulators fit in registers.
macro_rules! column_tiles {
    ($out:expr; $lo:ident, $w:ident => $body:expr) => {{
        use $crate::kernels::tile::{COLS, WIDE_COLS};
        let mut start = 0;
        if WIDE_COLS > COLS {
            for chunk in 0..$out / WIDE_COLS {
                const $w: usize = WIDE_COLS;
                let $lo = chunk * $w;
                $body;
            }
            start = $out / WIDE_COLS * WIDE_COLS;
        }
        for chunk in 0..($out - start) / COLS {
            const $w: usize = COLS;
            let $lo = start + chunk * $w;
            $body;
        }
        start += ($out - start) / COLS * COLS;
        #[allow(unused_assignments)]
        {
            column_tiles!(@rest $out; start; $lo, $w => $body; 16 8 4 2 1);
        }
    }};
    (@rest $out:expr; $start:ident; $lo:ident, $w:ident => $body:expr; $($width:literal)+) => {
        $(
            if $width < COLS && $out - $start >= $width {
                const $w: usize = $width;
                let $lo = $start;
                $body;
                $start += $width;
            }
        )+
    };
}
pub(crate) use column_tiles;

/// `out[s][i] = Σ_j d[s][j] · w[i][j]`, summed in order, for a tile of `RS` rows of `d`
/// and `RI` rows of `w`: the dE/dX tile of scalar FPUs, `RS·RI` accumulators with
/// `RS + RI` loads per `RS·RI` multiply-adds.
#[inline(always)]
pub(crate) fn dot<S: Scalar, const RS: usize, const RI: usize, const OUT: usize>(
    d: &[[S; OUT]; RS],
    w: &[[S; OUT]; RI],
) -> [[S; RI]; RS] {
    let mut acc = [[S::ZERO; RI]; RS];
    for j in 0..OUT {
        for (acc_s, d_s) in acc.iter_mut().zip(d) {
            let d_sj = d_s.get(j).copied().unwrap_or(S::ZERO);
            for (acc, w_i) in acc_s.iter_mut().zip(w) {
                *acc = d_sj.mul_add(w_i.get(j).copied().unwrap_or(S::ZERO), *acc);
            }
        }
    }
    acc
}
