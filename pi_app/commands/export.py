"""`pi-app export SESSION -o DIR`: write a session as a recording CSV, steps CSV and strides
CSV (../shared/spec/recording-csv.md) plus its cues, so it can be re-analysed with
`pi-app analyze`."""

from __future__ import annotations

import argparse
from pathlib import Path

from pi_app.commands.sessions import add_state_dir
from pi_app.store.export import TerminalProgress, export_session
from pi_app.store.store import SessionStore


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export", help="export a session as recording/steps/strides CSV files",
        description="Write a stored session as session-ID.csv (recording CSV), "
                    "session-ID.steps.csv, session-ID.strides.csv and session-ID.cues.csv.")
    p.add_argument("session", metavar="SESSION", help="session id (see pi-app sessions) or 'last'")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR",
                   help="folder to write into (created if missing)")
    add_state_dir(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    with SessionStore.open(args.state_dir, read_only=True) as store:
        session_id = store.resolve(args.session)
        progress = TerminalProgress(f"exporting session {session_id}")
        paths = export_session(store, session_id, args.output, progress=progress)
        progress.done()
    print(f"session {session_id} exported: " + ", ".join(str(p) for p in paths.values()))
    return 0
