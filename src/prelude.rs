//! The traits whose methods a training program calls, and the types it names most.
//!
//! `Net::ZERO` needs [`Zero`] in scope, `net.init(…)` needs [`Layer`], `Mse.loss(…)`
//! needs [`Loss`]: one glob import brings them all, and nothing that clashes with
//! other crates' preludes by accident (the generator is [`SplitMix64`], not a generic `Rng`).
//!
//! # Examples
//!
//! ```
//! use stackprop::prelude::*;
//!
//! type Net = (Dense<2, 4, Tanh>, Dense<4, 1, Identity>);
//! let mut net = Net::ZERO; // Zero
//! net.init(Init::GlorotUniform, &mut SplitMix64::new(7)); // Layer
//! let mut trainer = Trainer::<Net, _, _, 2>::new(net, Sgd::<Net>::new(SgdConfig::new(0.1))?, Mse);
//! let loss = trainer.step(&[[0., 1.], [1., 0.]], &[[1.], [-1.]])?;
//! assert!(loss > 0.0 && Mse.loss(&[[1.0_f32]], &[[1.0]]) == 0.0); // Loss
//! # Ok::<(), Error>(())
//! ```

pub use crate::activation::{Activation, Identity, LeakyRelu, Relu, Sigmoid, Silu, Softplus, Tanh};
pub use crate::data::{
    Dataset, Remainder, Row, Samples, batch, batch_mut, input_batch, input_batch_mut, output_batch,
    output_batch_mut,
};
pub use crate::dense::{Dense, NoBias};
pub use crate::error::Error;
pub use crate::frozen::{Frozen, FrozenRef};
pub use crate::history::LossHistory;
pub use crate::init::{Init, SplitMix64};
pub use crate::layer::{InputBatch, Layer, OutputBatch};
pub use crate::loss::{Bce, Huber, Loss, Mse, SoftmaxCrossEntropy};
pub use crate::optim::{
    Adam, AdamConfig, LearningRate, NoMomentum, Optimizer, Sgd, SgdConfig, WithMomentum,
};
pub use crate::persist::{Architecture, OptimizerState};
pub use crate::scalar::Scalar;
pub use crate::snapshot::{Snapshot, SnapshotStore};
pub use crate::tensors::Tensors;
pub use crate::trainer::Trainer;
pub use crate::watchdog::{Watchdog, WatchdogConfig};
pub use crate::zero::Zero;
