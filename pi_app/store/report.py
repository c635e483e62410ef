"""A one-page session report for the coach (matplotlib, Agg; PDF or PNG).

Panels, time in minutes from the first sample: cadence per stride; relative phase per stride
with the runner's band and the drift episodes shaded; axial rotation range (pelvis, thorax);
left/right symmetry (axial rotation excursion and step time); cue dose (cues played per
minute; withheld decisions are counted in the title, never drawn as cues); and a summary
table. Every time panel marks sensor dropouts (hatched), speed changes and re-baselines
(dashed lines) and the end of an interrupted session, so a blank or a jump is explained.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pi_app.analysis.drift import circular_mean_sd_deg
from pi_app.store.store import SessionData, SessionStore

_BLUE, _ORANGE, _RED, _GREEN, _GREY = "#1f5fa8", "#e07b00", "#c62828", "#2e7d32", "#9e9e9e"
_PURPLE = "#6a1b9a"
#: PNG resolution: an A4 page at 200 dpi is 1654 x 2338 pixels, sharp when printed (>= 150).
PNG_DPI = 200

# Session events that restart the runner's baseline (pi_app.live.session).
_REBASELINE_KINDS = {"baseline_restart": "re-baseline (B)",
                     "band_from_current": "band from current (N)"}


@dataclass
class SessionMarks:
    """What the time panels mark, times in s on the session's sample clock."""

    dropouts: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, role
    speed_changes: list[float] = field(default_factory=list)
    rebaselines: list[tuple[float, str]] = field(default_factory=list)      # t, label
    interrupted: bool = False


def _event_t_s(event) -> float | None:
    if event.t_s is not None:
        return float(event.t_s)
    try:
        t = json.loads(event.detail).get("t_s")
    except (ValueError, AttributeError):
        return None
    return None if t is None else float(t)


def _event_role(event) -> str:
    try:
        return str(json.loads(event.detail).get("role") or "sensor")
    except (ValueError, AttributeError):
        return "sensor"


def session_marks(data) -> SessionMarks:
    """Dropouts (sensor lost until back, or until the end), speed changes (the drift
    detector's cadence jump, after which it rebuilds the baseline), coach re-baselines and
    whether the session ended without a clean stop."""
    marks = SessionMarks(interrupted=data.summary.status == "interrupted")
    lost: dict[str, float] = {}
    for e in data.events:
        t = _event_t_s(e)
        if t is None:
            continue
        if e.kind == "sensor_lost":
            lost.setdefault(_event_role(e), t)
        elif e.kind == "sensor_back":
            role = _event_role(e)
            if role in lost:
                marks.dropouts.append((lost.pop(role), t, role))
        elif e.kind in _REBASELINE_KINDS:
            marks.rebaselines.append((t, _REBASELINE_KINDS[e.kind]))
    end_s = data.summary.t_last_s if data.summary.t_last_s is not None else (
        data.strides[-1].metrics.t_end_s if data.strides else None)
    for role, t in lost.items():
        if end_s is not None:
            marks.dropouts.append((t, max(t, end_s), role))
    previous = None
    for st in data.strides:
        if st.drift_state == "suppressed" and previous != "suppressed":
            marks.speed_changes.append(st.metrics.t_start_s)
        previous = st.drift_state
    marks.dropouts.sort()
    return marks


def played_cues_per_min(cues, t0_s: float, edges_min: np.ndarray) -> np.ndarray:
    """Cues actually played per minute in each bin of `edges_min` (minutes from t0_s).
    Withheld decisions are not cues the runner heard and are not counted."""
    played = [(c.t_s - t0_s) / 60.0 for c in cues if c.played]
    widths = np.diff(edges_min)
    return np.histogram(played, edges_min)[0] / widths


def _wrap_near(values: np.ndarray, center: float) -> np.ndarray:
    """Angles (deg) unwrapped to lie within +-180 of `center` (so a band through 0/360 plots
    as one band)."""
    return center + (values - center + 180.0) % 360.0 - 180.0


def phase_axis_limits_deg(y_deg: np.ndarray, center_deg: float) -> tuple[float, float]:
    """y-limits (deg) for angles unwrapped around `center_deg`: +-90 deg, widened (up to the
    +-180 the unwrapping allows) so that no stride falls off the plot."""
    finite = y_deg[np.isfinite(y_deg)]
    reach = float(np.max(np.abs(finite - center_deg))) + 10.0 if finite.size else 0.0
    half = min(180.0, max(90.0, reach))
    return center_deg - half, center_deg + half


def _circ_mean_sd(values) -> tuple[float | None, float | None]:
    """Circular mean and SD (deg) of the finite values, (None, None) if there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return circular_mean_sd_deg(finite) if finite else (None, None)


def step_time_asymmetry_pct(steps) -> list[tuple[float, float]]:
    """Per right step: (t_s, (left step time - right step time) / mean * 100), where a side's
    step time runs from the previous (other-side) contact to its own contact."""
    out = []
    for a, b, c in zip(steps, steps[1:], steps[2:]):
        if (a.side, b.side, c.side) == ("R", "L", "R"):
            left, right = b.t_s - a.t_s, c.t_s - b.t_s
            if 0.15 < left < 1.0 and 0.15 < right < 1.0:
                out.append((c.t_s, (left - right) / ((left + right) / 2.0) * 100.0))
    return out


def drift_spans(data: SessionData) -> list[tuple[float, float, str]]:
    """(start_s, end_s, metric) of each run of drifting strides."""
    spans: list[list] = []
    for st in data.strides:
        if st.metrics.drift:
            if spans and spans[-1][3] == st.metrics.index - 1:
                spans[-1][1] = st.metrics.t_end_s
                spans[-1][3] = st.metrics.index
            else:
                spans.append([st.metrics.t_start_s, st.metrics.t_end_s,
                              st.drift_metric or "", st.metrics.index])
    return [(a, b, m) for a, b, m, _ in spans]


def summary_rows(data: SessionData) -> list[tuple[str, str]]:
    """The report's table: (label, value) pairs a coach can read."""
    s = data.summary
    strides = [st.metrics for st in data.strides]
    good = [m for m in strides if not m.quality]
    cad = [m.cadence_spm for m in good if math.isfinite(m.cadence_spm)]
    rel_mean, rel_sd = _circ_mean_sd(m.rel_phase_deg for m in good)
    bands = [st for st in data.strides if st.band_center_deg is not None]

    def mean(name):
        v = [getattr(m, name) for m in good if getattr(m, name) is not None]
        return None if not v else float(np.mean(v))

    def fmt(x, unit, nd=0):
        return "-" if x is None else f"{x:.{nd}f} {unit}"

    played = [c for c in data.cues if c.played]
    minutes = s.duration_s / 60.0
    episodes = drift_spans(data)
    sym = mean("rotation_symmetry_pct")
    step_asym = [a for _, a in step_time_asymmetry_pct(data.steps)]
    athlete = s.athlete_name or "-"
    if s.athlete_id:
        athlete += f" ({s.athlete_id})"
    rows = [
        ("Athlete", athlete),
        ("Session", f"{s.id}, {time.strftime('%Y-%m-%d %H:%M', time.localtime(s.start_unix_s))}"
                    + (f", simulated ({s.scenario})" if s.simulated else "")),
        ("Duration", f"{int(s.duration_s // 60)} min {int(s.duration_s % 60)} s, "
                     f"{len(strides)} strides ({len(strides) - len(good)} flagged)"),
        ("Cadence", "-" if not cad else f"{np.mean(cad):.1f} spm (SD {np.std(cad):.1f})"),
        ("Relative phase", "-" if rel_mean is None else
         f"{rel_mean:.0f} deg (circular SD {rel_sd:.0f}); 180 = counter-rotation"),
        ("Band", "-" if not bands else
         f"{bands[-1].band_center_deg:.0f} +- {bands[-1].band_half_width_deg:.0f} deg "
         f"({bands[-1].band_source})"),
        ("Rotation range", f"pelvis {fmt(mean('pelvis_rom_deg'), 'deg', 1)}, "
                           f"thorax {fmt(mean('thorax_rom_deg'), 'deg', 1)}"),
        ("L/R symmetry", f"rotation {fmt(sym, '%', 1)}, step time "
                         f"{fmt(float(np.mean(step_asym)) if step_asym else None, '%', 1)} "
                         "(0 = symmetric, + = left larger)"),
        ("Drift", f"{sum(m.drift for m in strides)} strides in {len(episodes)} episode(s)"),
        ("Cues", f"{len(played)} played, {len(data.cues) - len(played)} decisions withheld"
                 + (f", {len(played) / minutes:.1f} per min" if minutes > 0 else "")),
    ]
    marks = session_marks(data)
    events = [f"{len(marks.dropouts)} sensor dropout(s)"
              + (" (" + ", ".join(f"{r} {b - a:.0f} s" for a, b, r in marks.dropouts[:3])
                 + ")" if marks.dropouts else ""),
              f"{len(marks.speed_changes)} speed change(s)",
              f"{len(marks.rebaselines)} re-baseline(s)"]
    if marks.interrupted:
        events.append("INTERRUPTED: no clean stop, data end at the last save")
    rows.append(("Events", ", ".join(events)))
    if s.notes:
        rows.append(("Notes", s.notes[:90]))
    return rows


def write_report(store: SessionStore, session_id: int, path: str | Path,
                 progress: Callable[[float], None] | None = None) -> Path:
    """Write the report of a session to `path` (.pdf or .png)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    def tick(x):
        if progress is not None:
            progress(x)

    path = Path(path)
    data = store.load(session_id)
    tick(0.2)
    s = data.summary
    t0 = s.t_first_s if s.t_first_s is not None else (
        data.strides[0].metrics.t_start_s if data.strides else 0.0)
    strides = [st.metrics for st in data.strides]
    t_min = np.array([(m.t_end_s - t0) / 60.0 for m in strides])
    end_min = max(s.duration_s / 60.0, float(t_min.max()) if t_min.size else 0.0, 0.1)

    fig = Figure(figsize=(8.27, 11.69))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(7, 1, height_ratios=[2.3, 1, 1.3, 1, 1, 1, 0.05], hspace=0.55,
                            left=0.1, right=0.92, top=0.95, bottom=0.04)
    title = s.athlete_name or f"Session {s.id}"
    marks = session_marks(data)
    fig.suptitle(f"{title} - running session report"
                 + (" (INTERRUPTED)" if marks.interrupted else ""), fontsize=14,
                 fontweight="bold", color=_RED if marks.interrupted else "black")

    ax = fig.add_subplot(grid[0])
    ax.axis("off")
    rows = summary_rows(data)
    table = ax.table(cellText=[[k, v] for k, v in rows], loc="center", cellLoc="left",
                     colWidths=[0.2, 0.8])
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 1.35)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if c == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#f0f0f0")

    def minutes(t_s):
        return (t_s - t0) / 60.0

    def time_axis(a, ylabel, title_text, label_marks=False):
        a.set_xlim(0, end_min)
        a.set_ylabel(ylabel)
        a.set_title(title_text, fontsize=10, loc="left")
        a.grid(True, alpha=0.3)
        for lo, hi, _ in drift_spans(data):
            a.axvspan(minutes(lo), minutes(hi), color=_RED, alpha=0.12, lw=0)
        for lo, hi, role in marks.dropouts:
            a.axvspan(minutes(lo), minutes(hi), facecolor="none", edgecolor=_GREY,
                      hatch="////", lw=0.0)
            if label_marks:
                a.text(minutes(hi), 1.0, f" {role} lost", transform=a.get_xaxis_transform(),
                       fontsize=6.5, color=_GREY, va="bottom")
        lines = [(t, "speed change", _PURPLE) for t in marks.speed_changes] + \
                [(t, label, _GREEN) for t, label in marks.rebaselines]
        for t, label, colour in lines:
            a.axvline(minutes(t), color=colour, lw=0.9, ls="--")
            if label_marks:
                # Above the panel, beside the line: never over the data.
                a.text(minutes(t), 1.0, f" {label}", transform=a.get_xaxis_transform(),
                       fontsize=6.5, color=colour, va="bottom")
        if marks.interrupted:
            a.axvline(end_min, color=_RED, lw=1.5)
            if label_marks:
                a.text(end_min, 1.0, "interrupted ", transform=a.get_xaxis_transform(),
                       fontsize=7, color=_RED, va="bottom", ha="right")

    def legend(a, ncol):
        # Above the panel, right of its title: never over the data.
        a.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=ncol,
                 frameon=False, borderaxespad=0.1, handletextpad=0.3, columnspacing=1.0)

    def series(name):
        return np.array([np.nan if getattr(m, name) is None else getattr(m, name)
                         for m in strides], dtype=float)

    good = np.array([not m.quality for m in strides], dtype=bool)

    # Cadence.
    a = fig.add_subplot(grid[1])
    time_axis(a, "spm", "Cadence per stride", label_marks=True)
    if strides:
        cad = series("cadence_spm")
        a.plot(t_min[good], cad[good], ".", color=_BLUE, ms=3)
        if good.sum() >= 5:
            k = min(15, int(good.sum()))
            med = np.array([np.median(cad[good][max(0, i - k + 1):i + 1])
                            for i in range(int(good.sum()))])
            a.plot(t_min[good], med, "-", color=_BLUE, lw=1.5, label="rolling median")
        lo, hi = np.nanpercentile(cad[good], [2, 98]) if good.any() else (150, 190)
        a.set_ylim(lo - 6, hi + 6)
    tick(0.4)

    # Relative phase with band and drift.
    a = fig.add_subplot(grid[2])
    time_axis(a, "deg", "Relative phase thorax - pelvis (red: drift)")
    rel = series("rel_phase_deg")
    centers = np.array([np.nan if st.band_center_deg is None else st.band_center_deg
                        for st in data.strides], dtype=float)
    halfs = np.array([np.nan if st.band_half_width_deg is None else st.band_half_width_deg
                      for st in data.strides], dtype=float)
    ref = _circ_mean_sd(rel[np.isfinite(rel)])[0]
    if np.isfinite(centers).any():
        ref = float(centers[np.isfinite(centers)][-1])
    if ref is not None and rel.size:
        y = _wrap_near(rel, ref)
        band_c = _wrap_near(centers, ref)
        if np.isfinite(band_c).any():
            a.fill_between(t_min, band_c - halfs, band_c + halfs, step="mid", color=_GREEN,
                           alpha=0.2, lw=0, label="band")
        drift = np.array([m.drift for m in strides], dtype=bool)
        a.plot(t_min[good & ~drift], y[good & ~drift], ".", color=_BLUE, ms=3.5, label="stride")
        a.plot(t_min[drift], y[drift], ".", color=_RED, ms=4.5, label="drifting stride")
        a.plot(t_min[~good], y[~good], "x", color=_GREY, ms=3, label="flagged stride")
        a.axhline(ref, color=_GREY, lw=0.6, ls="--")
        lo, hi = phase_axis_limits_deg(y, ref)
        a.set_ylim(lo, hi)
        # Unwrapped around the band so a band through 0/360 stays whole; ticks at multiples of
        # 45 deg read 0-360 (so 360 shows as 0, where in-phase rotation is).
        a.yaxis.set_major_locator(MultipleLocator(45.0 if hi - lo <= 240.0 else 90.0))
        a.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v % 360.0:.0f}"))
        legend(a, 4)
    else:
        a.text(0.5, 0.5, "no relative phase (needs both gyroscopes)", ha="center",
               va="center", transform=a.transAxes, color=_GREY)
    tick(0.6)

    # Rotation range.
    a = fig.add_subplot(grid[3])
    time_axis(a, "deg", "Axial rotation range per stride")
    if strides:
        a.plot(t_min[good], series("pelvis_rom_deg")[good], ".", color=_ORANGE, ms=3,
               label="pelvis")
        a.plot(t_min[good], series("thorax_rom_deg")[good], ".", color=_BLUE, ms=3,
               label="thorax")
        a.set_ylim(bottom=0)
        legend(a, 2)

    # Left/right symmetry.
    a = fig.add_subplot(grid[4])
    time_axis(a, "% (L - R)", "Left/right symmetry (0 = symmetric)")
    a.axhline(0.0, color="black", lw=0.8)
    sym = series("rotation_symmetry_pct")
    if np.isfinite(sym).any():
        a.plot(t_min[good], sym[good], ".", color=_BLUE, ms=3, label="rotation excursion")
    asym = step_time_asymmetry_pct(data.steps)
    if asym:
        ts, vs = zip(*asym)
        a.plot((np.array(ts) - t0) / 60.0, vs, ".", color=_ORANGE, ms=3, label="step time")
    if np.isfinite(sym).any() or asym:
        legend(a, 2)
        a.set_ylim(-25, 25)
    tick(0.8)

    # Cue dose: what the runner heard. A withheld decision (muted, cue mode off, too soon
    # after the last cue, faded) is not a cue; its count is in the title.
    a = fig.add_subplot(grid[5])
    n_played = sum(1 for c in data.cues if c.played)
    n_withheld = len(data.cues) - n_played
    time_axis(a, "cues / min", f"Cues played per minute ({n_played} played"
              + (f"; {n_withheld} decisions withheld, not shown" if n_withheld else "") + ")")
    a.set_xlabel("time (min)")
    # Bins of 1 min (20 s for sessions under 10 min), shown as a rate per minute.
    bin_min = 1.0 if end_min >= 10.0 else 1.0 / 3.0
    edges = np.arange(0.0, end_min + bin_min, bin_min)
    rate = played_cues_per_min(data.cues, t0, edges)
    a.bar(edges[:-1], rate, width=bin_min, align="edge", color=_RED, alpha=0.7)
    a.set_ylim(0, max(3, int(rate.max(initial=0)) + 1))
    if not n_played:
        a.text(0.5, 0.5, "no cue played in this session", ha="center", va="center",
               transform=a.transAxes, color=_GREY)

    suffix = path.suffix.lower().lstrip(".")
    fig.savefig(path, format=suffix, dpi=PNG_DPI if suffix == "png" else 150)
    tick(1.0)
    return path
