#!/bin/sh
# What `make firmware` / `make test-firmware` need (docs/EMBEDDED.md, "Microcontrollers"): the
# bare-metal gcc toolchains for Cortex-M and RISC-V with picolibc (their C library: stdio over
# semihosting, libm), and the QEMU system emulators that run the images. Installed when root
# on Debian/Ubuntu (apt-get update only when a package is not in the lists yet), else named.
set -u
want="gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
      qemu-system-misc"
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# python3 turns the bundled .npy input into a C array (firmware/npy2c.py)
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "onyx: installing firmware toolchains:$missing"
    export DEBIAN_FRONTEND=noninteractive
    get() { apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; }
    get || { apt-get update -qq && get; } || { echo "onyx: apt-get install failed for:$missing" >&2; exit 1; }
    exit 0
fi
echo "onyx: make firmware needs:$missing (sudo apt-get install$missing)" >&2
exit 1
