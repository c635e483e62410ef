"""Per-stride metrics, streaming: cadence, axial ROM and phase of pelvis and thorax, relative
phase, left/right rotation symmetry and quality flags (../shared/spec/recording-csv.md).

A stride runs from a right initial contact to the next. It is emitted as soon as its closing
right strike is known and theta samples reach it.

Per segment, within the stride [t_start, t_end):

- the residual gyro bias ramp of theta is removed with the mean axial rate over the last
  `bias_window_strides` whole strides (gap-free, including this one). A runner on a treadmill
  does not keep turning, so over whole strides the mean axial rate is the bias; a window of
  several strides rather than this stride alone keeps the stride's own non-periodic part (which
  the truth keeps) out of the estimate. On hamner2013 (truth strikes) detrending each stride by
  its own end points gave pelvis phase errors of 1-15 deg per trial, the multi-stride estimate
  1-8 deg;
- theta minus its stride mean gives ROM = peak to peak (deg) and
  phase_deg = arg sum theta(t_k) exp(+i 2 pi (t_k - t_start) / T) in [0, 360);
- rel_phase_deg = (thorax - pelvis) mod 360.

rotation_symmetry_pct: left/right symmetry of the THORAX axial rotation (the pelvis when there
is no thorax): with x = theta minus its stride mean, left excursion L = max x (turned furthest
toward the left), right excursion R = -min x; symmetry = 100 (L - R) / ((L + R) / 2). 0 = the
segment turns as far left as right; +20 = it turns 20 % of the mean excursion further left.

Quality flags: "gap" (one sensor's samples are missing inside the stride, e.g. the thorax
unplugged: that segment's rotation metrics are None, since its rotation during the gap is
unknown; a time gap in the data itself, longer than `bridge_s`, skips the stride),
"missed_step" (stride longer than `missed_step_ratio` times the median of recent strides),
"no_side" (a bounding strike had no side and was taken as R by alternation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pi_app.analysis.types import Step, StrideMetrics
from pi_app.records import QualityFlag


def stride_phase_deg(t_s: np.ndarray, x: np.ndarray, t_start_s: float, t_end_s: float) -> float:
    """Phase (deg, [0, 360)) of the stride-frequency component of x over the stride, spec formula:
    arg sum x(t_k) exp(+i 2 pi (t_k - t_start) / T). x should have its stride mean removed."""
    period_s = t_end_s - t_start_s
    z = np.sum(x * np.exp(1j * 2.0 * np.pi * (t_s - t_start_s) / period_s))
    return float(np.degrees(np.angle(z)) % 360.0)


#: Longest delay (s) with which a strike may reach the stride analyzer after it happened
#: (StepDetector: ~0.6 s, plus its 2 s vertical bootstrap at the start of a stream).
STRIKE_DELAY_MAX_S = 3.0


def _longest_false_run(mask: np.ndarray) -> int:
    """Length of the longest run of False in a boolean array."""
    if mask.size == 0 or mask.all():
        return 0
    padded = np.concatenate([[True], mask, [True]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return int(np.max(edges[1::2] - edges[0::2]))


class StrideAnalyzer:
    """Streaming stride metrics from per-segment theta (deg) and strikes with sides.

    bias_window_strides: whole strides whose mean axial rate estimates the residual gyro bias.
    missed_step_ratio: a stride longer than this times the recent median is flagged.
    median_strides: how many recent strides give that median.
    gap_factor: a sample spacing above this times the median spacing counts as a gap.
    max_stride_s: right strikes further apart than this bound no stride (the runner stopped).
    bridge_s: missing samples up to this long (s) are bridged (a failed FIFO read costs ~15 ms;
        theta is integrated across it); a longer time gap inside a stride skips the stride.
    """

    def __init__(self, *, bias_window_strides: int = 8, missed_step_ratio: float = 1.5,
                 median_strides: int = 9, gap_factor: float = 3.0,
                 max_stride_s: float = 3.0, bridge_s: float = 0.05):
        self.bias_window_strides = int(bias_window_strides)
        self.missed_step_ratio = float(missed_step_ratio)
        self.median_strides = int(median_strides)
        self.gap_factor = float(gap_factor)
        self.max_stride_s = float(max_stride_s)
        self.bridge_s = float(bridge_s)
        self._t = np.empty(0)
        self._step_valid = np.empty(0, dtype=bool)
        self._theta: dict[str, np.ndarray] = {}
        self._segments: tuple[str, ...] | None = None
        self._last_side: str | None = None
        self._start: tuple[float, bool] | None = None   # (t of the opening R strike, inferred?)
        self._queue: list[tuple[float, float, bool]] = []  # strides waiting for samples
        self._durations: list[float] = []
        self._rates: dict[str, list[tuple[float, float]]] = {}
        self._index = 0

    def update(self, t_s: np.ndarray, pelvis_theta_deg: np.ndarray | None = None,
               thorax_theta_deg: np.ndarray | None = None,
               steps: Sequence[Step] = (),
               step_data_valid: np.ndarray | None = None) -> list[StrideMetrics]:
        """Add theta samples (t_s (n,) s; per segment (n,) deg, or None when that segment has no
        gyro) and newly decided strikes (in time order). `step_data_valid` (n,) bool: whether
        the step sensor had data at each sample (default: all). Returns the strides completed."""
        t_s = np.asarray(t_s, dtype=float)
        if t_s.size:
            valid = (np.ones(t_s.shape, dtype=bool) if step_data_valid is None
                     else np.asarray(step_data_valid, dtype=bool))
            self._step_valid = np.concatenate([self._step_valid, valid])
        given = {"pelvis": pelvis_theta_deg, "thorax": thorax_theta_deg}
        if self._segments is None and (t_s.size or steps):
            self._segments = tuple(s for s, v in given.items() if v is not None)
            self._theta = {s: np.empty(0) for s in self._segments}
            self._rates = {s: [] for s in self._segments}
        if t_s.size:
            self._t = np.concatenate([self._t, t_s])
            for s in self._segments or ():
                v = given[s]
                v = np.full(t_s.shape, np.nan) if v is None else np.asarray(v, dtype=float)
                self._theta[s] = np.concatenate([self._theta[s], v])
        for step in steps:
            self._add_strike(step)
        out = []
        while self._queue and self._t.size and self._t[-1] >= self._queue[0][1]:
            t0, t1, inferred = self._queue.pop(0)
            stride = self._measure(t0, t1, inferred)
            if stride is not None:
                out.append(stride)
        self._trim()
        return out

    def _add_strike(self, step: Step) -> None:
        inferred = step.side not in ("R", "L")
        side = step.side
        if inferred:
            # No side: alternate from the previous strike (the first one is taken as R).
            side = "R" if self._last_side in (None, "L") else "L"
        self._last_side = side
        if side != "R":
            return
        if self._start is not None and step.t_s - self._start[0] <= self.max_stride_s:
            t0, inferred0 = self._start
            self._queue.append((t0, step.t_s, inferred0 or inferred))
        self._start = (step.t_s, inferred)

    def _measure(self, t0: float, t1: float, inferred: bool) -> StrideMetrics | None:
        """The stride [t0, t1), or None when the data has a time gap inside it (the strikes
        during the gap are unknown, so it is not one stride: skipped, as the spec allows)."""
        duration = t1 - t0
        inside = (self._t >= t0) & (self._t < t1)
        t_in = self._t[inside]
        if t_in.size < 3:
            return None
        spacing = np.diff(np.concatenate([[t0], t_in, [t1]]))
        typical = float(np.median(np.diff(t_in)))
        if np.any(spacing > max(self.gap_factor * typical, self.bridge_s)):
            return None
        if _longest_false_run(self._step_valid[inside]) * typical > self.bridge_s:
            return None    # the step sensor had no data for a while: strikes unknown
        quality = set()
        if inferred:
            quality.add(QualityFlag.NO_SIDE)
        recent = self._durations[-self.median_strides:]
        if len(recent) >= 3 and duration > self.missed_step_ratio * float(np.median(recent)):
            quality.add(QualityFlag.MISSED_STEP)
        else:
            self._durations.append(duration)
        metrics: dict[str, tuple[float, float, np.ndarray] | None] = {}
        for s in self._segments or ():
            theta = self._theta[s]
            th_in = theta[inside]
            a, b = np.interp([t0, t1], self._t, theta)
            if not (np.all(np.isfinite(th_in)) and np.isfinite(a) and np.isfinite(b)):
                # This sensor had a gap (e.g. the thorax unplugged): its rotation during the
                # gap is unknown; the other segment's metrics still stand.
                quality.add(QualityFlag.GAP)
                metrics[s] = None
                continue
            rates = self._rates[s]
            rates.append((b - a, duration))
            del rates[:-self.bias_window_strides]
            bias_dps = sum(r[0] for r in rates) / sum(r[1] for r in rates)
            x = th_in - bias_dps * (t_in - t0)
            x = x - x.mean()
            metrics[s] = (float(np.ptp(x)), stride_phase_deg(t_in, x, t0, t1), x)
        pelvis, thorax = metrics.get("pelvis"), metrics.get("thorax")
        rel = None
        if pelvis is not None and thorax is not None:
            rel = (thorax[1] - pelvis[1]) % 360.0
        sym_src = thorax if thorax is not None else pelvis
        symmetry = None
        if sym_src is not None:
            left, right = float(np.max(sym_src[2])), float(-np.min(sym_src[2]))
            if left + right > 0:
                symmetry = 100.0 * (left - right) / ((left + right) / 2.0)
        out = StrideMetrics(
            index=self._index, t_start_s=t0, t_end_s=t1, cadence_spm=120.0 / duration,
            pelvis_rom_deg=pelvis[0] if pelvis else None,
            thorax_rom_deg=thorax[0] if thorax else None,
            pelvis_phase_deg=pelvis[1] if pelvis else None,
            thorax_phase_deg=thorax[1] if thorax else None,
            rel_phase_deg=rel, rotation_symmetry_pct=symmetry, quality=frozenset(quality))
        self._index += 1
        return out

    def _trim(self) -> None:
        if self._t.size == 0:
            return
        if self._queue:
            keep_from = self._queue[0][0]
        elif self._start is not None:
            keep_from = self._start[0]
        else:
            # No right strike yet: strikes are reported up to ~3 s late at the start of a
            # stream (vertical bootstrap + detection delay), so keep enough theta for the
            # first stride to be measured when its opening strike arrives.
            keep_from = float(self._t[-1]) - (self.max_stride_s + STRIKE_DELAY_MAX_S)
        # One sample before the window so theta(t_start) can be interpolated.
        cut = max(0, int(np.searchsorted(self._t, keep_from)) - 1)
        if cut > 0:
            self._t = self._t[cut:]
            self._step_valid = self._step_valid[cut:]
            for s in self._theta:
                self._theta[s] = self._theta[s][cut:]
