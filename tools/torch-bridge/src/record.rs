//! stackprop records (format version 1, see `stackprop::persist`): parameter records
//! written from a [`Network`], and parameter or training-state records read into one.
//!
//! The constants and the CRC-32 are the crate's own, so a change of format shows here
//! at compile time; the tests load every record written here with the crate's
//! `load_params`.

use stackprop::persist::{
    CRC_LEN, HEADER_LEN, LAYER_LEN, LayerShape, MAGIC, PROGRESS_LEN, RecordKind, VERSION, crc32,
};

use crate::error::BridgeError;
use crate::net::{Layer, Network, Scalar};

/// The parts of a training-state record beyond the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState {
    /// The optimizer id (0 none, 1 SGD, 2 SGD with momentum, 3 Adam).
    pub optimizer: u32,
    /// The optimizer's counter.
    pub counter: u64,
    /// The caller's step count.
    pub steps: u64,
    /// The RNG state.
    pub rng: u64,
    /// The optimizer's scalars, in record order.
    pub values: Vec<f64>,
    /// Which layers were frozen.
    pub frozen: Vec<bool>,
}

/// A record read back: the network, and the training state if it is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The parameters.
    pub net: Network,
    /// `Some` for a training-state record.
    pub state: Option<TrainingState>,
}

fn put_u32(out: &mut Vec<u8>, x: usize) -> Result<(), BridgeError> {
    let x = u32::try_from(x)
        .map_err(|_| BridgeError::Usage(format!("{x} does not fit a record's u32 field")))?;
    out.extend_from_slice(&x.to_le_bytes());
    Ok(())
}

/// The parameter record of `net`, byte for byte what `save_params` of the same
/// stackprop network writes.
///
/// # Errors
///
/// [`BridgeError::NonFinite`] or [`BridgeError::Chain`] (from [`Network::check`]), or a
/// width beyond `u32`.
pub fn write_params(net: &Network) -> Result<Vec<u8>, BridgeError> {
    net.check(&[])?;
    let params: usize = net.layers.iter().map(Layer::param_count).sum();
    let len = HEADER_LEN + LAYER_LEN * net.layers.len() + params * net.scalar.width() + CRC_LEN;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(net.scalar.width() as u8);
    out.push(RecordKind::Params as u8);
    put_u32(&mut out, len)?;
    put_u32(&mut out, net.layers.len())?;
    for layer in &net.layers {
        put_u32(&mut out, layer.inputs)?;
        put_u32(&mut out, layer.outputs)?;
        put_u32(&mut out, usize::from(layer.b.is_some()))?;
    }
    for layer in &net.layers {
        for v in layer.w.iter().chain(layer.b.iter().flatten()) {
            match net.scalar {
                Scalar::F32 => out.extend_from_slice(&(*v as f32).to_le_bytes()),
                Scalar::F64 => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(out.len(), len);
    Ok(out)
}

/// A little-endian reader over a slice whose length is checked first.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], BridgeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(BridgeError::Record(format!(
                "{what} at byte {} runs past the end ({} bytes)",
                self.pos,
                self.bytes.len()
            )));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self, what: &str) -> Result<u32, BridgeError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64, BridgeError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn scalars(&mut self, n: usize, s: Scalar, what: &str) -> Result<Vec<f64>, BridgeError> {
        let len = n.checked_mul(s.width()).ok_or_else(|| {
            BridgeError::Record(format!("{what}: {n} values cannot fit a record"))
        })?;
        let bytes = self.take(len, what)?;
        let start = self.pos - bytes.len();
        let vals: Vec<f64> = match s {
            Scalar::F32 => bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or_default())))
                .collect(),
            Scalar::F64 => bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
        };
        if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
            return Err(BridgeError::Record(format!(
                "{what}: a NaN or infinity at byte {}",
                start + i * s.width()
            )));
        }
        Ok(vals)
    }
}

/// Reads a parameter or training-state record, checking every field: magic, version,
/// scalar, kind, length, CRC-32, that the layers' widths chain, that the flags hold
/// only the bias and frozen bits, and that every value is finite.
///
/// # Errors
///
/// [`BridgeError::Record`] naming the first field that is wrong.
pub fn read(bytes: &[u8]) -> Result<Record, BridgeError> {
    let err = |m: String| Err(BridgeError::Record(m));
    if bytes.len() < HEADER_LEN + CRC_LEN {
        return err(format!("{} bytes is shorter than any record", bytes.len()));
    }
    let mut c = Cursor { bytes, pos: 0 };
    let magic = c.take(4, "magic")?;
    if magic != MAGIC {
        return err(format!("magic {magic:02x?}, expected `SPRC`"));
    }
    let version = u16::from_le_bytes(c.take(2, "version")?.try_into().unwrap_or_default());
    if version != VERSION {
        return err(format!(
            "format version {version}, this tool reads {VERSION}"
        ));
    }
    let scalar = match c.take(1, "scalar")?[0] {
        4 => Scalar::F32,
        8 => Scalar::F64,
        s => return err(format!("scalar width {s}, expected 4 (f32) or 8 (f64)")),
    };
    let kind = c.take(1, "kind")?[0];
    let is_state = match kind {
        k if k == RecordKind::Params as u8 => false,
        k if k == RecordKind::State as u8 => true,
        k => {
            return err(format!(
                "record kind {k}, expected 1 (parameters) or 2 (training state)"
            ));
        }
    };
    let len = c.u32("length")? as usize;
    if len != bytes.len() {
        return err(format!(
            "header says {len} bytes, the record has {}",
            bytes.len()
        ));
    }
    let stored = u32::from_le_bytes(bytes[len - CRC_LEN..].try_into().unwrap_or_default());
    let computed = crc32(&bytes[..len - CRC_LEN]);
    if stored != computed {
        return err(format!(
            "CRC-32 {stored:#010x} stored, {computed:#010x} computed"
        ));
    }
    let count = c.u32("layer count")? as usize;
    if count == 0 || count.saturating_mul(LAYER_LEN) > len {
        return err(format!("{count} layers in a record of {len} bytes"));
    }
    let mut shapes = Vec::with_capacity(count);
    for l in 0..count {
        let shape = LayerShape {
            inputs: c.u32("layer inputs")?,
            outputs: c.u32("layer outputs")?,
            flags: c.u32("layer flags")?,
        };
        if shape.inputs == 0 || shape.outputs == 0 {
            return err(format!(
                "layer {l} has {} inputs and {} outputs",
                shape.inputs, shape.outputs
            ));
        }
        if shape.flags & !(LayerShape::BIAS | LayerShape::FROZEN) != 0 {
            return err(format!("layer {l} has unknown flags {:#x}", shape.flags));
        }
        if let Some(prev) = shapes.last().map(|s: &LayerShape| s.outputs)
            && prev != shape.inputs
        {
            return err(format!(
                "layer {l} takes {} inputs but layer {} gives {prev}",
                shape.inputs,
                l - 1
            ));
        }
        shapes.push(shape);
    }
    let progress = if is_state {
        Some((
            c.u32("optimizer id")?,
            c.u64("optimizer counter")?,
            c.u64("step count")?,
            c.u64("RNG state")?,
        ))
    } else {
        None
    };
    debug_assert_eq!(
        c.pos,
        HEADER_LEN + LAYER_LEN * count + if is_state { PROGRESS_LEN } else { 0 }
    );
    let mut layers = Vec::with_capacity(count);
    for (l, s) in shapes.iter().enumerate() {
        let (i, o) = (s.inputs as usize, s.outputs as usize);
        let w = c.scalars(i * o, scalar, &format!("layer {l} weights"))?;
        let b = if s.bias() {
            Some(c.scalars(o, scalar, &format!("layer {l} bias"))?)
        } else {
            None
        };
        layers.push(Layer {
            inputs: i,
            outputs: o,
            w,
            b,
        });
    }
    let rest = len - CRC_LEN - c.pos;
    if !rest.is_multiple_of(scalar.width()) || (!is_state && rest != 0) {
        return err(format!(
            "{rest} bytes between the parameters and the CRC, expected {}",
            if is_state {
                "a whole number of scalars"
            } else {
                "none"
            }
        ));
    }
    let state = match progress {
        None => None,
        Some((optimizer, counter, steps, rng)) => Some(TrainingState {
            optimizer,
            counter,
            steps,
            rng,
            values: c.scalars(rest / scalar.width(), scalar, "optimizer state")?,
            frozen: shapes.iter().map(LayerShape::frozen).collect(),
        }),
    };
    if !is_state && shapes.iter().any(LayerShape::frozen) {
        return err("a parameter record with a frozen flag set".into());
    }
    Ok(Record {
        net: Network { scalar, layers },
        state,
    })
}
