"""Screenshots are written at the right size; the display opens (dummy) or fails with a
clear fix; the live UI draws and turns posted key presses into commands."""

import pygame
import pytest

from pi_app.config import DisplayConfig
from pi_app.records import CoachCommand
from pi_app.ui import display
from pi_app.ui.display import (DisplayError, WindowScreen, choose_driver, open_display,
                               open_live_ui)
from pi_app.ui.samples import state_snapshots
from pi_app.screenshots import STATES, save_screenshots

from conftest import real_kmsdrm_name, real_sdl_video_drivers


def test_screenshots_written_at_size(tmp_path):
    snaps = state_snapshots()
    chosen = {k: snaps[k] for k in STATES}
    paths = save_screenshots(tmp_path / "shots", chosen, sizes_px=((1280, 720), (1920, 1080)))
    assert len(paths) == 2 * len(STATES)
    for p in paths:
        assert p.exists() and p.suffix == ".png"
        w, h = pygame.image.load(str(p)).get_size()
        assert (w, h) == ((1280, 720) if "1280x720" in p.name else (1920, 1080))
    assert {p.name for p in paths} >= {"drifting_1920x1080.png", "sensor_fault_1280x720.png",
                                       "baseline_building_1920x1080.png", "in_band_1280x720.png"}


def test_choose_driver():
    assert choose_driver({"SDL_VIDEODRIVER": "dummy"}, []) == "dummy"
    assert choose_driver({"DISPLAY": ":0"}, ["/dev/dri/card0"]) is None
    assert choose_driver({}, ["/dev/dri/card1"]).lower() == real_kmsdrm_name().lower()
    assert choose_driver({}, []) is None


def test_sdl_reports_its_own_spelling_and_the_display_accepts_it(monkeypatch):
    """SDL says "KMSDRM" for the driver asked for as "kmsdrm": open_display must take it, and
    draw through the OpenGL ES screen (tests/test_ui_gles_screen.py runs that one for real)."""
    kms = real_kmsdrm_name()
    assert kms == "KMSDRM"          # what pygame-ce 2.5's SDL really reports
    real_init = pygame.display.init
    # open_display sets SDL_VIDEODRIVER itself: have monkeypatch remember the value from
    # before it, so the "kmsdrm" it writes does not leak into later tests.
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")

    def init_on_dummy():            # no DRM device here: the dummy driver stands in for it
        monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
        real_init()

    monkeypatch.setattr(pygame.display, "init", init_on_dummy)
    monkeypatch.setattr(pygame.display, "get_driver", lambda: kms)
    opened = []

    def gles_screen(size_px, caption):  # the dummy driver has no OpenGL ES to draw with
        opened.append(size_px)
        return WindowScreen(pygame.display.set_mode(size_px, pygame.FULLSCREEN),
                            fullscreen=True)
    monkeypatch.setattr(display, "GlesScreen", gles_screen)
    try:
        screen = open_display((1280, 720), driver="kmsdrm")
        assert opened == [(1280, 720)] and screen.fullscreen   # the console: the app is the screen
    finally:
        pygame.display.quit()


def test_stale_display_is_refused_not_drawn_offscreen(monkeypatch):
    """DISPLAY naming no X server: the real SDL falls back to "offscreen"; that is no screen."""
    assert "offscreen" in real_sdl_video_drivers()
    monkeypatch.delenv("SDL_VIDEODRIVER")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    try:
        with pytest.raises(DisplayError) as err:
            open_display((1280, 720))
        assert err.value.driver == "offscreen" and "DISPLAY=:99" in str(err.value)
        assert "--headless" in str(err.value) and not pygame.display.get_init()
    finally:
        pygame.display.quit()


def test_asking_for_offscreen_is_allowed(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    try:
        assert open_display((1280, 720)).surface.get_size() == (1280, 720)
        assert pygame.display.get_driver() == "offscreen"
    finally:
        pygame.display.quit()


def test_demo_and_run_on_a_stale_display(monkeypatch):
    from pi_app.commands import demo, run
    from pi_app.config import load_config
    monkeypatch.delenv("SDL_VIDEODRIVER")
    monkeypatch.setenv("DISPLAY", ":99")
    cfg = load_config(None)
    try:
        ui, why = demo._open_ui(cfg, headless=False)
        assert ui is None and "invisible 'offscreen'" in why and why.endswith("; running headless")
        with pytest.raises(DisplayError, match="DISPLAY=:99 names no reachable display"):
            run._open_display(cfg, headless=False)
    finally:
        pygame.display.quit()


def test_kmsdrm_failure_says_what_to_fix(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "kmsdrm")
    try:
        open_display((1280, 720), driver="kmsdrm")
    except DisplayError as err:
        text = str(err)
        assert "kmsdrm" in text and "video, render and input groups" in text
        assert "--headless" in text
    else:  # a machine that really has a free DRM display
        pygame.display.quit()
    finally:
        monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


def test_live_ui_draws_and_polls(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    ui = open_live_ui(DisplayConfig(fullscreen=False, width_px=1280, height_px=720),
                      simulated=True, fullscreen=False)
    try:
        assert pygame.display.get_driver() == "dummy"
        snap = state_snapshots()["in_band"]
        import dataclasses
        ui.draw(dataclasses.replace(snap, simulated=False))
        assert ui.dashboard.size == (1280, 720)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_b, mod=0, unicode="b"))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode="q"))
        assert ui.poll_commands() == [CoachCommand("restart_baseline"), CoachCommand("quit")]
    finally:
        ui.close()
    assert ui.poll_commands() == []


def test_too_small_display_is_refused(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with pytest.raises(DisplayError, match="at least"):
        open_display((320, 200), fullscreen=False)
