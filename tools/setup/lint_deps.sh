#!/bin/sh
# The static analysers `make lint` runs: installed when root on Debian/Ubuntu, else named.
set -u
missing=""
command -v cppcheck >/dev/null 2>&1 || missing="$missing cppcheck"
command -v clang-tidy >/dev/null 2>&1 || missing="$missing clang-tidy"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "onyx: installing lint tools:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null && exit 0
fi
echo "onyx: make lint needs:$missing" >&2
exit 1
