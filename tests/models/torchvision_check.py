"""Exports torchvision classifiers (random weights, randomised BatchNorm statistics so the
numbers are not trivial) to ONNX and checks that `onyx run` matches onnxruntime.
Needs torch + torchvision (a large install, so not part of `make test`):
    python tests/models/torchvision_check.py build/onyx OUTDIR [resnet50 mobilenet_v2 squeezenet1_1]
Prints, per model, the max abs difference relative to the output's max abs."""
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import torch
import torchvision


def export(name, path):
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
                      opset_version=17, dynamo=False)
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
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:] or ["resnet50", "mobilenet_v2", "squeezenet1_1"]))
