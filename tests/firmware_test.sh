#!/bin/sh
# The firmware demo (make firmware, docs/EMBEDDED.md "Microcontrollers") under QEMU: each image
# is a bare-metal ELF for its target (Arm hard-float / RISC-V single-float ABI), runs to a
# clean exit, classifies the bundled digit as tools/demo/digit_input_label.txt says, gives the
# host CLI's probabilities within 1e-5 (relative; 1e-7 absolute for the tiny ones), used no
# more arena than `onyx pack` printed, and fails cleanly (ONYX_E_NOMEM) in one byte less than
# it used. Prints "firmware: N passed, N failed".
# usage: firmware_test.sh CLI FIRMWARE_DIR TARGET...   (targets: cortex-m4 riscv32)
set -u
cli=$1 fw=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

label=$(cat tools/demo/digit_input_label.txt)
arena=$(sed -n 's/^arena: \([0-9]*\) bytes.*/\1/p' "$fw/pack.txt")
[ -n "$arena" ] && ok "pack printed the arena ($arena bytes)" || bad "no arena size in $fw/pack.txt"
# the reference: the host CLI on the same packed model, as the firmware runs it
if "$cli" run "$fw/digits.onyx" --input tools/demo/digit_input.npy --opt 0 --threads 1 --output-dir "$tmp/host" \
       > /dev/null 2> "$tmp/host.err"; then
    ok "host CLI ran the packed model"
else
    bad "host CLI: $(cat "$tmp/host.err")"
fi

for t in "$@"; do
    elf=$fw/onyx-$t.elf
    case $t in
    cortex-m4) machine=ARM flags="hard-float ABI"
               run="qemu-system-arm -M mps2-an386 -nographic -semihosting -kernel $elf" ;;
    riscv32)   machine=RISC-V flags="single-float ABI"
               run="qemu-system-riscv32 -M virt -nographic -semihosting -bios none -kernel $elf" ;;
    *) bad "$t: unknown target"; continue ;;
    esac
    hdr=$(readelf -h "$elf" 2>&1)
    if echo "$hdr" | grep -q "Machine: *$machine" && echo "$hdr" | grep -q "Class: *ELF32" &&
       echo "$hdr" | grep -q "Flags:.*$flags"; then
        ok "$t: $elf is a 32-bit $machine ELF, $flags"
    else
        bad "$t: $elf is not a 32-bit $machine ELF with the $flags: $(echo "$hdr" | grep -E 'Class|Machine|Flags')"
    fi
    # the image exits through semihosting; 60 s is far more than it needs (well under 1 s)
    timeout 60 $run > "$tmp/$t.txt" 2>&1 < /dev/null
    rc=$?
    [ "$rc" -eq 0 ] && ok "$t: ran under QEMU and exited with 0" ||
        bad "$t: exit status $rc (124: timeout, 128: fault): $(head -c 800 "$tmp/$t.txt")"
    grep -qx "class=$label" "$tmp/$t.txt" && ok "$t: digit classified as $label" ||
        bad "$t: class $(sed -n 's/^class=//p' "$tmp/$t.txt"), want $label"
    if python3 - "$tmp/host/probabilities.npy" "$tmp/$t.txt" <<'EOF'
import ast, struct, sys
raw = open(sys.argv[1], "rb").read()
hlen = struct.unpack_from("<H", raw, 8)[0]
hdr = ast.literal_eval(raw[10:10 + hlen].decode("latin1"))
want = struct.unpack(f"<{(len(raw) - 10 - hlen) // 4}f", raw[10 + hlen:])
got = {}
for line in open(sys.argv[2]):
    if line.startswith("prob["):
        k, v = line.strip().split("=")
        got[int(k[5:-1])] = float(v)
if hdr["descr"] != "<f4" or sorted(got) != list(range(len(want))):
    sys.exit(f"want {len(want)} float32 probabilities, the image printed {sorted(got)}")
worst = max(abs(got[i] - w) for i, w in enumerate(want))
bad = [i for i, w in enumerate(want) if abs(got[i] - w) > 1e-7 + 1e-5 * abs(w)]
print(f"  largest difference from the host CLI: {worst:.3g}")
sys.exit(f"probabilities {bad} differ by more than 1e-5" if bad else 0)
EOF
    then ok "$t: probabilities equal the host CLI's within 1e-5"; else bad "$t: probabilities differ from the host CLI's"; fi
    used=$(sed -n 's/^arena used=\([0-9]*\) of.*/\1/p' "$tmp/$t.txt")
    if [ -n "$used" ] && [ -n "$arena" ] && [ "$used" -le "$arena" ]; then
        ok "$t: used $used of the $arena arena bytes pack printed (32-bit: smaller tables than the host's)"
    else
        bad "$t: arena used '${used:-?}', printed $arena"
    fi
    grep -q "^smaller arena: out of memory: " "$tmp/$t.txt" && ok "$t: one byte less than it used fails cleanly" ||
        bad "$t: $(grep '^smaller arena' "$tmp/$t.txt")"
    sed -n 's/^stack used=/  stack used: /p' "$tmp/$t.txt"
done
echo "firmware: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
