#!/bin/sh
# The core library (make core, docs/EMBEDDED.md): references no allocator, stdio, exit or
# abort symbol, and a host program linking only it (tests/core/core_run.c) runs the packed
# digits model in a fixed arena of the size `onyx pack` printed, with the CLI's results, using
# exactly that size (pack measures with weights_in_place, as the core always runs, and the
# host has the same word size); one byte less than what it used fails cleanly with
# ONYX_E_NOMEM.
# Prints "core: N passed, N failed".  usage: core_test.sh CLI LIBONYX_CORE_A
set -u
cli=$1 lib=$2
py=.cache/venv/bin/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# Symbols the archive needs from outside (undefined in one member, defined in none).
nm -u "$lib" 2>/dev/null | awk '{print $NF}' | sort -u > "$tmp/undef"
nm --defined-only "$lib" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u > "$tmp/def"
comm -23 "$tmp/undef" "$tmp/def" > "$tmp/needs"
[ -s "$tmp/needs" ] && ok "core: the archive's outside references are listed" || bad "core: nm found nothing in $lib"
for s in malloc calloc realloc free aligned_alloc posix_memalign printf fprintf vfprintf puts putchar fputs fwrite \
         fopen fread fclose snprintf vsnprintf sprintf abort exit _exit __assert_fail stderr stdout \
         omp_get_num_procs GOMP_parallel cblas_sgemm protobuf_c_message_unpack regcomp png_create_read_struct; do
    if grep -qx "$s" "$tmp/needs"; then bad "core: references $s"; fi
done
[ "$failed" -eq 0 ] && ok "core: no allocator, stdio, exit/abort, OpenMP, BLAS, protobuf-c or regex symbols"

# The packed digits model in a fixed arena.
"$cli" pack tools/demo/digits.onnx -o "$tmp/digits.onyx" > "$tmp/pack.txt" 2>&1 || bad "core: pack failed: $(cat "$tmp/pack.txt")"
arena=$(sed -n 's/^arena: \([0-9]*\) bytes.*/\1/p' "$tmp/pack.txt")
[ -n "$arena" ] && ok "core: pack printed the arena ($arena bytes)" || bad "core: pack printed no arena size"
if ${CC:-cc} -std=c11 -Iruntime tests/core/core_run.c "$lib" -lm -o "$tmp/core_run" 2> "$tmp/cc.txt"; then
    ok "core: a program links with only libonyx-core.a and libm"
else
    bad "core: linking core_run: $(head -c 600 "$tmp/cc.txt")"
fi
if [ -x "$tmp/core_run" ] && [ -n "$arena" ]; then
    "$tmp/core_run" "$tmp/digits.onyx" tools/demo/digit_input.npy "$arena" > "$tmp/run.txt" 2>&1
    label=$(cat tools/demo/digit_input_label.txt)
    grep -qx "class=$label" "$tmp/run.txt" && ok "core: digits classified as $label" || bad "core: $(cat "$tmp/run.txt")"
    peak=$(sed -n 's/^peak=//p' "$tmp/run.txt")
    [ -n "$peak" ] && [ "$peak" -eq "$arena" ] && ok "core: used exactly the printed arena ($peak bytes)" ||
        bad "core: used ${peak:-?} bytes, pack printed $arena"
    grep -q "^smaller arena: out of memory: " "$tmp/run.txt" && ok "core: one byte less than the peak fails cleanly" ||
        bad "core: smaller arena: $(grep smaller "$tmp/run.txt")"
    "$cli" run "$tmp/digits.onyx" --input tools/demo/digit_input.npy --opt 0 --threads 1 --output-dir "$tmp/out" > /dev/null 2>&1
    if "$py" -c "
import numpy as np, sys
want = np.load('$tmp/out/probabilities.npy').ravel()
got = np.array([float(l) for l in open('$tmp/run.txt') if l[0] in '0123456789-'][:want.size], dtype=np.float32)
sys.exit(0 if got.size == want.size and np.allclose(got, want, rtol=1e-5, atol=1e-7) else 1)
"; then ok "core: outputs equal the CLI's within 1e-5"; else bad "core: outputs differ from the CLI's"; fi
fi
echo "core: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
