"""Athletes in the store and `pi-app athletes`: add, list, rename, show, export, delete (with
confirmation; every session of theirs goes, nobody else's)."""

import argparse
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from pi_app.cli import build_parser
from pi_app.commands import athletes as cmd
from pi_app.errors import PiAppError
from pi_app.store import SessionStore, SessionStoreError
from pi_app.store.athletes import (add_athlete, athlete_session_ids, delete_athlete,
                                   ensure_athlete, find_athlete, get_athlete, list_athletes,
                                   rename_athlete)

FIXTURE = Path(__file__).parent / "fixtures" / "sessions_v1.db"
TABLES = ("samples", "steps", "strides", "cues", "events")


@pytest.fixture
def state(tmp_path) -> Path:
    """A state dir holding the release-1 fixture (athlete "Ana Silva": sessions 1 and 2;
    session 3 without an athlete)."""
    shutil.copyfile(FIXTURE, tmp_path / "sessions.db")
    return tmp_path


def _cli(state, *argv, stdin=None):
    args = build_parser().parse_args(["athletes", *argv, "--state-dir", str(state)])
    out = io.StringIO()
    code = cmd.run(args, stdin=stdin or io.StringIO(""), stdout=out)
    return code, out.getvalue()


def _counts(path, session_id):
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t} WHERE session_id = ?",
                                (session_id,)).fetchone()[0] for t in TABLES}
    finally:
        conn.close()


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_names_match_in_any_spelling(tmp_path):
    with SessionStore(tmp_path / "s.db") as store:
        a = add_athlete(store, "  Ben   Okafor ")
        assert a.name == "Ben Okafor"
        assert find_athlete(store, "ben okafor").id == a.id
        assert find_athlete(store, str(a.id)).id == a.id
        with pytest.raises(SessionStoreError, match="already an athlete 'Ben Okafor'"):
            add_athlete(store, "BEN OKAFOR")
        assert ensure_athlete(store, "ben okafor") == (a, False)
        c, new = ensure_athlete(store, "Cleo")
        assert new and [x.name for x in list_athletes(store)] == ["Ben Okafor", "Cleo"]
        with pytest.raises(SessionStoreError, match="athletes list"):
            find_athlete(store, "nobody")
        with pytest.raises(SessionStoreError, match="needs a name"):
            add_athlete(store, "   ")


def test_rename_keeps_the_sessions(state):
    with SessionStore(state / "sessions.db") as store:
        a = rename_athlete(store, "ana silva", "Ana Souza")
        assert a.n_sessions == 2 and get_athlete(store, "Ana Silva") is None
        assert athlete_session_ids(store, a.id) == [1, 2]
        assert [s.athlete_name for s in store.list_sessions()] == ["Ana Souza", "Ana Souza", ""]
        add_athlete(store, "Cleo")
        with pytest.raises(SessionStoreError, match="already an athlete 'Cleo'"):
            rename_athlete(store, "Ana Souza", "cleo")


def test_delete_removes_every_session_of_theirs_and_nothing_else(state):
    db = state / "sessions.db"
    other_before = _counts(db, 3)
    assert all(_counts(db, 1)[t] > 0 for t in ("samples", "steps", "strides"))
    with SessionStore(db) as store:
        athlete, n = delete_athlete(store, "Ana Silva")
        assert n == 2 and get_athlete(store, "Ana Silva") is None
        assert [s.id for s in store.list_sessions()] == [3]
        assert store.integrity_ok()
    for sid in (1, 2):
        assert set(_counts(db, sid).values()) == {0}
    assert _counts(db, 3) == other_before


def test_cli_delete_needs_a_confirmation(state):
    with pytest.raises(PiAppError, match="--yes"):
        _cli(state, "delete", "ana silva")                  # not a terminal, no --yes
    code, out = _cli(state, "delete", "ana silva", stdin=Tty("Ana\n"))
    assert code == 1 and "not deleted" in out
    code, out = _cli(state, "list", "--json")
    assert json.loads(out)[0]["sessions"] == 2
    code, out = _cli(state, "delete", "ana silva", stdin=Tty("ana  SILVA\n"))
    assert code == 0 and "deleted athlete 'Ana Silva' and 2 session(s)" in out
    assert json.loads(_cli(state, "list", "--json")[1]) == []


def test_cli_add_list_rename_show_export(state, tmp_path):
    assert _cli(state, "add", "Cleo Park")[0] == 0
    code, out = _cli(state, "list")
    assert "Ana Silva" in out and "Cleo Park" in out
    assert _cli(state, "rename", "cleo park", "Cleo Park-Lee")[0] == 0
    code, out = _cli(state, "show", "Ana Silva")
    assert "2 session(s)" in out and "session    1" in out
    shown = json.loads(_cli(state, "show", "1", "--json")[1])
    assert [s["id"] for s in shown["sessions"]] == [1, 2]
    folder = tmp_path / "export"
    code, out = _cli(state, "export", "ana silva", "-o", str(folder))
    assert code == 0
    names = sorted(p.name for p in folder.iterdir())
    assert "athlete.json" in names and "session-1.csv" in names and "session-2.csv" in names
    assert not any(n.startswith("session-3") for n in names)
    assert _cli(state, "delete", "Cleo Park-Lee", "--yes")[0] == 0


def test_cli_list_without_a_database(tmp_path):
    code, out = _cli(tmp_path, "list")
    assert code == 0 and "no athletes yet" in out
