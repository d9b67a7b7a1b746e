"""Read and write stackprop records (format version 1) with numpy alone.

A record is what ``save_params`` (a network's parameters) or ``Trainer::save_state``
(parameters, optimizer state, step count and RNG state) writes; the byte layout is in
the ``stackprop::persist`` module documentation. Everything is little-endian and ends
with the CRC-32 of zlib.

    import stackprop_records as sr

    rec = sr.read("state.sprc")              # a path, bytes or bytearray
    rec.kind                                 # "params" or "state"
    rec.dtype                                # numpy.float32 or numpy.float64
    for layer in rec.layers:
        layer.w                              # (inputs, outputs): W, stackprop's layout
        layer.b                              # (outputs,) or None
        layer.w.T                            # nn.Linear's weight, (out, in)
    sr.optimizer_parts(rec)                  # {"lr": ..., "beta1": ..., "m": array, ...}
    sr.forward(rec, "relu,tanh,identity", x) # the network's outputs, in numpy
    sd = sr.state_dict(rec, "relu,tanh,identity")   # {"0.weight": ..., "0.bias": ...}
    sr.layers_spec(model)                    # "relu,tanh,identity" of an nn.Sequential
    params = sr.from_state_dict(sd, "relu,tanh,identity")  # and back, as a parameter record

    data = sr.write(rec)                     # bytes; read(write(rec)) == rec
    sr.write(sr.Record.params([sr.Layer(w, b), ...]))   # a new parameter record

Training-state records keep frozen layers' flags in ``layer.frozen``; records of a
network with ``FrozenRef`` layers hold only the other layers. The tests
(``test_stackprop_records.py``) round-trip records written by the Rust crate.

``read`` checks every field (magic, version, scalar, kind, length, CRC-32, that the
widths chain, the flags, that every value is finite) and raises ``RecordError``
naming the first one that is wrong, as the Rust crate does. ``write`` of a record read
from bytes gives the same bytes back.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

import numpy as np

MAGIC = b"SPRC"
VERSION = 1
HEADER_LEN = 16
LAYER_LEN = 12
PROGRESS_LEN = 28
CRC_LEN = 4
KIND_PARAMS = 1
KIND_STATE = 2
FLAG_BIAS = 1
FLAG_FROZEN = 2

#: Optimizer ids of training-state records.
OPTIMIZERS = {0: "none", 1: "sgd", 2: "sgd_momentum", 3: "adam"}

#: Activations stackprop has, with the nn.Sequential module that follows a layer
#: (None: no module).
ACTIVATIONS = {
    "identity": None,
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "silu": "SiLU",
}


class RecordError(ValueError):
    """A record that is not valid; the message names the field."""


@dataclass
class Layer:
    """One dense layer: ``w`` is (inputs, outputs), ``b`` is (outputs,) or None."""

    w: np.ndarray
    b: Optional[np.ndarray] = None
    frozen: bool = False

    @property
    def inputs(self) -> int:
        return int(self.w.shape[0])

    @property
    def outputs(self) -> int:
        return int(self.w.shape[1])


@dataclass
class Record:
    """A parameter record (``kind == "params"``) or a training-state record.

    The training-state fields (``optimizer`` id, ``counter``, ``steps``, ``rng`` state
    and the optimizer's ``optimizer_state`` scalars, in the order of the Rust
    ``OptimizerState`` table) are unused by parameter records.
    """

    kind: str
    dtype: type
    layers: List[Layer]
    optimizer: int = 0
    counter: int = 0
    steps: int = 0
    rng: int = 0
    optimizer_state: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @staticmethod
    def params(layers: Sequence[Layer], dtype=None) -> "Record":
        """A parameter record of ``layers``; ``dtype`` defaults to the first weight's."""
        dtype = np.dtype(dtype or layers[0].w.dtype).type
        return Record("params", dtype, list(layers))

    @property
    def param_count(self) -> int:
        return sum(l.w.size + (0 if l.b is None else l.b.size) for l in self.layers)


def _dtype(width: int):
    return {4: np.float32, 8: np.float64}.get(width)


def _floats(dtype) -> str:
    return "<f4" if np.dtype(dtype) == np.float32 else "<f8"


def read(source: Union[str, bytes, bytearray, memoryview]) -> Record:
    """Reads a record from a path or from bytes, checking all of it."""
    if isinstance(source, str):
        with open(source, "rb") as f:
            data = f.read()
    else:
        data = bytes(source)
    if len(data) < HEADER_LEN + CRC_LEN:
        raise RecordError(f"{len(data)} bytes is shorter than any record")
    magic, version, width, kind, length, count = struct.unpack_from("<4sHBBII", data, 0)
    if magic != MAGIC:
        raise RecordError(f"magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise RecordError(f"format version {version}, this module reads {VERSION}")
    dtype = _dtype(width)
    if dtype is None:
        raise RecordError(f"scalar width {width}, expected 4 (f32) or 8 (f64)")
    if kind not in (KIND_PARAMS, KIND_STATE):
        raise RecordError(f"record kind {kind}, expected 1 (parameters) or 2 (training state)")
    if length != len(data):
        raise RecordError(f"header says {length} bytes, the record has {len(data)}")
    stored = struct.unpack_from("<I", data, length - CRC_LEN)[0]
    computed = zlib.crc32(data[: length - CRC_LEN])
    if stored != computed:
        raise RecordError(f"CRC-32 {stored:#010x} stored, {computed:#010x} computed")
    pos = HEADER_LEN
    if count == 0 or pos + LAYER_LEN * count > length - CRC_LEN:
        raise RecordError(f"{count} layers in a record of {length} bytes")
    shapes = []
    for l in range(count):
        inputs, outputs, flags = struct.unpack_from("<III", data, pos)
        pos += LAYER_LEN
        if inputs == 0 or outputs == 0:
            raise RecordError(f"layer {l} has {inputs} inputs and {outputs} outputs")
        if flags & ~(FLAG_BIAS | FLAG_FROZEN):
            raise RecordError(f"layer {l} has unknown flags {flags:#x}")
        if kind == KIND_PARAMS and flags & FLAG_FROZEN:
            raise RecordError(f"layer {l}: a parameter record with a frozen flag set")
        if shapes and shapes[-1][1] != inputs:
            raise RecordError(
                f"layer {l} takes {inputs} inputs but layer {l - 1} gives {shapes[-1][1]}"
            )
        shapes.append((inputs, outputs, flags))
    rec = Record("params" if kind == KIND_PARAMS else "state", dtype, [])
    if kind == KIND_STATE:
        if pos + PROGRESS_LEN > length - CRC_LEN:
            raise RecordError("the record ends inside the training progress")
        rec.optimizer, rec.counter, rec.steps, rec.rng = struct.unpack_from("<IQQQ", data, pos)
        pos += PROGRESS_LEN
    end = length - CRC_LEN
    payload = data[pos:end]
    if len(payload) % width:
        raise RecordError(f"a payload of {len(payload)} bytes is no whole number of scalars")
    values = np.frombuffer(payload, dtype=_floats(dtype))
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise RecordError(f"a NaN or infinity at byte {pos + int(bad[0]) * width}")
    at = 0
    for l, (inputs, outputs, flags) in enumerate(shapes):
        n = inputs * outputs + (outputs if flags & FLAG_BIAS else 0)
        if at + n > values.size:
            raise RecordError(f"the record ends inside layer {l}'s parameters")
        w = values[at : at + inputs * outputs].reshape(inputs, outputs).astype(dtype)
        at += inputs * outputs
        b = None
        if flags & FLAG_BIAS:
            b = values[at : at + outputs].astype(dtype)
            at += outputs
        rec.layers.append(Layer(w, b, bool(flags & FLAG_FROZEN)))
    if kind == KIND_PARAMS and at != values.size:
        raise RecordError(f"{(values.size - at) * width} bytes after the parameters")
    rec.optimizer_state = values[at:].astype(dtype)
    return rec


def write(rec: Record) -> bytes:
    """The bytes of ``rec``, as the Rust crate writes them."""
    dtype = np.dtype(rec.dtype).type
    width = _floats(dtype)
    kind = {"params": KIND_PARAMS, "state": KIND_STATE}.get(rec.kind)
    if kind is None:
        raise RecordError(f"kind {rec.kind!r}, expected 'params' or 'state'")
    if dtype not in (np.float32, np.float64):
        raise RecordError(f"dtype {np.dtype(dtype)}, expected float32 or float64")
    if not rec.layers:
        raise RecordError("a record needs at least one layer")
    parts = []
    for l, layer in enumerate(rec.layers):
        w = np.asarray(layer.w)
        if w.ndim != 2 or 0 in w.shape:
            raise RecordError(f"layer {l}: weight shape {w.shape}, expected (inputs, outputs)")
        if l and rec.layers[l - 1].outputs != layer.inputs:
            raise RecordError(
                f"layer {l} takes {layer.inputs} inputs but layer {l - 1} gives "
                f"{rec.layers[l - 1].outputs}"
            )
        parts.append(w.reshape(-1))
        if layer.b is not None:
            b = np.asarray(layer.b)
            if b.shape != (layer.outputs,):
                raise RecordError(f"layer {l}: bias shape {b.shape}, expected ({layer.outputs},)")
            parts.append(b)
        if layer.frozen and kind == KIND_PARAMS:
            raise RecordError(f"layer {l}: parameter records do not mark frozen layers")
    if kind == KIND_STATE:
        parts.append(np.asarray(rec.optimizer_state).reshape(-1))
    # Converting to the record's scalar rounds to nearest, as `as f32` does in Rust.
    values = np.concatenate(parts).astype(width)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise RecordError(f"value {int(bad[0])} is NaN or infinite: records hold finite values")
    head = HEADER_LEN + LAYER_LEN * len(rec.layers) + (PROGRESS_LEN if kind == KIND_STATE else 0)
    length = head + values.nbytes + CRC_LEN
    out = bytearray(struct.pack("<4sHBBII", MAGIC, VERSION, values.itemsize, kind, length, len(rec.layers)))
    for layer in rec.layers:
        flags = (FLAG_BIAS if layer.b is not None else 0) | (FLAG_FROZEN if layer.frozen else 0)
        out += struct.pack("<III", layer.inputs, layer.outputs, flags)
    if kind == KIND_STATE:
        out += struct.pack("<IQQQ", rec.optimizer, rec.counter, rec.steps, rec.rng)
    out += values.tobytes()
    out += struct.pack("<I", zlib.crc32(bytes(out)))
    assert len(out) == length
    return bytes(out)


#: The optimizer scalars of a training-state record, by optimizer id, before the
#: buffers (each one value per trainable parameter, frozen layers skipped).
OPTIMIZER_FIELDS = {
    0: ([], []),
    1: (["lr", "momentum", "weight_decay", "clip_norm", "clip_value"], []),
    2: (["lr", "momentum", "weight_decay", "clip_norm", "clip_value"], ["velocity"]),
    3: (
        ["lr", "beta1", "beta2", "eps", "weight_decay", "clip_norm", "clip_value", "beta1_pow", "beta2_pow"],
        ["m", "v"],
    ),
}


def optimizer_parts(rec: Record) -> dict:
    """A training-state record's optimizer state by name: the hyper-parameters as
    floats (``clip_norm``/``clip_value`` 0 means off; ``beta1_pow``/``beta2_pow`` are
    beta^k, 0 before the first step) and the buffers (``velocity``; Adam's ``m``,
    ``v``) as arrays in the order of the trainable parameters, plus ``counter``."""
    if rec.kind != "state":
        raise ValueError("a parameter record holds no optimizer state")
    if rec.optimizer not in OPTIMIZER_FIELDS:
        raise RecordError(f"optimizer id {rec.optimizer}, expected one of {sorted(OPTIMIZER_FIELDS)}")
    scalars, buffers = OPTIMIZER_FIELDS[rec.optimizer]
    trainable = sum(
        l.w.size + (0 if l.b is None else l.b.size) for l in rec.layers if not l.frozen
    )
    expected = len(scalars) + len(buffers) * trainable
    state = rec.optimizer_state
    if state.size != expected:
        raise RecordError(
            f"{state.size} optimizer scalars, {OPTIMIZERS[rec.optimizer]} has {expected} "
            f"for {trainable} trainable parameters"
        )
    out = {name: float(v) for name, v in zip(scalars, state)}
    at = len(scalars)
    for name in buffers:
        out[name] = state[at : at + trainable]
        at += trainable
    out["counter"] = rec.counter
    return out


def module_indices(activations: Union[str, Sequence[str]]) -> List[int]:
    """The nn.Sequential index of each layer: every nn.Linear takes one, and its
    activation module, unless it is identity, the next (``relu,tanh,identity`` gives
    0, 2, 4). The same rule as ``torch-bridge export``."""
    acts = activations.split(",") if isinstance(activations, str) else list(activations)
    out, nxt = [], 0
    for a in acts:
        a = a.strip()
        if a not in ACTIVATIONS:
            raise ValueError(f"activation {a!r}: stackprop has {', '.join(ACTIVATIONS)}")
        out.append(nxt)
        nxt += 1 if ACTIVATIONS[a] is None else 2
    return out


#: Modules without parameters that an nn.Sequential may hold between layers: they do
#: nothing at inference (Dropout) or nothing at all (Identity, Flatten of flat input).
_PASSIVE = {"Dropout", "Identity", "Flatten"}


def layers_spec(model) -> str:
    """The activation spec of an ``nn.Sequential`` of ``nn.Linear`` layers and
    activations, for ``torch-bridge import --layers`` or the ``stackprop.layers``
    metadata: ``save_file(model.state_dict(), path, metadata={"stackprop.layers":
    layers_spec(model)})``. Reads the modules' class names, so it needs no torch import;
    raises ``ValueError`` naming a module stackprop cannot express (LeakyReLU with a
    slope other than 0.01, Softplus with beta other than 1, GELU, BatchNorm, ...).
    Dropout, Identity and Flatten are skipped: import accepts the gaps they leave in
    the numbering, but an export is numbered without them (``module_indices``)."""
    by_class = {v: k for k, v in ACTIVATIONS.items() if v is not None}
    acts = []
    for index, module in enumerate(model.children() if hasattr(model, "children") else model):
        name = type(module).__name__
        if name == "Linear":
            acts.append("identity")
        elif name in _PASSIVE:
            continue
        elif name in by_class:
            if not acts or acts[-1] != "identity":
                raise ValueError(f"module {index} ({name}): an activation must follow an nn.Linear")
            if name == "LeakyReLU" and getattr(module, "negative_slope", 0.01) != 0.01:
                raise ValueError(f"module {index}: stackprop's LeakyReLU has slope 0.01")
            if name == "Softplus" and (getattr(module, "beta", 1) != 1):
                raise ValueError(f"module {index}: stackprop's Softplus has beta 1")
            acts[-1] = by_class[name]
        else:
            raise ValueError(
                f"module {index} ({name}) cannot be expressed in stackprop: it has "
                f"Linear and {', '.join(sorted(by_class))}"
            )
    if not acts:
        raise ValueError("no nn.Linear layers")
    return ",".join(acts)


def state_dict(rec: Record, activations: Union[str, Sequence[str]], prefix: str = "") -> dict:
    """The parameters as an nn.Sequential ``state_dict`` of numpy arrays: weights
    transposed to nn.Linear's (out, in), names ``{prefix}{index}.weight`` / ``.bias``
    (``torch.from_numpy`` each to load them)."""
    idx = module_indices(activations)
    if len(idx) != len(rec.layers):
        raise ValueError(f"{len(rec.layers)} layers but {len(idx)} activations")
    out = {}
    for i, layer in zip(idx, rec.layers):
        out[f"{prefix}{i}.weight"] = np.ascontiguousarray(layer.w.T)
        if layer.b is not None:
            out[f"{prefix}{i}.bias"] = layer.b.copy()
    return out


def from_state_dict(sd: dict, activations: Union[str, Sequence[str]], dtype=None, prefix: str = "") -> Record:
    """A parameter record from an nn.Sequential ``state_dict`` (numpy arrays, or torch
    tensors via ``.numpy()``), named as ``module_indices`` says: the inverse of
    ``state_dict``. ``dtype`` defaults to the first weight's (float32 or float64);
    every tensor must be present and no other."""
    idx = module_indices(activations)
    names = set(sd)
    layers = []
    for i in idx:
        wname, bname = f"{prefix}{i}.weight", f"{prefix}{i}.bias"
        if wname not in sd:
            raise ValueError(f"{wname} missing: the layers are at indices {idx}")
        w = np.asarray(sd[wname])
        if w.ndim != 2:
            raise ValueError(f"{wname}: shape {w.shape}, expected (out, in)")
        b = np.asarray(sd[bname]) if bname in sd else None
        layers.append(Layer(np.ascontiguousarray(w.T), b))
        names -= {wname, bname}
    if names:
        raise ValueError(f"tensors {sorted(names)} are not the layers' weights or biases")
    return Record.params(layers, dtype)


def activate(name: str, a: np.ndarray) -> np.ndarray:
    """stackprop's activation `name` applied elementwise to `a`."""
    if name == "identity":
        return a
    if name == "relu":
        return np.maximum(a, 0)
    if name == "leaky_relu":
        return np.where(a > 0, a, a * a.dtype.type(0.01))
    if name == "sigmoid":
        return 1 / (1 + np.exp(-a))
    if name == "tanh":
        return np.tanh(a)
    if name == "softplus":
        return np.logaddexp(0, a)
    if name == "silu":
        return a / (1 + np.exp(-a))
    raise ValueError(f"activation {name!r}: stackprop has {', '.join(ACTIVATIONS)}")


def forward(rec: Record, activations: Union[str, Sequence[str]], x: np.ndarray) -> np.ndarray:
    """The network's outputs for the rows of ``x``, in the record's dtype."""
    acts = activations.split(",") if isinstance(activations, str) else list(activations)
    if len(acts) != len(rec.layers):
        raise ValueError(f"{len(rec.layers)} layers but {len(acts)} activations")
    z = np.asarray(x, dtype=rec.dtype)
    for layer, a in zip(rec.layers, acts):
        z = z @ layer.w
        if layer.b is not None:
            z = z + layer.b
        z = activate(a.strip(), z)
    return z
