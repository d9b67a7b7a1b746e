#!/usr/bin/env python3
"""Checks that a host run and a device run of the same training printed the same numbers.

usage: same_numbers.py HOST_LOG DEVICE_LOG

Compares the lines that start with "epoch" or "day" (the device's trailing "(N instructions)" is
ignored). Identical lines pass; otherwise every number must agree within a relative
1e-3 (float rounding may differ between the two builds), or the script fails.
"""
import re
import sys

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def epochs(path):
    with open(path, encoding="utf-8") as f:
        return [re.sub(r"\s+\(\d+ instructions\)$", "", line.rstrip())
                for line in f if line.startswith(("epoch", "day "))]


host, device = epochs(sys.argv[1]), epochs(sys.argv[2])
if not host or len(host) != len(device):
    sys.exit(f"epoch lines: host {len(host)}, device {len(device)}")
worst = 0.0
for h, d in zip(host, device):
    hn, dn = NUMBER.findall(h), NUMBER.findall(d)
    if NUMBER.sub("#", h) != NUMBER.sub("#", d) or len(hn) != len(dn):
        sys.exit(f"lines differ in form:\n  host:   {h}\n  device: {d}")
    for a, b in zip(map(float, hn), map(float, dn)):
        worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-30))
identical = host == device
print(f"{len(host)} epochs: {'identical' if identical else f'largest relative difference {worst:.2e}'}")
sys.exit(0 if worst <= 1e-3 else 1)
