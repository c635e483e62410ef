"""A consistent copy of the session database (`pi-app backup -o FILE`).

Copying `sessions.db` by hand while the app runs, or after an unclean stop, misses what is
still in its write-ahead log (`sessions.db-wal`): the copy is older than the data, or
inconsistent. SQLite's online backup API copies the database as one reader sees it, WAL
included, into a single self-contained file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pi_app.store.store import SessionStore, SessionStoreError


def backup_database(store: SessionStore, out_path: str | os.PathLike) -> int:
    """Copy the whole database of `store` to `out_path` (replaced if it exists) and return
    the number of sessions in the copy. The copy is written under a temporary name, checked
    (`PRAGMA integrity_check`) and renamed into place, so `out_path` is never half a file."""
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        dst = sqlite3.connect(str(partial))
        try:
            store.conn.backup(dst)
            # One file to carry around: no -wal/-shm beside the copy.
            dst.execute("PRAGMA journal_mode=DELETE")
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
            n_sessions = dst.execute("SELECT count(*) FROM sessions").fetchone()[0]
        finally:
            dst.close()
        if ok != "ok":
            raise SessionStoreError(
                f"the copy of {store.path} fails SQLite's integrity check ({ok}); the "
                "database itself may be damaged: keep it and its -wal file as they are.",
                path=str(store.path))
        os.replace(partial, out_path)
    except sqlite3.Error as err:
        raise SessionStoreError(f"cannot back up {store.path} to {out_path} ({err}); check "
                                "the free space and that the -o folder is writable.",
                                path=str(store.path)) from None
    finally:
        partial.unlink(missing_ok=True)
    return int(n_sessions)
