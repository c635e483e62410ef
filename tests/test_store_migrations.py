"""Schema migrations: a database written by release 1 (tests/fixtures/sessions_v1.db, made by
that release's code) opens, migrates and keeps every row; a failed migration changes nothing
and says so."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from pi_app.store import SessionStore, SessionStoreError
from pi_app.store import migrations
from pi_app.store.schema import SCHEMA_VERSION

FIXTURE = Path(__file__).parent / "fixtures" / "sessions_v1.db"
V1_TABLES = ("sessions", "samples", "steps", "strides", "cues", "events")


def _read_only(path: Path) -> sqlite3.Connection:
    # The committed fixture is opened immutable: not even a WAL index (-shm) appears beside it.
    flags = "?mode=ro&immutable=1" if path == FIXTURE else "?mode=ro"
    return sqlite3.connect(path.resolve().as_uri() + flags, uri=True)


def _columns(conn, table) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _rows(conn, table, columns) -> list[tuple]:
    return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()


def _dump(path: Path) -> list[str]:
    conn = _read_only(path)
    try:
        return [f"user_version={conn.execute('PRAGMA user_version').fetchone()[0]}",
                *conn.iterdump()]
    finally:
        conn.close()


@pytest.fixture
def v1_db(tmp_path) -> Path:
    path = tmp_path / "sessions.db"
    shutil.copyfile(FIXTURE, path)
    return path


def test_fixture_is_a_release_1_database_with_data():
    conn = _read_only(FIXTURE)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in V1_TABLES}
    conn.close()
    assert counts["sessions"] == 3 and counts["samples"] > 0 and counts["strides"] > 0
    assert counts["cues"] > 0 and counts["steps"] > 0


def test_release_1_database_migrates_with_every_row_kept(v1_db):
    before = _read_only(FIXTURE)
    with SessionStore(v1_db) as store:
        after = store.conn
        assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for table in V1_TABLES:
            old_columns = _columns(before, table)
            # Every old column is still there, and every row, value for value (BLOBs too).
            assert set(old_columns) <= set(_columns(after, table)), table
            assert _rows(after, table, old_columns) == _rows(before, table, old_columns), table
        assert store.integrity_ok()
        # The name typed twice in two spellings became one athlete; the unnamed session none.
        athletes = after.execute("SELECT id, name FROM athletes").fetchall()
        assert athletes == [(1, "Ana Silva")]
        refs = dict(after.execute("SELECT id, athlete_ref FROM sessions").fetchall())
        assert refs == {1: 1, 2: 1, 3: None}
        # And the store's own readers still see what release 1 wrote.
        sessions = store.list_sessions()
        assert [s.n_strides for s in sessions] == [
            before.execute("SELECT count(*) FROM strides WHERE session_id = ?", (s.id,))
            .fetchone()[0] for s in sessions]
        assert len(list(store.iter_samples(1))) == before.execute(
            "SELECT count(*) FROM samples WHERE session_id = 1").fetchone()[0]
    before.close()


def test_read_only_open_of_an_old_database_migrates_it_once(v1_db):
    with SessionStore(v1_db, read_only=True) as store:
        assert len(store.list_sessions()) == 3
    conn = _read_only(v1_db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_failed_migration_leaves_the_file_as_it_was_and_says_so(v1_db):
    before = _dump(v1_db)
    pages = _read_only(v1_db).execute("PRAGMA page_count").fetchone()[0]
    page_size = _read_only(v1_db).execute("PRAGMA page_size").fetchone()[0]
    # A size cap at exactly the current size: the new tables need pages, so SQLite reports a
    # full database in the middle of the migration (as a full SD card would).
    with pytest.raises(SessionStoreError) as info:
        SessionStore(v1_db, max_size_mb=pages * page_size / 1e6)
    text = str(info.value)
    assert "from schema 1 to" in text and "nothing was changed" in text
    assert str(v1_db) in text and "full" in text
    assert "Traceback" not in text
    assert _dump(v1_db) == before


def test_failure_in_a_later_step_rolls_back_the_earlier_ones(v1_db, monkeypatch):
    """The whole chain is one transaction: a step that fails after others ran (and after its
    own first statements) leaves no trace of any of them."""
    before = _dump(v1_db)

    def breaks_halfway(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("simulated failure")

    chain = migrations.MIGRATIONS + (migrations.Migration(SCHEMA_VERSION + 1, "test step",
                                                          breaks_halfway),)
    conn = sqlite3.connect(v1_db)
    with pytest.raises(migrations.MigrationError) as info:
        migrations.migrate(conn, v1_db, chain)
    conn.close()
    assert info.value.version == SCHEMA_VERSION + 1
    assert _dump(v1_db) == before


def test_new_database_is_created_at_the_current_schema(tmp_path):
    with SessionStore(tmp_path / "sessions.db") as store:
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert version == SCHEMA_VERSION
    assert set(V1_TABLES) | {"athletes", "baselines"} <= tables


def test_migrations_are_numbered_without_gaps():
    assert [m.version for m in migrations.MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
