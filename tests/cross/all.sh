#!/bin/sh
# make test-cross / test-cross-quick: builds each cross target (CROSS=PREFIX, run under
# qemu-user) and the x86-64 static build (STATIC=1), and runs their tests with
# tests/cross/run.sh. Prints each configuration's line, then "cross: N passed, N failed".
# usage: all.sh BUILD EVERY PREFIX...    (EVERY=k: every k-th node test; MAKE: the make to use)
#   a PREFIX may carry further make variables after commas: riscv64-linux-gnu-,RVV=1
set -u
build=$1 every=$2; shift 2
make=${MAKE:-make}
passed=0 failed=0 start=$(date +%s)
mkdir -p "$build"
for cfg in $(for p in "$@"; do echo "CROSS=$p"; done) STATIC=1; do
    t0=$(date +%s) log=$build/cross-build-$(echo "${cfg#*=}" | tr ,= _-).log
    vars=$(echo "$cfg" | tr , ' ') cfg=$(echo "$cfg" | tr , ' ')
    # shellcheck disable=SC2086 # $vars: one or more make variables
    if ! $make --no-print-directory -j2 BUILD="$build" $vars emulated-bins > "$log" 2>&1; then
        echo "FAIL $cfg: build failed (log: $log)"; tail -n 15 "$log"
        failed=$((failed + 1)); continue
    fi
    echo "$cfg: built in $(($(date +%s) - t0)) s"
    # shellcheck disable=SC2086
    res=$($make --no-print-directory BUILD="$build" $vars NODE_EVERY="$every" emulated-test 2>&1)
    printf '%s\n' "$res"
    line=$(printf '%s\n' "$res" | sed -n 's/^[^ ]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -n 1)
    [ -n "$line" ] || line="0 1"
    passed=$((passed + ${line% *})); failed=$((failed + ${line#* }))
done
echo "cross: $(($(date +%s) - start)) s in all"
echo "cross: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
