#!/bin/sh
# Checks the build dependencies and installs the missing ones when running as root on
# Debian/Ubuntu; otherwise names the packages to install and fails.
# The Makefile passes its switches: CC, CROSS (a cross compiler prefix), ONNX, IMAGE, BLAS.
set -u
missing=""
have_header() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
cross=${CROSS:-} onnx=${ONNX:-1} image=${IMAGE:-1} blas=${BLAS:-openblas}

command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if [ "$onnx" != 0 ]; then
    command -v protoc-c >/dev/null 2>&1 || missing="$missing protobuf-c-compiler"
    # a cross target's protobuf-c runtime is built from source (cross.sh), from the host's version
    [ -n "$cross" ] && { dpkg-query -W libprotobuf-c-dev >/dev/null 2>&1 || missing="$missing libprotobuf-c-dev"; }
    [ -n "$cross" ] || have_header protobuf-c/protobuf-c.h || missing="$missing libprotobuf-c-dev"
fi
case "$cross" in
wasm32-*) # clang, wasm-ld, wasi-libc and node instead of a gcc cross toolchain and qemu
    sh tools/setup/wasm_deps.sh || exit 1 ;;
?*)
    # Debian names the cross compiler after the triple (gcc-aarch64-linux-gnu); libc and
    # libgomp for the target come with it. qemu-user runs the target's programs.
    command -v "${cross}gcc" >/dev/null 2>&1 || missing="$missing gcc-${cross%-}"
    command -v "qemu-${cross%%-*}" >/dev/null 2>&1 || missing="$missing qemu-user" ;;
esac
if [ "$blas" = openblas ]; then
    have_header cblas.h || [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || missing="$missing libopenblas-dev"
fi
if [ "$image" != 0 ]; then
    have_header png.h || missing="$missing libpng-dev"
    have_header jpeglib.h || missing="$missing libjpeg-dev"
    have_header webp/decode.h || missing="$missing libwebp-dev"
    # OpenJPEG's header is in a versioned folder (pkg-config libopenjp2 names it)
    ls /usr/include/openjpeg-2.*/openjpeg.h >/dev/null 2>&1 || pkg-config --exists libopenjp2 2>/dev/null ||
        missing="$missing libopenjp2-7-dev"
fi
case "${CC:-cc}" in
# clang for a cross target (RVV=1) needs nothing more: it generates code for every target
# Debian's LLVM supports, the gcc cross toolchain above gives it libc, and it builds without
# OpenMP (no libomp for the target)
*clang*) command -v "${CC}" >/dev/null 2>&1 || missing="$missing clang"
         [ -n "$cross" ] || have_header omp.h || missing="$missing libomp-dev" ;;
esac
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$missing python3-venv"

# the target's protobuf-c runtime, once its compiler is there
cross_protobuf() {
    [ -n "$cross" ] && [ "$onnx" != 0 ] || return 0
    case "$cross" in # clang is WebAssembly's compiler, llvm-ar its archiver (cross.sh)
    wasm32-*) CROSS_CC="${CC:-clang} --target=${cross%-}" CROSS_AR=llvm-ar \
                  sh tools/setup/cross.sh "$cross" ".cache/cross/${cross%-}" ;;
    *) sh tools/setup/cross.sh "$cross" ".cache/cross/${cross%-}" ;;
    esac
}

[ -z "$missing" ] && { cross_protobuf; exit; }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "onyx: installing build dependencies:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
        echo "onyx: apt-get install failed for:$missing" >&2; exit 1; }
    cross_protobuf
    exit
fi
echo "onyx: missing build dependencies; install them with:" >&2
echo "    sudo apt-get install$missing" >&2
exit 1
