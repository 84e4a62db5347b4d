"""Exports the benchmark models (random weights, fixed seeds) to ONNX with their inputs.

    .cache/torch-venv/bin/python bench/make_models.py [OUTDIR] [--models a,b] [--force]

OUTDIR (default .cache/bench) receives NAME.onnx and NAME.input_K.npy (K in graph-input
order, as `onyx bench --input` binds them). A model is rebuilt only when missing or when
this script (or the YOLOv8 builder it imports) changed since it was written, so `make
bench` pays the export once.

Weights are random (torch.manual_seed per model), so no hub download is involved. BatchNorm
layers get random affine parameters and running statistics measured on random inputs (a
train-mode pass with momentum=None), so folding BatchNormalization into Conv does real
arithmetic and activations keep a sane scale through deep networks. Everything is exported
in eval mode with the TorchScript exporter (dynamo=False) at opset 17, which both onyx and
onnxruntime load; shapes are static (batch 1)."""
import argparse
import hashlib
import math
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "models"))
OPSET = 17


# ---- shared helpers ------------------------------------------------------------------------

def calibrate_batchnorm(model, example):
    """Random BN affine parameters, then running statistics measured on `example`."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.momentum = None  # cumulative average: one pass gives the batch statistics
                m.reset_running_stats()
                m.weight.uniform_(0.7, 1.3)
                m.bias.uniform_(-0.3, 0.3)
        model.train()
        model(example)
    model.eval()


def export(model, args, path, input_names, output_names):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)


def image_input(size=224, seed=0):
    """A normalised-image-like tensor: standard normal values, [1, 3, size, size]."""
    return np.random.default_rng(seed).standard_normal((1, 3, size, size)).astype(np.float32)


# ---- CNNs from torchvision -----------------------------------------------------------------

def torchvision_model(name):
    import torchvision

    def build(path):
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None)
        calibrate_batchnorm(model, torch.randn(4, 3, 224, 224))
        x = image_input()
        export(model, (torch.from_numpy(x),), path, ["input"], ["logits"])
        return [x]
    return build


# ---- a BERT-base-sized encoder ---------------------------------------------------------------

class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.q, self.k, self.v = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def split(self, x):  # [B, S, H*D] -> [B, H, S, D]
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, bias):
        """bias: added to the scores ([B,1,1,S] padding or [1,1,S,S] causal)."""
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + bias
        ctx = torch.softmax(scores, dim=-1) @ v
        b, h, s, d = ctx.shape
        return self.out(ctx.transpose(1, 2).reshape(b, s, h * d))


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attn, self.ln1 = SelfAttention(hidden, heads), nn.LayerNorm(hidden, eps=1e-12)
        self.ffn = nn.Sequential(nn.Linear(hidden, ffn), nn.GELU(), nn.Linear(ffn, hidden))
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, bias):
        x = self.ln1(x + self.attn(x, bias))  # post-LN, as BERT
        return self.ln2(x + self.ffn(x))


class BertEncoder(nn.Module):
    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, ffn=3072, max_pos=512):
        super().__init__()
        self.word, self.pos = nn.Embedding(vocab, hidden), nn.Embedding(max_pos, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(hidden, heads, ffn) for _ in range(layers))

    def forward(self, input_ids, attention_mask):
        pos = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(pos))
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x


def build_bert(path, seq=128):
    torch.manual_seed(0)
    model = BertEncoder()
    for m in model.modules():  # BERT's initialiser scale keeps 12 layers well-conditioned
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
    rng = np.random.default_rng(1)
    ids = rng.integers(1000, 30000, size=(1, seq), dtype=np.int64)
    mask = np.ones((1, seq), dtype=np.int64)
    mask[:, seq - 16:] = 0  # a padded tail, so the mask does something
    export(model.eval(), (torch.from_numpy(ids), torch.from_numpy(mask)), path,
           ["input_ids", "attention_mask"], ["last_hidden_state"])
    return [ids, mask]


# ---- a GPT-2-small-sized decoder ----------------------------------------------------------

class GptBlock(nn.Module):
    def __init__(self, hidden, heads, seq):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.ln1, self.ln2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.qkv, self.proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * hidden, hidden))
        self.register_buffer("future", torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1)[None, None])

    def forward(self, x):
        b, s, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (t.view(b, s, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(self.future[:, :, :s, :s], -1e4)  # -> Where
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, s, c)
        x = x + self.proj(ctx)  # pre-LN, as GPT-2
        return x + self.mlp(self.ln2(x))


class Gpt2(nn.Module):
    def __init__(self, vocab=50257, hidden=768, layers=12, heads=12, seq=64, max_pos=1024):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, hidden), nn.Embedding(max_pos, hidden)
        self.blocks = nn.ModuleList(GptBlock(hidden, heads, seq) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # logits, output embedding tied to the input one


def build_gpt2(path, seq=64):
    torch.manual_seed(0)
    model = Gpt2(seq=seq)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
    ids = np.random.default_rng(2).integers(0, 50257, size=(1, seq), dtype=np.int64)
    export(model.eval(), (torch.from_numpy(ids),), path, ["input_ids"], ["logits"])
    return [ids]


# ---- YOLOv8n (the architecture tests/models/yolov8_check.py writes out) -----------------------

def build_yolov8n(path):
    import yolov8_check
    calib = np.random.default_rng(3).uniform(0, 1, (2, 3, 640, 640)).astype(np.float32)
    yolov8_check.build(path, calib, legacy=True)  # TorchScript exporter, opset 17
    return [np.random.default_rng(4).uniform(0, 1, (1, 3, 640, 640)).astype(np.float32)]


# ---- a small UNet denoiser ---------------------------------------------------------------------

def double_conv(c1, c2):
    return nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
                         nn.Conv2d(c2, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Four levels (32-64-128-256 channels, 512 at the bottom), transposed-conv upsampling,
    skip concatenations; predicts the noise and returns the input minus it."""

    def __init__(self, ch=3, widths=(32, 64, 128, 256)):
        super().__init__()
        self.down, c = nn.ModuleList(), ch
        for w in widths:
            self.down.append(double_conv(c, w))
            c = w
        self.bottom = double_conv(c, 2 * c)
        self.ups, self.up_convs = nn.ModuleList(), nn.ModuleList()
        c = 2 * c
        for w in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.up_convs.append(double_conv(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, ch, 1)

    def forward(self, x):
        skips, y = [], x
        for block in self.down:
            y = block(y)
            skips.append(y)
            y = nn.functional.max_pool2d(y, 2)
        y = self.bottom(y)
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            y = conv(torch.cat([up(y), skip], 1))
        return x - self.head(y)


def build_unet(path, size=256):
    torch.manual_seed(0)
    model = UNet()
    calibrate_batchnorm(model, torch.rand(2, 3, size, size))
    x = np.random.default_rng(5).uniform(0, 1, (1, 3, size, size)).astype(np.float32)
    export(model, (torch.from_numpy(x),), path, ["noisy"], ["denoised"])
    return [x]


# ---- a 2-layer LSTM -------------------------------------------------------------------------------

class LstmModel(nn.Module):
    def __init__(self, features=128, hidden=512, layers=2, classes=10):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y[:, -1])


def build_lstm(path, seq=100):
    torch.manual_seed(0)
    model = LstmModel()
    x = np.random.default_rng(6).standard_normal((1, seq, 128)).astype(np.float32)
    export(model, (torch.from_numpy(x),), path, ["sequence"], ["logits"])
    return [x]


MODELS = {
    "resnet50": torchvision_model("resnet50"),
    "mobilenet_v2": torchvision_model("mobilenet_v2"),
    "squeezenet1_1": torchvision_model("squeezenet1_1"),
    "efficientnet_b0": torchvision_model("efficientnet_b0"),
    "bert_base": build_bert,
    "gpt2_small": build_gpt2,
    "yolov8n": build_yolov8n,
    "unet": build_unet,
    "lstm": build_lstm,
}


def source_hash():
    h = hashlib.sha256()
    for f in (__file__, os.path.join(HERE, "..", "tests", "models", "yolov8_check.py")):
        with open(f, "rb") as fh:
            h.update(fh.read())
    h.update(torch.__version__.encode())
    return h.hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=os.path.join(".cache", "bench"))
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    a = ap.parse_args()
    names = [n for n in a.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown models: {', '.join(unknown)} (known: {', '.join(MODELS)})")
    os.makedirs(a.outdir, exist_ok=True)
    stamp = source_hash()
    torch.set_num_threads(2)
    for name in names:
        path = os.path.join(a.outdir, name + ".onnx")
        stamp_path = os.path.join(a.outdir, name + ".stamp")
        if not a.force and os.path.exists(path) and os.path.exists(stamp_path):
            with open(stamp_path) as f:
                if f.read().strip() == stamp:
                    print(f"{name}: cached ({path})")
                    continue
        print(f"{name}: exporting ...", flush=True)
        for old in os.listdir(a.outdir):
            if old.startswith(name + ".input_"):
                os.remove(os.path.join(a.outdir, old))
        inputs = MODELS[name](path)
        for k, x in enumerate(inputs):
            np.save(os.path.join(a.outdir, f"{name}.input_{k}.npy"), x)
        with open(stamp_path, "w") as f:
            f.write(stamp + "\n")
        print(f"{name}: {os.path.getsize(path) / 1e6:.1f} MB, inputs "
              + ", ".join(f"{x.dtype}{list(x.shape)}" for x in inputs), flush=True)


if __name__ == "__main__":
    main()
