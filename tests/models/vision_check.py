"""Checks the results of onyx's image commands against numpy references.

  vision_check.py classify MODELDIR NAME RESULTS.jsonl [--top K] [--mean R,G,B] [--std R,G,B]
                  [--labels FILE]
      RESULTS: onyx classify's output; each image is one colour (make_vision_models.py), so
      the expected logits are W @ ((rgb/255 - mean)/std) + b; softmax unless NAME's model
      ends in Softmax. Labels, ids and order must match; confidences within 1e-4.
  vision_check.py detect MODELDIR NAME PREDICTIONS.json SCHEMA [--size S]
                  [--score-threshold T] [--iou T] [--max-det N]
      decode + class-wise NMS + letterbox undo of NAME.raw.npy for each image listed; every
      number within 1e-3; the file must validate against SCHEMA.
  vision_check.py img2img MODELDIR NAME INPUT.png OUTPUT.png [--margin M]
      OUTPUT must equal the numpy result of model NAME on INPUT within one 8-bit level
      (pixels closer than M to the image's border are not compared).
  vision_check.py ort MODEL RESULTS.jsonl INPUTS_DIR [--expect STEM=ID[,ID...]]...
                  [--input-ref STEM=NPY]... [--input-tolerance T]
      RESULTS: `onyx classify --save-input INPUTS_DIR` output. onnxruntime on the tensor onyx
      fed the model (INPUTS_DIR/<stem>.npy) must rank the same top-K classes in the same
      order, with the same confidences within 1e-4 (its outputs as they are when they form a
      distribution, else their softmax, as onyx does). --expect: the image's top-1 must be
      one of the ids. --input-ref: the saved tensor must equal NPY within T (default 1/510).
  vision_check.py same A.png B.png [--margin M]
      two results agree within one 8-bit level away from the border.
  vision_check.py drawn DIR IMAGE...
      DIR/<stem>.png exists for each IMAGE, has its size, and has boxes drawn on it.
Prints what differs and exits 1 on failure."""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_png import read_png  # noqa: E402

IMAGENET_MEAN = "0.485,0.456,0.406"
IMAGENET_STD = "0.229,0.224,0.225"


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def floats(s):
    return np.array([float(v) for v in s.split(",")])


# ---- classify -----------------------------------------------------------------------------

def check_classify(a):
    p = np.load(os.path.join(a.dir, a.name + ".npz"))
    w, b, softmax = p["w"].astype(np.float64), p["b"].astype(np.float64), bool(p["softmax"])
    mean, std = floats(a.mean), floats(a.std)
    labels = None
    if a.labels:
        with open(a.labels) as f:
            labels = [line.rstrip("\n") for line in f]
    lines = [json.loads(line) for line in open(a.results) if line.strip()]
    if not lines:
        fail("no results")
    for r in lines:
        img = read_png(r["image"]).astype(np.float64)
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        rgb = img[0, 0, :3]
        if not (img[:, :, :3] == rgb).all():
            fail(f"{r['image']} is not one colour")
        x = (rgb / 255 - mean) / std
        logits = w @ x + b
        e = np.exp(logits - logits.max())
        probs = e / e.sum()  # the model's Softmax, or the one onyx applies to logits
        order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))[:a.top]
        got = r["top_k"]
        if [g["class_id"] for g in got] != order:
            fail(f"{r['image']}: classes {[g['class_id'] for g in got]}, expected {order}")
        for g in got:
            if abs(g["confidence"] - probs[g["class_id"]]) > 1e-4:
                fail(f"{r['image']}: class {g['class_id']} confidence {g['confidence']}, "
                     f"expected {probs[g['class_id']]:.6f}")
            want = labels[g["class_id"]] if labels is not None and g["class_id"] < len(labels) else None
            if g["label"] != want:
                fail(f"{r['image']}: class {g['class_id']} label {g['label']!r}, expected {want!r}")
        print(f"ok classify {a.name} {os.path.basename(r['image'])}: {order}"
              f"{' (already probabilities)' if softmax else ''}")


# ---- detect -------------------------------------------------------------------------------

def letterbox_geometry(w, h, size):
    r = min(size / w, size / h)
    nw, nh = max(1, min(size, round(w * r))), max(1, min(size, round(h * r)))
    return nw / w, nh / h, (size - nw) // 2, (size - nh) // 2


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    area = lambda q: max(q[2] - q[0], 0) * max(q[3] - q[1], 0)  # noqa: E731
    u = area(a) + area(b) - iw * ih
    return iw * ih / u if u > 0 else 0.0


def reference_detect(raw, thr, iou_thr, max_det):
    """[N, 5+C] (v5) or [4+C, N] (v8) -> boxes (x1, y1, x2, y2), scores, classes, best first."""
    raw = raw[0].astype(np.float64)
    if raw.shape[1] > raw.shape[0]:  # v8
        a = raw.T
        cls = a[:, 4:]
        best = cls.argmax(1)
        score = cls[np.arange(len(a)), best]
    else:
        a = raw
        cls = a[:, 5:]
        best = cls.argmax(1)
        score = a[:, 4] * cls[np.arange(len(a)), best]
    xyxy = np.stack([a[:, 0] - a[:, 2] / 2, a[:, 1] - a[:, 3] / 2, a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2], 1)
    cand = [i for i in np.lexsort((np.arange(len(a)), -score)) if score[i] > thr]
    kept = []
    for i in cand:
        if len(kept) == max_det:
            break
        if all(best[k] != best[i] or iou(xyxy[k], xyxy[i]) <= iou_thr for k in kept):
            kept.append(i)
    return [(xyxy[i], score[i], int(best[i])) for i in kept]


def check_detect(a):
    import jsonschema
    with open(a.schema) as f:
        schema = json.load(f)
    with open(a.results) as f:
        pred = json.load(f)
    try:
        jsonschema.validate(pred, schema)
    except jsonschema.ValidationError as e:
        fail(f"predictions do not follow the schema: {e.message}")
    meta = pred["meta"]
    if meta["image_size"] != a.size or abs(meta["score_threshold"] - a.score_threshold) > 1e-9:
        fail(f"meta {meta}")
    raw = np.load(os.path.join(a.dir, a.name + ".raw.npy"))
    ref = reference_detect(raw, a.score_threshold, a.iou, a.max_det)
    for p in pred["predictions"]:
        img = read_png(p["image"])
        h, w = img.shape[:2]
        sx, sy, ox, oy = letterbox_geometry(w, h, a.size)
        want = []
        for (x1, y1, x2, y2), score, c in ref:
            x1, x2 = np.clip([(x1 - ox) / sx, (x2 - ox) / sx], 0, w)
            y1, y2 = np.clip([(y1 - oy) / sy, (y2 - oy) / sy], 0, h)
            want.append((c, score, ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)))
        got = p["detections"]
        if len(got) != len(want):
            fail(f"{p['image']}: {len(got)} detections, expected {len(want)}")
        for k, (g, (c, score, box)) in enumerate(zip(got, want)):
            gb = g["bbox"]
            diff = max(abs(g["score"] - score), *(abs(u - v) for u, v in zip((gb["cx"], gb["cy"], gb["w"], gb["h"]), box)))
            if g["class_id"] != c or diff > 1e-3:
                fail(f"{p['image']} detection {k}: got {g}, expected class {c} score {score:.6f} box "
                     f"{tuple(round(v, 4) for v in box)}")
        print(f"ok detect {a.name} {os.path.basename(p['image'])}: {len(got)} detections")


# ---- img2img ------------------------------------------------------------------------------

def conv2d(x, w, b=None, group=1):
    """x [C, H, W], w [O, C/group, 3, 3], zero padding 1."""
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    o = w.shape[0]
    per_in, per_out = c // group, o // group
    y = np.zeros((o, h, wd))
    for oc in range(o):
        g = oc // per_out
        for ic in range(per_in):
            for dy in range(3):
                for dx in range(3):
                    y[oc] += w[oc, ic, dy, dx] * xp[g * per_in + ic, dy:dy + h, dx:dx + wd]
        if b is not None:
            y[oc] += b[oc]
    return y


def reference_img2img(model_dir, name, img):
    x = img.transpose(2, 0, 1).astype(np.float64) / 255
    if name in ("blur", "blur_fixed"):
        w = np.load(os.path.join(model_dir, name + ".npz"))["w"].astype(np.float64)
        return conv2d(x, w, group=3)
    if name == "sr2":
        p = np.load(os.path.join(model_dir, "sr2.npz"))
        s = 1 / (1 + np.exp(-conv2d(x, p["w"].astype(np.float64), p["b"].astype(np.float64))))
        c, h, w = s.shape  # DepthToSpace DCR: [b, b, C/4, H, W] -> [C/4, H, b, W, b]
        return s.reshape(2, 2, c // 4, h, w).transpose(2, 3, 0, 4, 1).reshape(c // 4, h * 2, w * 2)
    if name == "mask":
        return x.mean(0, keepdims=True)
    fail(f"no reference for {name}")


def compare(got, want, margin, what):
    if got.shape != want.shape:
        fail(f"{what}: shape {got.shape}, expected {want.shape}")
    h, w = got.shape[:2]
    g = got[margin:h - margin, margin:w - margin].astype(int)
    e = want[margin:h - margin, margin:w - margin].astype(int)
    d = np.abs(g - e)
    if d.max() > 1:
        y, x, c = np.unravel_index(d.argmax(), d.shape)
        fail(f"{what}: {int((d > 1).sum())} values differ by more than 1/255, e.g. at ({x + margin}, "
             f"{y + margin}) channel {c}: {g[y, x, c]} vs {e[y, x, c]}")
    print(f"ok {what}: max difference {d.max()}/255")


def check_img2img(a):
    img = read_png(a.input)[:, :, :3]
    want = reference_img2img(a.dir, a.name, img)
    want = np.round(np.clip(want, 0, 1) * 255).transpose(1, 2, 0)
    compare(read_png(a.output), want, a.margin, f"img2img {a.name} {os.path.basename(a.output)}")


def check_same(a):
    compare(read_png(a.a), read_png(a.b), a.margin, f"{os.path.basename(a.a)} vs {os.path.basename(a.b)}")


def check_drawn(a):
    for path in a.images:
        src = read_png(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        out = read_png(os.path.join(a.dir, stem + ".png"))
        if out.shape[:2] != src.shape[:2] or out.shape[2] != 3:
            fail(f"drawn {stem}.png is {out.shape}, the image {src.shape}")
        changed = (out.astype(int) != src[:, :, :3].astype(int)).any(2).mean()
        if not 0.005 < changed < 0.9:
            fail(f"drawn {stem}.png: {changed:.1%} of the pixels changed")
        print(f"ok drawn {stem}.png: {changed:.1%} of the pixels changed")


# ---- classify against onnxruntime on the same input ---------------------------------------

def confidences(scores):
    z = np.asarray(scores, np.float64).reshape(-1)
    if (z >= 0).all() and (z <= 1).all() and abs(z.sum() - 1) <= 1e-3:
        return z
    e = np.exp(z - z.max())
    return e / e.sum()


def check_ort(a):
    import onnxruntime as ort
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    expect = {k: {int(i) for i in v.split(",")} for k, v in (e.split("=", 1) for e in a.expect)}
    refs = dict(e.split("=", 1) for e in a.input_ref)
    lines = [json.loads(line) for line in open(a.results) if line.strip()]
    if not lines:
        fail("no results")
    for r in lines:
        stem = os.path.splitext(os.path.basename(r["image"]))[0]
        x = np.load(os.path.join(a.inputs, stem + ".npy"))
        if stem in refs:
            ref = np.load(refs.pop(stem))
            if x.shape != ref.shape or np.abs(x.astype(np.float64) - ref).max() > a.input_tolerance:
                fail(f"{stem}: onyx's input {x.shape} differs from {ref.shape} reference by "
                     f"{np.abs(x.astype(np.float64) - ref).max() if x.shape == ref.shape else 'shape'}")
        p = confidences(sess.run(None, {name: x})[0])
        got = [g["class_id"] for g in r["top_k"]]
        want = sorted(range(len(p)), key=lambda i: (-p[i], i))[:len(got)]
        if got != want:
            fail(f"{stem}: onyx top-{len(got)} {got}, onnxruntime {want}")
        for g in r["top_k"]:
            if abs(g["confidence"] - p[g["class_id"]]) > 1e-4:
                fail(f"{stem}: class {g['class_id']} confidence {g['confidence']}, onnxruntime {p[g['class_id']]:.6f}")
        if stem in expect and got[0] not in expect.pop(stem):
            fail(f"{stem}: top-1 is {r['top_k'][0]['label']} ({got[0]}), not one of {a.expect}")
        print(f"ok {stem}: " + ", ".join(f"{g['label']} ({g['class_id']}) {g['confidence']:.4f}" for g in r["top_k"]))
    if expect or refs:
        fail(f"no result for {sorted(set(expect) | set(refs))}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("classify")
    c.add_argument("dir"), c.add_argument("name"), c.add_argument("results")
    c.add_argument("--top", type=int, default=5)
    c.add_argument("--mean", default=IMAGENET_MEAN)
    c.add_argument("--std", default=IMAGENET_STD)
    c.add_argument("--labels")
    d = sub.add_parser("detect")
    d.add_argument("dir"), d.add_argument("name"), d.add_argument("results"), d.add_argument("schema")
    d.add_argument("--size", type=int, default=640)
    d.add_argument("--score-threshold", type=float, default=0.01)
    d.add_argument("--iou", type=float, default=0.45)
    d.add_argument("--max-det", type=int, default=300)
    i = sub.add_parser("img2img")
    i.add_argument("dir"), i.add_argument("name"), i.add_argument("input"), i.add_argument("output")
    i.add_argument("--margin", type=int, default=0)
    o = sub.add_parser("ort")
    o.add_argument("model"), o.add_argument("results"), o.add_argument("inputs")
    o.add_argument("--expect", action="append", default=[])
    o.add_argument("--input-ref", action="append", default=[])
    o.add_argument("--input-tolerance", type=float, default=1 / 510 + 1e-6)
    s = sub.add_parser("same")
    s.add_argument("a"), s.add_argument("b")
    s.add_argument("--margin", type=int, default=0)
    dr = sub.add_parser("drawn")
    dr.add_argument("dir"), dr.add_argument("images", nargs="+")
    a = ap.parse_args()
    {"classify": check_classify, "detect": check_detect, "img2img": check_img2img, "same": check_same,
     "drawn": check_drawn, "ort": check_ort}[a.cmd](a)


if __name__ == "__main__":
    main()
