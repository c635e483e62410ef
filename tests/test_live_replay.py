"""`pi-app replay` through the live session: a recorded demo session replayed onto a dashboard
(a fake UI: draw/poll_commands/close) on a virtual clock, coach keys included, and the
headless fallback when there is no display."""

from __future__ import annotations

import pytest

from pi_app.cli import main
from pi_app.clock import ManualClock
from pi_app.app import replay_live
from pi_app.records import CoachCommand
from pi_app.store import SessionStore


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    assert main(["demo", "--headless", "--speed", "20", "--seconds", "25", "--record",
                 "--state-dir", str(state), "--athlete", "Replay"]) == 0
    return state


@pytest.mark.slow
def test_replay_onto_the_dashboard_paced_on_the_clock(recorded, fake_dashboard):
    clock = ManualClock()
    ui = fake_dashboard()
    with SessionStore.open(recorded, read_only=True) as store:
        summary = store.summary(1)
        session = replay_live(store, 1, ui, speed=2.0, clock=clock, fps=10.0)
    # Paced: the 25 s session took ~12.5 s of clock at 2x, drawn ~10 times a second.
    duration_s = summary.t_last_s - summary.t_first_s
    assert clock.now_s() == pytest.approx(duration_s / 2.0, abs=0.05)
    assert 100 <= len(ui.snapshots) <= 140
    last = ui.snapshots[-1]
    assert last.simulated and len(last.recent_strides) > 0
    assert last.stalled_threads == ()
    assert session.analyzer.n_strides == summary.n_strides
    assert last.t_s == pytest.approx(summary.t_last_s)


@pytest.mark.slow
def test_coach_quit_stops_the_replay(recorded, fake_dashboard):
    ui = fake_dashboard(commands_at={20: [CoachCommand("cycle_cue_mode")], 40: [CoachCommand("quit")]})
    with SessionStore.open(recorded, read_only=True) as store:
        summary = store.summary(1)
        session = replay_live(store, 1, ui, speed=1.0, clock=ManualClock(), fps=30.0)
    assert session.quit_requested and session.cue_settings.mode == "faded"
    assert session.t_s < summary.t_last_s


@pytest.mark.slow
def test_replay_without_a_display_falls_back_to_headless(recorded, capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    assert main(["replay", "last", "--speed", "0", "--state-dir", str(recorded)]) == 0
    captured = capsys.readouterr()
    assert "no display found" in captured.err and "replaying headless" in captured.err
    lines = captured.out.splitlines()
    n = sum(" stride " in line for line in lines)
    assert n > 10 and lines[-1] == f"session 1 replayed: {n} strides (stored live: {n})"
