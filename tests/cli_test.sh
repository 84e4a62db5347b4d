#!/bin/sh
# CLI and C API tests on real models: the bundled digits classifier and models built by
# tests/models/make_models.py, each compared with onnxruntime. Prints "ok ..." / "FAIL ..."
# per check and "cli: N passed, N failed".
# usage: cli_test.sh CLI EXAMPLE
set -u
cli=$1 example=$2
py=.cache/venv/bin/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
expect() { # name, command...: the command must succeed
    name=$1; shift
    if "$@" > "$tmp/out" 2>&1; then ok "$name"; else bad "$name: $(head -c 600 "$tmp/out")"; fi
}
expect_fail() { # name, pattern, command...: must fail with a message matching pattern
    name=$1 pat=$2; shift 2
    if "$@" > "$tmp/out" 2>&1; then bad "$name: succeeded"; 
    elif grep -q "$pat" "$tmp/out"; then ok "$name"; else bad "$name: message was: $(head -c 400 "$tmp/out")"; fi
}

digits=tools/demo/digits.onnx
label=$(cat tools/demo/digit_input_label.txt)

# C API example: the documented ten lines really classify the bundled digit.
expect "example runs" "$example" $digits tools/demo/digit_input.npy
grep -q "^class $label " "$tmp/out" && ok "example predicts $label" || bad "example prediction: $(cat "$tmp/out")"

# onyx run: files named after outputs, values equal to onnxruntime's.
expect "run digits" "$cli" run $digits --input tools/demo/digit_input.npy --output-dir "$tmp/o1"
[ -f "$tmp/o1/probabilities.npy" ] && ok "run writes probabilities.npy" || bad "run output file missing"
expect "run digits --classify" "$cli" run $digits --input image=tools/demo/digit_input.npy --classify
grep -q "class=$label " "$tmp/out" && ok "classify prints class $label" || bad "classify: $(cat "$tmp/out")"

# onyx info
expect "info digits" "$cli" info $digits
for pat in "image: float32 \[N,1,8,8\]" "probabilities: float32" "Conv" "Gemm" "arena"; do
    grep -q "$pat" "$tmp/out" && ok "info shows $pat" || bad "info lacks '$pat': $(cat "$tmp/out")"
done

# onyx bench: phases first, the contract line last, with as many timed runs as asked.
expect "bench digits" "$cli" bench $digits --input image=tools/demo/digit_input.npy --runs 3 --warmup 1 --threads 1
tail -n 1 "$tmp/out" | grep -Eq '^median_ms=[0-9]+\.[0-9]+ min_ms=[0-9]+\.[0-9]+ runs=3$' &&
    ok "bench ends with median_ms=X min_ms=Y runs=3" || bad "bench last line: $(tail -n 1 "$tmp/out")"
[ "$(sed -n 's/^times_ms=//p' "$tmp/out" | tr ',' '\n' | grep -c .)" = 3 ] &&
    ok "bench times 3 runs" || bad "bench times: $(grep times_ms "$tmp/out")"
grep -Eq '^load_ms=[0-9]' "$tmp/out" && grep -Eq '^session_ms=[0-9]' "$tmp/out" && grep -q "first_run_ms=" "$tmp/out" &&
    ok "bench prints load, session and first-run times" || bad "bench phases: $(cat "$tmp/out")"
awk -F'[= ]' 'END { exit !($4 <= $2) }' "$tmp/out" && ok "bench min <= median" || bad "bench min > median: $(tail -n 1 "$tmp/out")"
expect "bench generated input" "$cli" bench $digits --runs 1 --warmup 0
grep -q "input image: float32 \[1,1,8,8\] (generated)" "$tmp/out" && tail -n 1 "$tmp/out" | grep -q " runs=1$" &&
    ok "bench generates a symbolic-batch input as [1,1,8,8]" || bad "bench generated: $(cat "$tmp/out")"
expect_fail "bench --runs 0" "runs" "$cli" bench $digits --runs 0
expect_fail "bench --runs x" "runs" "$cli" bench $digits --runs x
expect_fail "bench unknown flag" "unknown option" "$cli" bench $digits --fast
expect_fail "bench without a model" "usage" "$cli" bench --runs 2
expect_fail "bench missing model" "cannot open" "$cli" bench "$tmp/nope.onnx"

# Errors: clear message and non-zero exit.
expect_fail "missing model" "cannot open" "$cli" run "$tmp/nope.onnx"
head -c 3000 $digits > "$tmp/trunc.onnx"
expect_fail "truncated model" "parse\|not a valid" "$cli" run "$tmp/trunc.onnx" --input tools/demo/digit_input.npy
expect_fail "missing input" "image" "$cli" run $digits
expect_fail "optimize to an unwritable path" "cannot create" "$cli" optimize $digits "$tmp/no/such/dir.onnx"
expect_fail "optimize needs two paths" "usage" "$cli" optimize $digits

# Generated models against onnxruntime (exact names, dtypes, shapes; values within 1e-4).
if "$py" tests/models/make_models.py "$tmp/models" > "$tmp/gen.log" 2>&1; then
    for m in "$tmp"/models/*.onnx; do
        case "$m" in *.bad.onnx) continue ;; esac
        name=$(basename "$m" .onnx)
        ins=""
        for i in "$tmp/models/$name".input_*.npy; do [ -f "$i" ] && ins="$ins --input $i"; done
        if "$cli" run "$m" $ins --output-dir "$tmp/out_$name" > "$tmp/out" 2>&1 &&
           "$py" tests/models/compare.py "$tmp/models/$name" "$tmp/out_$name" > "$tmp/cmp" 2>&1; then
            ok "model $name matches onnxruntime"
        else
            bad "model $name: $(cat "$tmp/out" "$tmp/cmp" | head -c 800)"
        fi
        # determinism: bit-identical outputs whatever the thread count
        same=1
        for th in 1 2 4; do
            "$cli" run "$m" $ins --threads $th --output-dir "$tmp/out_${name}_t$th" > /dev/null 2>&1 || same=0
            for f in "$tmp/out_$name"/*.npy; do
                cmp -s "$f" "$tmp/out_${name}_t$th/$(basename "$f")" || same=0
            done
        done
        [ $same -eq 1 ] && ok "model $name bit-identical at 1, 2, 4 threads" || bad "model $name differs across thread counts"
        # onyx optimize: the file it writes passes the ONNX checker and gives onnxruntime's outputs
        if "$cli" optimize "$m" "$tmp/opt_$name.onnx" > "$tmp/out" 2>&1 &&
           "$py" tests/models/check_saved.py "$tmp/opt_$name.onnx" "$tmp/models/$name" --absent BatchNormalization > "$tmp/cmp" 2>&1; then
            ok "optimized $name runs in onnxruntime"
        else
            bad "optimized $name: $(cat "$tmp/out" "$tmp/cmp" | head -c 800)"
        fi
    done
    expect "info --opt 2" "$cli" info --opt 2 "$tmp/models/cnn.onnx"
    for pat in "BatchNormalization: 1 -> 0" "bn-into-conv 1" "11 nodes -> 10"; do
        grep -q "$pat" "$tmp/out" && ok "info --opt shows $pat" || bad "info --opt lacks '$pat': $(cat "$tmp/out")"
    done
    expect "optimize dynamic_reshape" "$cli" optimize "$tmp/models/dynamic_reshape.onnx" "$tmp/dr.onnx"
    grep -q "matmul-add-to-gemm 1" "$tmp/out" && ok "MatMul + Add fused behind a Reshape" || bad "no fusion: $(cat "$tmp/out")"
    x="$tmp/models/external_data.input_0.npy"
    expect_fail "external data outside the model folder" "leaves the model's folder" \
        "$cli" run "$tmp/models/external_data.escape.bad.onnx" --input "$x"
    expect_fail "external data past the end of its file" "past the end" \
        "$cli" run "$tmp/models/external_data.past_end.bad.onnx" --input "$x"
else
    bad "make_models.py: $(tail -n 5 "$tmp/gen.log")"
fi
echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
