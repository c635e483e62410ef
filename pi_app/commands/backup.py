"""`pi-app backup -o FILE`: a consistent single-file copy of the session database, safe
while the app runs and after an unclean stop (SQLite's backup API)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pi_app.commands.argtypes import check_output_file
from pi_app.commands.sessions import add_state_dir


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "backup", help="copy the session database safely into one file",
        description="Copy the session database (every session, with what is still in its "
                    "write-ahead log) into FILE with SQLite's backup API. Use this instead of "
                    "copying sessions.db by hand; open the copy elsewhere with --state-dir "
                    "(name it sessions.db in that folder).")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                   help="file to write (replaced if it exists), e.g. sessions-backup.db")
    add_state_dir(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pi_app.store.backup import backup_database
    from pi_app.store.store import SessionStore

    check_output_file(args.output, "-o")
    with SessionStore.open(args.state_dir, read_only=True) as store:
        if args.output.resolve() == store.path.resolve():
            from pi_app.errors import ConfigError
            raise ConfigError(f"-o {args.output} is the database itself; give another file "
                              "name.", key="-o")
        n_sessions = backup_database(store, args.output)
        source = store.path
    print(f"{n_sessions} session(s) from {source} copied to {args.output}")
    return 0
