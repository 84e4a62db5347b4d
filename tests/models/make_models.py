"""Builds small test models with onnx.helper, runs them with onnxruntime and writes, per model:
NAME.onnx, NAME.input_K.npy (graph-input order) and NAME.expected.npz (outputs by name).

The models exercise what the CLI tests check end to end: a CNN block with BatchNorm, pooling
and Gemm; a dynamic-batch shape chain (Shape -> Gather -> Unsqueeze -> Concat -> Reshape);
views feeding outputs; residual branches; output names that need sanitising.
usage: make_models.py OUTDIR"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(1234)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def cnn():
    inits = [
        const("w1", rand(8, 3, 3, 3) * 0.3), const("b1", rand(8)),
        const("scale", rng.uniform(0.5, 1.5, 8).astype(np.float32)), const("bias", rand(8)),
        const("mean", rand(8) * 0.1), const("var", rng.uniform(0.5, 2, 8).astype(np.float32)),
        const("w2", rand(16, 8, 1, 1) * 0.3),
        const("wf", rand(10, 16) * 0.3), const("bf", rand(10)),
        const("lo", np.array(0, np.float32)), const("hi", np.array(6, np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "scale", "bias", "mean", "var"], ["bn"], epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"]),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
        helper.make_node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 16, 16])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [2, 10])], inits)
    return graph, [rand(2, 3, 16, 16)], 13


def dynamic_reshape():
    inits = [const("zero", np.array([0], np.int64)), const("minus1", np.array([-1], np.int64)),
             const("w", rand(24, 5)), const("b", rand(5)), const("axes", np.array([1], np.int64)), const("last", np.array([2], np.int64)),
             const("starts", np.array([1], np.int64)), const("ends", np.array([4], np.int64))]
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Concat", ["batch", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["lin"]),
        helper.make_node("Sigmoid", ["lin"], ["sig"]),
        helper.make_node("Unsqueeze", ["sig", "axes"], ["u"]),
        helper.make_node("Transpose", ["u"], ["t"], perm=[2, 0, 1]),
        helper.make_node("Squeeze", ["t", "last"], ["sq"]),
        helper.make_node("Slice", ["sq", "starts", "ends", "zero"], ["sl"]),
        helper.make_node("Identity", ["x"], ["x_copy"]),
    ]
    graph = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 6])],
                              [helper.make_tensor_value_info("sl", TensorProto.FLOAT, [3, "N"]),
                               helper.make_tensor_value_info("x_copy", TensorProto.FLOAT, ["N", 4, 6])], inits)
    return graph, [rand(3, 4, 6)], 13


def residual():
    inits = [const("w", rand(16, 16) * 0.2), const("two", np.array(2.0, np.float32))]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("Tanh", ["a"], ["a1"]),
        helper.make_node("MatMul", ["a1", "w"], ["b"]),
        helper.make_node("Relu", ["b"], ["b1"]),
        helper.make_node("Add", ["x", "b1"], ["res"]),
        helper.make_node("Mul", ["res", "two"], ["out/weird:0"]),
        helper.make_node("Div", ["res", "x"], ["ratio"]),
        helper.make_node("Cast", ["res"], ["res_i"], to=TensorProto.INT64),
        helper.make_node("Sub", ["res_i", "res_i"], ["zeros_i"]),
    ]
    graph = helper.make_graph(nodes, "residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
                              [helper.make_tensor_value_info(n, t, [4, 16]) for n, t in
                               [("out/weird:0", TensorProto.FLOAT), ("ratio", TensorProto.FLOAT),
                                ("zeros_i", TensorProto.INT64), ("res_i", TensorProto.INT64)]], inits)
    return graph, [rand(4, 16) + 3.0], 13


def main(out):
    os.makedirs(out, exist_ok=True)
    for build in (cnn, dynamic_reshape, residual):
        graph, inputs, opset = build()
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
        onnx.checker.check_model(model)
        path = os.path.join(out, build.__name__)
        onnx.save(model, path + ".onnx")
        for k, arr in enumerate(inputs):
            np.save(f"{path}.input_{k}.npy", arr)
        sess = ort.InferenceSession(path + ".onnx", providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        feeds = {i.name: a for i, a in zip(sess.get_inputs(), inputs)}
        np.savez(path + ".expected.npz", **dict(zip(names, sess.run(None, feeds))))
    print("models written to", out)


if __name__ == "__main__":
    main(sys.argv[1])
