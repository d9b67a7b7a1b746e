#!/usr/bin/env python3
"""Tests of stackprop_records: run with pytest, or as a script.

    python python/test_stackprop_records.py [DIR]

The records under test were written by Rust: the committed fixtures (the tool's
parameter records, byte-identical to the crate's `save_params`, which the tool's tests
check) and, given DIR (or STACKPROP_RECORDS_DIR), the crate's own `save_state` and
`save_params` output of the `finetune` example. Every one must read, and write back to
the same bytes.
"""

import os
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stackprop_records as sr  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "tools", "torch-bridge", "fixtures")
LAYERS = "tanh,relu,silu,identity"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def rust_records():
    out = [fixture(f"{n}_{t}.sprc") for n in ("mlp", "mlp2") for t in ("f32", "f64")]
    directory = os.environ.get("STACKPROP_RECORDS_DIR")
    if directory:
        for name in ("state.sprc", "params.sprc"):
            with open(os.path.join(directory, name), "rb") as f:
                out.append(f.read())
    return out


def test_rust_records_round_trip():
    for data in rust_records():
        rec = sr.read(data)
        assert sr.write(rec) == data


def test_fixture_layers_and_values():
    for name, dtype in (("mlp_f32.sprc", np.float32), ("mlp_f64.sprc", np.float64)):
        rec = sr.read(fixture(name))
        assert rec.kind == "params" and rec.dtype is dtype
        shapes = [(l.inputs, l.outputs, l.b is not None) for l in rec.layers]
        assert shapes == [(5, 8, True), (8, 7, False), (7, 6, True), (6, 3, True)], shapes
        assert rec.param_count == 173
        sd = sr.state_dict(rec, LAYERS)
        assert sorted(sd) == ["0.bias", "0.weight", "2.weight", "4.bias", "4.weight", "6.bias", "6.weight"]
        assert sd["2.weight"].shape == (7, 8)
        try:
            from safetensors.numpy import load_file
        except ImportError:
            continue
        torch_file = load_file(os.path.join(FIXTURES, name.replace(".sprc", ".safetensors")))
        for k, v in sd.items():
            assert np.array_equal(torch_file[k], v), k
        # Straight from torch's file to the record torch-bridge writes, byte for byte.
        assert sr.write(sr.from_state_dict(torch_file, LAYERS)) == fixture(name)


def test_training_state_fields():
    directory = os.environ.get("STACKPROP_RECORDS_DIR")
    if not directory:
        return
    rec = sr.read(os.path.join(directory, "state.sprc"))
    assert rec.kind == "state" and sr.OPTIMIZERS[rec.optimizer] == "adam"
    assert rec.steps == 200 and rec.counter == 200
    # Adam: 9 scalars, then m and v of every parameter (no layer is frozen).
    assert rec.optimizer_state.size == 9 + 2 * rec.param_count
    parts = sr.optimizer_parts(rec)
    assert parts["lr"] == np.float32(0.01) and parts["beta1"] == np.float32(0.9)
    # beta1^k after k = 200 steps, accumulated in f32.
    assert abs(parts["beta1_pow"] / 0.9**200 - 1) < 1e-4, parts["beta1_pow"]
    assert parts["m"].size == parts["v"].size == rec.param_count and (parts["v"] >= 0).all()
    assert parts["counter"] == 200
    params = sr.read(os.path.join(directory, "params.sprc"))
    for a, b in zip(rec.layers, params.layers):
        assert np.array_equal(a.w, b.w)


def test_damage_is_refused_naming_the_field():
    good = fixture("mlp_f32.sprc")

    def reason(data):
        try:
            sr.read(data)
        except sr.RecordError as e:
            return str(e)
        raise AssertionError("accepted a damaged record")

    assert "magic" in reason(b"XPRC" + good[4:])
    flipped = bytearray(good)
    flipped[100] ^= 1
    assert "CRC-32" in reason(bytes(flipped))
    assert "header says" in reason(good[:-1])
    assert "shorter" in reason(b"SPRC")
    # A NaN weight with a valid CRC.
    nan = bytearray(good)
    nan[64:68] = np.float32("nan").tobytes()
    nan[-4:] = zlib.crc32(bytes(nan[:-4])).to_bytes(4, "little")
    assert "NaN or infinity at byte 64" in reason(bytes(nan))


def test_new_records_from_numpy():
    rng = np.random.default_rng(7)
    layers = [sr.Layer(rng.standard_normal((3, 4)), rng.standard_normal(4)), sr.Layer(rng.standard_normal((4, 2)))]
    for dtype in (np.float32, np.float64):
        data = sr.write(sr.Record.params(layers, dtype))
        back = sr.read(data)
        assert back.dtype is dtype
        assert np.array_equal(back.layers[0].w, layers[0].w.astype(dtype))
        assert back.layers[1].b is None
        x = rng.standard_normal((5, 3))
        y = sr.forward(back, "relu,identity", x)
        assert y.shape == (5, 2) and y.dtype == dtype
    # Widths that do not chain, and NaN, are refused before anything is written.
    for bad in (
        [sr.Layer(np.zeros((3, 4))), sr.Layer(np.zeros((5, 2)))],
        [sr.Layer(np.full((2, 2), np.nan))],
    ):
        try:
            sr.write(sr.Record.params(bad))
        except sr.RecordError:
            pass
        else:
            raise AssertionError("wrote an invalid record")


def test_from_state_dict_refuses_strays():
    sd = {"0.weight": np.zeros((3, 2)), "2.weight": np.zeros((1, 3)), "1.running_mean": np.zeros(3)}
    for acts, fragment in (("relu,identity", "running_mean"), ("identity,identity", "1.weight missing")):
        try:
            sr.from_state_dict(sd, acts)
        except ValueError as e:
            assert fragment in str(e), e
        else:
            raise AssertionError("accepted")


def test_layers_spec_reads_an_nn_sequential():
    # Stand-ins with PyTorch's class names, so the test runs without torch.
    def module(name, **attrs):
        return type(name, (), attrs)()

    seq = [module("Linear"), module("Tanh"), module("Linear"), module("ReLU"), module("Dropout"),
           module("Linear"), module("SiLU"), module("Linear")]
    assert sr.layers_spec(seq) == "tanh,relu,silu,identity"
    assert sr.module_indices(sr.layers_spec(seq)) == [0, 2, 4, 6]
    for bad, fragment in (
        ([module("Linear"), module("GELU")], "GELU"),
        ([module("Linear"), module("LeakyReLU", negative_slope=0.2)], "slope 0.01"),
        ([module("ReLU"), module("Linear")], "must follow"),
        ([module("Linear"), module("BatchNorm1d"), module("Linear")], "BatchNorm1d"),
    ):
        try:
            sr.layers_spec(bad)
        except ValueError as e:
            assert fragment in str(e), e
        else:
            raise AssertionError(f"accepted {bad}")
    try:
        import torch  # noqa: F401
        from torch import nn
    except ImportError:
        return
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 7, bias=False), nn.ReLU(),
                          nn.Linear(7, 6), nn.SiLU(), nn.Linear(6, 3))
    assert sr.layers_spec(model) == "tanh,relu,silu,identity"


def test_module_indices():
    assert sr.module_indices("relu,tanh,identity") == [0, 2, 4]
    assert sr.module_indices(["identity", "relu", "identity"]) == [0, 1, 3]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.environ["STACKPROP_RECORDS_DIR"] = sys.argv[1]
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    for name, test in tests:
        test()
        print(f"ok {name}")
    print(f"{len(tests)} tests passed")
