"""Checks attention fusion (runtime/opt/fuse_attention.c) on torch exports of BERT-style
encoders and GPT-2-style decoders (2 layers, hidden 128, 4 heads, seq 16):
  bert_manual  hand-written attention, attention_mask input -> additive finfo.min mask
  bert_sdpa    the same through F.scaled_dot_product_attention (sqrt(scale) on Q and K)
  bert_mha     torch.nn.TransformerEncoder (nn.MultiheadAttention, key padding mask)
  gpt_manual   causal: masked_fill of a tril buffer with -inf (a Where), scores * 1/sqrt(d)
  gpt_sdpa     F.scaled_dot_product_attention(is_causal=True) (a constant additive mask)
Each is exported by the TorchScript exporter at opset 17. Checked:
  * onyx run (default --opt 2: the session-only fusion below opset 23) equals onnxruntime
    within 1e-4 (max abs diff / max abs);
  * the same graph declared opset 23: `onyx optimize` writes one Attention per layer for the
    GPT-style models (the BERT ones keep their attention: their [B,1,1,S] padding mask
    broadcasts over query rows, which onnxruntime's Attention refuses), and onnxruntime gives
    the same outputs from the optimised file.
  * sessions fuse every block below opset 23 (`onyx info --opt 2`: attention-internal), and
    so they do for the same model exported with dynamic axes (batch and sequence for the BERT
    ones, batch for the GPT ones, whose causal mask is a slice of a buffer by the sequence
    length) -- not bert_mha, whose export keeps the traced sizes in its Reshape targets (it
    does not run at other sizes, in onnxruntime either) -- with the same session-only counts
    as the fixed-shape export, and onyx agrees with onnxruntime at another size.
Needs the torch venv (not part of `make test`):
    .cache/torch-venv/bin/python tests/models/attention_check.py ONYX OUTDIR [names...]"""
import collections
import math
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

HIDDEN, HEADS, FFN, SEQ, LAYERS = 128, 4, 512, 16, 2
D = HIDDEN // HEADS

class BertAttn(nn.Module):
    def __init__(self, sdpa=False):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.o = nn.Linear(HIDDEN, HIDDEN)
        self.sdpa = sdpa
    def forward(self, x, mask):
        b, s, _ = x.shape
        sp = lambda t: t.view(b, s, HEADS, D).transpose(1, 2)
        q, k, v = sp(self.q(x)), sp(self.k(x)), sp(self.v(x))
        if self.sdpa:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            sc = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)
            sc = sc + mask
            a = torch.matmul(torch.softmax(sc, dim=-1), v)
        return self.o(a.transpose(1, 2).contiguous().view(b, s, HIDDEN))

class BertLayer(nn.Module):
    def __init__(self, sdpa=False):
        super().__init__()
        self.att = BertAttn(sdpa)
        self.ln1, self.ln2 = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.f1, self.f2 = nn.Linear(HIDDEN, FFN), nn.Linear(FFN, HIDDEN)
    def forward(self, x, mask):
        x = self.ln1(x + self.att(x, mask))
        return self.ln2(x + self.f2(F.gelu(self.f1(x))))

class Bert(nn.Module):
    def __init__(self, sdpa=False):
        super().__init__()
        self.layers = nn.ModuleList([BertLayer(sdpa) for _ in range(LAYERS)])
    def forward(self, x, attention_mask):
        m = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for l in self.layers: x = l(x, m)
        return x

class BertMHA(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(HIDDEN, HEADS, FFN, dropout=0.1, activation="gelu", batch_first=True)
        self.enc = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
    def forward(self, x, attention_mask):
        return self.enc(x, src_key_padding_mask=attention_mask == 0)

class GPTBlock(nn.Module):
    def __init__(self, sdpa=False):
        super().__init__()
        self.c_attn = nn.Linear(HIDDEN, 3 * HIDDEN); self.c_proj = nn.Linear(HIDDEN, HIDDEN)
        self.ln1, self.ln2 = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.f1, self.f2 = nn.Linear(HIDDEN, FFN), nn.Linear(FFN, HIDDEN)
        self.register_buffer("bias", torch.tril(torch.ones(64, 64)).view(1, 1, 64, 64))
        self.sdpa = sdpa
    def attn(self, x):
        b, s, h = x.shape
        q, k, v = self.c_attn(x).split(HIDDEN, dim=2)
        sp = lambda t: t.view(b, s, HEADS, D).transpose(1, 2)
        q, k, v = sp(q), sp(k), sp(v)
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            att = att.masked_fill(self.bias[:, :, :s, :s] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, s, h))
    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.f2(F.gelu(self.f1(self.ln2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(self, sdpa=False):
        super().__init__()
        self.blocks = nn.ModuleList([GPTBlock(sdpa) for _ in range(LAYERS)])
    def forward(self, x):
        for b in self.blocks: x = b(x)
        return x

NAMES = ["bert_manual", "bert_sdpa", "bert_mha", "gpt_manual", "gpt_sdpa"]


def make(name):
    torch.manual_seed(0)
    x = torch.randn(1, SEQ, HIDDEN)
    mask = torch.ones(1, SEQ, dtype=torch.int64)
    mask[0, 12:] = 0  # the last 4 positions are padding
    models = {"bert_manual": lambda: Bert(False), "bert_sdpa": lambda: Bert(True), "bert_mha": BertMHA,
              "gpt_manual": lambda: GPT(False), "gpt_sdpa": lambda: GPT(True)}
    model = models[name]().eval()
    return model, ((x, mask) if name.startswith("bert") else (x,))


def dynamic_axes(name):
    """The BERT-style encoders: dynamic batch and sequence; the GPT-style ones: dynamic batch
    (their causal mask is a slice of a buffer by the sequence length, constant only when that
    is fixed)."""
    axes = {0: "batch", 1: "seq"} if name.startswith("bert") else {0: "batch"}
    return {k: axes for k in (["input", "attention_mask"] if name.startswith("bert") else ["input"]) + ["output"]}


def export(name, path, dynamic=False):
    model, args = make(name)
    names = ["input", "attention_mask"][:len(args)]
    # with grad on: torch's fused encoder fast path is not exportable
    torch.onnx.export(model, args, path, input_names=names, output_names=["output"], opset_version=17,
                      dynamo=False, dynamic_axes=dynamic_axes(name) if dynamic else None)
    return {k: a.numpy() for k, a in zip(names, args)}


def session_passes(onyx, path):
    """The session-only pass counts `onyx info --opt 2` prints."""
    info = subprocess.run([onyx, "info", path, "--opt", "2"], check=True, capture_output=True, text=True).stdout
    line = next(l for l in info.splitlines() if l.startswith("session-only passes:"))
    return {k: int(v) for k, v in (p.strip().rsplit(" ", 1) for p in line.split(":", 1)[1].split(","))}


def check_dynamic(onyx, out, name, path):
    """The same model exported with dynamic axes: sessions fuse as for the fixed shapes (the
    fusion proves the shapes from the symbolic dims), and onyx agrees with onnxruntime at
    another batch (and sequence) size."""
    dyn = os.path.join(out, name + ".dyn.onnx")
    export(name, dyn, dynamic=True)
    fixed, got = session_passes(onyx, path), session_passes(onyx, dyn)
    failures = [f"dynamic export: {k} {got.get(k)}, fixed shapes {v}" for k, v in fixed.items() if got.get(k) != v]
    seq = SEQ - 5 if name.startswith("bert") else SEQ
    rng = np.random.default_rng(2)
    feeds = {"input": rng.standard_normal((2, seq, HIDDEN)).astype(np.float32)}
    if name.startswith("bert"):
        feeds["attention_mask"] = np.ones((2, seq), dtype=np.int64)
        feeds["attention_mask"][1, seq - 3:] = 0
    args = [onyx, "run", dyn, "--output-dir", os.path.join(out, name + ".dyn.out")]
    for k, a in feeds.items():
        np.save(os.path.join(out, f"{name}.dyn.{k}.npy"), a)
        args += ["--input", f"{k}={os.path.join(out, f'{name}.dyn.{k}.npy')}"]
    subprocess.run(args, check=True, capture_output=True)
    mine = np.load(os.path.join(out, name + ".dyn.out", "output.npy"))
    r = rel(mine, run_ort(dyn, feeds))
    print(f"  dynamic {list(dynamic_axes(name)['input'].values())}: attention-internal "
          f"{got['attention-internal']} (fixed shapes {fixed['attention-internal']}), skip-layer-norm "
          f"{got['skip-layer-norm']} ({fixed['skip-layer-norm']}); onyx run at [2, {seq}] vs onnxruntime {r:.2e}")
    if r > 1e-4:
        failures.append(f"dynamic export: outputs differ by {r:.2e}")
    if fixed["attention-internal"] != LAYERS:
        failures.append(f"fixed shapes: attention-internal {fixed['attention-internal']}, want {LAYERS}")
    return failures


def run_ort(path, feeds):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def check(onyx, out, name):
    path = os.path.join(out, name + ".onnx")
    feeds = export(name, path)
    want = run_ort(path, feeds)
    args = [onyx, "run", path, "--output-dir", os.path.join(out, name + ".out")]
    for k, a in feeds.items():
        np.save(os.path.join(out, f"{name}.{k}.npy"), a)
        args += ["--input", f"{k}={os.path.join(out, f'{name}.{k}.npy')}"]
    subprocess.run(args, check=True, capture_output=True)
    mine = np.load(os.path.join(out, name + ".out", "output.npy"))
    # the same graph at opset 23, where the fusion is the standard Attention op onyx writes
    m = onnx.load(path)
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 23
    p23, o23 = os.path.join(out, name + ".23.onnx"), os.path.join(out, name + ".23.opt.onnx")
    onnx.save(m, p23)
    subprocess.run([onyx, "optimize", p23, o23], check=True, capture_output=True)
    ops = collections.Counter(n.op_type for n in onnx.load(o23).graph.node)
    got23 = run_ort(o23, feeds)
    r_run, r_23 = rel(mine, want), rel(got23, want)
    print(f"{name}: onyx run vs onnxruntime {r_run:.2e}; opset 23 optimised: Attention {ops['Attention']}, "
          f"Softmax {ops['Softmax']}, onnxruntime on it {r_23:.2e}")
    failures = []
    if r_run > 1e-4 or r_23 > 1e-4:
        failures.append(f"outputs differ by {max(r_run, r_23):.2e}")
    # BERT's padding mask [B,1,1,Sk] broadcasts over query rows, which onnxruntime's Attention
    # refuses: onyx keeps those unfused in files it writes (its sessions still fuse them)
    want_att = LAYERS if name.startswith("gpt") else 0
    if ops["Attention"] != want_att or ops["Softmax"] != LAYERS - want_att:
        failures.append(f"{ops['Attention']} Attention, {ops['Softmax']} Softmax (want {want_att}, "
                        f"{LAYERS - want_att})")
    if name != "bert_mha":  # nn.MultiheadAttention's export bakes the traced sizes into Reshapes
        failures += check_dynamic(onyx, out, name, path)
    for f in failures:
        print(f"  FAIL: {f}")
    return not failures


def main(argv):
    onyx, out = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    ok = all([check(onyx, out, n) for n in argv[3:] or NAMES])
    print("attention_check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
