"""Builds the models and images tests/vision_test.sh runs `onyx classify`, `onyx detect` and
`onyx img2img` on; tests/models/vision_check.py holds the numpy references.

Classifiers (GlobalAveragePool -> Gemm with fixed weights, so on a one-colour image the
logits are W @ ((rgb/255 - mean)/std) + b exactly):
  cls10       [1,3,H,W] (any size), 10 logits           (+ cls10.npz: W, b; cls10_labels.txt)
  cls1000     [1,3,H,W], 1000 logits (ImageNet labels from data/imagenet_labels.txt)
  cls_probs   [1,3,32,32] fixed, ends in Softmax (already probabilities)
  cls_nhwc    [1,24,24,3] fixed, channels last
Detectors with constant raw outputs (plus 0 * mean(input), so the input is used), in the
model's input pixels (64 x 64), saved as NAME.raw.npy:
  det_v5      [1,3,64,64] -> [1, 24, 5+3]   (YOLOv5: cx, cy, w, h, obj, 3 class scores)
  det_v8      [1,3,H,W]   -> [1, 4+3, 24]   (YOLOv8: cx, cy, w, h, 3 class scores)
Image-to-image:
  blur        [1,3,H,W] -> same: depthwise 3x3 [1 2 1]x[1 2 1]/16, zero padding
  blur_fixed  the same with a fixed [1,3,32,32] input
  sr2         [1,3,H,W] -> [1,3,2H,2W]: Conv 3x3 (3 -> 12) + Sigmoid + DepthToSpace(2)
  mask        [1,3,H,W] -> [1,1,H,W]: the channels' mean
Images (PNG): c1 40x30 RGB, c2 30x50 RGB, g1 20x20 gray (one colour each, for the
classifiers); d1 64x48, d2 40x80, d3 100x100, d4 50x20 (detector, arbitrary content);
p1 70x50 RGB and p2 20x20 RGB (smooth patterns, for img2img).
usage: make_vision_models.py OUTDIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_png import write_png  # noqa: E402

rng = np.random.default_rng(20240611)


def save(graph, path, opset=17):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="onyx-vision-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def image_input(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def classifier(out, name, k, dims, softmax=False, nhwc=False):
    w = (rng.standard_normal((k, 3)) * 2).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    nodes, src = [], "x"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]))
        src = "xt"
    nodes += [
        helper.make_node("GlobalAveragePool", [src], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], transB=1),
    ]
    result = "logits"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
        result = "probs"
    g = helper.make_graph(nodes, name, [image_input("x", dims)],
                          [helper.make_tensor_value_info(result, TensorProto.FLOAT, [1, k])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(g, os.path.join(out, name + ".onnx"))
    np.savez(os.path.join(out, name + ".npz"), w=w, b=b, softmax=softmax)


def iou(a, b):
    ax1, ay1, ax2, ay2 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx1, by1, bx2, by2 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    iw, ih = min(ax2, bx2) - max(ax1, bx1), min(ay2, by2) - max(ay1, by1)
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def detections(n=24, c=3):
    """Boxes in clusters (so NMS has work), some sticking out of the 64x64 input, some in
    the letterbox padding; no pair's IoU within 0.03 of the thresholds the test uses."""
    while True:
        centres = [(20, 20, 16, 16), (45, 40, 20, 12), (60, 4, 12, 10), (8, 58, 14, 14), (32, 2, 8, 4)]
        boxes = []
        for i in range(n):
            cx, cy, w, h = centres[i % len(centres)]
            j = rng.uniform(-2.5, 2.5, 4)
            boxes.append([cx + j[0], cy + j[1], max(1.0, w + j[2]), max(1.0, h + j[3])])
        boxes = np.array(boxes)
        ok = all(abs(iou(boxes[i], boxes[k]) - t) > 0.03
                 for i in range(n) for k in range(i) for t in (0.45, 0.6))
        if ok:
            break
    obj = rng.uniform(0.05, 1.0, n)
    cls = rng.uniform(0.0, 1.0, (n, c))
    cls[rng.random(n) < 0.25] *= 0.005  # some anchors score below 0.01
    return boxes.astype(np.float32), obj.astype(np.float32), cls.astype(np.float32)


def constant_model(out, name, raw, dims):
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["raw", "z"], ["output0"]),
    ]
    g = helper.make_graph(nodes, name, [image_input("x", dims)],
                          [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(raw.shape))],
                          [numpy_helper.from_array(raw, "raw"),
                           numpy_helper.from_array(np.array(0, np.float32), "zero")])
    save(g, os.path.join(out, name + ".onnx"))
    np.save(os.path.join(out, name + ".raw.npy"), raw)


def blur(out, name, dims):
    k = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16
    w = np.repeat(k[None, None], 3, axis=0)  # [3, 1, 3, 3]
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], group=3, pads=[1, 1, 1, 1])], name,
        [image_input("x", dims)], [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)],
        [numpy_helper.from_array(w, "w")])
    save(g, os.path.join(out, name + ".onnx"))
    np.savez(os.path.join(out, name + ".npz"), w=w)


def sr2(out):
    w = (rng.standard_normal((12, 3, 3, 3)) * 0.4).astype(np.float32)
    b = (rng.standard_normal(12) * 0.2).astype(np.float32)
    g = helper.make_graph([
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["s"]),
        helper.make_node("DepthToSpace", ["s"], ["y"], blocksize=2, mode="DCR"),
    ], "sr2", [image_input("x", [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "H2", "W2"])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(g, os.path.join(out, "sr2.onnx"))
    np.savez(os.path.join(out, "sr2.npz"), w=w, b=b)


def mask(out):
    g = helper.make_graph([helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)], "mask",
                          [image_input("x", [1, 3, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "H", "W"])],
                          [numpy_helper.from_array(np.array([1], np.int64), "axes")])
    save(g, os.path.join(out, "mask.onnx"), opset=18)  # axes as an input


def pattern(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127.5 + 120 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 127.5 + 120 * np.cos((x + y) / 9.0)
    b = np.clip(255 * x / w + rng.uniform(-20, 20, (h, w)), 0, 255)
    return np.stack([r, g, b], -1).round().astype(np.uint8)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    classifier(out, "cls10", 10, [1, 3, "H", "W"])
    classifier(out, "cls1000", 1000, [1, 3, "H", "W"])
    classifier(out, "cls_probs", 10, [1, 3, 32, 32], softmax=True)
    classifier(out, "cls_nhwc", 10, [1, 24, 24, 3], nhwc=True)
    with open(os.path.join(out, "cls10_labels.txt"), "w") as f:
        f.write("".join(f"thing {i}\n" for i in range(10)))
    write_png(os.path.join(out, "c1.png"), np.full((30, 40, 3), (200, 30, 90), np.uint8))
    write_png(os.path.join(out, "c2.png"), np.full((50, 30, 3), (10, 240, 120), np.uint8))
    write_png(os.path.join(out, "g1.png"), np.full((20, 20), 128, np.uint8))

    boxes, obj, cls = detections()
    constant_model(out, "det_v5", np.concatenate([boxes, obj[:, None], cls], 1)[None], [1, 3, 64, 64])
    boxes, obj, cls = detections()
    constant_model(out, "det_v8", np.concatenate([boxes, cls], 1).T[None].copy(), [1, 3, "H", "W"])
    for name, (w, h) in {"d1": (64, 48), "d2": (40, 80), "d3": (100, 100), "d4": (50, 20)}.items():
        write_png(os.path.join(out, name + ".png"), pattern(w, h))

    blur(out, "blur", [1, 3, "H", "W"])
    blur(out, "blur_fixed", [1, 3, 32, 32])
    sr2(out)
    mask(out)
    write_png(os.path.join(out, "p1.png"), pattern(70, 50))
    write_png(os.path.join(out, "p2.png"), pattern(20, 20))
    print(f"wrote vision test models and images to {out}")


if __name__ == "__main__":
    main()
