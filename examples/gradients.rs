//! Prints every quantity of the backpropagation note for one batch, in f64, for the
//! note's own bias-free formulation: X with a constant first feature, A^l = Z^l W^l,
//! Z^(l+1) = f^l(A^l), and both recurrences' results, including dE/dX.
//!
//! ```sh
//! cargo run --example gradients
//! ```
//!
//! The same numbers come out of PyTorch (float64) with
//! `torch.sigmoid(torch.sigmoid(X @ W0) @ W1)`, `MSELoss()` and `.backward()`.

use stackprop::*;

/// K^0 = 3 (bias feature + 2 inputs), K^1 = 4, K^2 = 2; no bias vectors.
type Net = (
    Dense<3, 4, Sigmoid, f64, NoBias>,
    Dense<4, 2, Sigmoid, f64, NoBias>,
);
const N: usize = 3;

fn main() -> Result<(), Error> {
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(2024));
    let mut trainer = Trainer::<Net, (), Mse, N>::new(net, (), Mse);

    // Column 0 is the constant 1 that carries the bias.
    let x = [[1.0, 0.5, -1.0], [1.0, -0.3, 0.8], [1.0, 2.0, 0.1]];
    let t = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]];
    let mut dx = [[0.0; 3]; N];
    let e = trainer.gradients(&x, &t, Some(&mut dx))?;

    let (l0, l1) = &trainer.net;
    let (c0, c1) = &trainer.cache;
    let (d0, d1) = &trainer.delta;
    let (g0, g1) = &trainer.grads;
    print("X = Z^0", &x);
    print("W^0", &l0.w);
    print("A^0 = Z^0 W^0", &c0.a);
    print("Z^1 = f^0(A^0)", &c0.z);
    print("W^1", &l1.w);
    print("A^1 = Z^1 W^1", &c1.a);
    print("Y = Z^2 = f^1(A^1)", &c1.z);
    print("T", &t);
    println!("E(Y, T) = {e:.17}\n");
    print("dE/dZ^2 = dE/dY", &d1.dz);
    print("dE/dA^1 = dE/dZ^2 * f^1'(A^1)", &d1.da);
    print("dE/dW^1 (first recurrence)", &g1.w);
    print("dE/dZ^1 (second recurrence)", &d0.dz);
    print("dE/dA^0", &d0.da);
    print("dE/dW^0 (first recurrence)", &g0.w);
    print("dE/dZ^0 = dE/dX (second recurrence)", &dx);
    Ok(())
}

fn print<const K: usize>(name: &str, rows: &[[f64; K]]) {
    println!("{name}:");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:+.12e}")).collect();
        println!("  [{}]", cells.join(", "));
    }
    println!();
}
