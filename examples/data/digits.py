#!/usr/bin/env python3
"""Writes digits.bin: the UCI optical handwritten digits as shipped with scikit-learn.

Source: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI
Machine Learning Repository (https://doi.org/10.24432/C50P49), CC BY 4.0; the copy in
scikit-learn's `load_digits` (1797 images of 8x8 pixels, values 0..16).

Format, one record of 41 bytes per image, in scikit-learn's order:
  byte 0      the label, 0..9
  bytes 1..41 the 64 pixels, row-major, 5 bits each (0..16 needs 17 levels), packed
              little-endian: pixel p is bits 5p..5p+4 of the 320-bit little-endian
              number stored in these 40 bytes.

Usage: pip install scikit-learn && python3 digits.py   (writes digits.bin beside it)
"""
import hashlib
import pathlib

from sklearn.datasets import load_digits

digits = load_digits()
out = bytearray()
for image, label in zip(digits.data.astype(int), digits.target):
    assert image.shape == (64,) and 0 <= image.min() and image.max() <= 16
    bits = 0
    for p, value in enumerate(image):
        bits |= int(value) << (5 * p)
    out.append(int(label))
    out += bits.to_bytes(40, "little")

path = pathlib.Path(__file__).with_name("digits.bin")
path.write_bytes(out)
print(f"{path}: {len(digits.target)} images, {len(out)} bytes, "
      f"sha256 {hashlib.sha256(out).hexdigest()}")
