"""`pi-app report SESSION -o report.pdf|png`: a one-page coach's report of a session."""

from __future__ import annotations

import argparse
from pathlib import Path

from pi_app.commands import argtypes
from pi_app.commands.sessions import add_state_dir
from pi_app.store.export import TerminalProgress
from pi_app.store.store import SessionStore


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report", help="write a session report (PDF or PNG)",
        description="Plot a stored session for the coach: cadence, relative phase with the "
                    "band and drift episodes, rotation range, left/right symmetry, cue dose "
                    "and a summary table. Needs matplotlib (the 'report' extra).")
    p.add_argument("session", metavar="SESSION", help="session id (see pi-app sessions) or 'last'")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="report.pdf|png",
                   help="file to write; the extension chooses PDF or PNG")
    add_state_dir(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    argtypes.check_figure_output(args.output, "the report")
    from pi_app.store.report import write_report
    with SessionStore.open(args.state_dir, read_only=True) as store:
        session_id = store.resolve(args.session)
        progress = TerminalProgress(f"report of session {session_id}")
        write_report(store, session_id, args.output, progress=progress)
        progress.done()
    print(f"session {session_id} report written to {args.output}")
    return 0
