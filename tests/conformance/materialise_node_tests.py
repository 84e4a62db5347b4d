#!/usr/bin/env python3
"""Write ONNX's node conformance tests to disk in the classic backend-test layout.

Usage: materialise_node_tests.py OUTDIR

onnx >= 1.23 no longer ships the node-test .pb files in its wheel; it builds the
cases in memory (onnx.backend.test.loader.load_model_tests(kind="node")). Our C
test runner wants files, so this script writes every case as

    OUTDIR/<case>/model.onnx
    OUTDIR/<case>/test_data_set_<i>/input_<k>.pb   (TensorProto / SequenceProto / OptionalProto)
    OUTDIR/<case>/test_data_set_<i>/output_<k>.pb

The proto kind of each .pb follows the type the graph declares for that
input/output, and the proto's name is the graph's input/output name.

Reruns are cheap: OUTDIR/.stamp records the onnx version and case count, and if
it matches (and the case folders are all there) we exit before generating
anything. A fresh tree is built in a sibling temp dir and renamed into place, so
OUTDIR is never left half-written.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np
import onnx
from onnx import numpy_helper

# Bump when the on-disk layout produced by this script changes, so old trees
# are regenerated rather than trusted.
LAYOUT_VERSION = 1


def stamp_text(case_count: int) -> str:
    return f"onnx={onnx.__version__} cases={case_count} layout={LAYOUT_VERSION}\n"


def stamp_is_current(outdir: str) -> bool:
    """True if OUTDIR was fully written by this script with this onnx version.

    Only the onnx version is known without generating the cases (which takes
    seconds), so we trust the recorded case count and check it against the
    number of case folders actually present.
    """
    try:
        with open(os.path.join(outdir, ".stamp")) as f:
            text = f.read()
    except OSError:
        return False
    fields = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
    if fields.get("onnx") != onnx.__version__ or fields.get("layout") != str(LAYOUT_VERSION):
        return False
    present = sum(1 for e in os.scandir(outdir) if e.is_dir() and e.name.startswith("test_"))
    return fields.get("cases") == str(present) and text == stamp_text(present)


# OptionalProto / SequenceProto share these element-kind codes.
_ELEM_KIND = {
    "tensor_type": onnx.SequenceProto.TENSOR,
    "sparse_tensor_type": onnx.SequenceProto.SPARSE_TENSOR,
    "sequence_type": onnx.SequenceProto.SEQUENCE,
    "map_type": onnx.SequenceProto.MAP,
    "optional_type": onnx.SequenceProto.OPTIONAL,
}


def to_proto(value, type_proto: onnx.TypeProto, name: str):
    """Serialise one test value as the proto kind its declared graph type calls for."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        if isinstance(value, onnx.TensorProto):
            # Some generators (e.g. float8 / int4 cases) hand over ready-made
            # TensorProtos; just give them the graph's name.
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value)
            tensor.name = name
            return tensor
        # np.asarray: a few generators return numpy scalars, not arrays.
        return numpy_helper.from_array(np.asarray(value), name)
    if kind == "sequence_type":
        # Pass the declared element kind so an empty list still gets it right
        # (from_list would otherwise have to guess from the first element).
        elem = type_proto.sequence_type.elem_type.WhichOneof("value")
        return numpy_helper.from_list(list(value), name, dtype=_ELEM_KIND[elem])
    if kind == "optional_type":
        if value is None:
            # Empty optional: elem_type UNDEFINED, which is what onnx's own
            # reader (numpy_helper.to_optional) understands as "no value".
            return numpy_helper.from_optional(None, name)
        elem = type_proto.optional_type.elem_type.WhichOneof("value")
        return numpy_helper.from_optional(value, name, dtype=_ELEM_KIND[elem])
    if kind == "map_type":
        return numpy_helper.from_dict(value, name)
    raise TypeError(f"{name}: unsupported declared type {kind!r}")


def all_tensors(graph: onnx.GraphProto):
    """Every TensorProto stored in a graph: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from all_tensors(attr.g)
            for g in attr.graphs:
                yield from all_tensors(g)


def copy_external_data(model: onnx.ModelProto, src_dir: str | None, dst_dir: str) -> list[str]:
    """Copy files that initializers / tensor attributes reference as external data.

    In-memory node cases normally embed everything, so this is a no-op unless a
    case points at files next to its original model (model_dir).
    """
    locations = set()
    for tensor in all_tensors(model.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            entries = {e.key: e.value for e in tensor.external_data}
            locations.add(entries["location"])
    for loc in sorted(locations):
        if src_dir is None or not os.path.isfile(os.path.join(src_dir, loc)):
            raise FileNotFoundError(f"external data file {loc!r} not found (model_dir={src_dir})")
        dst = os.path.join(dst_dir, loc)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(src_dir, loc), dst)
    return sorted(locations)


def write_case(case, root: str) -> None:
    case_dir = os.path.join(root, case.name)
    os.mkdir(case_dir)
    model = case.model
    if model is None:  # a case backed by files on disk (not seen for kind="node")
        model = onnx.load(os.path.join(case.model_dir, "model.onnx"), load_external_data=False)
    copy_external_data(model, case.model_dir, case_dir)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())

    graph = model.graph
    for i, (inputs, outputs) in enumerate(case.data_sets or []):
        ds_dir = os.path.join(case_dir, f"test_data_set_{i}")
        os.mkdir(ds_dir)
        for prefix, values, decls in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            # Values are given for the graph's inputs/outputs in declaration order.
            if len(values) != len(decls):
                raise ValueError(f"{case.name}: {len(values)} {prefix}s for {len(decls)} graph {prefix}s")
            for k, (value, vi) in enumerate(zip(values, decls)):
                proto = to_proto(value, vi.type, vi.name)
                with open(os.path.join(ds_dir, f"{prefix}_{k}.pb"), "wb") as f:
                    f.write(proto.SerializeToString())


def remove_stale_leftovers(outdir: str) -> None:
    """Delete temp trees left by interrupted runs (each is ~60 MB).

    Only ones older than an hour, so a concurrent run's live temp dir is safe.
    """
    parent, base = os.path.split(outdir)
    cutoff = time.time() - 3600
    for entry in os.scandir(parent):
        if (entry.name.startswith((base + ".tmp-", base + ".old-")) and entry.is_dir()
                and entry.stat().st_mtime < cutoff):
            shutil.rmtree(entry.path, ignore_errors=True)


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} OUTDIR", file=sys.stderr)
        return 2
    outdir = os.path.abspath(sys.argv[1])
    if stamp_is_current(outdir):
        print(f"node tests up to date in {outdir} (onnx {onnx.__version__})")
        return 0

    start = time.monotonic()
    # The case generators compute reference outputs with numpy and trip
    # overflow / divide-by-zero warnings on purpose (casts, log(0), ...).
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    from onnx.backend.test.loader import load_model_tests

    cases = load_model_tests(kind="node")

    parent = os.path.dirname(outdir)
    os.makedirs(parent, exist_ok=True)
    remove_stale_leftovers(outdir)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(outdir) + ".tmp-", dir=parent)
    # mkdtemp makes the dir 0700; give the final tree normal permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        for case in cases:
            write_case(case, tmp)
        with open(os.path.join(tmp, ".stamp"), "w") as f:
            f.write(stamp_text(len(cases)))
        # Swap in the new tree; the old one (if any) is moved aside first so
        # OUTDIR is always either the old complete tree or the new one.
        old = None
        if os.path.lexists(outdir):
            old = tempfile.mkdtemp(prefix=os.path.basename(outdir) + ".old-", dir=parent)
            os.rename(outdir, os.path.join(old, "tree"))
        os.rename(tmp, outdir)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    print(f"wrote {len(cases)} node test cases to {outdir} "
          f"(onnx {onnx.__version__}, {time.monotonic() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
