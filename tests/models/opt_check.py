"""Checks `onyx optimize` on torch exports: node counts per op type before and after, the facts
the optimiser must establish, and that onnxruntime runs the optimised file with the same
outputs (max abs diff / max abs <= 1e-4).
Needs the torch venv (not part of `make test`):
    .cache/torch-venv/bin/python tests/models/opt_check.py ONYX OUTDIR [resnet50 mobilenet_v2
        efficientnet_b0 bert_torch bert_manual]
  * the torchvision classifiers are exported without torch's constant folding (opset 17), so
    BatchNormalization and the shape chains are there for onyx to fold;
  * bert_torch: 2 torch.nn.TransformerEncoderLayer (hidden 128, 4 heads, GELU, seq 16),
    opset 20 (so Gelu exists); bert_manual: the same with LayerNorm, GELU and attention
    written out by hand, so every LayerNorm and GELU arrives decomposed.
Fused attention needs opset 23, which the TorchScript exporter does not write: sessions fuse it
(session-only, checked through `onyx info --opt 2` with every Conv activation and the
feed-forward MatMul + bias + GELU).
Each model but bert_torch (nn.MultiheadAttention's export keeps the traced batch and sequence in
its Reshape targets: it does not run at other sizes, in onnxruntime either) is also exported
with a dynamic batch axis (the CNNs) or batch and sequence axes (bert_manual): sessions must make the same session-only fusions as for the fixed shapes (residual
Adds, skip + LayerNorm, attention, bias and activations: proved from the symbolic dims), and
onyx must agree with onnxruntime on an input of another batch (and sequence) size."""
import collections
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision

HIDDEN, HEADS, FFN, SEQ, LAYERS = 128, 4, 512, 16, 2


def export(model, x, path, opset, axes=None):
    """axes: the dynamic axes of input and output ({0: "batch"} …), or None for fixed shapes."""
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["output"],
                      opset_version=opset, dynamo=False, do_constant_folding=False,
                      dynamic_axes={"input": axes, "output": axes} if axes else None)


def torchvision_model(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model, torch.randn(1, 3, 224, 224), 17


class ManualLayerNorm(torch.nn.Module):
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.gamma = torch.nn.Parameter(torch.rand(n) + 0.5)
        self.beta = torch.nn.Parameter(torch.rand(n) - 0.5)
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        d = x - mean
        var = (d ** 2).mean(-1, keepdim=True)
        return d / torch.sqrt(var + self.eps) * self.gamma + self.beta


def manual_gelu(x):
    return x * 0.5 * (1.0 + torch.erf(x / 1.4142135623730951))


class ManualLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(HIDDEN, 3 * HIDDEN)
        self.proj = torch.nn.Linear(HIDDEN, HIDDEN)
        self.ff1 = torch.nn.Linear(HIDDEN, FFN)
        self.ff2 = torch.nn.Linear(FFN, HIDDEN)
        self.ln1, self.ln2 = ManualLayerNorm(HIDDEN), ManualLayerNorm(HIDDEN)
        self.drop = torch.nn.Dropout(0.1)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        split = lambda t: t.reshape(b, s, HEADS, h // HEADS).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(q @ k.transpose(-2, -1) / (h // HEADS) ** 0.5, dim=-1)
        a = (att @ v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.drop(self.proj(a)))
        return self.ln2(x + self.drop(self.ff2(manual_gelu(self.ff1(x)))))


def bert(manual):
    torch.manual_seed(0)
    if manual:
        model = torch.nn.Sequential(*[ManualLayer() for _ in range(LAYERS)])
    else:
        layer = torch.nn.TransformerEncoderLayer(HIDDEN, HEADS, FFN, dropout=0.1, activation="gelu",
                                                 batch_first=True)
        model = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
    return model.eval(), torch.randn(1, SEQ, HIDDEN), 20


def op_counts(path):
    return collections.Counter(n.op_type for n in onnx.load(path).graph.node)


def session_passes(onyx, path):
    """The session-only pass counts `onyx info --opt 2` prints (what a session fuses on top of
    the written graph)."""
    info = subprocess.run([onyx, "info", path, "--opt", "2"], check=True, capture_output=True, text=True).stdout
    line = next(l for l in info.splitlines() if l.startswith("session-only passes:"))
    return {k: int(v) for k, v in (p.strip().rsplit(" ", 1) for p in line.split(":", 1)[1].split(","))}


def conv_activations(path):
    """Activations a session must fuse into the Conv before them in the written graph: Relu,
    Clip, Sigmoid, HardSwish (and SiLU = Mul(c, Sigmoid(c)), one) reading a Conv's output, or
    a residual Add of a Conv's output."""
    g = onnx.load(path).graph
    prod = {o: n for n in g.node for o in n.output}
    readers = collections.Counter(i for n in g.node for i in n.input)
    from_conv = lambda v: v in prod and (prod[v].op_type == "Conv" or (
        prod[v].op_type == "Add" and any(i in prod and prod[i].op_type == "Conv" for i in prod[v].input)))
    count = 0
    for n in g.node:
        if n.op_type in ("Relu", "Clip", "HardSwish") and from_conv(n.input[0]):
            count += 1
        elif n.op_type == "Sigmoid" and from_conv(n.input[0]) and readers[n.input[0]] == 1:
            count += 1
        elif n.op_type == "Mul" and len(set(n.input)) == 2 and any(
                i in prod and prod[i].op_type == "Sigmoid" and prod[i].input[0] in n.input and from_conv(prod[i].input[0])
                for i in n.input):
            count += 1
    return count


def run_ort(path, x):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]


def check(onyx, out, name):
    if name.startswith("bert"):
        model, x, opset = bert(name == "bert_manual")
    else:
        model, x, opset = torchvision_model(name)
    path, opt = os.path.join(out, name + ".onnx"), os.path.join(out, name + ".opt.onnx")
    export(model, x, path, opset)  # with grad on: torch's fused encoder fast path is not exportable
    subprocess.run([onyx, "optimize", path, opt], check=True, capture_output=True)
    x = x.numpy()
    want, got = run_ort(path, x), run_ort(opt, x)
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    # and onyx itself, running the original at its default --opt 2
    np.save(os.path.join(out, name + ".input.npy"), x)
    subprocess.run([onyx, "run", path, "--input", os.path.join(out, name + ".input.npy"), "--output-dir",
                    os.path.join(out, name + ".out")], check=True, capture_output=True)
    mine = np.load(os.path.join(out, name + ".out", "output.npy"))
    rel_onyx = float(np.abs(mine - want).max() / np.abs(want).max())
    before, after = op_counts(path), op_counts(opt)
    print(f"{name}: {sum(before.values())} nodes -> {sum(after.values())}, "
          f"optimised vs original in onnxruntime: {rel:.2e}, onyx --opt 2 vs onnxruntime: {rel_onyx:.2e}")
    for op in sorted(set(before) | set(after)):
        if before[op] != after[op]:
            print(f"  {op}: {before[op]} -> {after[op]}")
    failures = []
    if rel > 1e-4 or rel_onyx > 1e-4:
        failures.append(f"outputs differ by {max(rel, rel_onyx):.2e}")
    for op in ("BatchNormalization", "Identity", "Dropout"):
        if after[op]:
            failures.append(f"{after[op]} {op} left")
    if name.startswith("bert"):
        # every LayerNorm (2 per layer) and GELU (1 per layer) is one op
        if after["LayerNormalization"] != 2 * LAYERS or after["Gelu"] != LAYERS:
            failures.append(f"LayerNormalization {after['LayerNormalization']}, Gelu {after['Gelu']}")
        for op in ("ReduceMean", "Erf", "Sqrt", "Pow"):
            if after[op]:
                failures.append(f"{after[op]} {op} left (decomposed LayerNorm/GELU)")
    # what sessions fuse on top (onyx info --opt 2): every Conv activation; attention (opset
    # 20 < 23: session-only) and the feed-forward bias + GELU into one MatMul per layer
    fused = session_passes(onyx, path)
    print(f"  session-only: " + ", ".join(f"{k} {v}" for k, v in fused.items() if v))
    if not name.startswith("bert"):
        want = conv_activations(opt)
        if fused["act-into-conv"] != want or want == 0:
            failures.append(f"act-into-conv {fused['act-into-conv']}, {want} Conv activations in the graph")
    elif fused["attention-internal"] != LAYERS or fused["act-into-gemm"] != LAYERS:
        failures.append(f"attention-internal {fused['attention-internal']}, act-into-gemm {fused['act-into-gemm']}")
    if name == "bert_manual" and before["ReduceMean"] == 0:
        failures.append("the hand-written export has no decomposed LayerNorm to fuse")
    if name != "bert_torch":  # nn.MultiheadAttention's export bakes the traced sizes into Reshapes
        failures += check_dynamic(onyx, out, name, model, x, opset, fused)
    for f in failures:
        print(f"  FAIL: {f}")
    return not failures


def check_dynamic(onyx, out, name, model, x, opset, fused):
    """The same model exported with a dynamic batch axis (CNNs) or batch and sequence axes
    (encoders): sessions must fuse as much as for the fixed shapes (the fusions prove shapes
    equal from the symbolic dims), and onyx must agree with onnxruntime at another size."""
    axes = {0: "batch", 1: "seq"} if name.startswith("bert") else {0: "batch"}
    path = os.path.join(out, name + ".dyn.onnx")
    export(model, torch.from_numpy(x), path, opset, axes)
    dyn = session_passes(onyx, path)
    print(f"  dynamic {list(axes.values())}: " + ", ".join(f"{k} {v}" for k, v in dyn.items() if v))
    failures = [f"dynamic export: {k} {dyn.get(k)}, fixed shapes {v}" for k, v in fused.items() if dyn.get(k) != v]
    shape = list(x.shape)
    shape[0] = 2
    if name.startswith("bert"):
        shape[1] = SEQ - 5
    x2 = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    inp = os.path.join(out, name + ".dyn.input.npy")
    np.save(inp, x2)
    subprocess.run([onyx, "run", path, "--input", inp, "--output-dir", os.path.join(out, name + ".dyn.out")],
                   check=True, capture_output=True)
    mine = np.load(os.path.join(out, name + ".dyn.out", "output.npy"))
    want = run_ort(path, x2)
    rel = float(np.abs(mine - want).max() / np.abs(want).max()) if mine.shape == want.shape else float("inf")
    print(f"  dynamic at input {shape}: onyx --opt 2 vs onnxruntime: {rel:.2e}")
    if rel > 1e-4:
        failures.append(f"dynamic export at {shape}: outputs differ by {rel:.2e}")
    return failures


def main(argv):
    onyx, out = argv[1], argv[2]
    names = argv[3:] or ["resnet50", "mobilenet_v2", "efficientnet_b0", "bert_torch", "bert_manual"]
    os.makedirs(out, exist_ok=True)
    ok = all([check(onyx, out, n) for n in names])
    print("opt_check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
