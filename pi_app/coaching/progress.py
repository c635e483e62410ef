"""An athlete's progress over sessions: per-session numbers, a one-line verdict per metric,
and the figure of `pi-app progress ATHLETE -o progress.pdf|png`.

Per session (from the store): relative phase circular mean and SD (deg) of its strides, the
band it was judged against (median center and half width, deg; "target" when the coach's /
programme's target band, else "baseline"), % of judged strides inside that band, drift
episodes per 10 min, cue dose (cues played per min), pelvis and thorax ROM (deg), cadence
(spm), the programme session and its feedback (retention sessions marked), adherence (run /
planned duration).

Verdicts: a metric's trend over the athlete's sessions in order is the Theil-Sen slope per
session with Kendall's tau; p < 0.05 in the better direction is "improving", in the worse
"worse", else "stable" (fewer than 4 sessions: "too few sessions"). Better is: more strides
in band, fewer drift episodes, relative phase closer to the target (when there is one);
ROM, cadence and cue dose have no better direction ("rising"/"falling"/"stable"). Retention
checks (no cues) are also compared with the first session on % in band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pi_app.analysis.drift import circular_mean_sd_deg
from pi_app.store.athletes import Athlete, athlete_session_ids
from pi_app.store.store import SessionStore, StoredStride

MIN_SESSIONS_FOR_TREND = 4
P_TREND = 0.05


@dataclass
class SessionPoint:
    """One session's numbers (see the module docstring; None where not measured)."""

    session_id: int
    start_unix_s: float
    minutes: float
    programme_session: int | None
    feedback: str | None
    planned_minutes: float | None
    rel_mean_deg: float | None
    rel_sd_deg: float | None
    band_center_deg: float | None
    band_half_width_deg: float | None
    band_source: str | None
    in_band_pct: float | None
    episodes_per_10_min: float
    cues_per_min: float
    pelvis_rom_deg: float | None
    thorax_rom_deg: float | None
    cadence_spm: float | None
    target_offset_deg: float | None = None

    @property
    def retention(self) -> bool:
        return self.feedback == "none"

    @property
    def adherence_pct(self) -> float | None:
        if not self.planned_minutes:
            return None
        return 100.0 * self.minutes / self.planned_minutes


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _in_band(stride: StoredStride) -> bool | None:
    """Whether a stride's relative phase was inside the band it was judged against (None: not
    judged, or no phase)."""
    rel, center = stride.metrics.rel_phase_deg, stride.band_center_deg
    half = stride.band_half_width_deg
    if rel is None or center is None or half is None:
        return None
    return abs((rel - center + 180.0) % 360.0 - 180.0) <= half


def _nan_for_none(values: list[float | None]) -> np.ndarray:
    """Values for a plot: a gap (NaN) where there is none."""
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def session_point(store: SessionStore, session_id: int) -> SessionPoint:
    data = store.load(session_id)
    s = data.summary
    strides = data.strides
    rel = [st.metrics.rel_phase_deg for st in strides if st.metrics.rel_phase_deg is not None]
    rel_mean, rel_sd = circular_mean_sd_deg(rel) if rel else (None, None)
    verdicts = [(st, _in_band(st)) for st in strides]
    judged = [st for st, in_band in verdicts if in_band is not None]
    inside = sum(1 for _, in_band in verdicts if in_band)
    centers = [st.band_center_deg for st in judged if st.band_center_deg is not None]
    band_center = circular_mean_sd_deg(centers)[0] if centers else None
    sources = [st.band_source for st in judged]
    source = None
    if sources:
        source = "target" if sources.count("coach") > len(sources) / 2 else "baseline"
    episodes = sum(1 for a, b in zip([False] + [st.metrics.drift for st in strides],
                                     [st.metrics.drift for st in strides]) if b and not a)
    minutes = s.duration_s / 60.0
    played = sum(1 for c in data.cues if c.played)
    return SessionPoint(
        session_id=s.id, start_unix_s=s.start_unix_s, minutes=minutes,
        programme_session=s.programme_session, feedback=s.feedback,
        planned_minutes=None if s.planned_duration_s is None else s.planned_duration_s / 60,
        rel_mean_deg=rel_mean, rel_sd_deg=rel_sd, band_center_deg=band_center,
        band_half_width_deg=_mean(st.band_half_width_deg for st in judged),
        band_source=source,
        in_band_pct=100.0 * inside / len(judged) if judged else None,
        episodes_per_10_min=10.0 * episodes / minutes if minutes > 0 else 0.0,
        cues_per_min=played / minutes if minutes > 0 else 0.0,
        pelvis_rom_deg=_mean(st.metrics.pelvis_rom_deg for st in strides),
        thorax_rom_deg=_mean(st.metrics.thorax_rom_deg for st in strides),
        cadence_spm=_mean(st.metrics.cadence_spm for st in strides if not st.metrics.quality),
        target_offset_deg=s.target_offset_deg)


def athlete_points(store: SessionStore, athlete: Athlete) -> list[SessionPoint]:
    return [session_point(store, i) for i in athlete_session_ids(store, athlete.id)]


@dataclass(frozen=True)
class Verdict:
    metric: str
    word: str            # improving / stable / worse / rising / falling / too few sessions
    text: str            # the one line, with the statistic


def _trend(values: list[float]) -> tuple[float, float, float]:
    """(Theil-Sen slope per session, Kendall tau, two-sided p)."""
    from scipy.stats import kendalltau, theilslopes
    if max(values) == min(values):
        return 0.0, 0.0, 1.0          # constant: no trend (Kendall's tau is undefined)
    x = np.arange(len(values), dtype=float)
    slope = float(theilslopes(values, x)[0])
    tau, p = kendalltau(x, values)
    return slope, float(tau), float(p) if math.isfinite(p) else 1.0


def _verdict(metric: str, label: str, unit: str, values: list[float | None],
             better: int) -> Verdict:
    """better: +1 higher is better, -1 lower is better, 0 no better direction."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if len(vals) < MIN_SESSIONS_FOR_TREND:
        return Verdict(metric, "too few sessions",
                       f"{label}: too few sessions for a trend (n={len(vals)}, need "
                       f"{MIN_SESSIONS_FOR_TREND})")
    slope, tau, p = _trend(vals)
    stat = (f"Theil-Sen slope {slope:+.2f} {unit}/session, Kendall tau {tau:+.2f}, "
            f"p={p:.3f}, n={len(vals)}")
    if p >= P_TREND or slope == 0:
        word = "stable"
    elif better == 0:
        word = "rising" if slope > 0 else "falling"
    else:
        word = "improving" if slope * better > 0 else "worse"
    return Verdict(metric, word, f"{label}: {word} ({stat})")


def verdicts(points: list[SessionPoint]) -> list[Verdict]:
    out = [_verdict("in_band", "strides in band", "%", [p.in_band_pct for p in points], +1),
           _verdict("episodes", "drift episodes", "per 10 min",
                    [p.episodes_per_10_min for p in points], -1)]
    targeted = [p for p in points if p.target_offset_deg]
    if targeted:
        dist = [None if p.rel_mean_deg is None or p.band_center_deg is None else
                abs((p.rel_mean_deg - p.band_center_deg + 180.0) % 360.0 - 180.0)
                for p in points]
        out.append(_verdict("rel_phase", "relative phase distance to the band center", "deg",
                            dist, -1))
    else:
        out.append(_verdict("rel_phase", "relative phase", "deg",
                            _unwrapped([p.rel_mean_deg for p in points]), 0))
    out += [_verdict("cue_dose", "cue dose", "cues/min", [p.cues_per_min for p in points], 0),
            _verdict("pelvis_rom", "pelvis ROM", "deg", [p.pelvis_rom_deg for p in points], 0),
            _verdict("thorax_rom", "thorax ROM", "deg", [p.thorax_rom_deg for p in points], 0),
            _verdict("cadence", "cadence", "spm", [p.cadence_spm for p in points], 0)]
    retention = [p for p in points if p.retention and p.in_band_pct is not None]
    first = next((p for p in points if p.in_band_pct is not None), None)
    if retention and first is not None and first is not retention[-1]:
        r = retention[-1]
        r_pct, first_pct = r.in_band_pct, first.in_band_pct
        assert r_pct is not None and first_pct is not None     # both filtered on it above
        diff = r_pct - first_pct
        word = "improving" if diff > 10 else "worse" if diff < -10 else "stable"
        out.append(Verdict("retention", word,
                           f"retention check (session {r.session_id}, no cues): {word} "
                           f"({r_pct:.0f} % of strides in band vs "
                           f"{first_pct:.0f} % in the first session {first.session_id}; "
                           "difference of percentages, +-10 points counted as stable)"))
    return out


def _unwrapped(values: list[float | None]) -> list[float | None]:
    """Circular means made continuous (no jump at 0/360) for a trend."""
    out: list[float | None] = []
    prev: float | None = None
    for v in values:
        if v is None:
            out.append(None)
            continue
        if prev is not None:
            v = prev + ((v - prev + 180.0) % 360.0 - 180.0)
        out.append(v)
        prev = v
    return out


def write_progress(store: SessionStore, athlete: Athlete, path: str | Path) -> list[Verdict]:
    """Plot the athlete's sessions into `path` (.pdf or .png); returns the verdicts."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = athlete_points(store, athlete)
    found = verdicts(points)
    fig = Figure(figsize=(11.7, 8.3))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(4, 2, height_ratios=[1.2, 1, 1, 0.9], hspace=0.55, wspace=0.2,
                            left=0.07, right=0.98, top=0.92, bottom=0.03)
    fig.suptitle(f"Progress of {athlete.name}: {len(points)} session(s)", fontsize=14,
                 x=0.07, ha="left")
    x = np.arange(1, len(points) + 1)
    labels = [f"{p.session_id}" + (f"\nP{p.programme_session}" if p.programme_session else "")
              for p in points]
    ret = [p.retention for p in points]

    def axis(ax, title, ylabel):
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_xlim(0.4, len(points) + 0.6)
        for xi, r in zip(x, ret):
            if r:
                ax.axvspan(xi - 0.45, xi + 0.45, color="#f2e6ff", zorder=0)
        ax.grid(axis="y", alpha=0.3)

    ax = fig.add_subplot(grid[0, :])
    rel = _unwrapped([p.rel_mean_deg for p in points])
    for i, p in enumerate(points):
        if p.band_center_deg is not None and p.band_half_width_deg is not None:
            c = p.band_center_deg
            rel_i = rel[i]
            if rel_i is not None:
                c = rel_i + ((c - rel_i + 180.0) % 360.0 - 180.0)
            color = "#ffd8a8" if p.band_source == "target" else "#d3f9d8"
            ax.add_patch(matplotlib.patches.Rectangle(
                (x[i] - 0.35, c - p.band_half_width_deg), 0.7, 2 * p.band_half_width_deg,
                color=color, zorder=1))
    ok = [i for i, v in enumerate(rel) if v is not None]
    ax.errorbar(x[ok], _nan_for_none([rel[i] for i in ok]),
                yerr=_nan_for_none([points[i].rel_sd_deg for i in ok]),
                fmt="o-", color="#1864ab", capsize=3, zorder=3, label="mean ± SD")
    axis(ax, "Relative phase (thorax − pelvis) per session; green: baseline band, orange: "
             "target band, lilac: retention check (no cues)", "deg")

    ax = fig.add_subplot(grid[1, 0])
    ax.bar(x, [p.in_band_pct or 0 for p in points], color="#37b24d")
    ax.set_ylim(0, 100)
    axis(ax, "Strides in band", "%")
    ax = fig.add_subplot(grid[1, 1])
    ax.bar(x - 0.2, [p.episodes_per_10_min for p in points], 0.4, color="#e03131",
           label="drift episodes / 10 min")
    ax.bar(x + 0.2, [p.cues_per_min for p in points], 0.4, color="#f08c00",
           label="cues played / min")
    ax.legend(fontsize=7, loc="upper right")
    axis(ax, "Drift episodes and cue dose", "per 10 min / per min")
    ax = fig.add_subplot(grid[2, 0])
    ax.plot(x, _nan_for_none([p.pelvis_rom_deg for p in points]), "o-", label="pelvis")
    ax.plot(x, _nan_for_none([p.thorax_rom_deg for p in points]), "s-", label="thorax")
    ax.legend(fontsize=7)
    axis(ax, "Axial range of motion", "deg")
    ax = fig.add_subplot(grid[2, 1])
    ax.plot(x, _nan_for_none([p.cadence_spm for p in points]), "o-", color="#495057")
    axis(ax, "Cadence", "steps/min")
    ax = fig.add_subplot(grid[3, :])
    ax.axis("off")
    lines = [f"• {v.text}" for v in found]
    adherence = [f"{p.programme_session}: {p.adherence_pct:.0f} %" for p in points
                 if p.adherence_pct is not None]
    if adherence:
        lines.append("• adherence (run / planned duration) per programme session: "
                     + ", ".join(adherence))
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=8, family="monospace",
            wrap=True)
    ax.set_title("Verdicts (x axis: session id, P = programme session)", fontsize=10,
                 loc="left")
    fig.savefig(path)
    return found
