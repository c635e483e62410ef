"""The `pi-app` command line.

Each subcommand lives in `pi_app/commands/<name>.py` and exposes
`register(subparsers) -> argparse.ArgumentParser` that sets `func=run` (run(args) -> exit code).
Expected errors (`PiAppError`) are printed as one sentence on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pi_app import __version__
from pi_app.errors import PiAppError

# Order is the order shown in --help.
COMMAND_MODULES = [
    "sensors",
    "record",
    "calibrate",
    "analyze",
    "validate",
    "run",
    "demo",
    "sessions",
    "athletes",
    "progress",
    "export",
    "report",
    "replay",
    "doctor",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pi-app",
        description="Real-time running biofeedback: trunk counter-rotation timing from two IMUs.")
    parser.add_argument("--version", action="version", version=f"pi-app {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"pi_app.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"pi_app.commands.{name}":
                continue  # command not built yet in this checkout
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PiAppError as err:
        print(f"pi-app: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("pi-app: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
