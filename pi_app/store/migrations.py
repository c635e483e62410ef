"""Versioned, transactional migrations of the session database schema.

`PRAGMA user_version` holds the schema version of a database file. `migrate(conn, path)`
brings a file from its version up to `SCHEMA_VERSION` by running every later `Migration` in
order, all inside ONE transaction together with the new `user_version`: SQLite's DDL is
transactional, so either the file ends at the new version with everything in it, or (any
error, a full disk, a kill in the middle) it is exactly as it was and the error says so.

Adding a schema change: append a `Migration(version, what, apply)` and raise
`SCHEMA_VERSION` (schema.py). `apply(conn)` runs inside the transaction; it must never drop
data a user recorded (tests/test_store_migrations.py migrates a database written by release
1 and compares it row by row).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pi_app.store.schema import DDL_V1, DDL_V2, DDL_V3, SCHEMA_VERSION


@dataclass(frozen=True)
class Migration:
    """The step from schema `version - 1` to `version`: `what` it adds, `apply(conn)`."""

    version: int
    what: str
    apply: Callable[[sqlite3.Connection], None]


def _statements(ddl: str) -> list[str]:
    # The DDL holds no ';' inside literals, so splitting is exact. executescript() is not
    # used because it commits the open transaction first.
    return [s.strip() for s in ddl.split(";") if s.strip()]


def _run(ddl: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in _statements(ddl):
            conn.execute(statement)
    return apply


def athlete_key(name: str) -> str:
    """The form under which two spellings of a name are the same athlete ("Ana Silva" and
    " ana  silva"): case-folded, inner whitespace collapsed."""
    return " ".join(name.split()).casefold()


def _v2(conn: sqlite3.Connection) -> None:
    _run(DDL_V2)(conn)
    # Sessions recorded before athletes existed carry the name as typed: each distinct name
    # (as `athlete_key` sees it) becomes an athlete, spelled as in its first session.
    rows = conn.execute("SELECT id, athlete_name, start_unix_s FROM sessions "
                        "WHERE trim(athlete_name) != '' ORDER BY start_unix_s, id").fetchall()
    ids: dict[str, int] = {}
    for session_id, name, start_unix_s in rows:
        key = athlete_key(name)
        if key not in ids:
            cur = conn.execute("INSERT INTO athletes (name, name_key, created_unix_s) "
                               "VALUES (?, ?, ?)", (" ".join(name.split()), key, start_unix_s))
            assert cur.lastrowid is not None        # set by the INSERT
            ids[key] = cur.lastrowid
        conn.execute("UPDATE sessions SET athlete_ref = ? WHERE id = ?", (ids[key], session_id))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "sessions, samples, steps, strides, cues, events", _run(DDL_V1)),
    Migration(2, "athletes (sessions belong to one), treadmill speed, remembered baselines",
              _v2),
    Migration(3, "retraining programmes: the athlete's programme, each session's place in it",
              _run(DDL_V3)),
)
assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


class MigrationError(Exception):
    """A migration step failed; the transaction was rolled back (`version` is the step)."""

    def __init__(self, version: int, what: str, cause: BaseException):
        super().__init__(f"schema {version} ({what}): {type(cause).__name__}: {cause}")
        self.version = version
        self.cause = cause


def pending(conn: sqlite3.Connection) -> list[Migration]:
    """The migrations a database at its current `user_version` still needs."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return [m for m in MIGRATIONS if m.version > version]


def migrate(conn: sqlite3.Connection, path: str | Path | None = None,
            migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every pending migration to `conn` in one transaction and set `user_version`.
    Returns the versions applied ([] when up to date). On any error everything is rolled
    back and `MigrationError` is raised: the file is left as it was."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    todo = [m for m in migrations if m.version > version]
    if not todo:
        return []
    saved_isolation = conn.isolation_level
    conn.isolation_level = None          # we issue BEGIN/COMMIT ourselves
    try:
        conn.execute("BEGIN IMMEDIATE")
        step = todo[0]
        try:
            for step in todo:
                step.apply(conn)
            conn.execute(f"PRAGMA user_version={todo[-1].version}")
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise sqlite3.IntegrityError(f"{len(problems)} row(s) break a foreign key, "
                                             f"first {problems[0]}")
            conn.execute("COMMIT")
        except BaseException as err:
            conn.execute("ROLLBACK")
            raise MigrationError(step.version, step.what, err) from err
    finally:
        conn.isolation_level = saved_isolation
    return [m.version for m in todo]
