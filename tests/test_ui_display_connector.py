"""A screen unplugged from the KMS/DRM console: the kernel's connector status in sysfs (the
strings drm_sysfs.c writes: "connected", "disconnected", "unknown") becomes a device notice,
the session warns while it lasts (the journal gets it from the service reporter) and the
dashboard is sent whole again when a screen is back."""

import pygame
import pytest

from pi_app.clock import ManualClock
from pi_app.live.session import DISPLAY_LOST
from pi_app.records import CoachCommand
from pi_app.ui.display import ConnectorWatch, LiveUI, WindowScreen


def sysfs(tmp_path, **status):
    for name, value in status.items():
        d = tmp_path / name.replace("_", "-")
        d.mkdir(exist_ok=True)
        (d / "status").write_text(value + "\n")
    return tmp_path


def test_a_screen_on_any_connector_of_any_card_counts(tmp_path):
    # A Pi 4: v3d (no connectors) and vc4 with two HDMI ports, one in use.
    root = sysfs(tmp_path, card1_HDMI_A_1="connected", card1_HDMI_A_2="disconnected")
    (tmp_path / "card0").mkdir()
    watch = ConnectorWatch(root)
    assert watch.connected is True
    assert watch.change(0.0) is None
    sysfs(tmp_path, card1_HDMI_A_1="disconnected")
    assert watch.change(0.5) is None             # not time to look again yet
    assert watch.change(1.0) is False            # the last screen went
    assert watch.change(2.0) is None             # said once
    sysfs(tmp_path, card1_HDMI_A_2="connected")
    assert watch.change(3.0) is True
    assert ConnectorWatch(tmp_path / "nothing").connected is None


def test_the_live_ui_turns_the_change_into_notices_and_redraws_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    root = sysfs(tmp_path, card0_Virtual_1="connected")
    pygame.display.init()
    watch = ConnectorWatch(root, every_s=0.0)
    shown = []
    screen = WindowScreen(pygame.display.set_mode((1280, 720)), fullscreen=True)
    monkeypatch.setattr(screen, "show", lambda rects=None: shown.append(rects))
    ui = LiveUI(screen, watch=watch)
    try:
        assert ui.poll_commands() == []
        sysfs(tmp_path, card0_Virtual_1="disconnected")
        assert ui.poll_commands() == [CoachCommand("display_lost")]
        assert ui.poll_commands() == []
        sysfs(tmp_path, card0_Virtual_1="connected")
        assert ui.poll_commands() == [CoachCommand("display_back")]
        from pi_app.ui.samples import state_snapshots
        ui.draw(state_snapshots()["in_band"])
        assert shown[-1] is None                 # the whole frame, not the changed panels
    finally:
        ui.close()


@pytest.mark.parametrize("kind", ["display_lost", "display_back"])
def test_the_session_warns_while_no_screen_is_connected(simulated_session, kind):
    session, *_ = simulated_session("steady", clock=ManualClock())
    events = []
    session.hooks.append(type("Log", (), {"on_event": lambda self, k, d: events.append(k)})())
    session.apply(CoachCommand("display_lost"))
    assert DISPLAY_LOST in session.snapshot().warnings
    if kind == "display_back":
        session.apply(CoachCommand("display_back"))
        assert DISPLAY_LOST not in session.snapshot().warnings
    assert events[-1] == kind
