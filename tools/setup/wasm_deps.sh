#!/bin/sh
# The WebAssembly build's tools (make CROSS=wasm32-wasi-, make wasm, make test-wasm): clang,
# wasm-ld (lld), llvm-ar (llvm: GNU ar writes no symbol index for wasm objects), wasi-libc,
# compiler-rt's wasm32 builtins, and node to run the modules. Installs what is missing when
# running as root on Debian/Ubuntu; otherwise names the packages and fails. Called by
# tools/setup/deps.sh; quick when everything is there (one tiny compile and link).
set -u
missing=""
command -v clang >/dev/null 2>&1 || missing="$missing clang"
command -v llvm-ar >/dev/null 2>&1 || missing="$missing llvm"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
# compiler, wasi-libc, builtins and linker together: a program that links is the real test
links() {
    t=$(mktemp -d) || return 1
    printf 'int main(void) { return 0; }\n' > "$t/a.c"
    clang --target=wasm32-wasi -O2 "$t/a.c" -o "$t/a.wasm" >/dev/null 2>&1
    rc=$?
    rm -rf "$t"
    return $rc
}
if ! command -v clang >/dev/null 2>&1 || ! links; then
    # the builtins package is named after clang's major version (Debian 12: 14)
    major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
    missing="$missing lld wasi-libc libclang-rt-${major:-14}-dev-wasm32"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "onyx: installing the WebAssembly build's dependencies:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
        echo "onyx: apt-get install failed for:$missing" >&2; exit 1; }
    # clang was just installed: its builtins package could not be named before
    if ! links; then
        major=$(clang -dumpversion | cut -d. -f1)
        apt-get install -y -qq --no-install-recommends "libclang-rt-$major-dev-wasm32" >/dev/null || exit 1
        links || { echo "onyx: clang cannot link for wasm32-wasi" >&2; exit 1; }
    fi
    exit 0
fi
echo "onyx: missing WebAssembly build dependencies; install them with:" >&2
echo "    sudo apt-get install$missing" >&2
exit 1
