"""The first hour with the demo: a cue comes soon (quick-drift), the session is recorded and
listed, a replay is shown as a replay and prints its cues, `--speed` is honoured headless,
the dial shows no needle when there is nothing to show and sensor health turns amber/red as
soon as samples keep being lost. Virtual clocks, stepped loops: deterministic, no sleeps."""

import json

import pytest

from pi_app.cli import main
from pi_app.clock import ManualClock
from pi_app.app import replay_live
from pi_app.replay import REPLAY_NOT_RECORDED
from pi_app.config import Config
from pi_app.live.events import read_events
from pi_app.live.health import HealthJudge
from pi_app.live.pacing import Pacer
from pi_app.live.session import run_stepped
from pi_app.records import CoachCommand
from pi_app.sim.scenarios import QUICK_DRIFT_AFTER_RUN_S, STAND_S
from pi_app.store import SessionStore

DRAIN_S = Config().sensors.drain_interval_s


# -- quick-drift through the demo command, recorded by default, then replayed ---------------
@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("quick")
    events = root / "ev.jsonl"
    code = main(["demo", "--headless", "--speed", "0", "--scenario", "quick-drift",
                 "--seconds", "105", "--events-out", str(events),
                 "--state-dir", str(root / "state")])
    assert code == 0
    return root, read_events(events)


@pytest.mark.slow
def test_quick_drift_cues_within_two_minutes_and_not_before_the_drift(quick):
    _, records = quick
    cues = [r for r in records if r["type"] == "cue" and r["played"]]
    drift_s = STAND_S + QUICK_DRIFT_AFTER_RUN_S
    assert cues, "no cue in the quick-drift scenario"
    assert drift_s < cues[0]["t_s"] < 120.0
    assert cues[0]["kind"] == "counter_rotation_lost"


@pytest.mark.slow
def test_the_demo_session_is_listed_by_sessions(quick, capsys):
    root, records = quick
    capsys.readouterr()
    assert main(["sessions", "--json", "--state-dir", str(root / "state")]) == 0
    listed = json.loads(capsys.readouterr().out)
    played = sum(1 for r in records if r["type"] == "cue" and r["played"])
    assert len(listed) == 1 and listed[0]["simulated"] and listed[0]["strides"] > 100
    assert listed[0]["cues_played"] == played


@pytest.mark.slow
def test_replay_headless_prints_the_cue_decisions_the_session_had_live(quick, capsys):
    root, records = quick
    capsys.readouterr()
    assert main(["replay", "last", "--headless", "--speed", "0",
                 "--state-dir", str(root / "state")]) == 0
    out = capsys.readouterr().out.splitlines()
    replayed = [line for line in out if "CUE:" in line]
    live = [r for r in records if r["type"] == "cue" and r["played"]]
    assert len(replayed) == len(live) > 0
    assert all("counter_rotation_lost" in line for line in replayed)


@pytest.mark.slow
def test_replay_is_shown_as_a_replay_and_never_records(quick, fake_dashboard):
    root, _ = quick
    ui = fake_dashboard({50: [CoachCommand("toggle_recording")]})
    with SessionStore.open(root / "state", read_only=True) as store:
        summary = store.summary(1)
        replay_live(store, 1, ui, speed=10.0, clock=ManualClock(), fps=10.0)
    first, last = ui.snapshots[0], ui.snapshots[-1]
    assert first.replay.session_id == 1 and first.replay.progress < 0.01
    assert last.replay.progress == pytest.approx(1.0, abs=0.001)
    assert last.replay.duration_s == pytest.approx(summary.duration_s)
    # The clock runs on the session's own time, from 0:00 to its length.
    assert last.t_s - last.session_start_s == pytest.approx(summary.duration_s, abs=0.02)
    assert all(not s.recording for s in ui.snapshots)
    assert last.recording_off_reason == REPLAY_NOT_RECORDED
    assert f"recording is off: {REPLAY_NOT_RECORDED}" in last.warnings
    assert any(c.played for c in last.cue_log)            # the replay decides cues too


def test_no_record_stores_nothing_and_says_so(tmp_path, capsys):
    assert main(["demo", "--headless", "--speed", "0", "--seconds", "2", "--no-record",
                 "--state-dir", str(tmp_path / "state")]) == 0
    err = capsys.readouterr().err
    assert "not recording (--no-record)" in err
    assert not (tmp_path / "state").exists()


# -- --speed with --headless ----------------------------------------------------------------
def test_pacer_holds_virtual_time_to_the_asked_speed():
    wall = ManualClock(100.0)
    pacer = Pacer(4.0, wall)
    virtual_s = 0.0
    while virtual_s < 20.0:
        virtual_s += DRAIN_S
        pacer.wait(virtual_s)
        wall.advance(0.001)                    # the CPU work of one iteration
    assert wall.now_s() - 100.0 == pytest.approx(20.0 / 4.0, abs=0.01)
    assert pacer.achieved_speed == pytest.approx(4.0, rel=0.01)
    slow = Pacer(50.0, ManualClock())
    for i in range(100):                       # 10 ms of CPU per 15 ms step: ~1.5x at best
        slow.wait(i * DRAIN_S)
        slow.wall.advance(0.010)
    assert slow.achieved_speed == pytest.approx(1.5, rel=0.02) and slow.waited_s == 0.0
    # A hiccup (the CPU away for 1 s) is not caught up in a burst: the virtual clock never
    # runs faster than asked, so sounds timed on it never come in a rush.
    wall = ManualClock()
    pacer = Pacer(2.0, wall)
    virtual_s = 0.0
    pacer.wait(virtual_s)
    wall.advance(1.0)
    hiccup_end_s = wall.now_s()
    while virtual_s < 10.0:
        virtual_s += DRAIN_S
        pacer.wait(virtual_s)
        wall.advance(0.001)
    assert (virtual_s - DRAIN_S) / (wall.now_s() - hiccup_end_s) <= 2.0 * 1.03
    assert pacer.lost_s == pytest.approx(1.0, abs=0.01)
    unpaced = Pacer(None, ManualClock())
    unpaced.wait(0.0)
    unpaced.wait(100.0)
    assert unpaced.waited_s == 0.0


@pytest.mark.slow
def test_demo_headless_speed_is_honoured(monkeypatch, capsys):
    """--headless --speed 20 for 10 s of simulated time waits ~0.5 s of (here virtual) real
    time; the results are those of the unpaced stepped run."""
    import pi_app.app as app   # the stepped run's pacer (run_paced) reads this wall clock
    walls = []

    def wall_clock():
        walls.append(ManualClock())
        return walls[-1]

    monkeypatch.setattr(app, "WallClock", wall_clock)
    assert main(["demo", "--headless", "--speed", "20", "--seconds", "10", "--no-record"]) == 0
    err = capsys.readouterr().err
    assert "at up to 20x real time" in err
    pacer_wall = walls[-1]
    assert pacer_wall.now_s() == pytest.approx(10.0 / 20.0, abs=DRAIN_S)


# -- the dial's needle ------------------------------------------------------------------------
def test_no_needle_while_the_runner_stands_still(simulated_session):
    session, _, _, clock = simulated_session("stand")
    run_stepped(session, clock, 12.0, DRAIN_S, analysis_every=8)
    snap = session.snapshot()
    assert snap.needle_deg is None and snap.needle_note == "not running"


@pytest.mark.slow
def test_needle_while_running_and_none_while_the_thorax_sensor_is_missing(simulated_session):
    session, _, _, clock = simulated_session("dropout")
    run_stepped(session, clock, STAND_S + 30.0, DRAIN_S, analysis_every=8)
    snap = session.snapshot()
    assert snap.needle_deg is not None and snap.needle_note is None
    assert snap.needle_deg == pytest.approx(snap.rel_phase_deg % 360.0)
    run_stepped(session, clock, 12.0, DRAIN_S, analysis_every=8)     # into the dropout
    snap = session.snapshot()
    assert snap.needle_deg is None and snap.needle_note == "thorax sensor missing"
    thorax = {s.role: s for s in snap.sensors}["thorax"]
    assert thorax.health == "red" and "no answer" in thorax.health_reason


# -- sensor health ----------------------------------------------------------------------------
def test_health_turns_amber_at_the_first_loss_and_red_when_losses_keep_rising():
    judge = HealthJudge(window_s=5.0, red_windows=3)
    t = 0.0
    ovf = 85                                   # old losses: totals alone are not a problem
    assert judge.update(t, True, ovf, 90, 0).level == "ok"
    for _ in range(40):
        t += 0.1
        assert judge.update(t, True, ovf, 90, 0).level == "ok"
    ovf += 1
    v = judge.update(t + 0.1, True, ovf, 90, 0)
    assert v.level == "amber" and "1 FIFO overflow" in v.reason and "CPU" in v.reason
    t += 0.1
    levels = []
    for _ in range(150):                       # one overflow a second for 15 s
        t += 0.1
        if round(t * 10) % 10 == 0:
            ovf += 1
        levels.append(judge.update(t, True, ovf, 90, 0))
    assert levels[-1].level == "red" and "keep rising" in levels[-1].reason
    for _ in range(110):                       # quiet again: back to green
        t += 0.1
        v = judge.update(t, True, ovf, 90, 0)
    assert v.level == "ok" and v.reason is None


def test_health_names_the_cable_for_i2c_errors_and_red_for_a_lost_sensor():
    judge = HealthJudge()
    judge.update(0.0, True, 0, 0, 0)
    v = judge.update(1.0, True, 0, 0, 3)
    assert v.level == "amber" and "check the cable" in v.reason
    v = judge.update(2.0, True, 1, 1, 5)       # a FIFO reset after a failed read
    assert v.level == "amber" and "I2C error" in v.reason and "check the cable" in v.reason
    v = judge.update(2.5, True, 1, 1, 6, None, fifo_restarts=1)
    assert v.level == "amber" and "1 FIFO restart after a failed read" in v.reason
    assert "check the cable" in v.reason and "CPU" not in v.reason
    v = judge.update(3.0, False, 1, 1, 9, "OSError: [Errno 121] Remote I/O error")
    assert v.level == "red" and "Remote I/O error" in v.reason


@pytest.mark.slow
def test_session_health_on_a_noisy_bus_is_not_green(simulated_session):
    session, _, _, clock = simulated_session("i2c-noise")
    run_stepped(session, clock, 20.0, DRAIN_S, analysis_every=8)
    sensors = session.snapshot().sensors
    assert sensors and all(s.health in ("amber", "red") for s in sensors)
    assert all("check the cable" in s.health_reason for s in sensors)
    steady, _, _, clock = simulated_session("steady")
    run_stepped(steady, clock, 20.0, DRAIN_S, analysis_every=8)
    assert all(s.health == "ok" for s in steady.snapshot().sensors)
