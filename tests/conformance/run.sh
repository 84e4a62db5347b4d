#!/bin/sh
# Runs `onyx check` over the whole ONNX node suite and enforces the ratchet: every test named
# in tests/conformance/expected_pass.txt must pass. Prints the pass count and
# "ratchet: N passed, N failed" (N over the listed tests).
# usage: run.sh CLI NODE_TEST_DIR LOG
# ONYX_EXPECTED=FILE puts another list in place of expected_pass.txt (tests/cross/run.sh: a
# subset, less what a build without image libraries cannot pass).
set -u
cli=$1 nodes=$2 log=$3
expected=${ONYX_EXPECTED:-tests/conformance/expected_pass.txt}
# --determinism: every passing test must also give bit-identical outputs at 1, 2 and 4 threads
"$cli" check --determinism "$nodes"/test_* > "$log" 2>&1
summary=$(tail -n 1 "$log")
echo "node suite: $summary (log: $log)"
# The test name is the second word: a PASS line may go on with a note or a timing.
grep '^PASS ' "$log" | sed 's/^PASS //; s/[ :].*//' | sort > "$log.pass"
grep -v '^#' "$expected" | sed '/^$/d; s/[ :].*//' | sort > "$log.expected"
regressed=$(comm -23 "$log.expected" "$log.pass")
newly=$(comm -13 "$log.expected" "$log.pass" | wc -l)
listed=$(wc -l < "$log.expected")
nreg=$(printf '%s' "$regressed" | grep -c . || true)
for t in $regressed; do echo "REGRESSED $t: $(grep "^[A-Z]* $t\( \|:\|$\)" "$log" | head -n 1)"; done
[ "$newly" -gt 0 ] && echo "note: $newly tests pass that expected_pass.txt does not list yet (make ratchet adds them)"
echo "ratchet: $((listed - nreg)) passed, $nreg failed"
[ "$nreg" -eq 0 ]
