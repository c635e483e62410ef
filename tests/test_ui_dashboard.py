"""Dashboard: every coach-visible state draws at 1280x720 .. 1920x1080, and says the right
words (checked on the dashboard's computed labels, not on pixels)."""

import dataclasses

import numpy as np
import pygame
import pytest

from pi_app.analysis.drift import DriftVerdict
from pi_app.live.snapshot import LiveSnapshot
from pi_app.ui import widgets as W
from pi_app.ui.dashboard import (Dashboard, alert_lines, clock_text, crossbody_view,
                                 drift_view, key_legend, live_text, sensor_level, turn_rate_dps)
from pi_app.ui.samples import base_snapshot, state_snapshots

SIZES = [(1280, 720), (1920, 1080), (1600, 900), (1366, 768)]


@pytest.fixture(scope="module")
def states():
    pygame.font.init()
    return state_snapshots()


@pytest.mark.parametrize("size", SIZES)
def test_every_state_draws_at_every_size(states, size):
    dash = Dashboard(size)
    surface = pygame.Surface(size)
    for name, snap in states.items():
        out = dash.draw(snap, surface)
        assert out is surface and out.get_size() == size, name
        assert dash.labels["state"], name


def test_state_titles(states):
    expect = {"no_data": ("waiting", "WAITING"), "warmup": ("warmup", "WARMING UP"),
              "baseline_building": ("building", "BUILDING BASELINE  45 %"),
              "in_band": ("in_band", "IN BAND"),
              "drifting": ("drifting", "DRIFTING: COUNTER-ROTATION LOST"),
              "suppressed": ("suppressed", "SUPPRESSED")}
    dash = Dashboard((1280, 720))
    icons = set()
    for name, (key, title) in expect.items():
        dash.draw(states[name])
        assert dash.labels["state_key"] == key, name
        assert title in dash.labels["state"], (name, dash.labels["state"])
        icons.add(drift_view(states[name]).icon)
    # Shape as well as colour: each state family has its own icon.
    assert icons >= {"wait", "progress", "check", "warning", "pause"}


def test_drift_detail_names_direction_and_size(states):
    view = drift_view(states["drifting"])
    assert "+70°" in view.detail and "+14.0 SD" in view.detail and "pelvis timing" in view.detail
    cad = dataclasses.replace(states["drifting"], verdict=DriftVerdict(
        state="drifting", metric="cadence", direction="low", unit="spm", deviation=-6.0,
        deviation_sd=-3.0, beyond_band=2.5))
    view = drift_view(cad)
    # The stored code "low" is shown as what it means (DriftDirection.label).
    assert view.title == "DRIFTING: CADENCE LOW" and "cadence -6.0 spm" in view.detail


def test_suppressed_shows_time_left(states):
    assert "12 s left" in drift_view(states["suppressed"]).detail


def test_alerts_for_fault_stall_and_audio(states):
    assert alert_lines(states["in_band"]) == []
    fault = alert_lines(states["sensor_fault"])
    assert fault and fault[0].startswith("THORAX SENSOR MISSING (MPU-6050 0x69)")
    assert any("STALLED: analysis thread not responding" in a
               for a in alert_lines(states["stalled_thread"]))
    sensors = dataclasses.replace(states["stalled_thread"], stalled_threads=("sensors",))
    # Acquisition runs in a process (or a thread): the alert names neither wrongly.
    assert any(a.startswith("STALLED: sensor reading not responding")
               for a in alert_lines(sensors))
    assert any("no audio device" in a for a in alert_lines(states["no_audio"]))
    dash = Dashboard((1920, 1080))
    dash.draw(states["sensor_fault"])
    assert dash.labels["alerts"] == fault


def _with_rel_rotation(rate_dps: float) -> LiveSnapshot:
    t = np.arange(0, 4, 0.01)
    return LiveSnapshot(t_s=4.0, trace_t_s=t, trace_pelvis_deg=np.zeros_like(t),
                        trace_thorax_deg=rate_dps * (t - 2.0))


def test_crossbody_pairs_follow_rotation():
    left = crossbody_view(_with_rel_rotation(+100.0))
    assert left.direction == "left"
    assert left.lit == {"R external oblique", "L internal oblique", "multifidus/rotatores"}
    assert left.intensity == pytest.approx(1.0)
    right = crossbody_view(_with_rel_rotation(-50.0))
    assert right.direction == "right"
    assert right.lit == {"L external oblique", "R internal oblique", "multifidus/rotatores"}
    assert 0.0 < right.intensity < 1.0
    assert crossbody_view(_with_rel_rotation(2.0)).direction == "still"
    assert turn_rate_dps(_with_rel_rotation(-50.0)) == pytest.approx(-50.0)


def test_crossbody_needs_both_segments(states):
    view = crossbody_view(states["sensor_fault"])
    assert view.direction == "unknown" and not view.lit
    assert crossbody_view(LiveSnapshot()).direction == "unknown"


def test_crossbody_follows_live_sine():
    # thorax ahead of the pelvis: the pair switches sides every half stride
    snap = base_snapshot(t_s=100.0)
    seen = set()
    for dt in np.arange(0, 0.75, 0.05):
        s = dataclasses.replace(snap, trace_t_s=snap.trace_t_s[: snap.trace_t_s.size - int(dt * 100)])
        s = dataclasses.replace(s, trace_pelvis_deg=snap.trace_pelvis_deg[: s.trace_t_s.size],
                                trace_thorax_deg=snap.trace_thorax_deg[: s.trace_t_s.size])
        seen.add(crossbody_view(s).direction)
    assert {"left", "right"} <= seen


def test_key_legend_lists_every_coach_key_with_current_settings(states):
    legend = dict(key_legend(states["no_audio"]))
    assert set(legend) == {"B", "N", "C", "M", "T", "+/-", "[/]", "R", "Q"}
    assert legend["[/]"] == "phase target off"
    assert legend["C"] == "cues: faded" and legend["M"] == "unmute"
    assert legend["T"] == "metronome ON" and legend["+/-"] == "target 166 spm"
    assert legend["R"] == "stop rec"
    legend = dict(key_legend(states["in_band"]))
    assert legend["M"] == "mute" and legend["R"] == "record" and legend["T"] == "metronome off"
    targeted = dataclasses.replace(states["in_band"], target_offset_deg=10.0)
    assert dict(key_legend(targeted))["[/]"] == "phase target +10°"


def test_key_legend_never_offers_recording_that_cannot_happen(states):
    from pi_app.live.snapshot import ReplayInfo
    off = dataclasses.replace(states["in_band"],
                              recording_off_reason="the demo was started with --no-record")
    assert dict(key_legend(off))["R"] == "rec off"
    replay = dataclasses.replace(off, replay=ReplayInfo(3, 0.5, 1.0, 100.0))
    assert "R" not in dict(key_legend(replay))


def test_alerts_name_a_sensor_losing_samples_red_first(states):
    base = states["in_band"]
    pelvis, thorax = base.sensors
    s = dataclasses.replace(base, sensors=(
        dataclasses.replace(pelvis, health="amber", health_reason="samples lost, rising: "
                            "2 FIFO overflows in 10 s: the sensor thread reads too late"),
        dataclasses.replace(thorax, health="red", health_reason="samples lost, keep rising: "
                            "9 gaps in 15 s with 30 I2C errors: check the cable")))
    alerts = alert_lines(s)
    assert alerts[0].startswith("thorax sensor: samples lost, keep rising")
    assert alerts[1].startswith("pelvis sensor: samples lost, rising")
    # Totals alone (old losses) are no alert.
    assert alert_lines(dataclasses.replace(base, sensors=(
        dataclasses.replace(pelvis, overflows=85, gaps=90), thorax))) == []


def test_state_changes_the_banner_pixels(states):
    dash = Dashboard((1280, 720))
    a = dash.draw(states["in_band"]).get_at((5, 5))
    b = dash.draw(states["drifting"]).get_at((5, 5))
    assert a != b


def test_resizes_to_the_target_surface(states):
    dash = Dashboard((1280, 720))
    big = pygame.Surface((1920, 1080))
    dash.draw(states["in_band"], big)
    assert dash.size == (1920, 1080)
    with pytest.raises(ValueError):
        Dashboard((100, 100))


def test_replay_is_drawn_as_a_replay(states):
    from pi_app.live.snapshot import ReplayInfo
    base = states["in_band"]
    s = dataclasses.replace(base, session_start_s=base.t_s - 83.0,
                            replay=ReplayInfo(7, 0.62, 1.0, 134.0),
                            recording_off_reason="a replay is not recorded again")
    assert clock_text(s) == "01:23 / 02:14"
    assert clock_text(base) == "03:20"
    dash = Dashboard((1280, 720))
    surf = dash.draw(s)
    # The progress bar along the banner's edge: filled to 62 %, the rest dark.
    r = dash.r_top
    y = r.bottom - dash.px(9)
    assert tuple(surf.get_at((int(r.x + 0.55 * r.width), y)))[:3] == W.BUILD
    assert tuple(surf.get_at((int(r.x + 0.70 * r.width), y)))[:3] == W.BUILD_DARK
    assert "R" not in dict(dash.labels["keys"])
    live = Dashboard((1280, 720)).draw(base)
    assert tuple(live.get_at((int(r.x + 0.70 * r.width), y)))[:3] != W.BUILD_DARK


def test_no_needle_when_there_is_nothing_to_show(states):
    base = states["in_band"]
    standing = dataclasses.replace(base, needle_deg=None, needle_note="not running",
                                   cadence_spm=None)
    assert live_text(standing) == "live — (not running)"
    assert live_text(states["sensor_fault"]) == "live — (thorax sensor missing)"
    assert live_text(base) == f"live {base.needle_deg % 360:.0f}°"
    dash = Dashboard((1280, 720))
    x, y = dash._dial_pt(base.needle_deg, dash.dial_r * 0.9)
    assert tuple(Dashboard((1280, 720)).draw(base).get_at((int(x), int(y))))[:3] == W.TEXT
    assert tuple(dash.draw(standing).get_at((int(x), int(y))))[:3] != W.TEXT


def test_sensor_level_follows_health(states):
    pelvis, thorax = states["in_band"].sensors
    assert sensor_level(pelvis) == "ok"
    assert sensor_level(dataclasses.replace(pelvis, health="amber")) == "amber"
    assert sensor_level(dataclasses.replace(pelvis, health="red")) == "red"
    assert sensor_level(states["sensor_fault"].sensors[1]) == "red"
    assert sensor_level(dataclasses.replace(pelvis, last_error="EIO")) == "amber"


def test_remembered_band_says_where_it_came_from(states):
    note = ("remembered baseline from session 12, 3 days old (cadence 171 vs 172 spm "
            "(-0.6%, tolerance +-3%))")
    view = drift_view(dataclasses.replace(states["in_band"], baseline_note=note))
    assert "band remembered from session 12, 3 days old" in view.detail
    assert "remembered" not in drift_view(states["in_band"]).detail
    why = "remembered baseline not used: other chips (MPU-6500 now, MPU-6050 then)"
    view = drift_view(dataclasses.replace(states["baseline_building"], baseline_note=why))
    assert why in view.detail
    dash = Dashboard((1280, 720))
    dash.draw(dataclasses.replace(states["in_band"], baseline_note=note))
    assert "session 12" in " ".join(str(v) for v in dash.labels.values())
