#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The library's own code must not panic; tests may.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable
    )
)]
// Nested tuple types of networks and their buffers are the design, not an accident.
#![allow(clippy::type_complexity)]

pub mod activation;
mod data;
#[cfg(feature = "defmt")]
mod defmt;
mod dense;
mod early_stop;
mod error;
mod frozen;
mod history;
mod init;
pub mod kernels;
mod layer;
pub mod loss;
pub mod math;
mod memory;
pub mod optim;
pub mod persist;
pub mod prelude;
pub mod quant;
#[cfg(feature = "rand_core")]
mod rand_core;
pub mod replay;
mod scalar;
pub mod sequential;
#[cfg(feature = "serde")]
mod serde;
mod snapshot;
mod tensors;
mod trainer;
mod watchdog;
mod zero;

pub use activation::{Activation, Identity, LeakyRelu, Relu, Sigmoid, Silu, Softplus, Tanh};
pub use data::{
    Dataset, Permutation, Remainder, Row, Samples, batch, batch_mut, input_batch, input_batch_mut,
    output_batch, output_batch_mut,
};
pub use dense::{Bias, Dense, DenseCache, DenseDelta, DenseGrads, NoBias};
pub use early_stop::EarlyStopping;
pub use error::Error;
pub use frozen::{Frozen, FrozenRef};
pub use history::LossHistory;
pub use init::{Init, SplitMix64};
pub use layer::{CacheOf, DeltaOf, GradsOf, InputBatch, Layer, OutputBatch};
pub use loss::{Bce, Huber, Loss, Mse, SoftmaxCrossEntropy};
pub use memory::Footprint;
pub use optim::{
    Adam, AdamConfig, LearningRate, NoMomentum, Optimizer, Sgd, SgdConfig, WithMomentum,
};
pub use scalar::{Scalar, ScalarKind};
pub use snapshot::{Snapshot, SnapshotStore};
pub use tensors::Tensors;
pub use trainer::{EpochReport, Evaluation, Trainer};
pub use watchdog::{StepOutcome, Watchdog, WatchdogConfig, WatchdogStats};
pub use zero::Zero;

impl Zero for Mse {
    const ZERO: Self = Mse;
}
impl Zero for Huber {
    const ZERO: Self = Huber;
}
impl Zero for Bce {
    const ZERO: Self = Bce;
}
impl Zero for SoftmaxCrossEntropy {
    const ZERO: Self = SoftmaxCrossEntropy;
}
