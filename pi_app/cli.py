"""The `pi-app` command line.

Each subcommand lives in `pi_app/commands/<name>.py` and exposes
`register(subparsers) -> argparse.ArgumentParser` that sets `func=run` (run(args) -> exit code).
Expected errors (`PiAppError`) are printed as one sentence on stderr, never as a traceback.
"""

from __future__ import annotations

import os

# pygame prints a "Hello from the pygame community" banner on import; no command wants it,
# and the dashboard modules are imported while the parser is built.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import sys  # noqa: E402

# Everything else is imported inside main(), under its Ctrl-C handler: the console script
# imports this module first, so what it imports runs before any handler can exist.

# Order is the order shown in --help.
COMMAND_MODULES = [
    "sensors",
    "record",
    "calibrate",
    "analyze",
    "validate",
    "run",
    "demo",
    "cues",
    "sessions",
    "athletes",
    "progress",
    "export",
    "backup",
    "report",
    "replay",
    "doctor",
]


def build_parser():
    """The argparse parser with every subcommand registered."""
    import argparse
    import importlib

    from pi_app import __version__
    from pi_app.commands.argtypes import CliParser

    parser = CliParser(
        prog="pi-app",
        description="Real-time running biofeedback: trunk counter-rotation timing from two IMUs.")
    parser.add_argument("--version", action="version", version=f"pi-app {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"pi_app.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code. Ctrl-C at any moment, even while the
    commands are still being imported, ends in one line and exit code 130."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("pi-app: stopped (Ctrl-C).", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    from pi_app.errors import PiAppError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
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
