#!/bin/sh
# make test: unit tests, CLI and C API tests, then the ONNX node-test ratchet.
# Ends with the line "N passed, N failed" (N counted over unit checks and node tests).
# usage: run_all.sh TEST_BIN_DIR CLI EXAMPLE NODE_TEST_DIR LOG REPLAY_DIR
set -u
bins=$1 cli=$2 example=$3 nodes=$4 log=$5 replay=$6
unit=$(sh tests/run_unit.sh "$bins" "$cli" "$example" "$replay" 2>&1); unit_rc=$?
printf '%s\n' "$unit"
conf=$(sh tests/conformance/run.sh "$cli" "$nodes" "$log" 2>&1); conf_rc=$?
printf '%s\n' "$conf"
up=$(printf '%s\n' "$unit" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
uf=$(printf '%s\n' "$unit" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
cp=$(printf '%s\n' "$conf" | sed -n 's/^ratchet: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
cf=$(printf '%s\n' "$conf" | sed -n 's/^ratchet: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
passed=$(( ${up:-0} + ${cp:-0} )); failed=$(( ${uf:-1} + ${cf:-1} ))
[ $unit_rc -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
[ $conf_rc -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
