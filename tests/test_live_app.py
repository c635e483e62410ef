"""The live app end to end on the emulated chips: cues after a scripted drift (and not
before), few cues on a steady run, a sensor dropout shown and recovered, stall detection,
clean stops. Virtual clock, stepped loop: deterministic, no sleeps.

The Analyzer's results do not depend on chunking, so the long runs analyse every 8 drains
(120 ms) to keep the CPU time down; the verdicts and cue decisions are those of the default
one-drain chunking (cue times move by < 120 ms, latencies are measured in the demo test).
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pi_app.analysis.drift import DriftDetector
from pi_app.clock import ScaledClock
from pi_app.config import Config
from pi_app.live.events import EventLog, read_events
from pi_app.live.session import run_stepped
from pi_app.live.threads import LiveApp
from pi_app.app import open_session
from pi_app.records import CoachCommand
from pi_app.sim import open_simulated_bus
from pi_app.sim.scenarios import STAND_S

DRAIN_S = Config().sensors.drain_interval_s
REPO = Path(__file__).resolve().parents[1]


def _truth_leaves_band(bus, t_from_s, t_to_s):
    """When the true relative phase (simulator truth strides) leaves the runner's band, judged
    against the band a drift detector with the app's settings had learned from the truth at
    each stride: (end of the first stride out of the band at or after t_from_s, end of the
    stride from which it stays out, the truth strides)."""
    truth = bus.scenario.truth.strides_between(STAND_S, t_to_s)
    detector = DriftDetector(**Config().baseline.drift_detector_kwargs())
    first_out_s = for_good_s = None
    for stride in truth:
        band = detector.baseline.get("rel_phase")
        detector.update(stride)
        if band is None or stride.t_start_s < t_from_s:
            continue
        out = abs((stride.rel_phase_deg - band.center + 180.0) % 360.0 - 180.0) > band.half_width
        if out and first_out_s is None:
            first_out_s = stride.t_end_s
        if out and for_good_s is None:
            for_good_s = stride.t_end_s
        elif not out:
            for_good_s = None
    return first_out_s, for_good_s, truth


@pytest.mark.slow
def test_drift_is_cued_after_the_change_within_3_strides_of_the_truth(simulated_session, tmp_path):
    events = tmp_path / "events.jsonl"
    log = EventLog(events)
    session, reader, bus, clock = simulated_session("drift", seed=1, hooks=[log])
    run_stepped(session, clock, 215.0, DRAIN_S, analysis_every=8)
    log.close()
    drift_start_s = bus.scenario.params["drift_start_s"]
    played = [c for c in session.cues if c.played]
    assert played, "no cue at all in the drift scenario"
    first = played[0]
    assert first.t_s > drift_start_s                      # never before the scripted change
    first_out_s, for_good_s, truth = _truth_leaves_band(bus, drift_start_s, 215.0)
    assert first_out_s is not None and for_good_s is not None
    assert first.t_s > first_out_s                        # never before the truth left the band
    # Within 3 strides of the stride from which the true rel phase stays out of the band
    # (natural jitter can poke one stride out earlier; measured for seed 1: 1 stride
    # after the first excursion, 2 strides before it stays out).
    between = [s for s in truth if min(for_good_s, first.t_s) < s.t_end_s
               <= max(for_good_s, first.t_s)]
    assert len(between) <= 3, (first_out_s, for_good_s, first.t_s)
    assert first.kind in ("counter_rotation_lost", "pelvis_early", "pelvis_late")
    # The event log has the strides, the cue with its latency, on the sample clock.
    records = read_events(events)
    cues = [r for r in records if r["type"] == "cue" and r["played"]]
    assert cues[0]["t_s"] == pytest.approx(first.t_s)
    assert 0.0 <= cues[0]["latency_ms"] <= 50.0
    assert cues[0]["strike_to_cue_ms"] > 0
    assert sum(r["type"] == "stride" for r in records) == session.analyzer.n_strides


@pytest.mark.slow
def test_steady_ten_minutes_gives_at_most_one_cue(simulated_session):
    session, reader, bus, clock = simulated_session("steady", seed=0)
    run_stepped(session, clock, 600.0, DRAIN_S, analysis_every=8)
    assert session.analyzer.n_strides > 700
    assert session.snapshot().verdict.state in ("in_band", "drifting")
    assert sum(c.played for c in session.cues) <= 1


@pytest.mark.slow
def test_dropout_is_shown_and_recovers_through_the_demo_command(tmp_path, capsys):
    from pi_app.cli import main
    events = tmp_path / "ev.jsonl"
    assert main(["demo", "--headless", "--speed", "20", "--scenario", "dropout",
                 "--seconds", "60", "--events-out", str(events)]) == 0
    out = capsys.readouterr().out
    records = read_events(events)
    kinds = [(r["type"], r.get("kind")) for r in records]
    lost = next(r for r in records if r.get("kind") == "sensor_lost")
    back = next(r for r in records if r.get("kind") == "sensor_back")
    assert lost["role"] == "thorax" and back["role"] == "thorax"
    t_drop = STAND_S + 40.0
    assert t_drop <= lost["t_s"] < t_drop + 0.5
    assert t_drop + 5.0 <= back["t_s"] < t_drop + 7.0
    strides = [r for r in records if r["type"] == "stride"]
    # After the thorax is back, strides have a relative phase again.
    assert any(r["t_start_s"] > back["t_s"] and r["rel_phase_deg"] is not None
               for r in strides)
    assert ("info", "summary") in kinds
    assert "sensor lost" in out and "sensor back" in out
    assert sum(" stride " in line for line in out.splitlines()) == len(strides)


@pytest.mark.slow
def test_snapshot_shows_the_absent_sensor_during_the_dropout(simulated_session):
    session, reader, bus, clock = simulated_session("dropout", seed=0)
    run_stepped(session, clock, STAND_S + 42.0, DRAIN_S, analysis_every=8)
    thorax = {s.role: s for s in session.snapshot().sensors}["thorax"]
    assert not thorax.present and thorax.last_error
    run_stepped(session, clock, 8.0, DRAIN_S, analysis_every=8)
    thorax = {s.role: s for s in session.snapshot().sensors}["thorax"]
    assert thorax.present and thorax.reconnects == 1


def test_stalled_sensor_thread_is_detected_and_coach_commands_apply(simulated_session):
    seen = []

    class Hook:
        def on_event(self, kind, detail):
            seen.append(kind)

    session, reader, bus, clock = simulated_session("steady", hooks=[Hook()])
    run_stepped(session, clock, 2.0, DRAIN_S)
    assert session.snapshot().stalled_threads == ()
    clock.advance(1.5)                      # the sensor thread stops polling
    session.step()
    assert session.snapshot().stalled_threads == ("sensors",)
    assert "stall" in seen
    run_stepped(session, clock, 0.5, DRAIN_S)
    assert session.snapshot().stalled_threads == ()
    assert "stall_cleared" in seen
    for kind in ("cycle_cue_mode", "toggle_mute", "toggle_recording", "restart_baseline"):
        session.commands.put(CoachCommand(kind))
    session.step()
    snap = session.snapshot()
    assert snap.cue_mode == "faded" and snap.muted
    # No recorder in this session: R never shows a REC state without data, it says why.
    assert not snap.recording and snap.recording_off_reason == "this run has no session store"
    assert "recording is off: this run has no session store" in snap.warnings
    assert session.cue_engine.policy.mode == "faded" and session.cue_engine.policy.muted
    # The baseline restarted without a second warm-up: it is being built within seconds.
    assert snap.verdict is None and snap.band_deg is None
    run_stepped(session, clock, 3.0, DRAIN_S)
    assert session.snapshot().verdict.state == "building_baseline"


def test_a_failing_hook_is_counted_not_fatal(simulated_session):
    class Broken:
        def on_chunk(self, chunk):
            raise RuntimeError("disk on fire")

    session, reader, bus, clock = simulated_session("steady", hooks=[Broken()])
    run_stepped(session, clock, 1.0, DRAIN_S)
    assert session.hook_errors > 0
    assert any("hook error" in w for w in session.snapshot().warnings)


def test_threads_stop_within_two_seconds_on_the_stop_event(simulated_session):
    from pi_app.acquisition.sensor_thread import SensorThread
    clock = ScaledClock(1.0)
    session, reader, bus, clock = simulated_session("steady", clock=clock)
    app = LiveApp(session, SensorThread(reader, DRAIN_S), analysis_interval_s=DRAIN_S)
    app.start()
    stopper = threading.Timer(0.3, app.stop_event.set)
    stopper.start()
    app.run_main(seconds=None)               # returns when the stop event is set
    assert app.stop(timeout_s=2.0)
    assert app.threads_alive() == []
    assert session.n_chunks > 0


@pytest.mark.slow
def test_sigint_stops_the_demo_subprocess():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "pi_app", "demo", "--headless"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
                            cwd=str(REPO), text=True)
    try:
        # The demo announces itself once its threads run; then interrupt it.
        line = proc.stderr.readline()
        assert "pi-app demo" in line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cue_commands_go_to_the_cue_engine_and_the_screen_shows_its_settings(simulated_session):
    seen = []

    class Hook:
        def on_event(self, kind, detail):
            seen.append((kind, detail))

    session, reader, bus, clock = simulated_session("stand", hooks=[Hook()])
    engine = session.cue_engine
    for command in (CoachCommand("toggle_metronome"),
                    CoachCommand("metronome_target_delta_spm", 2.0),
                    CoachCommand("toggle_mute"), CoachCommand("cycle_cue_mode")):
        session.commands.put(command)
    session.step()
    snap = session.snapshot()
    assert engine.settings.metronome_on and engine.settings.metronome_target_spm == 172.0
    assert (snap.metronome_on, snap.metronome_target_spm, snap.muted, snap.cue_mode) == \
        (True, 172.0, True, "faded")
    assert [d for k, d in seen if k == "metronome"] == [
        {"t_s": None, "on": True, "target_spm": 170.0},
        {"t_s": None, "on": True, "target_spm": 172.0}]
    # Without a cue engine nothing cues: the screen says cues off, a cue key says why.
    silent, *_ = open_session(Config(), clock, open_simulated_bus("stand", clock=clock),
                              simulated=True)
    silent.commands.put(CoachCommand("cycle_cue_mode"))
    silent.step()
    snap = silent.snapshot()
    assert snap.cue_mode == "off" and not snap.metronome_on
    assert "this run gives no cues: the cue keys do nothing" in snap.warnings


def test_the_sound_going_away_is_on_the_dashboard_and_in_the_event_log(simulated_session):
    seen = []

    class Hook:
        def on_event(self, kind, detail):
            seen.append(kind)

    session, reader, bus, clock = simulated_session("stand", hooks=[Hook()])
    session.commands.put(CoachCommand("audio_device_lost"))
    session.step()
    assert any("sound device went away" in w for w in session.snapshot().warnings)
    assert "audio_device_lost" in seen
