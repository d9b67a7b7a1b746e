//! PyTorch ↔ stackprop: the `torch-bridge` tool's library.
//!
//! * [`torch::import`] reads the `.safetensors` file of an `nn.Sequential`'s
//!   `state_dict()` (with the activations, which the file does not hold) into a
//!   [`net::Network`], checking every name, dtype, shape and width;
//! * [`record::write_params`] turns it into a record stackprop's `load_params` accepts,
//!   [`rust_source::generate`] into Rust source with `static` layers for flash;
//! * [`record::read`] reads a parameter or training-state record back, and
//!   [`torch::export`] writes it as `.safetensors` that `load_state_dict` accepts.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
pub mod net;
pub mod record;
pub mod rust_source;
pub mod spec;
pub mod torch;
