"""Writes extra RNN / GRU / LSTM test cases, in the ONNX node-test layout (NAME/model.onnx,
NAME/test_data_set_0/input_K.pb, output_K.pb), with expected outputs from onnxruntime.

The official node tests cover few of the combinations that matter: bidirectional runs with
per-batch sequence_lens (including empty sequences), layout 1, reverse, initial states,
peepholes, input_forget, linear_before_reset, clip, the optional activations, omitted
optional inputs and outputs, older opsets (opsets 1 and 3 against onnxruntime's opset 7,
which computes the same), double and float16.

onnxruntime's CPU kernels take float only, so the float16 and double cases are computed by
onnxruntime in float from the rounded inputs, and the result is converted to the case's
dtype. Nor do they take layout 1: those cases swap batch and time around a layout-0
reference. Activation parameters are always given explicitly for the functions whose
defaults onnxruntime does not take from the ONNX operators (see ops/rnn.c).
usage: make_rnn_cases.py OUTDIR      then: onyx check OUTDIR/*"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(2024)
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
IN_NAMES = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]


def make_inputs(op, seq, batch, inp, hid, dirs, layout, want, dtype, lens=None):
    g = GATES[op]
    x_shape = (batch, seq, inp) if layout else (seq, batch, inp)
    st_shape = (batch, dirs, hid) if layout else (dirs, batch, hid)
    vals = {
        "X": rng.standard_normal(x_shape),
        "W": rng.standard_normal((dirs, g * hid, inp)) * 0.5,
        "R": rng.standard_normal((dirs, g * hid, hid)) * 0.5,
        "B": rng.standard_normal((dirs, 2 * g * hid)) * 0.3,
        "initial_h": rng.standard_normal(st_shape) * 0.5,
        "initial_c": rng.standard_normal(st_shape) * 0.5,
        "P": rng.standard_normal((dirs, 3 * hid)) * 0.5,
    }
    feeds = {}
    for name in want:
        if name == "sequence_lens":
            feeds[name] = np.asarray(lens, np.int32)
        else:
            feeds[name] = vals[name].astype(dtype)
    return feeds


def model(op, attrs, feeds, outs, opset, elem):
    ins = [n if n in feeds else "" for n in IN_NAMES[: 8 if op == "LSTM" else 6]]
    while ins and ins[-1] == "":
        ins.pop()
    node = helper.make_node(op, ins, outs, name="rnn", **attrs)
    graph_in = [helper.make_tensor_value_info(
        n, TensorProto.INT32 if n == "sequence_lens" else elem, feeds[n].shape) for n in ins if n]
    graph_out = [helper.make_tensor_value_info(n, elem, None) for n in outs if n]
    graph = helper.make_graph([node], "g", graph_in, graph_out)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def write_case(outdir, name, m, feeds, results):
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    ins = [i.name for i in m.graph.input]
    for k, n in enumerate(ins):
        with open(os.path.join(d, "test_data_set_0", f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(feeds[n], n).SerializeToString())
    for k, (o, v) in enumerate(zip(m.graph.output, results)):
        with open(os.path.join(d, "test_data_set_0", f"output_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, o.name).SerializeToString())


def case(outdir, name, op, *, seq=4, batch=3, inp=3, hid=4, direction="forward", layout=0,
         lens=None, inputs=("B", "initial_h"), outs=("Y", "Y_h", "Y_c"), opset=22,
         dtype=np.float32, extra=None, **attrs):
    """One case; `extra` holds attributes of the written model only (opset 1's
    output_sequence, which onnxruntime's opset-7 reference would refuse)."""
    dirs = 2 if direction == "bidirectional" else 1
    want = ["X", "W", "R"] + list(inputs) + (["sequence_lens"] if lens is not None else [])
    outs = [o if o in outs else "" for o in (["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"])]
    while outs and outs[-1] == "":
        outs.pop()
    attrs = dict(attrs, hidden_size=hid)
    if direction != "forward":
        attrs["direction"] = direction
    if layout:
        attrs["layout"] = layout
    # The reference runs in float32 where onnxruntime has no kernel for the dtype.
    half = dtype != np.float32
    feeds = make_inputs(op, seq, batch, inp, hid, dirs, layout, want, dtype, lens)
    ref_feeds = {k: (v.astype(np.float32) if half and k != "sequence_lens" else v)
                 for k, v in feeds.items()}
    ref_attrs = dict(attrs)
    if layout:  # onnxruntime's CPU kernels run layout 0 only: swap batch and time around it
        del ref_attrs["layout"]
        ref_feeds = {k: (np.swapaxes(v, 0, 1) if k in ("X", "initial_h", "initial_c") else v)
                     for k, v in ref_feeds.items()}
    ref_elem = helper.np_dtype_to_tensor_dtype(np.dtype(np.float32 if half else dtype))
    # onnxruntime implements these ops from opset 7; the older versions compute the same
    ref = model(op, ref_attrs, ref_feeds, outs, max(opset, 7), ref_elem)
    sess = ort.InferenceSession(ref.SerializeToString(), providers=["CPUExecutionProvider"])
    results = sess.run(None, {i.name: ref_feeds[i.name] for i in ref.graph.input})
    if layout:
        results = [np.transpose(r, (2, 0, 1, 3)) if r.ndim == 4 else np.swapaxes(r, 0, 1)
                   for r in results]
    if half:
        results = [r.astype(dtype) for r in results]
    m = model(op, dict(attrs, **(extra or {})), feeds, outs, opset,
              helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    write_case(outdir, name, m, feeds, results)


def main(outdir):
    all_in = ("B", "initial_h", "initial_c")
    for op in ("RNN", "GRU", "LSTM"):
        p = op.lower()
        st = all_in if op == "LSTM" else ("B", "initial_h")
        # bidirectional x sequence_lens x layout, every output
        for layout in (0, 1):
            case(outdir, f"rnnx_{p}_bidir_lens_layout{layout}", op, direction="bidirectional",
                 layout=layout, lens=[4, 2, 3], inputs=st)
            case(outdir, f"rnnx_{p}_reverse_lens_layout{layout}", op, direction="reverse",
                 layout=layout, lens=[1, 4, 3], inputs=st)
        case(outdir, f"rnnx_{p}_bidir_empty_seq", op, direction="bidirectional", lens=[3, 0, 4],
             inputs=st)
        case(outdir, f"rnnx_{p}_forward_lens_no_bias", op, lens=[2, 4, 1], inputs=("initial_h",))
        case(outdir, f"rnnx_{p}_only_yh", op, direction="bidirectional", lens=[4, 3, 2],
             outs=("Y_h",), inputs=st)
        case(outdir, f"rnnx_{p}_only_y_batch1", op, batch=1, seq=5, outs=("Y",), inputs=())
        case(outdir, f"rnnx_{p}_clip", op, direction="bidirectional", clip=0.4, inputs=st)
        case(outdir, f"rnnx_{p}_opset7", op, direction="bidirectional", opset=7, lens=[4, 1, 3],
             inputs=st)
        case(outdir, f"rnnx_{p}_opset1", op, direction="reverse", opset=1, lens=[4, 2, 3],
             inputs=st, extra=dict(output_sequence=1))
        case(outdir, f"rnnx_{p}_opset14_layout1", op, direction="bidirectional", opset=14,
             layout=1, lens=[2, 4, 4], inputs=st)
        case(outdir, f"rnnx_{p}_float16", op, direction="bidirectional", lens=[4, 2, 3],
             inputs=st, dtype=np.float16)
        if op != "RNN":
            case(outdir, f"rnnx_{p}_double", op, direction="bidirectional", layout=1,
                 lens=[3, 4, 1], inputs=st, dtype=np.float64)
    # the optional activations, with explicit parameters
    acts = [("Relu", [], []), ("Affine", [0.7], [0.2]), ("LeakyRelu", [0.2], []),
            ("ThresholdedRelu", [0.1], []), ("ScaledTanh", [1.5], [0.6]),
            ("HardSigmoid", [0.3], [0.4]), ("Elu", [0.8], []), ("Softsign", [], []),
            ("Softplus", [], []), ("Sigmoid", [], []), ("Tanh", [], [])]
    for name, al, be in acts:
        kw = dict(activations=[name, "Tanh"])
        if al:
            kw["activation_alpha"] = al
        if be:
            kw["activation_beta"] = be
        case(outdir, f"rnnx_rnn_act_{name.lower()}", "RNN", direction="bidirectional",
             lens=[4, 2, 3], **kw)
    case(outdir, "rnnx_gru_acts", "GRU", direction="bidirectional",
         activations=["HardSigmoid", "Softsign", "Sigmoid", "LeakyRelu"],
         activation_alpha=[0.25, 0.05], activation_beta=[0.45])
    case(outdir, "rnnx_lstm_acts", "LSTM", direction="bidirectional", inputs=all_in,
         activations=["HardSigmoid", "Elu", "ScaledTanh", "Sigmoid", "Tanh", "Affine"],
         activation_alpha=[0.25, 0.9, 1.2, 0.8], activation_beta=[0.45, 0.7, 0.1])
    # cell options
    for lbr in (0, 1):
        case(outdir, f"rnnx_gru_lbr{lbr}_bidir_lens_layout1", "GRU", direction="bidirectional",
             layout=1, lens=[4, 2, 0], linear_before_reset=lbr)
        case(outdir, f"rnnx_gru_lbr{lbr}_clip", "GRU", direction="reverse", clip=0.5,
             linear_before_reset=lbr)
    case(outdir, "rnnx_gru_opset3_lbr1", "GRU", direction="bidirectional", opset=3,
         lens=[2, 4, 3], linear_before_reset=1)
    case(outdir, "rnnx_lstm_peephole_bidir_lens_layout1", "LSTM", direction="bidirectional",
         layout=1, lens=[3, 4, 1], inputs=all_in + ("P",))
    case(outdir, "rnnx_lstm_peephole_no_init", "LSTM", direction="reverse", lens=[3, 4, 2],
         inputs=("B", "P"))
    case(outdir, "rnnx_lstm_input_forget", "LSTM", direction="bidirectional", input_forget=1,
         lens=[4, 3, 2], inputs=all_in + ("P",))
    case(outdir, "rnnx_lstm_only_yc", "LSTM", direction="bidirectional", lens=[2, 4, 3],
         outs=("Y_c",), inputs=all_in)
    case(outdir, "rnnx_lstm_big", "LSTM", seq=7, batch=5, inp=16, hid=33,
         direction="bidirectional", lens=[7, 3, 5, 1, 6], inputs=all_in + ("P",))
    case(outdir, "rnnx_gru_big", "GRU", seq=6, batch=200, inp=4, hid=8, lens=[6, 3] * 100,
         direction="bidirectional")


if __name__ == "__main__":
    main(sys.argv[1])
