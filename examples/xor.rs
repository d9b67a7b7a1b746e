//! Trains a 2-8-1 network on XOR from a seeded initialisation until it classifies all
//! four inputs, printing the loss as it goes.
//!
//! ```sh
//! cargo run --release --example xor
//! ```

use std::process::ExitCode;

use stackprop::*;

/// The network: 2 inputs, 8 tanh neurons, 1 sigmoid output.
type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
/// Full-batch training on the 4 XOR rows, plain SGD.
type XorTrainer = Trainer<Net, Sgd<Net, NoMomentum>, Mse, 4>;

/// The dataset, as `const` arrays (in flash on a microcontroller).
const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const TARGETS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

const SEED: u64 = 7;
const MAX_EPOCHS: usize = 5_000;
/// Stop once every sample is classified and the loss is this low.
const TARGET_LOSS: f32 = 0.01;

fn main() -> ExitCode {
    match train() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn train() -> Result<bool, Error> {
    let mut rng = SplitMix64::new(SEED);
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut rng);
    let sgd = Sgd::new(SgdConfig::new(0.5))?;
    let mut trainer = XorTrainer::new(net, sgd, Mse);
    let data = Samples::new(&INPUTS, &TARGETS)?;

    let memory = XorTrainer::FOOTPRINT;
    println!(
        "2-8-1 tanh/sigmoid, MSE, SGD lr 0.5, batch 4, seed {SEED}: {} bytes \
         ({} params, {} grads, {} buffers)",
        memory.total(),
        memory.params,
        memory.grads,
        memory.cache + memory.delta
    );

    // The last 50 epoch losses, to report progress as a smoothed figure.
    let mut history = LossHistory::<f32, 50>::new();
    for epoch in 1..=MAX_EPOCHS {
        let report = trainer.train_epoch(&data, Some(&mut rng), Remainder::Reject)?;
        history.push(report.mean_loss);
        let eval = trainer.evaluate(&data)?;
        let done = eval.correct == eval.total && eval.loss < TARGET_LOSS;
        if epoch == 1 || epoch % 250 == 0 || done {
            println!(
                "epoch {epoch:5}  loss {:.6}  (mean of last {}: {:.6})  accuracy {:.0} %",
                report.mean_loss,
                history.oldest_first().count(),
                history.mean().unwrap_or(report.mean_loss),
                100.0 * eval.accuracy()
            );
        }
        if done {
            for (x, y) in INPUTS.iter().zip(trainer.predict(&INPUTS)) {
                println!("  {:?} -> {:.4}", x, y[0]);
            }
            println!("trained to 100 % accuracy in {epoch} epochs");
            return Ok(true);
        }
    }
    println!("did not reach 100 % accuracy and loss < {TARGET_LOSS} in {MAX_EPOCHS} epochs");
    Ok(false)
}
