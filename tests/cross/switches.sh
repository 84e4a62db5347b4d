#!/bin/sh
# The smallest build (make test-switches: ONNX=0 IMAGE=0 BLAS=none OPENMP=0): its library
# references none of the libraries those switches leave out, its CLI says why it cannot read
# .onnx files or images, still runs a packed model (packed by the full build's CLI) to the
# right class, and its unit-test programs (those that need no ONNX reader or image library)
# pass. Prints "switches: N passed, N failed".
# usage: switches.sh LIB_A CLI HOST_CLI TEST_BIN_DIR TMP_DIR
set -u
lib=$1 cli=$2 host_cli=$3 bins=$4 tmp=$5
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
mkdir -p "$tmp"

# Undefined symbols of the archive that belong to a left-out library.
leaked=$(nm "$lib" 2>/dev/null | awk '$1 == "U" { print $2 }' |
         grep -E '^(protobuf_c_|png_|jpeg_|jpeg_std_error|WebP|opj_|cblas_|openblas_|GOMP_|omp_)' | sort -u)
[ -z "$leaked" ] && ok "libonyx.a needs no protobuf-c, image, BLAS or OpenMP symbol" ||
    bad "libonyx.a references: $(echo $leaked)"

digits=tools/demo/digits.onnx label=$(cat tools/demo/digit_input_label.txt)
if "$cli" info $digits > "$tmp/out" 2>&1; then bad "info on an .onnx file succeeded"
elif grep -q "built with ONNX=0" "$tmp/out"; then ok "info on .onnx says ONNX=0"
else bad "info on .onnx: $(cat "$tmp/out")"; fi
if "$cli" classify --model $digits --image x.png > "$tmp/out" 2>&1; then bad "classify succeeded"
elif grep -q "built with IMAGE=0" "$tmp/out"; then ok "classify says IMAGE=0"
else bad "classify: $(cat "$tmp/out")"; fi
if "$host_cli" pack $digits -o "$tmp/digits.onyx" > "$tmp/out" 2>&1 &&
   "$cli" run "$tmp/digits.onyx" --input tools/demo/digit_input.npy --classify > "$tmp/out" 2>&1 &&
   grep -q "class=$label " "$tmp/out"; then ok "a packed model runs and predicts $label"
else bad "packed digits: $(cat "$tmp/out")"; fi

for t in "$bins"/test_*; do
    [ -x "$t" ] || continue
    res=$("$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$res" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' | tail -n 1)
    if [ $rc -eq 0 ] && [ -n "$line" ] && [ "${line#* }" = 0 ]; then passed=$((passed + ${line% *}))
    else bad "$(basename "$t") (exit $rc): $(printf '%s\n' "$res" | grep -v '^ok' | tail -n 5)"; fi
done
echo "switches: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
