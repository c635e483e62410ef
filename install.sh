#!/usr/bin/env bash
# pi_app installer.
#
#   ./install.sh --dev        developer / laptop set-up: .venv in this checkout with the package
#                             (editable) and the test tools. No root needed, except for the apt
#                             packages it names when they are missing.
#   ./install.sh --dev --dry-run
#                             print what would be done, change nothing.
#
# The Raspberry Pi system install (service user, /opt/pi-app, systemd unit, I2C set-up) is the
# `--system` mode; it is not built yet and says so.
#
# Idempotent: a second run with nothing changed only checks and exits quickly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode=""
dry_run=0

usage() {
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --dev) mode="dev" ;;
        --system) mode="system" ;;
        --dry-run) dry_run=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "$mode" ]; then
    echo "install.sh: say what to install: --dev (laptop/developer set-up; see --help)" >&2
    exit 2
fi

run() {
    # Print every action; run it unless --dry-run.
    echo "+ $*"
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

if [ "$mode" = "system" ]; then
    echo "install.sh: the Raspberry Pi system install (--system) is not built yet; use --dev for now." >&2
    exit 2
fi

# ---- developer install --------------------------------------------------------------------
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "install.sh: $python not found; install it with: sudo apt-get install python3 python3-venv" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "install.sh: pi_app needs Python >= 3.11 (found $("$python" --version 2>&1)); Raspberry Pi OS Bookworm and Debian 12 ship 3.11." >&2
    exit 1
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            run apt-get update -qq
            run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        else
            echo "install.sh: Python's venv module is missing; install it with: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
    run "$python" -m venv "$venv"
fi

# Re-install only when the dependency list changed (keeps a second run fast and a no-op).
stamp="$venv/.pi-app-dev-install"
want="$(cat "$here/pyproject.toml" | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    run "$venv/bin/python" -m pip install --quiet --upgrade pip
    run "$venv/bin/python" -m pip install --quiet -e "$here[dev]"
    if [ "$dry_run" -eq 0 ]; then
        echo "$want" > "$stamp"
    fi
    echo "install.sh: developer environment ready in .venv"
else
    echo "install.sh: .venv is up to date (nothing to do)"
fi
echo "install.sh: try '.venv/bin/pi-app --help'; run the tests with '.venv/bin/python -m pytest'"
