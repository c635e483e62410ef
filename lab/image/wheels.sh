#!/usr/bin/env bash
# Wheels for the guest's pip (the guest has no network): what `install.sh` installs
# (pi-app[pi,report] and the build backend of pi-app itself), for CPython 3.11 on
# x86_64 glibc 2.36 (Debian bookworm), downloaded from PyPI with the host's pip.
#
#   lab/image/wheels.sh OUT_DIR [REPO_DIR]
set -euo pipefail
out="${1:?usage: wheels.sh OUT_DIR [REPO_DIR]}"
repo="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && cd ../.. && pwd)}"
mkdir -p "$out"
# Requirements read from pyproject.toml, so a new dependency reaches the lab without an edit here.
mapfile -t reqs < <(python3 - "$repo/pyproject.toml" <<'PY'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))
reqs = list(p["build-system"]["requires"]) + list(p["project"]["dependencies"])
for extra in ("pi", "report"):
    reqs += p["project"]["optional-dependencies"][extra]
print("\n".join(reqs + ["pip"]))
PY
)
platforms=()
for v in 2_36 2_35 2_34 2_28 2_27 2_26 2_17 2_12 2_5; do
    platforms+=(--platform "manylinux_${v}_x86_64")
done
platforms+=(--platform manylinux2014_x86_64 --platform linux_x86_64 --platform any)
python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    "${platforms[@]}" -d "$out" "${reqs[@]}"
ls "$out"
