#!/usr/bin/env bash
# Creates the project's Python virtualenv (ignored cache) with pinned packages.
# Used to materialise the ONNX node tests and to build the demo model; never at run time.
set -eu
venv=${1:-.cache/venv}
stamp="$venv/.onyx-reqs"
reqs="$(dirname "$0")/requirements.txt"
if [ -f "$stamp" ] && cmp -s "$stamp" "$reqs"; then exit 0; fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
cp "$reqs" "$stamp"
