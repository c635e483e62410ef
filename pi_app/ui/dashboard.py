"""The coach dashboard: draws one `LiveSnapshot` per frame (pygame-ce).

    dash = Dashboard((1920, 1080))
    dash.draw(snapshot, screen)          # or dash.draw(snapshot) -> its own surface

It only renders what the snapshot says; it never calls the analysis. The layout is laid out
on a 1920x1080 grid and scaled to the surface (1280x720 .. 1920x1080 and between). The
static parts (background, panel frames, titles, dial face) are drawn once per size into a
cached layer; fonts and rendered strings are cached (widgets.TextCache).

The pure functions `drift_view`, `alert_lines`, `crossbody_view` and `key_legend` compute
what the screen says, so tests can check the words without looking at pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pygame

from pi_app import workers
from pi_app.live.snapshot import LiveSnapshot
from pi_app.records import DriftDirection
from pi_app.ui import widgets as W
from pi_app.ui.keys import KEY_BINDINGS

REF_W, REF_H = 1920, 1080
#: Strides shown as bars and dial dots.
N_STRIDES_SHOWN = 10
#: Rotation trace window (s).
TRACE_WINDOW_S = 4.0
#: Relative (thorax - pelvis) axial rate below which the trunk counts as not turning (deg/s).
#: Peak relative rate in running is ~100-150 deg/s (about 15 deg amplitude at ~1.4 Hz).
TURN_THRESHOLD_DPS = 15.0
TURN_FULL_DPS = 90.0
#: Window for the live turning rate (s): short enough to follow a 0.7 s stride.
TURN_WINDOW_S = 0.06

METRIC_NAMES = {"rel_phase": "relative phase", "thorax_phase": "thorax timing",
                "pelvis_phase": "pelvis timing", "cadence": "cadence"}
CUE_NAMES = {"counter_rotation_lost": "counter-rotation lost",
             "more_anti_phase": "more anti-phase", "thorax_early": "thorax early",
             "thorax_late": "thorax late", "pelvis_early": "pelvis early",
             "pelvis_late": "pelvis late", "cadence_low": "cadence low",
             "cadence_high": "cadence high", "metronome": "metronome"}


# -- what the screen says ---------------------------------------------------------------------
@dataclass(frozen=True)
class StateView:
    """The drift state as the top banner shows it. key: "waiting" | "warmup" | "building" |
    "in_band" | "drifting" | "suppressed"; icon: widgets icon name; progress 0..1."""

    key: str
    title: str
    detail: str
    icon: str
    colour: tuple
    background: tuple
    progress: float = 0.0


def _fmt_unit(value: float, unit: str | None) -> str:
    if unit == "deg":
        return f"{value:+.0f}°"
    if unit:
        return f"{value:+.1f} {unit}"
    return f"{value:+.2f}"


def _remembered_origin(s: LiveSnapshot) -> str | None:
    """"session 12, 3 days old" when the band is a remembered one (pi_app.coaching)."""
    note = s.baseline_note or ""
    prefix = "remembered baseline from "
    if not note.startswith(prefix):
        return None
    return note[len(prefix):].split(" (", 1)[0]


def _stored_note_suffix(s: LiveSnapshot) -> str:
    """Why a remembered band is not used, for the building state ("" if there was none)."""
    note = s.baseline_note or ""
    return f" ({note})" if note.startswith("remembered baseline not used") else ""


def drift_view(s: LiveSnapshot) -> StateView:
    """Title, detail and icon for the drift state of snapshot `s`."""
    v = s.verdict
    if v is None or v.state == "warmup":
        if v is None and not s.recent_strides:
            return StateView("waiting", "WAITING FOR STRIDES", "start running; the analysis "
                             "needs a few steady strides", "wait", W.SUPP, W.SUPP_DARK)
        return StateView("warmup", "WARMING UP", "waiting for steady strides before learning "
                         "the baseline", "wait", W.SUPP, W.SUPP_DARK)
    if v.state == "building_baseline":
        p = min(1.0, max(0.0, v.progress))
        return StateView("building", f"BUILDING BASELINE  {p * 100:.0f} %",
                         "learning this runner's band; no cues until it is done"
                         + _stored_note_suffix(s),
                         "progress", W.BUILD, W.BUILD_DARK, p)
    if v.state == "suppressed":
        return StateView("suppressed", "SUPPRESSED: SPEED CHANGE",
                         f"cues paused while the runner settles ({v.suppressed_for_s:.0f} s "
                         "left)", "pause", W.SUPP, W.SUPP_DARK)
    if v.state == "drifting":
        what = (DriftDirection(v.direction).label if v.direction else "out of band").upper()
        metric = METRIC_NAMES.get(v.metric or "", v.metric or "")
        parts = []
        if v.deviation is not None:
            parts.append(f"{metric} {_fmt_unit(v.deviation, v.unit)} from band centre")
        if v.deviation_sd is not None:
            parts.append(f"{v.deviation_sd:+.1f} SD")
        if v.beyond_band is not None and v.beyond_band > 0:
            parts.append(f"{abs(v.beyond_band):.0f}{'°' if v.unit == 'deg' else ' ' + (v.unit or '')}"
                         " outside")
        others = [METRIC_NAMES.get(m, m) for m in v.drifting_metrics if m != v.metric]
        if others:
            parts.append("also " + ", ".join(others))
        return StateView("drifting", f"DRIFTING: {what}", ", ".join(parts) or metric,
                         "warning", W.WARN, W.WARN_DARK)
    if v.state == "in_band":
        src = "coach-set band" if s.band_source == "coach" else "runner's baseline band"
        if s.band_source == "coach" and s.target_offset_deg:
            src = f"target band ({s.target_offset_deg:+g}° toward anti-phase)"
        origin = _remembered_origin(s)
        if origin and s.band_source != "coach":
            src = f"band remembered from {origin}"
        return StateView("in_band", "IN BAND", f"timing inside the {src}; cues silent",
                         "check", W.OK, W.OK_DARK, 1.0)
    return StateView(v.state, v.state.upper(), "", "wait", W.SUPP, W.SUPP_DARK)


def alert_lines(s: LiveSnapshot) -> list[str]:
    """One-line problems, most serious first: missing sensors, sensors losing samples (red
    before amber), sensor errors, stalled threads, then the snapshot's warnings (no audio,
    recording stopped, ...)."""
    out = []
    losing = []
    for st in s.sensors:
        where = " ".join(x for x in (st.model or "", f"0x{st.address:02X}"
                                     if st.address is not None else "") if x)
        if not st.present:
            out.append(f"{st.role.upper()} SENSOR MISSING ({where or 'no device'}): check its "
                       "cable; its metrics are paused")
            continue
        if st.health in ("red", "amber") and st.health_reason:
            losing.append((st.health != "red", f"{st.role} sensor: {st.health_reason}"))
        if st.last_error:
            losing.append((True, f"{st.role} sensor: {st.last_error}"))
    out.extend(text for _, text in sorted(losing, key=lambda x: x[0]))
    if s.stalled_threads:
        out.append(f"STALLED: {workers.describe(s.stalled_threads)} not responding; display "
                   "may be out of date")
    out.extend(s.warnings)
    return out


@dataclass(frozen=True)
class CrossBodyView:
    """The cross-body panel. direction: "left" | "right" | "still" | "unknown";
    intensity 0..1; lit: muscles drawn active (names as in MUSCLES); caption: the text."""

    direction: str
    intensity: float
    lit: frozenset
    caption: str


MUSCLES = ("R external oblique", "L external oblique", "R internal oblique",
           "L internal oblique", "multifidus/rotatores")
_PAIR = {"left": frozenset({"R external oblique", "L internal oblique"}),
         "right": frozenset({"L external oblique", "R internal oblique"})}


def turn_rate_dps(s: LiveSnapshot) -> float | None:
    """Live thorax-relative-to-pelvis axial rate (deg/s, + = trunk turning left), from the
    newest `TURN_WINDOW_S` of the traces; None without both segments."""
    t = np.asarray(s.trace_t_s, dtype=float)
    if t.size < 3:
        return None
    rel = np.asarray(s.trace_thorax_deg, dtype=float) - np.asarray(s.trace_pelvis_deg,
                                                                   dtype=float)
    keep = (t >= t[-1] - TURN_WINDOW_S) & np.isfinite(rel)
    if keep.sum() < 2:
        return None
    tt, rr = t[keep], rel[keep]
    if tt[-1] - tt[0] <= 0:
        return None
    # Least-squares slope: less jumpy than a two-point difference on decimated samples.
    tc = tt - tt.mean()
    return float(np.dot(tc, rr - rr.mean()) / np.dot(tc, tc))


def crossbody_view(s: LiveSnapshot) -> CrossBodyView:
    """Which muscle pair the live rotation implies (science.md, "The cross-body muscle
    picture"): turning left, right external + left internal oblique; turning right, the
    mirror pair; multifidus/rotatores stabilise throughout."""
    rate = turn_rate_dps(s)
    if rate is None:
        return CrossBodyView("unknown", 0.0, frozenset(),
                             "needs both sensors: no trunk rotation to show")
    mag = abs(rate)
    if mag < TURN_THRESHOLD_DPS:
        return CrossBodyView("still", 0.0, frozenset({"multifidus/rotatores"}),
                             "trunk between turns")
    direction = "left" if rate > 0 else "right"
    intensity = min(1.0, (mag - TURN_THRESHOLD_DPS) / (TURN_FULL_DPS - TURN_THRESHOLD_DPS))
    pair = _PAIR[direction]
    names = " + ".join(sorted(pair, key=lambda n: "internal" in n))
    return CrossBodyView(direction, intensity, pair | {"multifidus/rotatores"},
                         f"turning {direction}: {names.replace('R ', 'right ').replace('L ', 'left ')}")


def key_legend(s: LiveSnapshot) -> list[tuple[str, str]]:
    """(key label, what it does now) for every coach key, with the current settings."""
    out = []
    target = (f"{s.metronome_target_spm:.0f}" if s.metronome_target_spm else "auto")
    for b in KEY_BINDINGS:
        action = b.action
        k = b.command.kind
        if k == "cycle_cue_mode":
            action = f"cues: {s.cue_mode}"
        elif k == "toggle_mute":
            action = "unmute" if s.muted else "mute"
        elif k == "toggle_metronome":
            action = f"metronome {'ON' if s.metronome_on else 'off'}"
        elif k == "toggle_recording":
            if s.replay is not None:
                continue  # a replay is never recorded again: R is not offered
            if s.recording_off_reason:
                action = "rec off"  # the alert line says why when R is pressed
            else:
                action = "stop rec" if s.recording else "record"
        elif k == "target_step":
            if b.command.value and b.command.value < 0:
                continue  # "[" and "]" share one legend entry
            goal = (f"{s.target_offset_deg:+g}°" if s.target_offset_deg else "off")
            out.append(("[/]", f"phase target {goal}"))
            continue
        elif k == "metronome_target_delta_spm":
            if b.command.value and b.command.value < 0:
                continue  # "+" and "-" share one legend entry
            out.append(("+/-", f"target {target} spm"))
            continue
        out.append((b.label, action))
    return out


def sensor_level(st) -> str:
    """"ok", "amber" or "red" for a `SensorStatus`: red when missing, else its health
    (amber at least when it reports an error)."""
    if not st.present:
        return "red"
    if st.health == "ok" and st.last_error:
        return "amber"
    return st.health


def clock_text(s: LiveSnapshot) -> str:
    """The banner's clock: time since the session started; in a replay, out of its length."""
    text = _clock(s.t_s - s.session_start_s)
    if s.replay is not None:
        text += f" / {_clock(s.replay.duration_s)}"
    return text


def live_text(s: LiveSnapshot) -> str:
    """The dial's caption for the live needle, or why there is none."""
    if s.needle_deg is None:
        return "live —" + (f" ({s.needle_note})" if s.needle_note else "")
    low = s.phase_confidence is not None and s.phase_confidence < 0.5
    return f"live {s.needle_deg % 360:.0f}°" + (" (low confidence)" if low else "")


def _wrap180(x):
    return (np.asarray(x, dtype=float) + 180.0) % 360.0 - 180.0


def _circ_mean_deg(values) -> float:
    a = np.radians(np.asarray(values, dtype=float))
    return float(np.degrees(np.arctan2(np.sin(a).mean(), np.cos(a).mean())) % 360.0)


def _clock(t_s: float) -> str:
    t = max(0, int(t_s))
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else \
        f"{t // 60:02d}:{t % 60:02d}"


# -- the dashboard ----------------------------------------------------------------------------
class Dashboard:
    """Renders LiveSnapshots at `surface_size` (w, h) px.

    draw(snapshot, target=None) draws one frame onto `target` (or an own surface) and
    returns the surface. `labels` holds the texts of the last frame (state title, alerts,
    cross-body caption, ...) for tests and logs.
    """

    def __init__(self, surface_size: tuple[int, int], *, text: W.TextCache | None = None):
        self.text = text if text is not None else W.TextCache()
        self.labels: dict = {}
        self._surface: pygame.Surface | None = None
        self.resize(surface_size)

    # -- layout --------------------------------------------------------------------------
    def resize(self, surface_size: tuple[int, int]) -> None:
        """Lay out for a new surface size (w, h) px; rebuilds the static layer."""
        w, h = int(surface_size[0]), int(surface_size[1])
        if w < 320 or h < 180:
            raise ValueError(f"dashboard size {w}x{h} is too small (at least 320x180)")
        self.size = (w, h)
        self.sx, self.sy = w / REF_W, h / REF_H
        self.k = min(self.sx, self.sy)
        R = self._r
        self.r_top = R(0, 0, 1920, 150)
        self.r_alert = R(16, 158, 1888, 56)
        self.r_cad = R(16, 224, 560, 256)
        self.r_dial = R(16, 492, 560, 488)
        self.r_bars = R(588, 224, 700, 370)
        self.r_trace = R(588, 606, 700, 374)
        self.r_body = R(1300, 224, 604, 376)
        self.r_cues = R(1300, 612, 604, 196)
        self.r_health = R(1300, 820, 604, 160)
        self.r_keys = R(0, 992, 1920, 88)
        # The banner's bottom rule is drawn centred on its edge: its region reaches the alert.
        self.g_top = R(0, 0, 1920, 158)
        self._surface = None
        self._last_target: pygame.Surface | None = None
        self._keys: dict = {}
        self._trace_layers: dict = {}
        self.dirty_rects: list[pygame.Rect] = []
        self._static = self._build_static()

    def _r(self, x, y, w, h) -> pygame.Rect:
        x0, y0 = round(x * self.sx), round(y * self.sy)
        return pygame.Rect(x0, y0, round((x + w) * self.sx) - x0, round((y + h) * self.sy) - y0)

    def px(self, size_ref: float) -> int:
        """A font or line size given on the 1080p grid, scaled to this surface."""
        return max(1, int(round(size_ref * self.k)))

    def _build_static(self) -> pygame.Surface:
        layer = pygame.Surface(self.size)
        layer.fill(W.BG)
        t, px = self.text, self.px
        self._inner = {}
        titles = {"cad": (self.r_cad, "CADENCE"),
                  "dial": (self.r_dial, "RELATIVE PHASE  thorax - pelvis"),
                  "bars": (self.r_bars, "LAST 10 STRIDES vs BAND"),
                  "trace": (self.r_trace, "ROTATION, LAST 4 s   (+ = turning left)"),
                  "body": (self.r_body, "CROSS-BODY  (front view)"),
                  "cues": (self.r_cues, "CUE LOG"),
                  "health": (self.r_health, "SENSORS")}
        for name, (rect, title) in titles.items():
            self._inner[name] = W.panel(layer, rect, t, title, px(30))
        pygame.draw.rect(layer, (18, 20, 26), self.r_keys)
        pygame.draw.line(layer, W.PANEL_EDGE, self.r_keys.topleft, self.r_keys.topright, 2)
        self._dial_geometry()
        self._draw_dial_face(layer)
        reach = self.dial_r + self.px(10)      # the needle's tip disc reaches past the rim
        self.g_dial_disc = pygame.Rect(0, 0, 2 * reach, 2 * reach)
        self.g_dial_disc.center = self.dial_c
        self.g_dial_disc = self.g_dial_disc.clip(self.r_dial)
        # Lines are px(6) wide at most and clipped to the plot: 4 px of margin hold them.
        self.g_trace_lines = self._trace_plot().inflate(self.px(8), self.px(8))
        self.g_body_figure = self._body_figure()
        return layer

    # -- frame ---------------------------------------------------------------------------
    def draw(self, s: LiveSnapshot, target: pygame.Surface | None = None) -> pygame.Surface:
        """Draw snapshot `s`; returns the surface drawn on.

        Drawing into the same surface as the previous frame repaints only the panels whose
        content changed (each panel is restored from the static layer and redrawn, clipped
        to its own rectangle); `dirty_rects` lists them for `pygame.display.update`. A new
        target (or size) is drawn whole, and the result is the same pixels either way."""
        if target is None:
            if self._surface is None:
                self._surface = pygame.Surface(self.size)
            target = self._surface
        elif target.get_size() != self.size:
            self.resize(target.get_size())
        whole = target is not self._last_target
        if whole:
            target.blit(self._static, (0, 0))
            self._keys = {}
            self._last_target = target
        state = drift_view(s)
        alerts = alert_lines(s)
        body = crossbody_view(s)
        legend = key_legend(s)
        self.labels = {"state": state.title, "state_key": state.key, "detail": state.detail,
                       "alerts": alerts, "crossbody": body.caption, "keys": legend}
        level = _quantised_level(body.intensity)
        shown = tuple(s.recent_strides[-N_STRIDES_SHOWN:])
        missing = tuple(st.role for st in s.sensors if not st.present)
        live_deg = None if s.needle_deg is None else round(s.needle_deg % 360)
        # A replay's progress moves the banner's bar: repaint it when the bar would move.
        replay = None if s.replay is None else (
            s.replay.session_id, s.replay.speed, s.replay.duration_s,
            round(s.replay.progress * self.r_top.width))
        scale = self._trace_scale(s)
        # (name, region, key, paint, small region, small key): when only the small key
        # changed, only the small region is repainted (the needle, the lines, the figure).
        panels = (
            ("top", self.g_top, (state, s.simulated, s.scenario, s.recording, replay,
                                 clock_text(s)),
             lambda: self._draw_top(target, s, state), None, None),
            ("alerts", self.r_alert, tuple(alerts), lambda: self._draw_alerts(target, alerts),
             None, None),
            ("cadence", self.r_cad, (None if s.cadence_spm is None else
                                     f"{s.cadence_spm:.0f}", s.metronome_on,
                                     s.metronome_target_spm),
             lambda: self._draw_cadence(target, s), None, None),
            ("dial", self.r_dial, (s.band_deg, s.band_source, s.target_offset_deg, shown,
                                   missing, live_deg, s.needle_note,
                                   (s.phase_confidence or 1.0) >= 0.5),
             lambda: self._draw_dial(target, s), self.g_dial_disc,
             (s.needle_deg, s.phase_confidence)),
            ("bars", self.r_bars, (s.band_deg, shown), lambda: self._draw_bars(target, s),
             None, None),
            ("traces", self.r_trace, scale, lambda: self._draw_traces(target, s, scale),
             self.g_trace_lines,
             _Identity(s.trace_t_s, s.trace_pelvis_deg, s.trace_thorax_deg)),
            ("body", self.r_body, (body.direction, body.lit, body.caption),
             lambda: self._draw_body(target, body, level), self.g_body_figure, level),
            ("cues", self.r_cues, (s.cue_log, s.cue_mode, s.muted, s.session_start_s),
             lambda: self._draw_cues(target, s), None, None),
            ("health", self.r_health, (s.sensors, s.calibration_text),
             lambda: self._draw_health(target, s), None, None),
            ("keys", self.r_keys, tuple(legend), lambda: self._draw_keys(target, legend),
             None, None),
        )
        self.dirty_rects = [target.get_rect()] if whole else []
        clip = target.get_clip()
        for name, region, key, paint, small, small_key in panels:
            old = self._keys.get(name)
            if old is not None and _same(old[0], key):
                if small is None or _same(old[1], small_key):
                    continue
                region = small
            if not whole:
                if name not in _PAINTS_ITS_BACKGROUND:
                    target.blit(self._static, region, region)
                self.dirty_rects.append(region)
            target.set_clip(region)
            try:
                paint()
            finally:
                target.set_clip(clip)
            self._keys[name] = (key, small_key)
        return target

    # -- top banner ----------------------------------------------------------------------
    def _draw_top(self, surf, s: LiveSnapshot, state: StateView) -> None:
        t, px, r = self.text, self.px, self.r_top
        pygame.draw.rect(surf, state.background, r)
        pygame.draw.line(surf, state.colour, r.bottomleft, r.bottomright, px(6))
        icon_r = px(48)
        cx, cy = r.x + px(30) + icon_r, r.centery
        W.draw_icon(surf, state.icon, (cx, cy), icon_r, state.colour, state.progress)
        right = r.right - px(20)
        if s.simulated:
            sim = t.render("SIMULATED", px(62), (0, 0, 0))
            box = sim.get_rect().inflate(px(36), px(18))
            box.topright = (right, r.y + px(14))
            pygame.draw.rect(surf, W.SIM_BG, box, border_radius=px(8))
            surf.blit(sim, sim.get_rect(center=box.center))
            if s.scenario:
                t.blit(surf, f"scenario: {s.scenario}", px(28), (box.centerx, box.bottom + px(6)),
                       W.TEXT, anchor="midtop")
            right = box.left - px(24)
        if s.replay is not None:
            # A replay is never mistaken for a live session: its own badge, its progress
            # along the banner's edge, and the stored session's clock out of its length.
            rep = t.render("REPLAY", px(62), (255, 255, 255))
            box = rep.get_rect().inflate(px(36), px(18))
            box.topright = (right, r.y + px(14))
            pygame.draw.rect(surf, W.BUILD_DARK, box, border_radius=px(8))
            pygame.draw.rect(surf, W.BUILD, box, px(3), border_radius=px(8))
            surf.blit(rep, rep.get_rect(center=box.center))
            speed = "as fast as possible" if s.replay.speed <= 0 else f"x{s.replay.speed:g}"
            t.blit(surf, f"session {s.replay.session_id}, {speed}", px(28),
                   (box.centerx, box.bottom + px(6)), W.TEXT, anchor="midtop")
            right = box.left - px(24)
            bar = pygame.Rect(r.x, r.bottom - px(12), r.width, px(12))
            pygame.draw.rect(surf, W.BUILD_DARK, bar)
            pygame.draw.rect(surf, W.BUILD, pygame.Rect(
                bar.x, bar.y, int(bar.w * min(1.0, max(0.0, s.replay.progress))), bar.h))
        # Session clock and recording state.
        t.blit(surf, clock_text(s), px(52), (right, r.y + px(22)), W.TEXT, anchor="topright")
        if s.recording:
            rec = t.render("REC", px(36), W.TEXT)
            rr = rec.get_rect(topright=(right, r.y + px(86)))
            surf.blit(rec, rr)
            pygame.draw.circle(surf, W.REC, (rr.x - px(20), rr.centery), px(13))
        elif s.replay is None:
            t.blit(surf, "not recording", px(28), (right, r.y + px(92)), W.DIM,
                   anchor="topright")
        x = cx + icon_r + px(28)
        max_w = right - px(170 if s.replay is None else 320) - x
        t.blit(surf, state.title, px(76), (x, r.y + px(16)), W.TEXT, max_w=max_w)
        t.blit(surf, state.detail, px(34), (x, r.y + px(96)), W.TEXT, max_w=max_w)
        if state.key == "building":
            bar = pygame.Rect(x, r.bottom - px(14), max(1, max_w), px(8))
            pygame.draw.rect(surf, W.FAINT, bar)
            pygame.draw.rect(surf, state.colour,
                             pygame.Rect(bar.x, bar.y, int(bar.w * state.progress), bar.h))

    def _draw_alerts(self, surf, alerts: list[str]) -> None:
        t, px, r = self.text, self.px, self.r_alert
        if not alerts:
            t.blit(surf, "sensors, threads and outputs OK", px(28), (r.x + px(8), r.centery),
                   W.FAINT, anchor="midleft")
            return
        pygame.draw.rect(surf, W.ALERT_BG, r, border_radius=px(8))
        W.draw_icon(surf, "cross", (r.x + px(32), r.centery), px(18), W.FAULT)
        first = alerts[0]
        more = f"   (+{len(alerts) - 1} more: {' | '.join(alerts[1:])})" if len(alerts) > 1 \
            else ""
        t.blit(surf, first + more, px(36), (r.x + px(64), r.centery), W.ALERT_TEXT,
               anchor="midleft", max_w=r.width - px(80))

    # -- cadence -------------------------------------------------------------------------
    def _draw_cadence(self, surf, s: LiveSnapshot) -> None:
        t, px, r = self.text, self.px, self._inner["cad"]
        value = "—" if s.cadence_spm is None else f"{s.cadence_spm:.0f}"
        num = t.render(value, px(230), W.TEXT)
        nr = num.get_rect(midleft=(r.x + px(6), r.y + int(r.height * 0.42)))
        surf.blit(num, nr)
        t.blit(surf, "steps", px(44), (nr.right + px(14), nr.centery - px(4)), W.DIM,
               anchor="bottomleft")
        t.blit(surf, "/min", px(44), (nr.right + px(14), nr.centery + px(4)), W.DIM,
               anchor="topleft")
        if s.metronome_on:
            tgt = f"{s.metronome_target_spm:.0f}" if s.metronome_target_spm else "current"
            text, colour = f"metronome ON  target {tgt} spm", W.BUILD
        else:
            text, colour = "metronome off", W.DIM
        t.blit(surf, text, px(32), (r.x + px(6), r.bottom), colour, anchor="bottomleft",
               max_w=r.width)

    # -- relative-phase dial -------------------------------------------------------------
    def _dial_geometry(self) -> None:
        r = self._inner["dial"]
        label_px = self.px(28)
        self.dial_r = int(min(r.width - 4 * label_px, r.height - 3.6 * label_px) / 2)
        self.dial_c = (r.centerx, r.y + label_px + self.dial_r + self.px(6))

    def _dial_pt(self, deg: float, radius: float) -> tuple[float, float]:
        a = math.radians(deg)
        # 0 deg (in phase) at the top, increasing clockwise.
        return (self.dial_c[0] + radius * math.sin(a), self.dial_c[1] - radius * math.cos(a))

    def _draw_dial_face(self, layer) -> None:
        t, px, R = self.text, self.px, self.dial_r
        pygame.draw.circle(layer, (34, 40, 52), self.dial_c, R)
        pygame.draw.circle(layer, W.PANEL_EDGE, self.dial_c, R, px(3))
        for deg in range(0, 360, 30):
            major = deg % 90 == 0
            p0 = self._dial_pt(deg, R * (0.86 if major else 0.92))
            pygame.draw.line(layer, W.DIM, p0, self._dial_pt(deg, R), px(4 if major else 2))
        lp = px(28)
        for deg, anchor in ((0, "midbottom"), (90, "midleft"), (180, "midtop"),
                            (270, "midright")):
            x, y = self._dial_pt(deg, R + px(8))
            t.blit(layer, f"{deg}°", lp, (x, y), W.TEXT, anchor=anchor)
        t.blit(layer, "in phase", px(22), self._dial_pt(0, R * 0.7), W.FAINT, anchor="center")
        t.blit(layer, "anti-phase", px(22), self._dial_pt(180, R * 0.7), W.FAINT,
               anchor="center")

    def _draw_dial(self, surf, s: LiveSnapshot) -> None:
        t, px, R = self.text, self.px, self.dial_r
        r = self._inner["dial"]
        if s.band_deg is not None:
            lo, hi = s.band_deg
            span = (hi - lo) % 360.0 or 360.0
            n = max(3, int(span / 3))
            outer = [self._dial_pt(lo + span * i / n, R * 0.97) for i in range(n + 1)]
            inner = [self._dial_pt(lo + span * i / n, R * 0.35) for i in reversed(range(n + 1))]
            pygame.draw.polygon(surf, W.BAND_FILL, outer + inner)
            for edge in (lo, hi):
                pygame.draw.line(surf, W.BAND_EDGE, self._dial_pt(edge, R * 0.35),
                                 self._dial_pt(edge, R * 0.97), px(3))
        strides = [x for x in s.recent_strides[-N_STRIDES_SHOWN:] if x.rel_phase_deg is not None]
        for i, st in enumerate(strides):
            age = (len(strides) - 1 - i) / max(1, N_STRIDES_SHOWN - 1)
            rad = R * (0.82 - 0.3 * age)
            rel = st.rel_phase_deg
            assert rel is not None              # filtered above
            x, y = self._dial_pt(rel, rad)
            inside = _in_band(rel, s.band_deg)
            size = px(13) if i == len(strides) - 1 else px(9)
            colour = W.OK if inside is not False else W.WARN
            if inside is False:  # square = outside the band, disc = inside
                pygame.draw.rect(surf, colour, pygame.Rect(x - size, y - size, 2 * size, 2 * size))
            else:
                pygame.draw.circle(surf, colour, (x, y), size)
            if i == len(strides) - 1:
                pygame.draw.circle(surf, W.TEXT, (x, y), size + px(4), px(2))
        conf = s.phase_confidence if s.phase_confidence is not None else 1.0
        # No needle when there is nothing true to show (standing, a sensor missing, not
        # settled): the snapshot says why instead.
        if s.needle_deg is not None:
            colour = W.TEXT if conf >= 0.5 else W.FAINT
            tip = self._dial_pt(s.needle_deg, R * 0.98)
            pygame.draw.line(surf, colour, self.dial_c, tip, px(7))
            pygame.draw.circle(surf, colour, tip, px(8))
        pygame.draw.circle(surf, W.TEXT, self.dial_c, px(12))
        live = live_text(s)
        band = ("band being built" if s.band_deg is None else
                f"band {s.band_deg[0] % 360:.0f}–{s.band_deg[1] % 360:.0f}°"
                + (f" (target {s.target_offset_deg:+g}°)" if s.band_source == "coach"
                   and s.target_offset_deg else " (coach)" if s.band_source == "coach"
                   else ""))
        t.blit(surf, live, px(34), (r.x, r.bottom), W.TEXT, anchor="bottomleft",
               max_w=r.width // 2)
        t.blit(surf, band, px(30), (r.right, r.bottom), W.OK if s.band_deg else W.DIM,
               anchor="bottomright", max_w=r.width // 2)

    # -- stride bars ---------------------------------------------------------------------
    def _draw_bars(self, surf, s: LiveSnapshot) -> None:
        t, px = self.text, self.px
        r = self._inner["bars"]
        strides = list(s.recent_strides[-N_STRIDES_SHOWN:])
        phases = [x.rel_phase_deg for x in strides if x.rel_phase_deg is not None]
        if s.band_deg is not None:
            lo, hi = s.band_deg
            centre = (lo + ((hi - lo) % 360.0) / 2.0) % 360.0
            half = ((hi - lo) % 360.0) / 2.0
        elif phases:
            centre, half = _circ_mean_deg(phases), None
        else:
            centre, half = None, None
        axis_w = px(70)
        plot = pygame.Rect(r.x + axis_w, r.y + px(8), r.width - axis_w, r.height - px(52))
        range_deg = 90.0
        mid_y = plot.centery

        def y_of(dev):
            return mid_y - float(np.clip(dev, -range_deg, range_deg)) / range_deg * (plot.h / 2)

        if half is not None:
            band = pygame.Rect(plot.x, int(y_of(half)), plot.w, max(1, int(y_of(-half) - y_of(half))))
            pygame.draw.rect(surf, W.BAND_FILL, band)
            for yy in (band.top, band.bottom):
                pygame.draw.line(surf, W.BAND_EDGE, (plot.x, yy), (plot.right, yy), px(2))
        for tick_deg in (-90, -45, 0, 45, 90):
            yy = y_of(tick_deg)
            pygame.draw.line(surf, W.FAINT if tick_deg else W.DIM, (plot.x, yy),
                             (plot.right, yy), 1 if tick_deg else px(2))
            t.blit(surf, f"{tick_deg:+d}°" if tick_deg else "0", px(24), (plot.x - px(8), yy), W.DIM,
                   anchor="midright")
        if centre is None:
            t.blit(surf, "no strides yet", px(34), plot.center, W.DIM, anchor="center")
        else:
            slot = plot.w / N_STRIDES_SHOWN
            bw = int(slot * 0.6)
            for i, st in enumerate(strides):
                x0 = plot.x + (i + N_STRIDES_SHOWN - len(strides)) * slot + (slot - bw) / 2
                xc = int(x0 + bw / 2)
                if st.rel_phase_deg is None:
                    t.blit(surf, "—", px(40), (xc, mid_y), W.DIM, anchor="center")
                    t.blit(surf, "?", px(24), (xc, r.bottom), W.DIM, anchor="midbottom")
                    continue
                dev = float(_wrap180(st.rel_phase_deg - centre))
                inside = half is None or abs(dev) <= half
                colour = W.OK if inside else W.WARN
                y1 = y_of(dev)
                bar = pygame.Rect(int(x0), int(min(y1, mid_y)), bw, max(px(3), int(abs(y1 - mid_y))))
                pygame.draw.rect(surf, colour, bar)
                if not inside:  # a mark beyond the bar end: outside the band, not colour only
                    tip = bar.top - px(6) if dev > 0 else bar.bottom + px(6)
                    t.blit(surf, "!", px(36), (xc, tip), W.WARN,
                           anchor="midbottom" if dev > 0 else "midtop")
                if abs(dev) > range_deg:  # clipped: arrow at the end
                    d = -1 if dev > 0 else 1
                    yy = y1
                    pygame.draw.polygon(surf, W.TEXT, [(xc - bw / 3, yy - d * px(2)),
                                                       (xc + bw / 3, yy - d * px(2)),
                                                       (xc, yy - d * px(18))])
                t.blit(surf, f"{st.rel_phase_deg % 360:.0f}", px(24),
                       (xc, r.bottom), W.TEXT if inside else W.WARN, anchor="midbottom")
            t.blit(surf, f"0 = {'band' if half is not None else 'recent'} centre {centre:.0f}°",
                   px(26), (self.r_bars.right - px(14), self.r_bars.y + px(14)), W.DIM,
                   anchor="topright")

    # -- rotation traces -----------------------------------------------------------------
    def _trace_plot(self) -> pygame.Rect:
        r = self._inner["trace"]
        axis_w = self.px(70)
        return pygame.Rect(r.x + axis_w, r.y + self.px(44), r.width - axis_w - self.px(8),
                           r.height - self.px(84))

    def _trace_layer(self, scale: int | None) -> pygame.Surface:
        """The trace panel without its lines: legend, and the axes for `scale` (deg) or the
        "no signal" text (None). Drawn once per scale, blitted every frame."""
        layer = self._trace_layers.get(scale)
        if layer is not None:
            return layer
        t, px = self.text, self.px
        r, panel = self._inner["trace"], self.r_trace
        layer = pygame.Surface(panel.size)
        layer.blit(self._static, (0, 0), panel)
        dx, dy = -panel.x, -panel.y
        plot = self._trace_plot().move(dx, dy)
        x = plot.x
        for name, colour, width in (("PELVIS", W.PELVIS, px(3)), ("THORAX", W.THORAX, px(6))):
            y = r.y + px(16) + dy
            pygame.draw.line(layer, colour, (x, y), (x + px(40), y), width)
            rect = t.blit(layer, name, px(28), (x + px(50), y), colour, anchor="midleft")
            x = rect.right + px(30)
        if scale is None:
            t.blit(layer, "no rotation signal yet", px(34), plot.center, W.DIM, anchor="center")
        else:
            for v in (-scale, 0, scale):
                yy = plot.centery - v / scale * plot.h / 2
                pygame.draw.line(layer, W.DIM if v == 0 else W.FAINT, (plot.x, yy),
                                 (plot.right, yy), px(2) if v == 0 else 1)
                t.blit(layer, f"{v:+d}°" if v else "0", px(24), (plot.x - px(8), yy), W.DIM,
                       anchor="midright")
            for sec in range(0, int(TRACE_WINDOW_S) + 1):
                xx = plot.right - sec / TRACE_WINDOW_S * plot.w
                pygame.draw.line(layer, W.FAINT, (xx, plot.bottom), (xx, plot.bottom + px(6)), 1)
                t.blit(layer, "now" if sec == 0 else f"-{sec} s", px(22),
                       (xx, plot.bottom + px(8)), W.DIM, anchor="midtop")
        self._trace_layers[scale] = layer
        return layer

    @staticmethod
    def _trace_scale(s: LiveSnapshot) -> int | None:
        """The trace axis half-range (deg) for snapshot `s`; None without a signal."""
        tt = np.asarray(s.trace_t_s, dtype=float)
        if tt.size < 2:
            return None
        sel = tt >= tt[-1] - TRACE_WINDOW_S
        peak = 0.0
        for y in (s.trace_pelvis_deg, s.trace_thorax_deg):
            y = np.asarray(y, dtype=float)[sel] if len(y) == tt.size else np.empty(0)
            if y.size and np.isfinite(y).any():
                peak = max(peak, float(np.nanmax(np.abs(y))))
        # Stepped scale so the axis does not breathe with every stride.
        return next((v for v in (10, 15, 20, 30, 45, 60, 90, 180) if peak <= v), 180)

    def _draw_traces(self, surf, s: LiveSnapshot, scale: int | None) -> None:
        px = self.px
        plot = self._trace_plot()
        series = ((s.trace_pelvis_deg, W.PELVIS, px(3)), (s.trace_thorax_deg, W.THORAX, px(6)))
        # The clip rect is the part being repainted: copy only that much of the layer.
        clip = surf.get_clip()
        surf.blit(self._trace_layer(scale), clip, clip.move(-self.r_trace.x, -self.r_trace.y))
        if scale is None:
            return
        tt = np.asarray(s.trace_t_s, dtype=float)
        t_end = tt[-1]
        sel = tt >= t_end - TRACE_WINDOW_S
        ts = tt[sel]
        xs = plot.right - (t_end - ts) / TRACE_WINDOW_S * plot.w
        for y, colour, width in series:
            y = np.asarray(y, dtype=float)
            if y.size != tt.size:
                continue
            ys = plot.centery - np.clip(y[sel], -scale, scale) / scale * plot.h / 2
            good = np.isfinite(ys)
            # Split at NaN (a segment missing) so gaps show as gaps.
            edges = np.flatnonzero(np.diff(good.astype(np.int8)))
            starts = np.r_[0, edges + 1]
            ends = np.r_[edges + 1, good.size]
            for a, b in zip(starts, ends):
                if good[a] and b - a >= 2:
                    pts = np.column_stack((xs[a:b], ys[a:b])).tolist()
                    pygame.draw.lines(surf, colour, False, pts, width)

    # -- cross-body panel ----------------------------------------------------------------
    def _body_figure(self) -> pygame.Rect:
        r = self._inner["body"]
        return pygame.Rect(r.x, r.y, int(r.width * 0.56), r.height - self.px(66))

    def _draw_body(self, surf, view: CrossBodyView, level: float) -> None:
        t, px = self.text, self.px
        r = self._inner["body"]
        fig = self._body_figure()
        cx = fig.centerx
        top = fig.y + px(4)
        hh = fig.height
        head_r = int(hh * 0.08)
        pygame.draw.circle(surf, (60, 66, 80), (cx, top + head_r), head_r)
        sh_w, waist_w, hip_w = fig.width * 0.46, fig.width * 0.28, fig.width * 0.36
        y_sh, y_rib, y_waist, y_hip = (top + hh * 0.2, top + hh * 0.42, top + hh * 0.66,
                                       top + hh * 0.9)
        outline = [(cx - sh_w, y_sh), (cx + sh_w, y_sh), (cx + sh_w * 0.86, y_rib),
                   (cx + waist_w, y_waist), (cx + hip_w, y_hip), (cx - hip_w, y_hip),
                   (cx - waist_w, y_waist), (cx - sh_w * 0.86, y_rib)]
        pygame.draw.polygon(surf, (44, 50, 62), outline)
        pygame.draw.polygon(surf, W.DIM, outline, px(2))

        on = lambda name: name in view.lit  # noqa: E731

        def muscle(points, name):
            colour = W.lerp_colour(W.MUSCLE_OFF, W.MUSCLE_ON, level) if on(name) else W.MUSCLE_OFF
            pygame.draw.polygon(surf, colour, points)
            pygame.draw.polygon(surf, W.TEXT if on(name) else W.FAINT, points,
                                px(3) if on(name) else 1)

        # Front view: the runner's right is on the screen's left.
        for side in (-1, 1):
            name_side = "R" if side < 0 else "L"
            lat_rib = cx + side * sh_w * 0.8
            lat_waist = cx + side * waist_w * 0.95
            lat_hip = cx + side * hip_w * 0.95
            mid = cx + side * fig.width * 0.06
            # External oblique: ribs (upper, lateral) down and in to the midline.
            muscle([(lat_rib, y_rib - hh * 0.08), (lat_rib - side * fig.width * 0.1, y_rib - hh * 0.1),
                    (mid, y_waist + hh * 0.02), (mid, y_waist + hh * 0.12)],
                   f"{name_side} external oblique")
            # Internal oblique: iliac crest (lower, lateral) up and in, at right angles.
            muscle([(lat_hip, y_hip - hh * 0.04), (lat_waist, y_waist - hh * 0.02),
                    (mid, y_rib + hh * 0.02), (mid, y_rib + hh * 0.12)],
                   f"{name_side} internal oblique")
            t.blit(surf, name_side, px(44), (cx + side * (waist_w + px(30)), y_waist), W.TEXT,
                   anchor="midright" if side < 0 else "midleft")
        # Multifidus/rotatores: the deep spinal column (behind, drawn along the midline).
        stab_on = on("multifidus/rotatores")
        seg_h = (y_hip - y_sh) / 9
        for i in range(9):
            rect = pygame.Rect(0, 0, px(18), int(seg_h * 0.7))
            rect.center = (cx, int(y_sh + seg_h * (i + 0.5)))
            pygame.draw.rect(surf, W.STABILISER if stab_on else W.STABILISER_OFF, rect,
                             border_radius=px(4))

        # Legend beside the figure: what is lit, in words.
        lx = fig.right + px(10)
        lw = r.right - lx
        y = r.y + px(4)
        arrow = {"left": "<<  TURNING LEFT", "right": "TURNING RIGHT  >>",
                 "still": "BETWEEN TURNS", "unknown": "NO ROTATION"}[view.direction]
        t.blit(surf, arrow, px(34), (lx, y), W.MUSCLE_ON if view.direction in ("left", "right")
               else W.DIM, max_w=lw)
        y += px(48)
        for name in MUSCLES[:4]:
            lit = on(name)
            colour = W.TEXT if lit else W.FAINT
            mark = "ON " if lit else "-  "
            t.blit(surf, mark + name, px(24), (lx, y), colour, max_w=lw)
            y += px(30)
        y += px(8)
        t.blit(surf, "blue column:", px(24), (lx, y), W.STABILISER, max_w=lw)
        t.blit(surf, "multifidus/rotatores", px(24), (lx, y + px(28)), W.STABILISER, max_w=lw)
        t.blit(surf, "(stabilisers)", px(24), (lx, y + px(56)), W.STABILISER, max_w=lw)
        t.blit(surf, view.caption, px(24), (r.x, r.bottom - px(34)), W.TEXT, anchor="bottomleft",
               max_w=r.width)
        t.blit(surf, "Shows coordination and timing from the rotation, not measured muscle force.",
               px(22), (r.x, r.bottom), W.DIM, anchor="bottomleft", max_w=r.width)

    # -- cue log -------------------------------------------------------------------------
    def _draw_cues(self, surf, s: LiveSnapshot) -> None:
        t, px = self.text, self.px
        r = self._inner["cues"]
        mode = f"mode {s.cue_mode}" + ("  MUTED" if s.muted else "")
        t.blit(surf, mode, px(28), (self.r_cues.right - px(14), self.r_cues.y + px(14)),
               W.WARN if s.muted or s.cue_mode == "off" else W.DIM, anchor="topright")
        if not s.cue_log:
            t.blit(surf, "no cues yet", px(28), (r.x, r.y + px(4)), W.FAINT)
            return
        line_h = px(32)
        n = max(1, r.height // line_h)
        y = r.y
        for cue in reversed(s.cue_log[-n:]):
            name = CUE_NAMES.get(cue.kind, cue.kind.replace("_", " "))
            if cue.played:
                lat = f"  {cue.latency_ms:.0f} ms" if cue.latency_ms is not None else ""
                why = cue.reason.replace(name, "").strip(" ,")
                since_s = cue.t_s - s.session_start_s
                text = f"{_clock(since_s)}  {name}" + (f"  {why}" if why else "") + lat
                colour = W.TEXT
                pygame.draw.polygon(surf, W.WARN, [(r.x, y + px(4)), (r.x, y + px(24)),
                                                   (r.x + px(18), y + px(14))])
            else:
                text = f"{_clock(cue.t_s - s.session_start_s)}  {name}  withheld: {cue.reason}"
                colour = W.FAINT
                pygame.draw.polygon(surf, W.FAINT, [(r.x, y + px(4)), (r.x, y + px(24)),
                                                    (r.x + px(18), y + px(14))], 1)
            t.blit(surf, text, px(26), (r.x + px(28), y), colour, max_w=r.width - px(28))
            y += line_h

    # -- sensor health + calibration -----------------------------------------------------
    def _draw_health(self, surf, s: LiveSnapshot) -> None:
        t, px = self.text, self.px
        r = self._inner["health"]
        y = r.y
        if not s.sensors:
            t.blit(surf, "no sensor status", px(26), (r.x, y), W.FAINT)
            y += px(34)
        for st in s.sensors:
            level = sensor_level(st)
            icon, colour = {"ok": ("check", W.OK), "amber": ("warning", W.WARN)}.get(
                level, ("cross", W.FAULT))
            ok = level == "ok"
            W.draw_icon(surf, icon, (r.x + px(13), y + px(13)), px(12), colour)
            addr = f" 0x{st.address:02X}" if st.address is not None else ""
            if st.present:
                rate = (f"{st.effective_rate_hz:.0f} Hz" if st.effective_rate_hz
                        else "rate ?")
                text = (f"{st.role.upper()} {st.model or ''}{addr}  {rate}  ovf {st.overflows}"
                        f"  err {st.i2c_errors}  gaps {st.gaps}  reconn {st.reconnects}")
            else:
                text = f"{st.role.upper()} {st.model or ''}{addr}  MISSING  reconn {st.reconnects}"
            t.blit(surf, text, px(26), (r.x + px(34), y), W.TEXT if ok else colour,
                   max_w=r.width - px(34))
            y += px(36)
        cal_ok = not s.calibration_text.startswith("not")
        t.blit(surf, f"calibration: {s.calibration_text}", px(26), (r.x, y + px(4)),
               W.TEXT if cal_ok else W.WARN, max_w=r.width)

    # -- key legend ----------------------------------------------------------------------
    def _draw_keys(self, surf, legend: list[tuple[str, str]]) -> None:
        t, px, r = self.text, self.px, self.r_keys
        size = px(30)
        # Lay out at the full size first; shrink once if the line would not fit.
        for attempt in (size, int(size * 0.85), int(size * 0.72)):
            widths = [t.font(attempt).size(k)[0] + px(24) + t.font(attempt).size(a)[0]
                      for k, a in legend]
            gap = px(26)
            if sum(widths) + gap * (len(legend) - 1) <= r.width - px(32):
                size = attempt
                break
            size = attempt
        x = r.x + px(16)
        for key, action in legend:
            cap = t.render(key, size, (0, 0, 0))
            box = cap.get_rect().inflate(px(16), px(8))
            box.midleft = (x, r.centery)
            pygame.draw.rect(surf, W.TEXT, box, border_radius=px(6))
            surf.blit(cap, cap.get_rect(center=box.center))
            rect = t.blit(surf, action, size, (box.right + px(8), r.centery), W.TEXT,
                          anchor="midleft")
            x = rect.right + px(26)


#: Panels that paint every pixel of their region, background included.
_PAINTS_ITS_BACKGROUND = frozenset({"traces"})

#: Steps of the cross-body muscle colour: 1/32 of the way from off to on is far below what an eye
#: tells apart from a few metres, and it lets an unchanged panel go unpainted.
LEVEL_STEPS = 32


def _quantised_level(intensity: float) -> float:
    """Muscle colour level 0.35..1 for a turning intensity 0..1, in LEVEL_STEPS steps."""
    return round((0.35 + 0.65 * float(intensity)) * LEVEL_STEPS) / LEVEL_STEPS


class _Identity:
    """A panel key that equals another one holding the very same objects (the snapshot's
    trace arrays: a new snapshot brings new arrays, comparing their values costs more than
    drawing them)."""

    def __init__(self, *objects):
        self.objects = objects

    def __eq__(self, other) -> bool:
        return isinstance(other, _Identity) and len(other.objects) == len(self.objects) and \
            all(a is b for a, b in zip(self.objects, other.objects))


def _same(a, b) -> bool:
    """a == b for panel keys (tuples of numbers, strings and frozen dataclasses)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # something array-like inside: treat as changed
        return False


def _in_band(deg: float, band) -> bool | None:
    if band is None:
        return None
    lo, hi = band
    return (deg - lo) % 360.0 <= (hi - lo) % 360.0
