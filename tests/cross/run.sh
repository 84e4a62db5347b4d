#!/bin/sh
# One build configuration's tests with every program started through RUNNER (qemu-user for a
# cross target, node for WebAssembly: tests/wasm/run_wasi.mjs; nothing for the x86-64 static
# build): the unit-test programs, the CLI and C API tests (tests/cli_test.sh, through wrapper
# scripts), and the ONNX node suite (tests/conformance/run.sh) with the ratchet less the tests
# tests/cross/known_fail.txt lists for this configuration's tags. Prints "NAME: N passed, N failed".
# usage: run.sh NAME RUNNER TEST_BIN_DIR CLI EXAMPLE NODE_TEST_DIR OUT_DIR EVERY "TAGS"
#   EVERY=k runs every k-th node test (in name order) only; 1 runs them all.
#   TAGS: the configuration's tags (noimage, aarch64-linux-gnu, static …), for known_fail.txt.
set -u
name=$1 runner=$2 bins=$3 cli=$4 example=$5 nodes=$6 out=$7 every=$8 tags=$9
passed=0 failed=0
tally() { # reads "name: N passed, M failed" lines; no such line counts one failure
    p=$(printf '%s\n' "$1" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$1" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n 1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
}
bad() { echo "FAIL $name: $1"; failed=$((failed + 1)); }
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
start=$(date +%s)

# The programs must be the target's: a host binary here would pass without testing anything.
machine=$(readelf -h "$cli" 2>/dev/null | sed -n 's/^ *Machine: *//p')
# not ELF: a WebAssembly module starts with the bytes \0asm
[ -n "$machine" ] || [ "$(head -c 4 "$cli" | od -An -c | tr -d ' ')" != '\0asm' ] || machine=WebAssembly
case " $tags " in
*" static "*) if readelf -l "$cli" | grep -q INTERP; then bad "$cli is not statically linked"; else passed=$((passed + 1)); fi ;;
*" wasm32-wasi "*) if [ "$machine" = WebAssembly ]; then passed=$((passed + 1)); else bad "$cli is not a WebAssembly module"; fi ;;
esac
if [ -n "$runner" ] && [ "$machine" = "Advanced Micro Devices X86-64" ]; then bad "$cli is an x86-64 program"; fi
echo "$name: $(basename "$cli") for $machine${runner:+, run by '$runner'}"

# Wrappers, so that scripts taking a program path run the target's program through RUNNER.
wrap() { printf '#!/bin/sh\nexec %s %s "$@"\n' "$runner" "$(abs "$1")" > "$2" && chmod +x "$2"; }
wrap "$cli" "$out/onyx-run"
wrap "$example" "$out/example-run"

for t in "$bins"/test_*; do
    [ -x "$t" ] || continue
    res=$($runner "$t" 2>&1); rc=$?
    printf '%s\n' "$res" | tail -n 20 | grep -v ': [0-9]* passed, 0 failed' || true
    [ $rc -eq 0 ] || bad "$(basename "$t") (exit $rc)"
    tally "$res"
done

res=$(sh tests/cli_test.sh "$out/onyx-run" "$out/example-run" 2>&1); rc=$?
printf '%s\n' "$res" | grep -v '^ok ' || true
[ $rc -eq 0 ] || failed=$((failed + 1))
tally "$res"

# The node suite (or every k-th test), and the ratchet's tests among them less known failures.
sel=$out/node-selection
rm -rf "$sel" && mkdir -p "$sel"
for d in $(ls -d "$nodes"/test_* | awk -v k="$every" '(NR - 1) % k == 0'); do ln -s "$(abs "$d")" "$sel/"; done
ls "$sel" | sort > "$out/node-selection.txt"
for tag in $tags; do awk -v t="$tag" '$1 == t { print $2 }' tests/cross/known_fail.txt; done | sort -u > "$out/known.txt"
grep -v '^#' tests/conformance/expected_pass.txt | sed '/^$/d; s/[ :].*//' | sort |
    comm -12 - "$out/node-selection.txt" | comm -23 - "$out/known.txt" > "$out/expected.txt"
res=$(ONYX_EXPECTED="$out/expected.txt" sh tests/conformance/run.sh "$out/onyx-run" "$sel" "$out/conformance.log" 2>&1); rc=$?
printf '%s\n' "$res"
[ $rc -eq 0 ] || [ "$(printf '%s\n' "$res" | sed -n 's/^ratchet: [0-9]* passed, \([0-9]*\) failed$/\1/p')" != 0 ] ||
    failed=$((failed + 1))
tally "$(printf '%s\n' "$res" | grep '^ratchet: ')"

echo "$name: $(wc -l < "$out/node-selection.txt") node tests run, $(wc -l < "$out/expected.txt") required," \
     "$(wc -l < "$out/known.txt") known not to pass here; $(($(date +%s) - start)) s"
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
