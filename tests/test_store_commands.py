"""The session commands end to end on a simulated session: `pi-app record --simulate`, the
recording run through the live Analyzer into the store by a SessionRecorder, then
`pi-app sessions --json`, `export` (re-analysed with `pi-app analyze`), `report` and
`replay --headless`."""

import json
import sqlite3

import numpy as np
import pytest

from pi_app.cli import main
from pi_app.recording.csv_reader import read_steps_csv, read_strides_csv
from pi_app.store import SessionInfo, SessionStore
from pi_app.app import import_recording


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    rec = root / "run.csv"
    assert main(["record", "--simulate", "--scenario", "steady", "--seed", "4", "--seconds",
                 "14", "-o", str(rec), "--quiet"]) == 0
    store = SessionStore.open(root / "state")
    sid = import_recording(store, rec, SessionInfo(athlete_name="Ana Runner",
                                                    athlete_id="A-17", simulated=True,
                                                    scenario="steady", seed=4))
    store.close()
    return root, sid


def test_sessions_json_lists_the_session(state, capsys):
    root, sid = state
    assert main(["sessions", "--json", "--state-dir", str(root / "state")]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == [sid]
    s = listed[0]
    assert s["athlete_name"] == "Ana Runner" and s["status"] == "ended"
    assert 13.0 < s["duration_s"] < 14.1
    assert s["strides"] >= 10 and s["cues"] == 0 and s["simulated"] is True
    assert main(["sessions", "--state-dir", str(root / "state")]) == 0
    table = capsys.readouterr().out
    assert "Ana Runner" in table and f"{s['strides']:>7}" in table


def test_sessions_without_a_database_is_an_empty_list(tmp_path, capsys):
    assert main(["sessions", "--state-dir", str(tmp_path / "nothing")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("no sessions recorded yet") and "pi-app demo" in out and err == ""
    assert main(["sessions", "--json", "--state-dir", str(tmp_path / "nothing")]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "nothing").exists()      # reading never creates anything


def test_report_without_a_database_names_a_command_that_works_on_a_laptop(tmp_path, capsys):
    assert main(["report", "last", "-o", str(tmp_path / "r.pdf"),
                 "--state-dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "no session database" in err and "pi-app demo" in err and "Traceback" not in err


def test_export_round_trip_through_analyze(state, tmp_path, capsys):
    root, sid = state
    out = tmp_path / "export"
    assert main(["export", str(sid), "-o", str(out), "--state-dir", str(root / "state")]) == 0
    recording = out / f"session-{sid}.csv"
    stored_steps = read_steps_csv(out / f"session-{sid}.steps.csv")
    stored_strides = read_strides_csv(out / f"session-{sid}.strides.csv")
    assert len(stored_strides) >= 10
    assert main(["analyze", str(recording), "--steps-out", str(tmp_path / "s.csv"),
                 "--strides-out", str(tmp_path / "t.csv")]) == 0
    again_steps = read_steps_csv(tmp_path / "s.csv")
    again = read_strides_csv(tmp_path / "t.csv")
    # Same samples (to float32 and CSV precision), same analysis: the same strides.
    assert len(again_steps) == len(stored_steps)
    for a, b in zip(again_steps, stored_steps):
        assert a.side == b.side and a.t_s == pytest.approx(b.t_s, abs=0.002)
    assert len(again) == len(stored_strides)
    for a, b in zip(again, stored_strides):
        assert a.t_start_s == pytest.approx(b.t_start_s, abs=0.002)
        assert a.cadence_spm == pytest.approx(b.cadence_spm, abs=0.5)
        assert (a.rel_phase_deg - b.rel_phase_deg + 180) % 360 - 180 == pytest.approx(0, abs=1)
        assert a.pelvis_rom_deg == pytest.approx(b.pelvis_rom_deg, abs=0.2)


def test_export_of_a_missing_session_is_a_clear_error(state, tmp_path, capsys):
    root, _ = state
    assert main(["export", "99", "-o", str(tmp_path), "--state-dir", str(root / "state")]) == 2
    assert "no session 99" in capsys.readouterr().err


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_report_is_written(state, tmp_path, suffix, magic):
    root, sid = state
    path = tmp_path / f"report{suffix}"
    assert main(["report", "last", "-o", str(path), "--state-dir", str(root / "state")]) == 0
    assert path.read_bytes()[:4] == magic and path.stat().st_size > 20_000


def test_report_rejects_other_formats(state, tmp_path, capsys):
    root, sid = state
    assert main(["report", str(sid), "-o", str(tmp_path / "r.svg"),
                 "--state-dir", str(root / "state")]) == 2
    assert ".pdf or .png" in capsys.readouterr().err


def test_report_summary_reads_like_the_session(state):
    from pi_app.store.report import summary_rows
    root, sid = state
    with SessionStore.open(root / "state", read_only=True) as store:
        rows = dict(summary_rows(store.load(sid)))
        n = store.summary(sid).n_strides
    assert rows["Athlete"] == "Ana Runner (A-17)"
    assert f"{n} strides" in rows["Duration"]
    assert rows["Cues"].startswith("0 played")


@pytest.mark.slow
def test_replay_headless_gives_the_stored_strides(state, capsys):
    root, sid = state
    assert main(["replay", str(sid), "--headless", "--speed", "0",
                 "--state-dir", str(root / "state")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    with SessionStore.open(root / "state", read_only=True) as store:
        n = store.summary(sid).n_strides
    assert sum(1 for line in lines if " stride " in line) == n
    assert lines[-1] == f"session {sid} replayed: {n} strides (stored live: {n})"


def test_readers_work_while_a_recorder_writes(state, tmp_path):
    # WAL: a read-only reader (the commands) alongside the live writer.
    from pi_app.clock import ManualClock
    from pi_app.store import SessionRecorder
    root, _ = state
    store = SessionStore(tmp_path / "sessions.db")
    rec = SessionRecorder(store, SessionInfo(athlete_name="B"), clock=ManualClock())
    ro = SessionStore(tmp_path / "sessions.db", read_only=True)
    assert [s.status for s in ro.list_sessions()] == ["recording"]
    rec.close()
    assert [s.status for s in ro.list_sessions()] == ["ended"]
    with pytest.raises(sqlite3.OperationalError):
        ro.conn.execute("INSERT INTO events VALUES (1, 0, NULL, 'x', '')")


def test_relative_phase_axis_keeps_every_stride_in_view():
    from pi_app.store.report import phase_axis_limits_deg
    center = 291.0
    assert phase_axis_limits_deg(np.array([280.0, 300.0, np.nan]), center) == (201.0, 381.0)
    # A drift 150 deg away (a band at 291, strides near 81 unwrapped to 441) stays visible.
    lo, hi = phase_axis_limits_deg(np.array([290.0, 441.0]), center)
    assert lo <= 290.0 and hi >= 441.0 and hi - lo <= 360.0
