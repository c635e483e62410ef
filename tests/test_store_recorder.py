"""SessionRecorder and SessionStore on synthetic data: what goes in comes out, commits follow
the (virtual) clock, and a full disk or read-only database stops recording with a warning and
never an exception."""

import sqlite3
import threading

import numpy as np
import pytest

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.pipeline import AnalysisUpdate
from pi_app.analysis.types import Step, StrideMetrics
from pi_app.clock import ManualClock
from pi_app.frames import FrameChunk
from pi_app.records import CueEvent, QualityFlag
from pi_app.store import SessionInfo, SessionRecorder, SessionStore
from pi_app.store.schema import pack_samples, unpack_samples

RATE_HZ = 1000.0


def chunks(n_chunks, rows=15, seed=0, t0=100.0, thorax=True):
    rng = np.random.default_rng(seed)
    t = t0
    for _ in range(n_chunks):
        ts = t + np.arange(rows) / RATE_HZ
        t += rows / RATE_HZ
        yield FrameChunk(ts, rng.normal(0, 1, (rows, 3)), rng.normal(0, 200, (rows, 3)),
                         rng.normal(0, 1, (rows, 3)) if thorax else None,
                         rng.normal(0, 200, (rows, 3)) if thorax else None)


def test_pack_unpack_keeps_values_to_float32_and_gaps():
    chunk = next(chunks(1, rows=500, thorax=False))
    chunk.pelvis_acc_g[10:20] = np.nan
    t0, n, present, blob = pack_samples(chunk)
    assert n == 500 and len(blob) == 500 * 13 * 4 and present == 1 | 2
    back = unpack_samples(t0, n, present, blob)
    assert back.thorax_acc_g is None and back.thorax_gyro_dps is None
    assert np.max(np.abs(back.t_s - chunk.t_s)) < 1e-7
    assert np.isnan(back.pelvis_acc_g[10:20]).all()
    good = np.isfinite(chunk.pelvis_acc_g)
    np.testing.assert_allclose(back.pelvis_acc_g[good], chunk.pelvis_acc_g[good], rtol=1e-6)
    np.testing.assert_allclose(back.pelvis_gyro_dps, chunk.pelvis_gyro_dps, rtol=1e-6)


def stride(i, t0):
    return StrideMetrics(index=i, t_start_s=t0, t_end_s=t0 + 0.75, cadence_spm=160.0,
                         pelvis_rom_deg=11.0, thorax_rom_deg=None, pelvis_phase_deg=200.0,
                         thorax_phase_deg=150.0, rel_phase_deg=310.0,
                         rotation_symmetry_pct=-3.0, quality=frozenset({"gap"}), drift=i == 1)


def test_everything_recorded_reads_back(tmp_path):
    store = SessionStore(tmp_path / "sessions.db")
    clock = ManualClock()
    rec = SessionRecorder(store, SessionInfo(athlete_name="Ana", athlete_id="A1", notes="n",
                                             rate_hz=RATE_HZ, calibration_text="x = 1"),
                          clock=clock)
    assert rec.recording and rec.session_id == 1 and rec.warning is None
    fed = list(chunks(100))
    for c in fed:
        rec.on_chunk(c)
        clock.advance(0.015)
    verdicts = [DriftVerdict("in_band", 1.0),
                DriftVerdict("drifting", 1.0, metric="rel_phase",
                             direction="counter-rotation lost", unit="deg", deviation=-40.0,
                             deviation_sd=-4.0, beyond_band=10.0,
                             drifting_metrics=("rel_phase",))]
    rec.on_update(AnalysisUpdate(steps=[Step(100.1, "R"), Step(100.45, "L")],
                                 strides=[stride(0, 100.1), stride(1, 100.85)],
                                 verdicts=verdicts))
    rec.on_cue(CueEvent(101.6, "counter_rotation_lost", 0.5, True, "", 11.0))
    rec.on_cue(CueEvent(101.9, "counter_rotation_lost", 0.4, False, "faded: 1 of 2"))
    rec.on_event("sensor_lost", {"t_s": 101.0, "role": "thorax"})
    rec.on_event("baseline_set", "rel 310 +- 12 deg")
    rec.close()
    assert rec.warning is None and not rec.recording

    ro = SessionStore(tmp_path / "sessions.db", read_only=True)
    data = ro.load(1)
    s = data.summary
    assert (s.athlete_name, s.athlete_id, s.notes, s.calibration_text) == ("Ana", "A1", "n",
                                                                          "x = 1")
    assert s.status == "ended" and s.end_reason == "stopped"
    assert s.n_samples == 1500 and s.n_steps == 2 and s.n_strides == 2
    assert s.n_cues == 2 and s.n_cues_played == 1 and s.n_drift_strides == 1
    assert s.duration_s == pytest.approx(1.499, abs=1e-6)
    got = list(ro.iter_samples(1))
    t = np.concatenate([c.t_s for c in got])
    np.testing.assert_allclose(t, np.concatenate([c.t_s for c in fed]), atol=1e-6)
    acc = np.concatenate([c.thorax_acc_g for c in got])
    np.testing.assert_allclose(acc, np.concatenate([c.thorax_acc_g for c in fed]), rtol=1e-6)
    assert [(x.t_s, x.side) for x in data.steps] == [(100.1, "R"), (100.45, "L")]
    st = data.strides[1]
    assert st.metrics.drift and st.metrics.quality == frozenset({"gap"})
    # The flags come back as the enum the analysis uses, not as bare text.
    assert [type(q) for q in st.metrics.quality] == [QualityFlag]
    assert st.metrics.thorax_rom_deg is None and st.metrics.rel_phase_deg == 310.0
    assert st.drift_state == "drifting" and st.drift_direction == "counter-rotation lost"
    assert st.drifting_metrics == ("rel_phase",) and st.drift_deviation_sd == -4.0
    assert data.cues[1].reason == "faded: 1 of 2" and data.cues[0].latency_ms == 11.0
    kinds = {e.kind: e for e in data.events}
    assert kinds["sensor_lost"].t_s == 101.0 and '"role": "thorax"' in kinds["sensor_lost"].detail
    assert kinds["baseline_set"].detail == "rel 310 +- 12 deg"
    assert ro.integrity_ok()


def test_commits_follow_the_clock_not_the_caller(tmp_path):
    # Lock-step with the writer thread: it has taken each chunk before the clock moves on, so
    # what it may commit depends on the virtual clock only, never on thread scheduling.
    store = SessionStore(tmp_path / "sessions.db")
    clock = ManualClock()
    committed = threading.Event()
    rec = SessionRecorder(store, SessionInfo(rate_hz=RATE_HZ), clock=clock,
                          commit_interval_s=0.5, on_commit=lambda t_s: committed.set())
    fed = []
    for c in chunks(33):                # 0.495 s of clock: nothing due yet
        rec.on_chunk(c)
        fed.append(c)
        assert rec.wait_idle()
        clock.advance(0.015)
    assert rec.committed_t_s is None and not committed.is_set()
    c = next(chunks(1, t0=float(fed[-1].t_s[-1]) + 1 / RATE_HZ))
    rec.on_chunk(c)                     # the chunk that carries the clock past 0.5 s
    fed.append(c)
    assert rec.wait_idle()
    clock.advance(0.015)
    # No more input: the writer commits by itself once it sees the clock past its deadline.
    assert committed.wait(30.0)
    assert rec.committed_t_s == pytest.approx(float(fed[-1].t_s[-1]))
    reader = SessionStore(tmp_path / "sessions.db", read_only=True)
    assert reader.summary(1).t_last_s == pytest.approx(rec.committed_t_s)
    assert reader.summary(1).n_samples == sum(len(x) for x in fed)
    assert reader.summary(1).status == "recording"
    rec.close()


def test_disk_full_stops_recording_with_a_warning_and_no_exception(tmp_path):
    # max_page_count makes SQLite fail with SQLITE_FULL, the error a full disk gives.
    store = SessionStore(tmp_path / "sessions.db", max_size_mb=0.3)
    clock = ManualClock()
    rec = SessionRecorder(store, SessionInfo(rate_hz=RATE_HZ), clock=clock,
                          commit_interval_s=0.2)
    for c in chunks(600):               # ~470 KB of samples, more than the cap
        rec.on_chunk(c)
        rec.on_update(AnalysisUpdate(steps=[Step(float(c.t_s[0]), "R")]))
        rec.on_cue(CueEvent(float(c.t_s[0]), "metronome", 0.1, True))
        rec.on_event("note", "x")
        clock.advance(0.015)
    rec.flush()
    assert not rec.recording
    assert rec.warning.startswith("Recording stopped: the disk is full")
    assert "live feedback goes on" in rec.warning
    rec.on_chunk(next(chunks(1)))       # still harmless afterwards
    rec.close()
    ro = SessionStore(tmp_path / "sessions.db", read_only=True)
    assert ro.integrity_ok()
    s = ro.summary(1)
    assert 0 < s.n_samples < 600 * 15
    stored = list(ro.iter_samples(1))
    assert sum(len(c) for c in stored) == s.n_samples


def test_low_disk_space_is_told_while_recording_still_works(tmp_path):
    """Below low_space_mb free on the database's filesystem the recorder says so after its
    next commit (recording goes on: SQLite still has pages to write into); with space back,
    the warning goes. The real filesystem's free space is read by default."""
    free = {"bytes": 10**9}
    seen = []
    store = SessionStore(tmp_path / "sessions.db")
    clock = ManualClock()
    committed = threading.Event()
    rec = SessionRecorder(store, SessionInfo(rate_hz=RATE_HZ), clock=clock,
                          commit_interval_s=0.2, low_space_mb=100.0,
                          free_bytes=lambda d: seen.append(d) or free["bytes"],
                          on_commit=lambda t_s: committed.set())

    def commit_once():
        committed.clear()
        rec.on_chunk(next(chunks(1, t0=clock.now_s())))
        assert rec.wait_idle()
        clock.advance(0.3)
        assert committed.wait(30.0)

    commit_once()
    assert rec.space_warning is None and seen[-1] == str(tmp_path)
    free["bytes"] = 40 * 10**6
    commit_once()
    assert rec.space_warning.startswith(f"the disk is almost full: 40 MB left on {tmp_path}")
    assert rec.recording and rec.warning is None
    free["bytes"] = 10**9
    commit_once()
    assert rec.space_warning is None
    rec.close()
    real = SessionRecorder(SessionStore(tmp_path / "real.db"), SessionInfo(rate_hz=RATE_HZ),
                           low_space_mb=1e12)          # more than any disk: always warned
    real.on_chunk(next(chunks(1)))
    real.flush()
    assert real.space_warning is not None and "MB left on" in real.space_warning
    real.close()


def test_read_only_database_gives_a_warning(tmp_path):
    SessionStore(tmp_path / "sessions.db").close()
    ro = SessionStore(tmp_path / "sessions.db", read_only=True)
    rec = SessionRecorder(ro, SessionInfo(rate_hz=RATE_HZ), clock=ManualClock())
    assert not rec.recording and rec.session_id is None
    assert "read-only" in rec.warning
    rec.on_chunk(next(chunks(1)))
    rec.on_update(AnalysisUpdate())
    rec.on_event("x", "y")
    rec.close()


def test_start_never_raises_when_the_state_dir_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    rec = SessionRecorder.start(SessionInfo(rate_hz=RATE_HZ), state=blocker / "state")
    assert not rec.recording and "state directory" in rec.warning
    rec.on_chunk(next(chunks(1)))
    rec.close()


def test_writer_error_mid_session_is_contained(tmp_path, monkeypatch):
    store = SessionStore(tmp_path / "sessions.db")
    clock = ManualClock()
    rec = SessionRecorder(store, SessionInfo(rate_hz=RATE_HZ), clock=clock)
    import pi_app.store.writer as writer

    def broken(chunk):
        raise sqlite3.OperationalError("attempt to write a readonly database")
    monkeypatch.setattr(writer, "pack_samples", broken)
    for c in chunks(50):
        rec.on_chunk(c)
        clock.advance(0.015)
    rec.flush()
    assert not rec.recording and "read-only" in rec.warning
    rec.close()


def test_newer_schema_is_refused_clearly(tmp_path):
    path = tmp_path / "sessions.db"
    SessionStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    from pi_app.store import SessionStoreError
    with pytest.raises(SessionStoreError, match="newer pi-app"):
        SessionStore(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "sessions.db"
    path.write_bytes(b"garbage" * 100)
    from pi_app.store import SessionStoreError
    with pytest.raises(SessionStoreError, match="cannot be"):
        SessionStore(path)
