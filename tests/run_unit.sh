#!/bin/sh
# Runs every unit-test program and the CLI/API tests; prints "unit: N passed, N failed".
# usage: run_unit.sh TEST_BIN_DIR CLI EXAMPLE REPLAY_DIR
set -u
dir=$1 cli=$2 example=$3 replay=$4
passed=0 failed=0
tally() { # reads "name: N passed, M failed" lines
    p=$(printf '%s\n' "$1" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$1" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n 1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
}
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | tail -n 20 | grep -v ': [0-9]* passed, 0 failed' || true
    [ $rc -eq 0 ] || { echo "FAIL $(basename "$t") (exit $rc)"; failed=$((failed + 1)); }
    tally "$out"
done
# fuzz corpus and every crash ever found, through the fuzz targets' entry points
for r in "$replay"/replay-*; do
    t=${r##*/replay-}
    out=$("$r" tests/fuzz/corpus/"$t"/* tests/fuzz/regressions/"$t"/* 2>&1); rc=$?
    [ $rc -eq 0 ] || { echo "FAIL fuzz replay $t (exit $rc): $(printf '%s' "$out" | tail -n 5)"; failed=$((failed + 1)); }
    tally "$out"
done
# the ONNX writer and optimiser on every node-suite model: written copies must still pass
out=$(sh tests/conformance/roundtrip.sh "$cli" .cache/node-tests 2>&1); rc=$?
printf '%s\n' "$out" | grep -v '^roundtrip: [0-9]* passed, 0 failed' || true
[ $rc -eq 0 ] || failed=$((failed + 1))
tally "$out"
# packed models: round trips against the .onnx runs; the core library (when built beside the CLI)
out=$(sh tests/pack_test.sh "$cli" .cache/node-tests 2>&1); rc=$?
printf '%s\n' "$out" | grep -v '^ok ' || true
[ $rc -eq 0 ] || failed=$((failed + 1))
tally "$out"
if [ -f "$(dirname "$cli")/libonyx-core.a" ]; then
    out=$(sh tests/core_test.sh "$cli" "$(dirname "$cli")/libonyx-core.a" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v '^ok ' || true
    [ $rc -eq 0 ] || failed=$((failed + 1))
    tally "$out"
fi
out=$(sh tests/cli_test.sh "$cli" "$example" 2>&1); rc=$?
printf '%s\n' "$out" | grep -v '^ok ' || true
[ $rc -eq 0 ] || failed=$((failed + 1))
tally "$out"
out=$(sh tests/vision_test.sh "$cli" 2>&1); rc=$?
printf '%s\n' "$out" | grep -v '^ok ' || true
[ $rc -eq 0 ] || failed=$((failed + 1))
tally "$out"
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
