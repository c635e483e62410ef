"""Dashboard cost: a frame repaints only the panels that changed, and what it shows is the
same, pixel for pixel, as drawing the whole screen afresh."""

import dataclasses
import hashlib

import numpy as np
import pygame
import pytest

from pi_app.config import DisplayConfig
from pi_app.live.threads import FramePacer
from pi_app.ui.dashboard import Dashboard
from pi_app.ui.display import open_live_ui
from pi_app.ui.samples import state_snapshots

SIZE = (1280, 720)


@pytest.fixture(scope="module")
def states():
    pygame.font.init()
    return state_snapshots()


def _moving(states, n=45):
    """A sequence like the live one: traces, live phase and cadence move every frame, strides
    and states change now and then."""
    names = ["in_band", "drifting", "sensor_fault", "baseline_building", "no_audio", "no_data"]
    out = []
    for i in range(n):
        s = states[names[(i // 8) % len(names)]]
        dt = i / 25.0
        if s.trace_t_s.size:
            s = dataclasses.replace(
                s, t_s=s.t_s + dt, trace_t_s=s.trace_t_s + dt,
                trace_pelvis_deg=np.roll(s.trace_pelvis_deg, -i * 3),
                trace_thorax_deg=np.roll(s.trace_thorax_deg, -i * 3),
                rel_phase_deg=None if s.rel_phase_deg is None else
                (s.rel_phase_deg + 7 * np.sin(dt)) % 360,
                cadence_spm=None if s.cadence_spm is None else s.cadence_spm + 3 * np.sin(dt),
                recent_strides=s.recent_strides[:len(s.recent_strides) - (i % 3)])
        out.append(s)
    return out


def _digest(surface) -> str:
    return hashlib.sha1(pygame.image.tobytes(surface, "RGB")).hexdigest()


def test_repainting_only_what_changed_shows_the_same_pixels_as_a_whole_frame(states):
    dash = Dashboard(SIZE)
    screen = pygame.Surface(SIZE)
    fresh = Dashboard(SIZE)
    for i, s in enumerate(_moving(states)):
        dash.draw(s, screen)
        whole = fresh.draw(s, pygame.Surface(SIZE))   # a new surface: drawn whole
        assert _digest(screen) == _digest(whole), f"frame {i}"


def test_an_unchanged_snapshot_repaints_nothing(states):
    dash = Dashboard(SIZE)
    screen = pygame.Surface(SIZE)
    s = states["in_band"]
    dash.draw(s, screen)
    assert dash.dirty_rects == [screen.get_rect()]
    before = _digest(screen)
    dash.draw(s, screen)
    assert dash.dirty_rects == []
    assert _digest(screen) == before


def test_a_moving_needle_repaints_only_the_dial_disc(states):
    dash = Dashboard(SIZE)
    screen = pygame.Surface(SIZE)
    s = dataclasses.replace(states["in_band"], rel_phase_deg=290.1)
    dash.draw(s, screen)
    # A fraction of a degree: the live text (whole degrees) stays, the needle moves.
    dash.draw(dataclasses.replace(s, rel_phase_deg=290.3), screen)
    assert dash.dirty_rects == [dash.g_dial_disc]
    assert dash.g_dial_disc.width * dash.g_dial_disc.height < 0.1 * SIZE[0] * SIZE[1]


def test_new_traces_repaint_only_the_plot(states):
    dash = Dashboard(SIZE)
    screen = pygame.Surface(SIZE)
    s = states["in_band"]
    dash.draw(s, screen)
    older = s.trace_pelvis_deg.copy()
    older[:50] += 2.0           # the oldest half second: the live turning rate stays the same
    dash.draw(dataclasses.replace(s, trace_pelvis_deg=older), screen)
    assert dash.dirty_rects == [dash.g_trace_lines]


def test_live_ui_sends_only_the_changed_panels_to_the_screen(monkeypatch, states):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    updates = []
    real_update = pygame.display.update
    monkeypatch.setattr(pygame.display, "update",
                        lambda rects=None: (updates.append(rects), real_update(rects))[1])
    ui = open_live_ui(DisplayConfig(fullscreen=False, width_px=SIZE[0], height_px=SIZE[1]),
                      simulated=True, fullscreen=False)
    try:
        s = dataclasses.replace(states["in_band"], rel_phase_deg=290.1)
        ui.draw(s)
        ui.draw(s)
        ui.draw(dataclasses.replace(s, rel_phase_deg=290.3))
    finally:
        ui.close()
    assert updates == [[pygame.Rect((0, 0), SIZE)], [ui.dashboard.g_dial_disc]]


def test_frame_pacer_holds_the_rate_whatever_a_frame_costs():
    pacer = FramePacer(25.0)
    now = 100.0
    starts = []
    for cost in [0.002, 0.03, 0.001, 0.039, 0.0, 0.02] * 5:
        starts.append(now)
        now += cost                       # the frame's drawing time
        now += pacer.wait_s(now)          # then wait for the next frame
    assert np.allclose(np.diff(starts)[1:], 0.04)   # the schedule starts after frame 1


def test_frame_pacer_restarts_after_a_long_frame_instead_of_bursting():
    pacer = FramePacer(20.0)
    assert pacer.wait_s(0.0) == pytest.approx(0.05)
    # A frame that took 0.3 s: the next one follows at once, then the rate is 20 fps again.
    assert pacer.wait_s(0.35) == pytest.approx(0.05)
    assert pacer.wait_s(0.40) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        FramePacer(0)
