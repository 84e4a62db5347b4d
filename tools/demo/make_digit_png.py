#!/usr/bin/env python3
"""Writes tools/demo/digit.png, the demo's image, from digit_input.npy (the digits model's
first test image, [1, 1, 8, 8] with values k/16, k = 0..16: scikit-learn's 8x8 digits).

Each pixel becomes round(255 k / 16) in an 8-bit grayscale PNG, every one a 4x4 block
(32x32, big enough to look at). `onyx classify --fit stretch --filter area --mean 0 --std 1`
turns it back into the model's input: area averaging of equal 4x4 blocks is exact, so the
tensor is round(255 k / 16) / 255, within 1/510 of k / 16.

Usage: make_digit_png.py [DEMO_DIR]   (numpy only)"""
import os
import struct
import sys
import zlib

import numpy as np

SCALE = 4


def png_gray8(pixels):
    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    x = np.load(os.path.join(d, "digit_input.npy")).reshape(8, 8).astype(np.float64)
    v = np.rint(x * 255).astype(np.uint8)
    big = np.kron(v, np.ones((SCALE, SCALE), np.uint8))
    with open(os.path.join(d, "digit.png"), "wb") as f:
        f.write(png_gray8(big))


if __name__ == "__main__":
    main()
