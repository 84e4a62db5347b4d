#!/bin/sh
# Compares two builds' outputs bit for bit over the ONNX node suite (not part of any test
# target: the conformance tolerance is the contract, this measures how far from identical the
# targets are; docs/EMBEDDED.md quotes its result). Each test's first data set is run by both
# CLIs (`onyx run --output-dir`) and every output .npy compared with cmp.
# usage: bitwise.sh CLI_A CLI_B NODE_TEST_DIR OUT_DIR    (a CLI may be a wrapper running qemu)
# Prints "DIFF test outputs..." per differing test and a summary line.
set -u
a=$1 b=$2 nodes=$3 out=$4
same=0 differ=0 skipped=0
mkdir -p "$out"
: > "$out/differ.txt"
for d in "$nodes"/test_*; do
    t=${d##*/} ds=$d/test_data_set_0
    [ -f "$d/model.onnx" ] && [ -d "$ds" ] || { skipped=$((skipped + 1)); continue; }
    inputs=$(ls "$ds"/input_*.pb 2>/dev/null | sort -t_ -k2 -n | sed 's/^/--input /')
    rm -rf "$out/a" "$out/b"
    # shellcheck disable=SC2086
    if ! "$a" run "$d/model.onnx" $inputs --output-dir "$out/a" --threads 1 > /dev/null 2>&1 ||
       ! "$b" run "$d/model.onnx" $inputs --output-dir "$out/b" --threads 1 > /dev/null 2>&1; then
        skipped=$((skipped + 1)); continue
    fi
    diffs=""
    for f in "$out"/a/*.npy; do
        [ -f "$f" ] || continue
        cmp -s "$f" "$out/b/${f##*/}" || diffs="$diffs ${f##*/}"
    done
    if [ -n "$diffs" ]; then echo "DIFF $t$diffs" | tee -a "$out/differ.txt"; differ=$((differ + 1))
    else same=$((same + 1)); fi
done
echo "bitwise: $same tests identical, $differ differ, $skipped not compared (no data set, or not runnable by onyx run)"
