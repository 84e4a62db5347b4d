"""Compares onyx's output files with onnxruntime's expected outputs.
usage: compare.py MODEL_PREFIX OUTPUT_DIR  (reads MODEL_PREFIX.expected.npz)
Each output must exist as OUTPUT_DIR/<sanitised name>.npy with the same dtype and shape, and
values within 1e-4 of the expected output's max abs (exact for integers)."""
import os
import re
import sys

import numpy as np


def main(prefix, outdir):
    expected = np.load(prefix + ".expected.npz")
    bad = 0
    for name in expected.files:
        want = expected[name]
        path = os.path.join(outdir, re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy")
        if not os.path.exists(path):
            print(f"{name}: missing {path}")
            bad += 1
            continue
        got = np.load(path)
        if got.dtype != want.dtype or got.shape != want.shape:
            print(f"{name}: got {got.dtype}{got.shape}, expected {want.dtype}{want.shape}")
            bad += 1
            continue
        if np.issubdtype(want.dtype, np.floating):
            tol = 1e-4 * max(1.0, float(np.abs(want).max(initial=0)))
            err = float(np.abs(got.astype(np.float64) - want).max(initial=0))
            if not err <= tol:
                print(f"{name}: max abs error {err} > {tol}")
                bad += 1
        elif not np.array_equal(got, want):
            print(f"{name}: integer values differ")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
