"""Stored sessions leave the Pi whole and say what they mean (issue 12 §3, §4): an
interrupted export leaves nothing under the final name, `pi-app backup` copies the WAL tail
a hand copy of sessions.db misses, `sessions` explains "cues 3/5"."""

from __future__ import annotations

import shutil

import pytest

from pi_app.cli import main
from pi_app.clock import ManualClock
from pi_app.records import CueEvent
from pi_app.app import import_recording
from pi_app.store.export import export_paths, export_session
from pi_app.store.store import SessionInfo, SessionStore, SessionStoreError
from pi_app.store.writer import SessionRecorder


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec")
    rec = root / "run.csv"
    assert main(["record", "--simulate", "--seed", "4", "--seconds", "8", "-o", str(rec),
                 "--quiet"]) == 0
    return rec


def test_interrupted_export_leaves_no_file_under_the_final_name(tmp_path, recording,
                                                                monkeypatch):
    store = SessionStore.open(tmp_path / "state")
    sid = import_recording(store, recording)
    real = SessionStore.iter_samples

    def cut(self, session_id):
        for k, chunk in enumerate(real(self, session_id)):
            if k == 2:
                raise KeyboardInterrupt
            yield chunk
    monkeypatch.setattr(SessionStore, "iter_samples", cut)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        export_session(store, sid, out)
    assert not export_paths(out, sid)["recording"].exists()
    assert list(out.iterdir()) == []
    monkeypatch.undo()
    paths = export_session(store, sid, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    store.close()


def session_ids(db) -> list[int]:
    try:
        with SessionStore(db, read_only=True) as store:
            return [s.id for s in store.list_sessions()]
    except SessionStoreError:       # not even the tables made it
        return []


def test_backup_keeps_what_is_still_in_the_write_ahead_log(tmp_path, recording, capsys):
    state = tmp_path / "state"
    live = SessionStore.open(state)           # the app still running: the WAL is not merged
    sid = import_recording(live, recording)
    hand = tmp_path / "hand"
    hand.mkdir()
    shutil.copy(state / "sessions.db", hand / "sessions.db")
    assert sid not in session_ids(hand / "sessions.db")     # what a hand copy loses

    out = tmp_path / "safe" / "sessions.db"
    out.parent.mkdir()
    assert main(["backup", "-o", str(out), "--state-dir", str(state)]) == 0
    assert "1 session(s)" in capsys.readouterr().out
    live.close()
    assert sorted(p.name for p in out.parent.iterdir()) == ["sessions.db"]
    with SessionStore(out, read_only=True) as copy, \
            SessionStore.open(state, read_only=True) as original:
        assert [s.as_json() for s in copy.list_sessions()] == \
            [s.as_json() for s in original.list_sessions()]
        assert copy.sample_chunk_count(sid) == original.sample_chunk_count(sid)


def test_backup_to_a_folder_is_one_sentence(tmp_path, capsys):
    assert main(["backup", "-o", str(tmp_path), "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a folder" in err


def test_sessions_explains_played_over_decided(tmp_path, recording, capsys):
    store = SessionStore.open(tmp_path / "state")
    rec = SessionRecorder(store, SessionInfo(athlete_name="Ana", rate_hz=100.0,
                                             segments=("pelvis", "thorax")),
                          clock=ManualClock())
    for k in range(5):
        rec.on_cue(CueEvent(t_s=10.0 + k, kind="late", intensity=0.5, played=k < 3,
                            reason="" if k < 3 else "muted"))
    rec.close()
    store.close()
    assert main(["sessions", "--state-dir", str(tmp_path / "state")]) == 0
    out = capsys.readouterr().out
    assert "3/5" in out and "played/decided" in out and "withheld" in out
