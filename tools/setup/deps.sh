#!/bin/sh
# Checks the build dependencies and installs the missing ones when running as root on
# Debian/Ubuntu; otherwise names the packages to install and fails.
set -u
missing=""
have_header() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }

command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v protoc-c >/dev/null 2>&1 || missing="$missing protobuf-c-compiler"
have_header protobuf-c/protobuf-c.h || missing="$missing libprotobuf-c-dev"
have_header cblas.h || [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || missing="$missing libopenblas-dev"
have_header png.h || missing="$missing libpng-dev"
have_header jpeglib.h || missing="$missing libjpeg-dev"
have_header webp/decode.h || missing="$missing libwebp-dev"
# OpenJPEG's header is in a versioned folder (pkg-config libopenjp2 names it)
ls /usr/include/openjpeg-2.*/openjpeg.h >/dev/null 2>&1 || pkg-config --exists libopenjp2 2>/dev/null ||
    missing="$missing libopenjp2-7-dev"
case "${CC:-cc}" in
*clang*) command -v "${CC}" >/dev/null 2>&1 || missing="$missing clang"
         have_header omp.h || missing="$missing libomp-dev" ;;
esac
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$missing python3-venv"

[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "onyx: installing build dependencies:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
        echo "onyx: apt-get install failed for:$missing" >&2; exit 1; }
    exit 0
fi
echo "onyx: missing build dependencies; install them with:" >&2
echo "    sudo apt-get install$missing" >&2
exit 1
