//! Continual learning on one device: a [`ReplayBuffer`] keeps a uniform sample of
//! the labelled examples seen so far, and [`Chain`] trains on it together with the
//! new ones, so the network learns a drifting input without forgetting the old one.

mod buffer;
mod chain;

pub use buffer::{Offered, ReplayBuffer};
pub use chain::Chain;
