#!/usr/bin/env python3
"""A network trained with stackprop, exported by torch-bridge, predicts the same in
numpy (and in PyTorch, if torch is installed).

    python python/check_export.py DIR LAYERS

DIR holds what `finetune` and `torch-bridge export` wrote: state.sprc (the crate's
training-state record), predictions.safetensors (the batch `x` and stackprop's outputs
`y` after training) and trained.safetensors (the export). LAYERS is the activation
spec, e.g. tanh,relu,silu,identity.

Checks, each an assertion:
  * safetensors.numpy.load_file reads the export: names {index}.weight/.bias, dtype,
    [out, in] shapes;
  * the export's tensors are exactly the record's parameters (read with
    stackprop_records), transposed;
  * numpy's forward pass on the exported weights gives stackprop's predictions
    (within 1e-5 of the largest output, f32) and the same class for every row;
  * with torch installed: nn.Sequential.load_state_dict(safetensors.torch.load_file(...))
    accepts the file and torch's outputs agree too.
"""

import os
import sys

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stackprop_records as sr  # noqa: E402


def main(directory: str, layers: str) -> None:
    rec = sr.read(os.path.join(directory, "state.sprc"))
    assert rec.kind == "state", rec.kind
    exported = load_file(os.path.join(directory, "trained.safetensors"))
    expected = sr.state_dict(rec, layers)
    assert sorted(exported) == sorted(expected), (sorted(exported), sorted(expected))
    for name, value in expected.items():
        got = exported[name]
        assert got.dtype == value.dtype and got.shape == value.shape, (name, got.dtype, got.shape)
        assert np.array_equal(got, value), name

    pred = load_file(os.path.join(directory, "predictions.safetensors"))
    x, y = pred["x"], pred["y"]
    acts = layers.split(",")
    # numpy alone, from the exported tensors: z = act(z @ W.T + b), as nn.Linear computes.
    z = x
    for index, act in zip(sr.module_indices(acts), acts):
        z = z @ exported[f"{index}.weight"].T
        if f"{index}.bias" in exported:
            z = z + exported[f"{index}.bias"]
        z = sr.activate(act, z)
    scale = float(np.abs(y).max())
    err = float(np.abs(z - y).max()) / scale
    assert err <= 1e-5, f"numpy forward differs from stackprop by {err:.2e} (relative)"
    assert np.array_equal(z.argmax(1), y.argmax(1)), "a row changed class"
    print(f"numpy: {len(x)} predictions within {err:.1e} of stackprop's, same classes")

    try:
        import torch
        from torch import nn
        from safetensors.torch import load_file as load_torch
    except ImportError:
        print("torch not installed: load_state_dict not checked")
        return
    modules = []
    for index, act in zip(sr.module_indices(acts), acts):
        w = exported[f"{index}.weight"]
        modules.append(nn.Linear(w.shape[1], w.shape[0], bias=f"{index}.bias" in exported))
        if sr.ACTIVATIONS[act] is not None:
            modules.append(getattr(nn, sr.ACTIVATIONS[act])())
    model = nn.Sequential(*modules)
    model.load_state_dict(load_torch(os.path.join(directory, "trained.safetensors")))
    with torch.no_grad():
        zt = model(torch.from_numpy(x)).numpy()
    err = float(np.abs(zt - y).max()) / scale
    assert err <= 1e-5, f"torch forward differs from stackprop by {err:.2e} (relative)"
    print(f"torch {torch.__version__}: load_state_dict accepted; outputs within {err:.1e}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
