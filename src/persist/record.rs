//! Writing and reading records: the byte layout described in the [module
//! docs](crate::persist), checked field by field before anything is written.

use crate::persist::{Architecture, Crc32, LayerShape, OptimizerState, RecordError, crc32};
use crate::{Error, Scalar, ScalarKind, SplitMix64};

/// The first four bytes of every record.
pub const MAGIC: [u8; 4] = *b"SPRC";
/// The format version written, and the only one read.
pub const VERSION: u16 = 1;
/// Bytes before the layer descriptors: magic, version, scalar, kind, length, layer count.
pub const HEADER_LEN: usize = 16;
/// Bytes of one layer descriptor: inputs, outputs, flags (three `u32`).
pub const LAYER_LEN: usize = 12;
/// Bytes of a training-state record between the descriptors and the parameters:
/// optimizer id (`u32`), optimizer counter, step count and RNG state (three `u64`).
pub const PROGRESS_LEN: usize = 28;
/// Bytes of the CRC-32 at the end.
pub const CRC_LEN: usize = 4;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// A network's parameters (code 1).
    Params = 1,
    /// Parameters, optimizer state, step count and RNG state (code 2).
    State = 2,
}

/// How far training has come, saved beside the parameters and optimizer state so that
/// training resumes bit-exactly.
///
/// # Examples
///
/// ```
/// use stackprop::{persist::Progress, SplitMix64};
/// let progress = Progress { steps: 1200, rng: SplitMix64::new(7) };
/// assert_eq!(progress.rng.state(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// A step (or epoch) count of the caller's choosing.
    pub steps: u64,
    /// The generator that shuffles the epochs, with its whole state.
    pub rng: SplitMix64,
}

/// The bytes of one scalar in a record: 4 for `f32`, 8 for `f64`.
pub const fn scalar_width<S: Scalar>() -> usize {
    match S::KIND {
        ScalarKind::F32 => 4,
        ScalarKind::F64 => 8,
    }
}

/// The length of a parameter record.
pub(crate) const fn params_len(layers: usize, params: usize, width: usize) -> usize {
    HEADER_LEN + LAYER_LEN * layers + params * width + CRC_LEN
}

/// The byte length of the training-state record of network `L` with optimizer `O`.
///
/// Also available as [`Trainer::STATE_RECORD_LEN`](crate::Trainer::STATE_RECORD_LEN).
///
/// # Examples
///
/// ```
/// use stackprop::persist::{state_len, Architecture};
/// use stackprop::{Adam, Dense, Identity, Tanh};
/// type Net = (Dense<2, 3, Tanh>, Dense<3, 1, Identity>);
/// // Header, 2 descriptors, progress, 13 parameters, Adam: 9 scalars + m + v, CRC.
/// assert_eq!(state_len::<Net, Adam<Net>>(), 16 + 24 + 28 + 13 * 4 + (9 + 26) * 4 + 4);
/// let buf = [0u8; state_len::<Net, Adam<Net>>()];
/// # let _ = buf;
/// ```
pub const fn state_len<L: Architecture, O: OptimizerState<L>>() -> usize {
    params_len(
        L::LAYER_COUNT,
        L::PARAM_COUNT + O::STATE_COUNT,
        scalar_width::<L::Scalar>(),
    ) + PROGRESS_LEN
}

fn encode<S: Scalar>(x: S, out: &mut [u8]) {
    match S::KIND {
        ScalarKind::F32 => copy(out, &(x.to_f64() as f32).to_le_bytes()),
        ScalarKind::F64 => copy(out, &x.to_f64().to_le_bytes()),
    }
}

fn decode<S: Scalar>(bytes: &[u8]) -> S {
    match S::KIND {
        ScalarKind::F32 => S::from_f64(f64::from(f32::from_le_bytes(array(bytes)))),
        ScalarKind::F64 => S::from_f64(f64::from_le_bytes(array(bytes))),
    }
}

/// Copies as many bytes as both slices have.
fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// The first `K` bytes of `bytes`, zero-padded if it is shorter.
fn array<const K: usize>(bytes: &[u8]) -> [u8; K] {
    let mut out = [0; K];
    copy(&mut out, bytes);
    out
}

/// The scalars stored in `bytes`, in order.
fn scalars<S: Scalar>(bytes: &[u8]) -> impl Iterator<Item = S> + Clone {
    bytes.chunks_exact(scalar_width::<S>()).map(decode::<S>)
}

/// The byte offset (from `base`) of the first non-finite value in `values`, if any.
fn first_non_finite<'a, S: Scalar>(
    values: impl Iterator<Item = &'a S>,
    base: usize,
) -> Option<usize> {
    values
        .enumerate()
        .find(|(_, v)| !v.is_finite())
        .map(|(i, _)| base + i * scalar_width::<S>())
}

/// A little-endian writer over a buffer already checked to be long enough.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            copy(dst, bytes);
        }
        self.pos = end;
    }

    fn scalars<'s, S: Scalar>(&mut self, values: impl Iterator<Item = &'s S>) {
        let width = scalar_width::<S>();
        for &v in values {
            let end = self.pos + width;
            if let Some(dst) = self.buf.get_mut(self.pos..end) {
                encode(v, dst);
            }
            self.pos = end;
        }
    }
}

/// A little-endian reader; running past the end yields zeros (lengths are checked first).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.buf.len());
        let end = (self.pos + n).min(self.buf.len());
        self.pos += n;
        self.buf.get(start..end).unwrap_or_default()
    }
    fn u8(&mut self) -> u8 {
        u8::from_le_bytes(array(self.take(1)))
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(array(self.take(2)))
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(array(self.take(4)))
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(array(self.take(8)))
    }
}

fn to_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// Writes the header and layer descriptors.
fn write_header<L: Architecture>(w: &mut Writer<'_>, kind: RecordKind, len: usize) {
    w.bytes(&MAGIC);
    w.bytes(&VERSION.to_le_bytes());
    w.bytes(&[scalar_width::<L::Scalar>() as u8, kind as u8]);
    w.bytes(&to_u32(len).to_le_bytes());
    w.bytes(&to_u32(L::LAYER_COUNT).to_le_bytes());
    for shape in L::shapes() {
        // Parameter records fit a network with any layers frozen.
        let shape = if kind == RecordKind::Params {
            shape.with_frozen(false)
        } else {
            shape
        };
        w.bytes(&shape.inputs.to_le_bytes());
        w.bytes(&shape.outputs.to_le_bytes());
        w.bytes(&shape.flags.to_le_bytes());
    }
}

/// Checks the length, header and descriptors of `bytes` as a record of `kind` for `L`.
fn check_header<L: Architecture>(
    bytes: &[u8],
    kind: RecordKind,
    len: usize,
) -> Result<Reader<'_>, RecordError> {
    if bytes.len() != len {
        return Err(RecordError::Length {
            expected: len,
            found: bytes.len(),
        });
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    let magic = array(r.take(4));
    if magic != MAGIC {
        return Err(RecordError::Magic { found: magic });
    }
    let version = r.u16();
    if version != VERSION {
        return Err(RecordError::Version { found: version });
    }
    let scalar = r.u8();
    if usize::from(scalar) != scalar_width::<L::Scalar>() {
        return Err(RecordError::Scalar {
            expected: L::Scalar::KIND,
            found: scalar,
        });
    }
    let found_kind = r.u8();
    if found_kind != kind as u8 {
        return Err(RecordError::Kind {
            expected: kind,
            found: found_kind,
        });
    }
    let header_len = r.u32();
    if usize::try_from(header_len) != Ok(len) {
        return Err(RecordError::HeaderLength {
            expected: len,
            found: header_len,
        });
    }
    let layers = r.u32();
    if usize::try_from(layers) != Ok(L::LAYER_COUNT) {
        return Err(RecordError::LayerCount {
            expected: L::LAYER_COUNT,
            found: layers,
        });
    }
    for (layer, expected) in L::shapes().enumerate() {
        let expected = if kind == RecordKind::Params {
            expected.with_frozen(false)
        } else {
            expected
        };
        let found = LayerShape {
            inputs: r.u32(),
            outputs: r.u32(),
            flags: r.u32(),
        };
        if found != expected {
            return Err(RecordError::Shape {
                layer,
                expected,
                found,
            });
        }
    }
    Ok(r)
}

/// Checks the CRC-32 at the end of `bytes` (whose length is checked already).
fn check_crc(bytes: &[u8]) -> Result<(), RecordError> {
    let body = bytes.len().saturating_sub(CRC_LEN);
    let (body, tail) = bytes.split_at(body);
    let stored = u32::from_le_bytes(array(tail));
    let computed = crc32(body);
    if stored == computed {
        Ok(())
    } else {
        Err(RecordError::Checksum { stored, computed })
    }
}

/// Appends the CRC-32 of `buf[..len - 4]` at `buf[len - 4..len]`.
fn seal(buf: &mut [u8], len: usize) {
    let body = len.saturating_sub(CRC_LEN);
    let mut crc = Crc32::new();
    crc.update(buf.get(..body).unwrap_or_default());
    if let Some(dst) = buf.get_mut(body..len) {
        copy(dst, &crc.finish().to_le_bytes());
    }
}

/// Writes `net`'s parameter record into the start of `out`; returns its length,
/// [`Architecture::PARAMS_RECORD_LEN`].
///
/// # Errors
///
/// [`RecordError::BufferTooSmall`], [`RecordError::NonFinite`] if a parameter is NaN
/// or infinite (a network that has diverged is not worth keeping), or
/// [`RecordError::Inconsistent`]; `out` is unchanged then.
pub(crate) fn write_params<L: Architecture>(net: &L, out: &mut [u8]) -> Result<usize, Error> {
    let len = L::PARAMS_RECORD_LEN;
    if out.len() < len {
        return Err(RecordError::BufferTooSmall {
            needed: len,
            found: out.len(),
        }
        .into());
    }
    let start = HEADER_LEN + LAYER_LEN * L::LAYER_COUNT;
    if let Some(offset) = first_non_finite(net.params().flatten(), start) {
        return Err(RecordError::NonFinite { offset }.into());
    }
    if net.params().flatten().count() != L::PARAM_COUNT {
        return Err(RecordError::Inconsistent.into());
    }
    let mut w = Writer { buf: out, pos: 0 };
    write_header::<L>(&mut w, RecordKind::Params, len);
    w.scalars(net.params().flatten());
    seal(out, len);
    Ok(len)
}

/// Loads a parameter record into `net`, after checking all of it.
///
/// # Errors
///
/// The first failed check, as an [`Error::Record`]; `net` is unchanged then.
pub(crate) fn read_params<L: Architecture>(net: &mut L, bytes: &[u8]) -> Result<(), Error> {
    let r = check_header::<L>(bytes, RecordKind::Params, L::PARAMS_RECORD_LEN)?;
    check_crc(bytes)?;
    let start = r.pos;
    let payload = bytes
        .get(start..bytes.len().saturating_sub(CRC_LEN))
        .ok_or(RecordError::Inconsistent)?;
    check_finite::<L::Scalar>(payload, start)?;
    let count = net.params_mut().map(|s| s.len()).sum::<usize>();
    if count * scalar_width::<L::Scalar>() != payload.len() {
        return Err(RecordError::Inconsistent.into());
    }
    let mut values = scalars::<L::Scalar>(payload);
    for (dst, src) in net.params_mut().flatten().zip(&mut values) {
        *dst = src;
    }
    Ok(())
}

fn check_finite<S: Scalar>(payload: &[u8], start: usize) -> Result<(), RecordError> {
    match scalars::<S>(payload).position(|v| !v.is_finite()) {
        Some(i) => Err(RecordError::NonFinite {
            offset: start + i * scalar_width::<S>(),
        }),
        None => Ok(()),
    }
}

/// Writes the training-state record of `net`, `optimizer` and `progress` into the
/// start of `out`; returns its length, [`state_len`].
///
/// # Errors
///
/// [`RecordError::BufferTooSmall`], [`RecordError::NonFinite`] if a parameter or
/// optimizer value is NaN or infinite, [`RecordError::Inconsistent`]; `out` is
/// unchanged then.
pub(crate) fn write_state<L: Architecture, O: OptimizerState<L>>(
    net: &L,
    optimizer: &O,
    progress: &Progress,
    out: &mut [u8],
) -> Result<usize, Error> {
    let len = state_len::<L, O>();
    if out.len() < len {
        return Err(RecordError::BufferTooSmall {
            needed: len,
            found: out.len(),
        }
        .into());
    }
    if !optimizer.is_configured() {
        return Err(Error::Unconfigured);
    }
    let start = HEADER_LEN + LAYER_LEN * L::LAYER_COUNT + PROGRESS_LEN;
    let values = || net.params().flatten().chain(optimizer.state().flatten());
    if let Some(offset) = first_non_finite(values(), start) {
        return Err(RecordError::NonFinite { offset }.into());
    }
    if values().count() != L::PARAM_COUNT + O::STATE_COUNT {
        return Err(RecordError::Inconsistent.into());
    }
    let mut w = Writer { buf: out, pos: 0 };
    write_header::<L>(&mut w, RecordKind::State, len);
    w.bytes(&O::ID.to_le_bytes());
    w.bytes(&optimizer.counter().to_le_bytes());
    w.bytes(&progress.steps.to_le_bytes());
    w.bytes(&progress.rng.state().to_le_bytes());
    w.scalars(values());
    seal(out, len);
    Ok(len)
}

/// Loads a training-state record into `net` and `optimizer`, after checking all of it;
/// returns the saved [`Progress`].
///
/// # Errors
///
/// The first failed check, as an [`Error::Record`], or the optimizer's
/// [`Error::InvalidHyperParameter`]; `net` and `optimizer` are unchanged then.
pub(crate) fn read_state<L: Architecture, O: OptimizerState<L>>(
    net: &mut L,
    optimizer: &mut O,
    bytes: &[u8],
) -> Result<Progress, Error> {
    let mut r = check_header::<L>(bytes, RecordKind::State, state_len::<L, O>())?;
    let id = r.u32();
    if id != O::ID {
        return Err(RecordError::Optimizer {
            expected: O::ID,
            found: id,
        }
        .into());
    }
    check_crc(bytes)?;
    let counter = r.u64();
    let steps = r.u64();
    let rng = SplitMix64::new(r.u64());
    let start = r.pos;
    let width = scalar_width::<L::Scalar>();
    let split = start + L::PARAM_COUNT * width;
    let (Some(params), Some(state)) = (
        bytes.get(start..split),
        bytes.get(split..bytes.len().saturating_sub(CRC_LEN)),
    ) else {
        return Err(RecordError::Inconsistent.into());
    };
    check_finite::<L::Scalar>(params, start)?;
    check_finite::<L::Scalar>(state, split)?;
    if net.params_mut().map(|s| s.len()).sum::<usize>() != L::PARAM_COUNT {
        return Err(RecordError::Inconsistent.into());
    }
    // The optimizer checks its part and writes it only if all is well; after that
    // nothing can fail.
    optimizer.restore(scalars::<L::Scalar>(state), counter)?;
    for (dst, src) in net.params_mut().flatten().zip(scalars(params)) {
        *dst = src;
    }
    Ok(Progress { steps, rng })
}
