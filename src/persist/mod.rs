//! Checked persistence: parameter and training-state records, and power-loss-safe
//! checkpoints in NOR flash.
//!
//! * [`Architecture::save_params`] / [`Architecture::load_params`] write and read a
//!   network's parameters;
//! * [`Trainer::save_state`](crate::Trainer::save_state) /
//!   [`Trainer::load_state`](crate::Trainer::load_state) write and read the whole
//!   training state: parameters, optimizer state and hyper-parameters, a step count and
//!   the [`SplitMix64`](crate::SplitMix64) state, so training resumes bit-exactly;
//! * [`Checkpoints`] keeps the newest record in two flash slots so that a reset at any
//!   moment leaves the previous or the new one loadable.
//!
//! Records go into and come from caller-provided byte slices; their lengths are
//! compile-time constants ([`Architecture::PARAMS_RECORD_LEN`],
//! [`Trainer::STATE_RECORD_LEN`](crate::Trainer::STATE_RECORD_LEN)), so a buffer can be
//! an array. Loading checks everything first and writes nothing unless all is well:
//! the length, every header field, every layer's shape, the CRC-32, that every value is
//! finite, and that the optimizer state is one its update can produce. Each failure is
//! its own [`RecordError`] variant inside [`Error::Record`](crate::Error::Record).
//!
//! # Record format, version 1
//!
//! All integers and floats are little-endian; floats are IEEE 754 binary32 (`f32`) or
//! binary64 (`f64`), `s` bytes each. `L` is the number of dense layers.
//!
//! | offset | bytes | type | field |
//! |---|---|---|---|
//! | 0 | 4 | `[u8; 4]` | magic, the ASCII bytes `SPRC` |
//! | 4 | 2 | `u16` | format version, 1 |
//! | 6 | 1 | `u8` | scalar: `s`, 4 for `f32`, 8 for `f64` |
//! | 7 | 1 | `u8` | record kind: 1 parameters, 2 training state |
//! | 8 | 4 | `u32` | total record length in bytes, CRC included |
//! | 12 | 4 | `u32` | `L` |
//! | 16 + 12·i | 12 | 3 × `u32` | layer `i` (from the input): inputs K^i, outputs K^(i+1), flags |
//! | H = 16 + 12·L | | | payload, by kind (below) |
//! | length − 4 | 4 | `u32` | CRC-32 (IEEE, zlib's `crc32`) of bytes `0 .. length − 4` |
//!
//! Layer flags: bit 0 set if the layer has a bias, bit 1 set if it is
//! [`Frozen`](crate::Frozen) (training-state records only: a parameter record loads
//! into the same network with any layers frozen or not); other bits are 0.
//!
//! **Parameters** (kind 1): the payload is the `P` parameters, layer by layer; for each
//! layer W row-major (`w[i][j]` at index `i·outputs + j`, inputs × outputs, PyTorch's
//! `weight` transposed), then b (`outputs` values) if the layer has a bias. The length
//! is `16 + 12·L + s·P + 4`.
//!
//! **Training state** (kind 2): the payload is
//!
//! | offset | bytes | type | field |
//! |---|---|---|---|
//! | H | 4 | `u32` | optimizer id ([`OptimizerState::ID`]: 0 none, 1 SGD, 2 SGD with momentum, 3 Adam) |
//! | H + 4 | 8 | `u64` | optimizer counter (Adam's step count k; SGD: 1 once it has stepped) |
//! | H + 12 | 8 | `u64` | [`Progress::steps`], the caller's step count |
//! | H + 20 | 8 | `u64` | [`Progress::rng`], the SplitMix64 state ([`SplitMix64::state`](crate::SplitMix64::state)) |
//! | H + 28 | s·P | floats | the parameters, as in a parameter record |
//! | H + 28 + s·P | s·Q | floats | the optimizer state, `Q` = [`OptimizerState::STATE_COUNT`] scalars in the order of [`OptimizerState`]'s table |
//!
//! so its length is `16 + 12·L + 28 + s·(P + Q) + 4`.
//!
//! A host tool can read a record with Python's `struct` and `numpy.frombuffer(...,
//! dtype='<f4')` (or `'<f8'`), and check it with `zlib.crc32(record[:-4])`.
//!
//! # Examples
//!
//! ```
//! use stackprop::persist::{Architecture, RecordError};
//! use stackprop::*;
//! type Net = (Dense<2, 3, Tanh>, Dense<3, 1, Identity>);
//!
//! let mut net = Net::ZERO;
//! net.init(Init::GlorotUniform, &mut SplitMix64::new(5));
//! let mut record = [0u8; Net::PARAMS_RECORD_LEN];
//! net.save_params(&mut record)?;
//! assert_eq!(&record[..4], b"SPRC");
//!
//! // A network of other widths refuses it, and stays as it was.
//! type Wider = (Dense<2, 4, Tanh>, Dense<4, 1, Identity>);
//! let mut other = Wider::ZERO;
//! let err = other.load_params(&record).unwrap_err();
//! assert!(matches!(err, Error::Record(RecordError::Length { .. })));
//! assert_eq!(other, Wider::ZERO);
//! # Ok::<(), Error>(())
//! ```

mod checkpoint;
mod crc;
mod error;
mod record;
mod shape;
mod snapshot;
mod state;

pub use checkpoint::{CheckpointError, Checkpoints, Loaded, MAX_UNIT, SLOT_MAGIC};
pub use crc::{Crc32, crc32};
pub use error::RecordError;
pub use record::{
    CRC_LEN, HEADER_LEN, LAYER_LEN, MAGIC, PROGRESS_LEN, Progress, RecordKind, VERSION,
    scalar_width, state_len,
};
pub use shape::{Architecture, LayerShape};
pub use snapshot::{DEFAULT_WRITE_EVERY, FlashSnapshot};
pub use state::OptimizerState;
