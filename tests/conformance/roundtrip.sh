#!/bin/sh
# The ONNX writer on the whole node suite: every model goes through `onyx optimize` (load,
# optimise at the default level, save as ONNX) and the copies are checked against the same
# test data at --opt 0. Every test in expected_pass.txt must pass on its copy too.
# Prints "roundtrip: N passed, N failed" (N over the listed tests).
# usage: roundtrip.sh CLI NODE_TEST_DIR
set -u
cli=$1 nodes=$2
expected=tests/conformance/expected_pass.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$nodes"/test_*; do
    [ -f "$d/model.onnx" ] || continue
    n=${d##*/}
    mkdir "$tmp/$n"
    for s in "$d"/test_data_set_*; do ln -s "$(cd "$s" && pwd)" "$tmp/$n/"; done
    "$cli" optimize "$d/model.onnx" "$tmp/$n/model.onnx" > "$tmp/$n.log" 2>&1 ||
        echo "roundtrip: optimize failed for $n: $(head -c 300 "$tmp/$n.log")"
done
"$cli" check --opt 0 "$tmp"/test_* > "$tmp/log" 2>&1
grep '^PASS ' "$tmp/log" | sed 's/^PASS //; s/[ :].*//' | sort > "$tmp/pass"
grep -v '^#' "$expected" | sed '/^$/d; s/[ :].*//' | sort > "$tmp/expected"
lost=$(comm -23 "$tmp/expected" "$tmp/pass")
listed=$(wc -l < "$tmp/expected")
nlost=$(printf '%s' "$lost" | grep -c . || true)
for t in $lost; do echo "ROUNDTRIP $t: $(grep "^[A-Z]* $t\( \|:\|$\)" "$tmp/log" | head -n 1)"; done
echo "roundtrip: $((listed - nlost)) passed, $nlost failed"
[ "$nlost" -eq 0 ]
