//! The arithmetic of a dense layer over a batch, as loops over fixed-size arrays.
//!
//! Every size is a const generic, so the compiler knows every trip count, and every
//! loop walks arrays with `zip` (no indexing), so there are no bounds checks to emit.
//! Names follow the seed note: `x` = Z^l (the layer input), `w` = W^l, `b` = b^l,
//! `a` = A^l, `z` = Z^(l+1), and `d…` = dE/d….
//!
//! `w` is stored as in the seed note, `w[i][j]` for input i and output j, so the inner
//! loops of the forward pass and of dW run along `j`, the contiguous axis.

use crate::{Activation, Scalar};

/// A = X·W + 1·b and Z = f(A), row by row.
#[inline]
pub fn forward<S: Scalar, F: Activation<S>, const IN: usize, const OUT: usize, const N: usize>(
    w: &[[S; OUT]; IN],
    b: Option<&[S; OUT]>,
    x: &[[S; IN]; N],
    a: &mut [[S; OUT]; N],
    z: &mut [[S; OUT]; N],
) {
    for ((x_row, a_row), z_row) in x.iter().zip(a.iter_mut()).zip(z.iter_mut()) {
        // In place: no temporary row or matrix is built, so nothing lands on the stack.
        match b {
            Some(b) => a_row.copy_from_slice(b),
            None => a_row.fill(S::ZERO),
        }
        for (&x_i, w_row) in x_row.iter().zip(w) {
            for (a_j, &w_ij) in a_row.iter_mut().zip(w_row) {
                *a_j += x_i * w_ij;
            }
        }
        for (z_j, &a_j) in z_row.iter_mut().zip(a_row.iter()) {
            *z_j = F::f(a_j);
        }
    }
}

/// The backward recurrences of one layer.
///
/// With Δ = dE/dA = dE/dZ^(l+1) ⊙ f'(A):
/// dE/dW = Xᵀ·Δ, dE/db = Σ_rows Δ, and dE/dX = Δ·Wᵀ (only if `dx` is given).
#[inline]
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
    for (((da_row, dz_row), a_row), z_row) in da.iter_mut().zip(dz).zip(a).zip(z) {
        for (((da_j, &dz_j), &a_j), &z_j) in da_row.iter_mut().zip(dz_row).zip(a_row).zip(z_row) {
            *da_j = dz_j * F::df(a_j, z_j);
        }
    }

    dw.as_flattened_mut().fill(S::ZERO);
    for (x_row, da_row) in x.iter().zip(da.iter()) {
        for (&x_i, dw_row) in x_row.iter().zip(dw.iter_mut()) {
            for (dw_ij, &da_j) in dw_row.iter_mut().zip(da_row) {
                *dw_ij += x_i * da_j;
            }
        }
    }

    if let Some(db) = db {
        db.fill(S::ZERO);
        for da_row in da.iter() {
            for (db_j, &da_j) in db.iter_mut().zip(da_row) {
                *db_j += da_j;
            }
        }
    }

    if let Some(dx) = dx {
        for (dx_row, da_row) in dx.iter_mut().zip(da.iter()) {
            for (dx_i, w_row) in dx_row.iter_mut().zip(w) {
                *dx_i = w_row
                    .iter()
                    .zip(da_row)
                    .fold(S::ZERO, |acc, (&w_ij, &da_j)| acc + w_ij * da_j);
            }
        }
    }
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
}
