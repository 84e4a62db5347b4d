"""Checks a model written by `onyx optimize`: the ONNX checker accepts it, onnxruntime runs it,
and its outputs match PREFIX.expected.npz (onnxruntime on the original model) within 1e-4 of
each output's max abs (exact for integers). With --absent, those op types must be gone.
usage: check_saved.py SAVED.onnx PREFIX [--absent Op1,Op2] [--inputs X.npy ...]
Inputs default to PREFIX.input_K.npy in graph-input order. Prints the node count."""
import argparse
import glob
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("saved")
    ap.add_argument("prefix")
    ap.add_argument("--absent", default="")
    ap.add_argument("--inputs", nargs="*")
    a = ap.parse_args()
    model = onnx.load(a.saved)
    onnx.checker.check_model(model)
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    bad = 0
    for op in filter(None, a.absent.split(",")):
        if op in ops:
            print(f"{a.saved}: {ops[op]} {op} nodes left")
            bad += 1
    sess = ort.InferenceSession(a.saved, providers=["CPUExecutionProvider"])
    paths = a.inputs or sorted(glob.glob(a.prefix + ".input_*.npy"), key=lambda p: int(p.rsplit("_", 1)[1][:-4]))
    feeds = {i.name: np.load(p) for i, p in zip(sess.get_inputs(), paths)}
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    expected = np.load(a.prefix + ".expected.npz")
    for name in expected.files:
        want = expected[name]
        if name not in got:
            print(f"{name}: not an output of the saved model")
            bad += 1
            continue
        g = got[name]
        if g.dtype != want.dtype or g.shape != want.shape:
            print(f"{name}: got {g.dtype}{g.shape}, expected {want.dtype}{want.shape}")
            bad += 1
        elif np.issubdtype(want.dtype, np.floating):
            tol = 1e-4 * max(1.0, float(np.abs(want).max(initial=0)))
            err = float(np.abs(g.astype(np.float64) - want).max(initial=0))
            if not err <= tol:
                print(f"{name}: max abs error {err} > {tol}")
                bad += 1
        elif not np.array_equal(g, want):
            print(f"{name}: values differ")
            bad += 1
    print(f"{a.saved}: {len(model.graph.node)} nodes, onnxruntime {'FAIL' if bad else 'ok'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
