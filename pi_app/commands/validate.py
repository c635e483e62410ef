"""`pi-app validate [DATA_DIR] [--simulated]`: accuracy against known truth.

Runs every recording of the validation data (../shared/data layout) and, with --simulated,
recordings of simulator scenarios through the live analysis, scores them with the data
README's rules and prints one table (or JSON). `--markdown FILE` writes the table as
docs/ACCURACY.md is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pi_app.errors import InputFileError


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "validate", help="score the analysis against validation data and simulator truth",
        description="Analyse every recording under DATA_DIR (one folder per dataset, truth in "
                    "DATASET/truth/) and/or simulated scenarios, and report accuracy per "
                    "dataset against the targets.")
    p.add_argument("data_dir", nargs="?", type=Path, metavar="DATA_DIR",
                   help="validation data folder, e.g. ../shared/data")
    p.add_argument("--simulated", action="store_true",
                   help="also record and score simulator scenarios (steady, cadence-change, "
                        "dropout, i2c-noise)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="also write the table and its context as Markdown to FILE")
    p.set_defaults(func=run)
    return p


def _record(argv: list[str]) -> int:
    """`pi-app record ARGV`'s exit code (its one-sentence error on stderr, like the CLI)."""
    from pi_app.commands import record
    from pi_app.commands.argtypes import CliParser
    from pi_app.errors import PiAppError
    parser = CliParser(prog="pi-app")
    record.register(parser.add_subparsers(dest="command"))
    try:
        return int(record.run(parser.parse_args(["record", *argv])) or 0)
    except PiAppError as err:
        print(f"pi-app: {err}", file=sys.stderr)
        return err.exit_code


def run(args) -> int:
    from pi_app.validation.runner import markdown_table, validate_data_dir, validate_simulated

    if args.data_dir is None and not args.simulated:
        raise InputFileError("say what to validate: a data folder (e.g. ../shared/data), "
                             "--simulated, or both.")

    def progress(what: str) -> None:
        if sys.stderr.isatty():
            print(f"\r\033[Kvalidating {what} ...", end="", file=sys.stderr, flush=True)

    scores = []
    if args.data_dir is not None:
        scores += validate_data_dir(args.data_dir, progress=progress)
    if args.simulated:
        scores += validate_simulated(_record, progress=progress)
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    table = markdown_table(scores)
    if args.json:
        json.dump({s.name: {"metrics": s.metrics(), "targets_met": s.verdicts(),
                            "failures": s.failures} for s in scores},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(table)
        for s in scores:
            for failure in s.failures:
                print(f"failure in {s.name}: {failure}")
    if args.markdown is not None:
        from pi_app.validation.report import write_accuracy_markdown
        write_accuracy_markdown(args.markdown, scores, table)
    return 0
