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
FUNCTIONS = {}  # model name -> model-local functions


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


def local_function():
    """A model-local function with an attribute reference, called twice with different values."""
    alpha = helper.make_node("Constant", [], ["a"])
    ref = helper.make_attribute_ref("value_float", onnx.AttributeProto.FLOAT)
    ref.ref_attr_name = "alpha"
    alpha.attribute.append(ref)
    fn = helper.make_function(
        "onyx.test", "ScaledRelu", ["X"], ["Y"],
        [alpha,
         helper.make_node("Relu", ["X"], ["r"]),
         helper.make_node("Mul", ["r", "a"], ["Y"])],
        opset_imports=[helper.make_opsetid("", 13)], attributes=["alpha"])
    nodes = [helper.make_node("ScaledRelu", ["x"], ["h"], domain="onyx.test", alpha=2.0),
             helper.make_node("ScaledRelu", ["h"], ["y"], domain="onyx.test", alpha=-0.5)]
    graph = helper.make_graph(nodes, "fn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5])])
    FUNCTIONS["local_function"] = [fn]
    return graph, [rand(3, 5)], 13


def storage_forms():
    """Initializers in typed fields (float_data, int64_data, double_data, int32_data for
    float16) and a sparse initializer, all summed into one output."""
    f16 = np.array([0.5, -1.25, 3.0], np.float16)
    inits = [helper.make_tensor("f32", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0]),
             helper.make_tensor("i64", TensorProto.INT64, [3], [4, -5, 6]),
             helper.make_tensor("f64", TensorProto.DOUBLE, [3], [0.25, 0.5, 0.75]),
             helper.make_tensor("f16", TensorProto.FLOAT16, [3], f16.view(np.uint16).astype(np.int32).tolist(), raw=False)]
    sparse = helper.make_sparse_tensor(helper.make_tensor("sp", TensorProto.FLOAT, [2], [7.0, 9.0]),
                                       helper.make_tensor("si", TensorProto.INT64, [2], [0, 2]), [3])
    nodes = [helper.make_node("Cast", ["i64"], ["i64f"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["f64"], ["f64f"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["f16"], ["f16f"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "f32"], ["a"]), helper.make_node("Add", ["a", "i64f"], ["b"]),
             helper.make_node("Add", ["b", "f64f"], ["c"]), helper.make_node("Add", ["c", "f16f"], ["d"]),
             helper.make_node("Add", ["d", "sp"], ["y"])]
    graph = helper.make_graph(nodes, "storage", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], inits,
                              sparse_initializer=[sparse])
    return graph, [rand(2, 3)], 13


def external_data():
    """Weights in a file beside the model (location/offset/length)."""
    inits = [const("w", rand(32, 16)), const("b", rand(16))]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])]
    graph = helper.make_graph(nodes, "ext", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])], inits)
    return graph, [rand(4, 32)], 13


def write_hostile_external(model, path):
    """NAME.escape.bad.onnx points outside the model's folder; NAME.past_end.bad.onnx reads
    past the end of its weights file. onyx must refuse both with a clear message."""
    onnx.load_external_data_for_model(model, os.path.dirname(path))
    for tag, edit in (("escape", {"location": "../external_data.weights"}),
                      ("past_end", {"location": "external_data.weights", "offset": "1000000"})):
        m = onnx.ModelProto()
        m.CopyFrom(model)
        for t in m.graph.initializer:
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            del t.external_data[:]
            for k, v in edit.items():
                t.external_data.add(key=k, value=v)
        onnx.save(m, f"{path}.{tag}.bad.onnx")


def main(out):
    os.makedirs(out, exist_ok=True)
    for build in (cnn, dynamic_reshape, residual, local_function, storage_forms, external_data):
        graph, inputs, opset = build()
        functions = FUNCTIONS.get(build.__name__, [])
        opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(f.domain, 1) for f in functions]
        model = helper.make_model(graph, opset_imports=opsets, ir_version=8, functions=functions)
        onnx.checker.check_model(model)
        path = os.path.join(out, build.__name__)
        if build is external_data:
            onnx.save(model, path + ".onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                      location="external_data.weights", size_threshold=0)
        else:
            onnx.save(model, path + ".onnx")
        for k, arr in enumerate(inputs):
            np.save(f"{path}.input_{k}.npy", arr)
        if build is external_data:
            write_hostile_external(model, path)
        sess = ort.InferenceSession(path + ".onnx", providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        feeds = {i.name: a for i, a in zip(sess.get_inputs(), inputs)}
        np.savez(path + ".expected.npz", **dict(zip(names, sess.run(None, feeds))))
    print("models written to", out)


if __name__ == "__main__":
    main(sys.argv[1])
