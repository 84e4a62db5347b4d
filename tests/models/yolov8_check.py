"""Builds a YOLOv8n-shaped detector (the architecture written out here: Conv-BN-SiLU, C2f,
SPPF, the PAN neck and the decoupled head with DFL box decoding; random weights), exports it
to ONNX ([1,3,640,640] -> [1, 84, 8400]), runs `onyx detect` on a few images and checks the
predictions against a numpy decode + class-wise NMS + letterbox undo of the model's raw
output (as onyx computes it; the differences from onnxruntime's and torch's are printed).

The images are 640x480, 640x640 and 480x640 pixels, so the letterbox only pads (no resize)
and its input tensor is known exactly here. Needs torch (not part of `make test`):
    .cache/torch-venv/bin/python tests/models/yolov8_check.py build/onyx OUTDIR [--legacy-export]
The model is exported with torch's dynamo exporter; --legacy-export uses the TorchScript
one, whose chunk() is a Shape -> Gather -> Add/Div/Mul -> Slice chain on activations.
Prints per image the detection counts and the largest differences; exits 1 on mismatch."""
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_check import reference_detect  # noqa: E402
from vision_png import write_png  # noqa: E402

SIZE = 640
MAX_DET = 300


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1, self.cv2, self.add = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c_, 1), Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Detect(nn.Module):
    """Decoupled head: per level a box branch (4 x 16 DFL bins) and a class branch;
    boxes decoded to (cx, cy, w, h) in input pixels, classes through a sigmoid."""

    def __init__(self, nc, ch, strides):
        super().__init__()
        self.nc, self.reg_max, self.strides = nc, 16, strides
        c2, c3 = max(16, ch[0] // 4, 64), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 64, 1)) for c in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in ch)
        self.register_buffer("bins", torch.arange(16, dtype=torch.float32).view(1, 16, 1, 1))

    def forward(self, feats):
        boxes, scores, anchors, strides = [], [], [], []
        for i, x in enumerate(feats):
            b, s = self.cv2[i](x), self.cv3[i](x)
            n, _, h, w = x.shape
            boxes.append(b.view(n, 64, h * w))
            scores.append(s.view(n, self.nc, h * w))
            ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32) + 0.5,
                                    torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij")
            anchors.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 0))
            strides.append(torch.full((1, h * w), float(self.strides[i])))
        box = torch.cat(boxes, 2)  # [n, 64, A]
        a = box.shape[2]
        dist = (box.view(-1, 4, 16, a).softmax(2) * self.bins.view(1, 1, 16, 1)).sum(2)  # [n, 4, A]
        anchor, stride = torch.cat(anchors, 1).unsqueeze(0), torch.cat(strides, 1).unsqueeze(0)
        lt, rb = dist[:, :2], dist[:, 2:]
        xy = (anchor - lt + anchor + rb) / 2 * stride
        wh = (lt + rb) * stride
        return torch.cat([xy, wh, torch.cat(scores, 2).sigmoid()], 1)  # [n, 4 + nc, A]


class YOLOv8n(nn.Module):
    def __init__(self, nc=80):
        super().__init__()
        self.b0, self.b1, self.b2 = Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), C2f(32, 32, 1, True)
        self.b3, self.b4 = Conv(32, 64, 3, 2), C2f(64, 64, 2, True)
        self.b5, self.b6 = Conv(64, 128, 3, 2), C2f(128, 128, 2, True)
        self.b7, self.b8, self.b9 = Conv(128, 256, 3, 2), C2f(256, 256, 1, True), SPPF(256, 256)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12, self.h15 = C2f(384, 128), C2f(192, 64)
        self.h16, self.h18 = Conv(64, 64, 3, 2), C2f(192, 128)
        self.h19, self.h21 = Conv(128, 128, 3, 2), C2f(384, 256)
        self.detect = Detect(nc, (64, 128, 256), (8, 16, 32))

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h12 = self.h12(torch.cat([self.up(p5), p4], 1))
        h15 = self.h15(torch.cat([self.up(h12), p3], 1))
        h18 = self.h18(torch.cat([self.h16(h15), h12], 1))
        h21 = self.h21(torch.cat([self.h19(h18), p5], 1))
        return self.detect([h15, h18, h21])


def build(path, calib, legacy=False):
    """calib: [N, 3, 640, 640] input tensors the statistics are taken from."""
    torch.manual_seed(0)
    model = YOLOv8n()
    calib = torch.from_numpy(calib)
    with torch.no_grad():
        # BatchNorm statistics from the calibration images (random convolutions alone shrink
        # the activations layer by layer to nothing), then random affine parameters
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None
                m.reset_running_stats()
                m.weight.uniform_(0.7, 1.3)
                m.bias.uniform_(-0.3, 0.3)
        model.train()
        model(calib)
        model.eval()
        for seq in model.detect.cv2:  # DFL logits with some spread
            seq[2].weight.mul_(4)
        # class biases such that on the calibration images each class's logit is above 0
        # (score 0.5) at 0.02% of the anchors of each level: a few dozen candidates
        seen = []
        hooks = [seq[2].register_forward_hook(lambda m, i, o: seen.append(o)) for seq in model.detect.cv3]
        model(calib)
        for h in hooks:
            h.remove()
        for seq, o in zip(model.detect.cv3, seen):
            q = torch.quantile(o.transpose(0, 1).flatten(1), 0.9998, dim=1)
            seq[2].bias.sub_(q)
    x = torch.zeros(1, 3, SIZE, SIZE)
    if legacy:  # TorchScript exporter: chunk() becomes Shape -> Gather -> ... -> Slice
        torch.onnx.export(model, (x,), path, input_names=["images"], output_names=["output0"], opset_version=17,
                          dynamo=False)
    else:
        torch.onnx.export(model, (x,), path, input_names=["images"], output_names=["output0"], opset_version=18,
                          dynamo=True, optimize=True, verbose=False)
    return model


def pattern(w, h, seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([127 + 100 * np.sin(x / r.uniform(8, 40) + r.uniform(0, 6)) * np.cos(y / r.uniform(8, 40)),
                    127 + 100 * np.cos((x + y) / r.uniform(10, 60)),
                    r.uniform(0, 255) + 0 * x], -1)
    for _ in range(12):  # rectangles, so there is something object-like
        x0, y0 = r.integers(0, w - 40), r.integers(0, h - 40)
        img[y0:y0 + r.integers(20, 200), x0:x0 + r.integers(20, 200)] = r.uniform(0, 255, 3)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def letterbox(img):
    """Images here fit the 640 canvas in one side and are no larger: only padding."""
    h, w = img.shape[:2]
    assert max(h, w) == SIZE
    canvas = np.full((SIZE, SIZE, 3), 114, np.uint8)
    top, left = (SIZE - h) // 2, (SIZE - w) // 2
    canvas[top:top + h, left:left + w] = img
    # as onyx scales (img.h): v * (1/255 in float32)
    return (canvas.astype(np.float32) * np.float32(1 / 255)).transpose(2, 0, 1)[None], left, top


def compare(pred, want):
    """onyx's detections for one image against the reference: counts, classes, scores, boxes."""
    box_diff = score_diff = 0.0
    ok = len(pred) == len(want)
    for g, (c, score, box) in zip(pred, want):
        gb = g["bbox"]
        ok &= g["class_id"] == c
        score_diff = max(score_diff, abs(g["score"] - score))
        box_diff = max(box_diff, *(abs(u - v) for u, v in zip((gb["cx"], gb["cy"], gb["w"], gb["h"]), box)))
    return ok and score_diff <= 1e-3 and box_diff <= 1e-3, score_diff, box_diff


def main(onyx, out, legacy=False):
    os.makedirs(out, exist_ok=True)
    images, inputs, pads = [], [], []
    for i, (w, h) in enumerate([(640, 480), (640, 640), (480, 640)]):
        p = os.path.join(out, f"img{i}.png")
        img = pattern(w, h, i)
        write_png(p, img)
        x, left, top = letterbox(img)
        images.append(p)
        inputs.append(x)
        pads.append((left, top, w, h))
    path = os.path.join(out, "yolov8n_random.onnx")
    model = build(path, np.concatenate(inputs), legacy)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    # the raw outputs as onyx computes them (decode + NMS are what is checked here), and how
    # far they are from onnxruntime's and torch's
    raws = []
    for i, x in enumerate(inputs):
        xin, raw_dir = os.path.join(out, f"x{i}.npy"), os.path.join(out, f"raw{i}")
        np.save(xin, x)
        r = subprocess.run([onyx, "run", path, "--input", xin, "--output-dir", raw_dir], capture_output=True, text=True)
        if r.returncode:
            print(f"FAIL onyx run: {r.stderr.strip()}")
            return 1
        raws.append(np.load(os.path.join(raw_dir, "output0.npy")))
        ort_raw = sess.run(None, {"images": x})[0]
        with torch.no_grad():
            torch_raw = model(torch.from_numpy(x)).numpy()
        print(f"raw output {raws[-1].shape} for img{i}: max |onyx - onnxruntime| {np.abs(raws[-1] - ort_raw).max():.2e}, "
              f"max |onnxruntime - torch| {np.abs(ort_raw - torch_raw).max():.2e} (values up to "
              f"{np.abs(ort_raw).max():.0f})")
    bad = 0
    for score_thr, iou_thr in [(0.5, 0.45), (0.25, 0.6)]:
        pred_path = os.path.join(out, f"predictions_{score_thr}.json")
        r = subprocess.run([onyx, "detect", "--model", path, "--image", *images, "--output", pred_path,
                            "--score-threshold", str(score_thr), "--iou", str(iou_thr),
                            "--draw", os.path.join(out, f"drawn_{score_thr}")], capture_output=True, text=True)
        if r.returncode:
            print(r.stderr)
            return 1
        with open(pred_path) as f:
            pred = json.load(f)["predictions"]
        for p, raw, (left, top, w, h) in zip(pred, raws, pads):
            want = []
            for (x1, y1, x2, y2), score, c in reference_detect(raw, score_thr, iou_thr, MAX_DET):
                x1, x2 = np.clip([x1 - left, x2 - left], 0, w)
                y1, y2 = np.clip([y1 - top, y2 - top], 0, h)
                want.append((c, score, ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)))
            ok, score_diff, box_diff = compare(p["detections"], want)
            bad += not ok
            print(f"{'ok' if ok else 'FAIL'} {os.path.basename(p['image'])} {w}x{h} score > {score_thr}, "
                  f"IoU {iou_thr}: onyx {len(p['detections'])} detections, reference {len(want)}; "
                  f"max |score diff| {score_diff:.2e}, max |box diff| {box_diff:.2e} px")
    return 1 if bad else 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--legacy-export"]
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(args[0], args[1], "--legacy-export" in sys.argv))
