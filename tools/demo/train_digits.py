#!/usr/bin/env python3
"""Train onyx's bundled demo model: a tiny CNN for scikit-learn's 8x8 digits.

Usage: train_digits.py OUTDIR

Pure numpy (forward and backward written out by hand), deterministic, a few
seconds on a laptop. Writes to OUTDIR:

    digits.onnx              the model (opset 13, IR 7): image[N,1,8,8] -> probabilities[N,10]
    digit_input.npy          first test image, float32 [1,1,8,8]
    digit_input_label.txt    its true label
    accuracy.txt             test accuracy measured with onnxruntime on digits.onnx

Architecture: Conv(1->8, 3x3, pad 1) -> Relu -> MaxPool(2x2, s2) -> Flatten
-> Gemm(128->32) -> Relu -> Gemm(32->10) -> Softmax(axis=1).
"""

from __future__ import annotations

import os

# Single-threaded BLAS: the matrices are tiny, and a fixed summation order
# keeps training bit-for-bit reproducible. Must be set before numpy loads.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

SEED = 20240601
TEST_FRACTION = 0.2
EPOCHS = 40
BATCH = 32
LR = 3e-3
CONV_CH = 8
HIDDEN = 32


# ---------------------------------------------------------------- data

def load_split(rng: np.random.Generator):
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # [N,1,8,8], pixels 0..16
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(x))
    n_test = int(np.ceil(TEST_FRACTION * len(x)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


# ---------------------------------------------------------------- model

def init_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    flat = CONV_CH * 4 * 4
    return {
        "conv_w": he((CONV_CH, 1, 3, 3), 9),
        "conv_b": np.zeros(CONV_CH, np.float32),
        "fc1_w": he((HIDDEN, flat), flat),  # stored [out,in]: Gemm with transB=1
        "fc1_b": np.zeros(HIDDEN, np.float32),
        "fc2_w": he((10, HIDDEN), HIDDEN),
        "fc2_b": np.zeros(10, np.float32),
    }


def im2col(x: np.ndarray) -> np.ndarray:
    """[N,1,8,8] -> [N,64,9]: every 3x3 neighbourhood (zero padded) of every pixel."""
    n = x.shape[0]
    xp = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    cols = [xp[:, dy:dy + 8, dx:dx + 8] for dy in range(3) for dx in range(3)]
    return np.stack(cols, axis=-1).reshape(n, 64, 9)


def forward(p: dict[str, np.ndarray], x: np.ndarray):
    """Returns logits and the intermediates backward() needs."""
    n = x.shape[0]
    cols = im2col(x)                                                  # [N,64,9]
    conv = cols @ p["conv_w"].reshape(CONV_CH, 9).T + p["conv_b"]     # [N,64,C]
    conv = conv.transpose(0, 2, 1).reshape(n, CONV_CH, 8, 8)          # NCHW
    relu1 = np.maximum(conv, 0)
    # 2x2/2 max pool: view each window as 4 values and take the argmax, which
    # also tells backward where to route the gradient.
    win = relu1.reshape(n, CONV_CH, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, CONV_CH, 4, 4, 4)
    arg = win.argmax(axis=-1)
    pool = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]   # [N,C,4,4]
    flat = pool.reshape(n, -1)                                        # Flatten (C-order, as ONNX)
    h = flat @ p["fc1_w"].T + p["fc1_b"]
    relu2 = np.maximum(h, 0)
    logits = relu2 @ p["fc2_w"].T + p["fc2_b"]
    return logits, (cols, conv, arg, flat, h, relu2)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def backward(p, cache, probs: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of mean cross-entropy w.r.t. every parameter."""
    cols, conv, arg, flat, h, relu2 = cache
    n = probs.shape[0]
    g = {}
    d_logits = probs.copy()
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    g["fc2_w"] = d_logits.T @ relu2
    g["fc2_b"] = d_logits.sum(0)
    d_h = (d_logits @ p["fc2_w"]) * (h > 0)
    g["fc1_w"] = d_h.T @ flat
    g["fc1_b"] = d_h.sum(0)
    d_pool = (d_h @ p["fc1_w"]).reshape(n, CONV_CH, 4, 4)
    # Un-pool: put each gradient back at its window's argmax, undo the window view.
    d_win = np.zeros((n, CONV_CH, 4, 4, 4), d_pool.dtype)
    np.put_along_axis(d_win, arg[..., None], d_pool[..., None], axis=-1)
    d_relu1 = d_win.reshape(n, CONV_CH, 4, 4, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, CONV_CH, 8, 8)
    d_conv = (d_relu1 * (conv > 0)).reshape(n, CONV_CH, 64).transpose(0, 2, 1)  # [N,64,C]
    g["conv_w"] = np.einsum("npc,npk->ck", d_conv, cols).reshape(CONV_CH, 1, 3, 3)
    g["conv_b"] = d_conv.sum((0, 1))
    return g


def predict_proba(p, x: np.ndarray) -> np.ndarray:
    return softmax(forward(p, x)[0])


def train(p, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
    """Adam on mini-batches, in place."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    step = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x))
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            logits, cache = forward(p, x[idx])
            grads = backward(p, cache, softmax(logits), y[idx])
            step += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * grads[k]
                v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
                m_hat = m[k] / (1 - b1 ** step)
                v_hat = v[k] / (1 - b2 ** step)
                p[k] = (p[k] - LR * m_hat / (np.sqrt(v_hat) + eps)).astype(np.float32)
        if (epoch + 1) % 10 == 0:
            probs = predict_proba(p, x)
            loss = -np.log(probs[np.arange(len(y)), y] + 1e-12).mean()
            print(f"epoch {epoch + 1:3d}  train loss {loss:.4f}  "
                  f"train acc {(probs.argmax(1) == y).mean():.4f}")


# ---------------------------------------------------------------- export

def export(p: dict[str, np.ndarray]) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["conv"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv"], ["conv_relu"]),
        helper.make_node("MaxPool", ["conv_relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc1_w", "fc1_b"], ["fc1"], transB=1),
        helper.make_node("Relu", ["fc1"], ["fc1_relu"]),
        helper.make_node("Gemm", ["fc1_relu", "fc2_w", "fc2_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=[numpy_helper.from_array(v, k) for k, v in p.items()],
    )
    model = helper.make_model(
        graph,
        producer_name="onyx-train_digits",
        opset_imports=[helper.make_operatorsetid("", 13)],
        ir_version=7,  # old enough for older runtimes to load
        doc_string="8x8 digit classifier (sklearn digits, pixels/16); output: class probabilities",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


# ---------------------------------------------------------------- main

def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} OUTDIR", file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    start = time.monotonic()

    rng = np.random.default_rng(SEED)
    x_train, y_train, x_test, y_test = load_split(rng)
    params = init_params(rng)
    train(params, x_train, y_train, rng)
    np_probs = predict_proba(params, x_test)
    np_pred = np_probs.argmax(1)

    model = export(params)
    model_path = os.path.join(outdir, "digits.onnx")
    onnx.save_model(model, model_path)
    size = os.path.getsize(model_path)
    assert size < 1 << 20, f"model is {size} bytes"

    # The accuracy we publish is measured on the exported file, by an
    # independent runtime, and must agree with the numpy model exactly.
    import onnxruntime as ort

    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ort_probs = sess.run(["probabilities"], {"image": x_test})[0]
    ort_pred = ort_probs.argmax(1)
    assert np.array_equal(ort_pred, np_pred), "onnxruntime and numpy predictions differ"
    np.testing.assert_allclose(ort_probs, np_probs, atol=1e-5)
    accuracy = float((ort_pred == y_test).mean())

    np.save(os.path.join(outdir, "digit_input.npy"), x_test[:1])
    with open(os.path.join(outdir, "digit_input_label.txt"), "w") as f:
        f.write(f"{y_test[0]}\n")
    line = f"test_accuracy={accuracy:.4f} n_test={len(y_test)} seed={SEED}"
    with open(os.path.join(outdir, "accuracy.txt"), "w") as f:
        f.write(line + "\n")
    print(f"{line}  (model {size} bytes, {time.monotonic() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
