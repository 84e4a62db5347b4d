#!/bin/sh
# Builds the protobuf-c runtime for a cross target into DIR (DIR/include, DIR/lib), from
# Debian's source package of the same version as the host's protoc-c, so the code protoc-c
# generates and the runtime it links against match. The target's own libprotobuf-c packages
# are not installed: Debian 12 has none for riscv64, and multiarch libc packages next to the
# cross toolchain make threaded programs hang under qemu-user.
# usage: cross.sh PREFIX DIR      e.g. cross.sh aarch64-linux-gnu- .cache/cross/aarch64-linux-gnu
#   CROSS_CC, CROSS_AR: the compiler and archiver commands when they are not PREFIXgcc and
#   PREFIXar (WebAssembly: CROSS_CC="clang --target=wasm32-wasi" CROSS_AR=llvm-ar)
set -eu
prefix=$1 dir=$2
cc=${CROSS_CC:-${prefix}gcc} ar=${CROSS_AR:-${prefix}ar}
[ -f "$dir/lib/libprotobuf-c.a" ] && [ -f "$dir/include/protobuf-c/protobuf-c.h" ] && exit 0

version=$(dpkg-query -W -f '${Version}' libprotobuf-c-dev 2>/dev/null || true)
version=${version%+b*} # a binary-only rebuild (+bN) has the source package's version without it
[ -n "$version" ] || { echo "cross.sh: libprotobuf-c-dev (host) is not installed" >&2; exit 1; }
src=.cache/cross/src
mkdir -p "$src"
src=$(cd "$src" && pwd)
if [ ! -f "$src/protobuf-c-$version.stamp" ]; then
    # A private apt state (lists, cache) with the system's own Debian mirror as a source
    # repository: nothing is changed in the system's apt configuration.
    uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    [ -n "$uri" ] && [ -n "$suite" ] || { echo "cross.sh: cannot find the Debian mirror or release" >&2; exit 1; }
    echo "deb-src $uri $suite main" > "$src/sources.list"
    mkdir -p "$src/lists/partial" "$src/cache/archives/partial"
    apt_opts="-qq -o Dir::Etc::SourceList=$src/sources.list -o Dir::Etc::SourceParts=$src/none
              -o Dir::State::Lists=$src/lists -o Dir::Cache=$src/cache -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    apt-get $apt_opts update
    # shellcheck disable=SC2086
    (cd "$src" && apt-get $apt_opts source --download-only "protobuf-c=$version")
    upstream=${version%-*}
    (cd "$src" && rm -rf "protobuf-c-$upstream" && tar xzf "protobuf-c_$upstream.orig.tar.gz")
    rm -rf "$src/lists" "$src/cache"
    touch "$src/protobuf-c-$version.stamp"
fi
tree=$(ls -d "$src"/protobuf-c-"${version%-*}" 2>/dev/null)
[ -f "$tree/protobuf-c/protobuf-c.c" ] || { echo "cross.sh: no protobuf-c source in $src" >&2; exit 1; }

mkdir -p "$dir/include/protobuf-c" "$dir/lib"
cp "$tree/protobuf-c/protobuf-c.h" "$dir/include/protobuf-c/"
# shellcheck disable=SC2086 # $cc may carry flags
$cc -O2 -fPIC -I"$tree" -c "$tree/protobuf-c/protobuf-c.c" -o "$dir/lib/protobuf-c.o"
rm -f "$dir/lib/libprotobuf-c.a"
$ar rcs "$dir/lib/libprotobuf-c.a" "$dir/lib/protobuf-c.o"
rm -f "$dir/lib/protobuf-c.o"
echo "cross.sh: protobuf-c $version built for ${prefix%-} in $dir"
