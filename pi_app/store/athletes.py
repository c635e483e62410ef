"""Athletes in the session store: who a session belongs to (schema 2, see schema.py).

    with SessionStore.open(state) as store:
        ana = add_athlete(store, "Ana Silva")
        find_athlete(store, "ana silva").id == ana.id      # names match case-insensitively
        rename_athlete(store, "Ana Silva", "Ana Souza")
        delete_athlete(store, "Ana Souza")                 # and every session of hers

A name is matched in the form `athlete_key` gives it; an athlete may also be named by id.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from pi_app.store.migrations import athlete_key
from pi_app.store.store import SessionStore, SessionStoreError


@dataclass(frozen=True)
class Athlete:
    """An athlete: id, name as shown, created (unix s), notes, and their sessions so far
    (count, newest start in unix s or None)."""

    id: int
    name: str
    created_unix_s: float
    notes: str = ""
    n_sessions: int = 0
    last_session_unix_s: float | None = None

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "created_unix_s": self.created_unix_s,
                "notes": self.notes, "sessions": self.n_sessions,
                "last_session_unix_s": self.last_session_unix_s}


_SQL = """
    SELECT a.id, a.name, a.created_unix_s, a.notes,
      (SELECT count(*) FROM sessions s WHERE s.athlete_ref = a.id) AS n,
      (SELECT max(start_unix_s) FROM sessions s WHERE s.athlete_ref = a.id) AS last
    FROM athletes a"""


def _athlete(row) -> Athlete:
    return Athlete(row[0], row[1], row[2], row[3], row[4], row[5])


def _query(store: SessionStore, sql: str, params=()) -> list[tuple]:
    try:
        return store.conn.execute(sql, params).fetchall()
    except sqlite3.DatabaseError as err:
        raise SessionStoreError(f"the session database {store.path} cannot be read ({err}).",
                                path=str(store.path)) from None


def _clean(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise SessionStoreError("an athlete needs a name; give one, e.g. \"Ana Silva\".")
    if len(name) > 80:
        raise SessionStoreError(f"the athlete name {name[:20]!r}... is {len(name)} characters "
                                "long; use at most 80.")
    return name


def list_athletes(store: SessionStore) -> list[Athlete]:
    """Every athlete, by name."""
    return [_athlete(r) for r in _query(store, _SQL + " ORDER BY a.name_key")]


def get_athlete(store: SessionStore, ref: str | int) -> Athlete | None:
    """The athlete named `ref` (any spelling `athlete_key` equates) or with id `ref`."""
    text = str(ref).strip()
    rows = _query(store, _SQL + " WHERE a.name_key = ?", (athlete_key(text),))
    if not rows and text.isdigit():
        rows = _query(store, _SQL + " WHERE a.id = ?", (int(text),))
    return _athlete(rows[0]) if rows else None


def find_athlete(store: SessionStore, ref: str | int) -> Athlete:
    """Like `get_athlete`, but a missing athlete is an error that says how to list them."""
    athlete = get_athlete(store, ref)
    if athlete is None:
        raise SessionStoreError(f"there is no athlete {str(ref).strip()!r} in {store.path}; "
                                "`pi-app athletes list` shows them, `pi-app athletes add NAME` "
                                "adds one.", path=str(store.path))
    return athlete


def _write(store: SessionStore, fn):
    try:
        with store.conn:
            return fn(store.conn)
    except sqlite3.DatabaseError as err:
        raise SessionStoreError(f"the session database {store.path} cannot be written "
                                f"({err}); check the disk space and that the state directory "
                                "is writable.", path=str(store.path)) from None


def add_athlete(store: SessionStore, name: str, notes: str = "") -> Athlete:
    """A new athlete; an error if one with that name (in any spelling) exists."""
    name = _clean(name)
    existing = get_athlete(store, name)
    if existing is not None:
        raise SessionStoreError(f"there is already an athlete {existing.name!r} "
                                f"(id {existing.id}); choose another name.")
    new_id = _write(store, lambda c: c.execute(
        "INSERT INTO athletes (name, name_key, created_unix_s, notes) VALUES (?, ?, ?, ?)",
        (name, athlete_key(name), time.time(), notes)).lastrowid)
    return find_athlete(store, new_id)


def ensure_athlete(store: SessionStore, name: str) -> tuple[Athlete, bool]:
    """(the athlete named `name`, whether it was just added)."""
    existing = get_athlete(store, _clean(name))
    if existing is not None:
        return existing, False
    return add_athlete(store, name), True


def rename_athlete(store: SessionStore, ref: str | int, new_name: str) -> Athlete:
    """Rename; the sessions follow (they refer to the athlete by id)."""
    athlete = find_athlete(store, ref)
    new_name = _clean(new_name)
    other = get_athlete(store, new_name)
    if other is not None and other.id != athlete.id:
        raise SessionStoreError(f"there is already an athlete {other.name!r} (id {other.id}); "
                                "choose another name.")
    _write(store, lambda c: c.execute("UPDATE athletes SET name = ?, name_key = ? WHERE id = ?",
                                      (new_name, athlete_key(new_name), athlete.id)))
    return find_athlete(store, athlete.id)


def athlete_session_ids(store: SessionStore, athlete_id: int) -> list[int]:
    """The athlete's sessions, oldest first."""
    return [r[0] for r in _query(store, "SELECT id FROM sessions WHERE athlete_ref = ? "
                                        "ORDER BY start_unix_s, id", (athlete_id,))]


def delete_athlete(store: SessionStore, ref: str | int) -> tuple[Athlete, int]:
    """Delete the athlete, every session of theirs (samples, steps, strides, cues, events)
    and their remembered baselines, in one transaction. Returns (athlete, sessions deleted)."""
    athlete = find_athlete(store, ref)

    def delete(conn):
        # The athlete asked for their data to go: overwrite the freed pages, do not just
        # unlink them (sqlite.org/pragma.html#pragma_secure_delete).
        conn.execute("PRAGMA secure_delete=ON")
        n = conn.execute("DELETE FROM sessions WHERE athlete_ref = ?", (athlete.id,)).rowcount
        conn.execute("DELETE FROM baselines WHERE athlete_ref = ?", (athlete.id,))
        conn.execute("DELETE FROM athletes WHERE id = ?", (athlete.id,))
        return n

    return athlete, _write(store, delete)
