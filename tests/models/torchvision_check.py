"""Exports torchvision classifiers (random weights, randomised BatchNorm statistics so the
numbers are not trivial) to ONNX and checks that `onyx run` matches onnxruntime, and that the
model `onyx optimize` writes loads in onnxruntime with the same outputs and no
BatchNormalization, Identity or Dropout nodes left.
Needs torch + torchvision (a large install, so not part of `make test`):
    python tests/models/torchvision_check.py build/onyx OUTDIR [resnet50 mobilenet_v2 squeezenet1_1]
Prints, per model, the max abs difference relative to the output's max abs, and the node
counts before and after `onyx optimize`."""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision


def export(name, path, fold=True):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"],
                      opset_version=17, dynamo=False, do_constant_folding=fold)
    return x.numpy()


def main(onyx, out, names):
    os.makedirs(out, exist_ok=True)
    worst = 0.0
    for name in names:
        path = os.path.join(out, name + ".onnx")
        x = export(name, path)
        np.save(os.path.join(out, name + ".input.npy"), x)
        want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
        outdir = os.path.join(out, name + ".out")
        subprocess.run([onyx, "run", path, "--input", os.path.join(out, name + ".input.npy"),
                        "--output-dir", outdir], check=True, capture_output=True)
        got = np.load(os.path.join(outdir, "logits.npy"))
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        worst = max(worst, rel)
        print(f"{name}: shape {got.shape}, max abs diff / max abs = {rel:.2e}, "
              f"top-1 onyx {got.argmax()} onnxruntime {want.argmax()}")
        # exported without torch's own folding, BatchNormalization and friends stay for onyx
        raw = os.path.join(out, name + ".unfolded.onnx")
        export(name, raw, fold=False)
        worst = max(worst, check_optimized(onyx, raw, x, want))
    return 0 if worst <= 1e-4 else 1


def op_counts(path):
    counts = {}
    for n in onnx.load(path).graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def check_optimized(onyx, path, x, want):
    """`onyx optimize` -> onnxruntime; returns the relative difference (1 if ops are left)."""
    opt = path[:-5] + ".opt.onnx"
    subprocess.run([onyx, "optimize", path, opt], check=True, capture_output=True)
    got = ort.InferenceSession(opt, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    before, after = op_counts(path), op_counts(opt)
    left = [op for op in ("BatchNormalization", "Identity", "Dropout") if op in after]
    changed = ", ".join(f"{op} {before.get(op, 0)}->{after.get(op, 0)}" for op in sorted(set(before) | set(after))
                        if before.get(op, 0) != after.get(op, 0))
    print(f"  optimized: {sum(before.values())} -> {sum(after.values())} nodes ({changed}); "
          f"onnxruntime on it: max abs diff / max abs = {rel:.2e}" + (f"; left: {left}" if left else ""))
    return 1.0 if left else rel


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:] or ["resnet50", "mobilenet_v2", "squeezenet1_1"]))
