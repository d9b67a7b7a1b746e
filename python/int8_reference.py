#!/usr/bin/env python3
"""Independent int8 inference, written from the `stackprop::quant` module docs only.

usage: int8_reference.py EXPORT.json [EXPORT.json ...]

Each file (written by `cargo test --test int8`) holds a quantised network, float inputs
(as f32 bit patterns) and the int8 logits and classes stackprop computed for them. This
script recomputes every logit with NumPy and exact Python integers and exits non-zero
unless all of them, and all classes, are identical.
"""
import json
import sys

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def round_half_away(v):
    """Nearest integer, ties away from zero, for float32 arrays (exact)."""
    t = np.trunc(v)
    frac = v - t  # exact in float32
    return np.where(frac >= 0.5, t + 1, np.where(frac <= -0.5, t - 1, t))


def quantize_inputs(x_bits, scale_bits, zero_point):
    """q = clamp(round(clamp(x / s, -512, 512)) + z, -128, 127), x / s in float32."""
    x = np.asarray(x_bits, dtype=np.uint32).view(np.float32)
    s = np.asarray([scale_bits], dtype=np.uint32).view(np.float32)[0]
    v = np.clip(np.divide(x, s, dtype=np.float32), np.float32(-512), np.float32(512))
    q = round_half_away(v).astype(np.int64) + zero_point
    return np.clip(q, -128, 127)


def srdhm(a, b):
    """floor((a*b + 2^30) / 2^31), saturated: a = b = -2^31 gives 2^31 - 1."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    return (a * b + (1 << 30)) >> 31  # Python's >> on ints is floor division


def rdbpot(x, e):
    """x / 2^e rounded to nearest, ties away from zero (gemmlowp's formulation)."""
    e = min(e, 31)
    mask = (1 << e) - 1
    remainder = x & mask  # Python ints: two's complement semantics for &
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


def requantize(acc, multiplier, shift):
    shift = max(-31, min(30, shift))
    left, right = max(shift, 0), max(-shift, 0)
    scaled = max(INT32_MIN, min(INT32_MAX, acc * (1 << left)))
    return rdbpot(srdhm(scaled, multiplier), right)


def dense(layer, x):
    """One QDense layer on one int8 row (a numpy int64 array)."""
    n_in, n_out = layer["inputs"], layer["outputs"]
    w = np.asarray(layer["weights"], dtype=np.int64).reshape(n_in, n_out)
    d = x - layer["input_zero_point"]
    acc = np.asarray(layer["bias"], dtype=np.int64) + d @ w
    assert np.all((acc >= INT32_MIN) & (acc <= INT32_MAX)), "accumulator overflow"
    table = layer["table"]
    lo, hi = (-128, 127) if table is not None else (layer["min"], layer["max"])
    zero = layer["output_zero_point"]
    y = np.empty(n_out, dtype=np.int64)
    for j in range(n_out):
        r = requantize(int(acc[j]), layer["multiplier"][j], layer["shift"][j])
        v = max(INT32_MIN, min(INT32_MAX, r + zero))
        v = max(lo, min(hi, v))
        y[j] = table[v + 128] if table is not None else v
    return y


def check(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    inp = doc["input"]
    bad = 0
    for k, sample in enumerate(doc["samples"]):
        y = quantize_inputs(sample["x_bits"], inp["scale_bits"], inp["zero_point"])
        for layer in doc["layers"]:
            y = dense(layer, y)
        want = np.asarray(sample["logits"], dtype=np.int64)
        cls = int(np.argmax(y))  # the first of equal maxima
        if not np.array_equal(y, want) or cls != sample["class"]:
            if bad == 0:
                print(f"{path}: sample {k}: reference {y.tolist()} class {cls}, "
                      f"stackprop {want.tolist()} class {sample['class']}")
            bad += 1
    n = len(doc["samples"])
    if n == 0:
        print(f"{path}: no samples")
        return False
    layers = len(doc["layers"])
    print(f"{path}: {n} samples, {layers} layers: "
          + ("int8 logits and classes identical" if bad == 0 else f"{bad} differ"))
    return bad == 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    results = [check(p) for p in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
