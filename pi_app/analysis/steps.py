"""Foot-strike (initial contact) detection and live cadence from the pelvis accelerometer.

Physics: the vertical specific force of the sacrum follows the vertical ground reaction
force over body weight (≈0 g in flight, 2-3 g at mid-stance). A contact is where it leaves the
flight level and rises, before the stance peak. The detector finds stance peaks (after a
short centred smoothing, with a refractory period shorter than the shortest step), takes the
flight valley before each peak, and times the contact from the loading rise in two parts:

- *where* on the rise: the mean time at which the vertical signal crosses 0.5, 0.75, 1.0 and
  1.25 g (half to 1.25 body weights of ground force), interpolated between samples. On the
  DEV data these crossings are 3-4 ms repeatable from step to step, while anything measured
  at the foot of the rise (a small level above the flight valley, the valley itself, a
  maximum of curvature) varies by 7-25 ms: the flight valley is flat, shaped by filtering
  (a 15 Hz zero-phase filter leaves a -0.35 g undershoot on the motion-capture IMUs) and by
  clipping (the real 500 Hz sacral data), so small changes of shape move its foot a lot.
- *how long before that* the foot touched down: a line fitted to those crossings (level vs
  time) and extrapolated down to the flight valley gives each step's rise time; the median
  over the last `rise_steps` steps (the rise time is a property of the runner, shoes and
  sensor strap, steady over seconds) is subtracted from the crossing time. A zero-phase
  low-pass keeps a straight rise straight through its centre, so the extrapolated line points
  at the contact even when the impact is blunted; taking the median over steps removes the
  per-step jitter of the slope.

When the rise cannot be measured that way (a flight valley above 0.5 g, a rise too short),
the contact is where the signal rises through the valley plus a small level (`onset_level_g`),
interpolated between samples.

A sensor off the midline (e.g. a belt at one hip) sees the two feet differently: one side's
loading rise is sharp, the other's is blunted and its detected onset is biased, so detected
step intervals alternate long/short by 20-35 % while the runner's true step-time asymmetry is a
few percent (healthy runners 1-5 %; force-plate truth on the treadmill DEV trials here stays
below ~9 %). `StepRhythm` therefore treats persistent left/right alternation beyond
`max_asymmetry` of the step time as a detection bias and moves both sides' contacts toward
the stride rhythm by the excess only; smaller, plausible asymmetries pass unchanged.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.ndimage import maximum_filter1d

from pi_app.analysis.vertical import VerticalEstimator


class StepDetector:
    """Streaming initial-contact detector on the pelvis accelerometer (any mounting).

    Parameters (times in s, levels in g of vertical specific force)
    - rate_hz: nominal sample rate (50-2000 Hz); a time step over `gap_factor` nominal
      periods, or a NaN row, is a gap. A gap of at most `bridge_s` (a failed FIFO read costs
      ~15 ms) is bridged by linear interpolation at the nominal rate, which is shorter than
      a loading rise, so the steps around it are kept; after a longer one the search restarts.
    - smooth_s: width of the centred moving average used to find stance peaks.
    - refractory_s: minimum time between two stance peaks (< 60/230 spm = 0.26 s).
    - onset_window_s: how far before a stance peak the flight valley is searched.
    - min_peak_g: a stance peak (smoothed) must exceed this (standing reads 1 g).
    - min_rise_g: peak minus flight valley must exceed this (walking rises far less).
    - onset: the loading rise is the first upward crossing of the half-way level between the
      flight valley and the peak; its foot is the lowest point within foot_window_s before
      that. The contact is the mean crossing time of `rise_levels_g` minus the median rise
      time of the last `rise_steps` steps (module docstring); without usable crossings it is
      the last upward crossing of foot + max(onset_level_g, onset_fraction * (peak - foot))
      before the half-way crossing, linearly interpolated (about the 50 N ground-force
      threshold, blurred by filtering). `rise_levels_g=()` always uses that level crossing.
    - vertical: a VerticalEstimator (a default one is made).
    - rhythm: a StepRhythm that removes implausible left/right timing alternation (a default
      one is made; pass StepRhythm(max_asymmetry=None) to keep the raw onsets).

    `update(t_s, acc_g)` takes (n,) times and (n, 3) specific force in sensor axes and returns
    the contact times (s, sub-sample) newly confirmed by these samples, oldest first; all of
    them are also in `contacts_t_s`. A contact is confirmed at most
    `onset_window_s + refractory_s + smooth_s / 2` (≈0.6 s) after it happened, plus, at the
    start of the stream only, the vertical estimator's bootstrap time. Call `flush()` at the
    end of a recording for the last ones.
    """

    def __init__(self, rate_hz: float, smooth_s: float = 0.08, refractory_s: float = 0.2,
                 onset_window_s: float = 0.35, min_peak_g: float = 1.5, min_rise_g: float = 0.8,
                 onset_level_g: float = 0.2, onset_fraction: float = 0.0,
                 foot_window_s: float = 0.03,
                 rise_levels_g: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25), rise_steps: int = 9,
                 gap_factor: float = 3.0, bridge_s: float = 0.04, vertical: VerticalEstimator | None = None,
                 rhythm: "StepRhythm | None" = None):
        if not 1.0 <= rate_hz <= 100000.0:
            raise ValueError(f"rate_hz must be a positive sample rate, got {rate_hz}")
        self.rate_hz = float(rate_hz)
        self.smooth_s = smooth_s
        self.refractory_s = refractory_s
        self.onset_window_s = onset_window_s
        self.min_peak_g = min_peak_g
        self.min_rise_g = min_rise_g
        self.onset_level_g = onset_level_g
        self.onset_fraction = onset_fraction
        if len(rise_levels_g) == 1 or rise_steps < 1:
            raise ValueError("rise_levels_g needs at least two levels (or none) and rise_steps >= 1")
        self.rise_levels_g = np.sort(np.asarray(rise_levels_g, dtype=float))
        self.rise_steps = int(rise_steps)
        # Recent rise times (s). Kept across gaps: they belong to the runner, not to the data.
        self._rise_s: deque[float] = deque(maxlen=self.rise_steps)
        self.max_dt_s = gap_factor / self.rate_hz
        self.bridge_s = bridge_s
        self.vertical = vertical if vertical is not None else VerticalEstimator()
        self.rhythm = rhythm if rhythm is not None else StepRhythm()
        self.contacts_t_s: list[float] = []
        self._hw = max(1, int(round(smooth_s * self.rate_hz / 2)))
        self._r = max(1, int(round(refractory_s * self.rate_hz)))
        self._w = max(2, int(round(onset_window_s * self.rate_hz)))
        self._fw = max(1, int(round(foot_window_s * self.rate_hz)))
        self._reset()

    def _reset(self) -> None:
        self._t = np.empty(0)
        self._v = np.empty(0)
        self._next = 0                      # first buffer index not yet examined as a peak
        self._last_peak_i = -10**9          # buffer index of the last accepted peak
        self._last_peak_t = -np.inf
        self._last_out_t = -np.inf
        self.rhythm.reset()

    def update(self, t_s, acc_g) -> list[float]:
        tv, vv = self.vertical.update(t_s, acc_g)
        return self._feed(tv, vv)

    def flush(self) -> list[float]:
        """End of stream: emit the contacts that the missing look-ahead still held back."""
        tv, vv = self.vertical.flush()
        found = self._feed(tv, vv)
        found += self._scan(final=True)
        self._reset()
        self._rise_s.clear()
        return found

    def _feed(self, t: np.ndarray, v: np.ndarray) -> list[float]:
        found: list[float] = []
        good = np.isfinite(v)
        t, v = t[good], v[good]
        if t.size == 0:
            return found
        # Gaps: NaN rows (dropped above) and time jumps, including from the buffered past.
        prev = np.concatenate([self._t[-1:], t[:-1]])
        step_s = 1.5 / self.rate_hz
        jump = np.flatnonzero(t - prev > step_s) if self._t.size else \
            np.flatnonzero(np.diff(t) > step_s) + 1
        start = 0
        for b in [int(j) for j in jump] + [int(t.size)]:
            if b > start:
                found += self._append(t[start:b], v[start:b])
            if b < t.size:
                found += self._gap(t[b], v[b])
                start = b
        return found

    def _gap(self, t1: float, v1: float) -> list[float]:
        """Handle a gap before the sample (t1, v1): bridge it or restart the search."""
        t0, v0 = float(self._t[-1]), float(self._v[-1])
        if t1 - t0 <= max(self.bridge_s, self.max_dt_s):
            n = int(round((t1 - t0) * self.rate_hz)) - 1
            if n > 0:
                frac = np.arange(1, n + 1) / (n + 1)
                return self._append(t0 + frac * (t1 - t0), v0 + frac * (v1 - v0))
            return []
        found = self._scan(final=True)
        self._reset()
        return found

    def _append(self, t: np.ndarray, v: np.ndarray) -> list[float]:
        self._t = np.concatenate([self._t, t])
        self._v = np.concatenate([self._v, v])
        found = self._scan(final=False)
        keep = self._w + 2 * self._r + 4 * self._hw + 4
        drop = self._t.size - keep
        if drop > 0:
            self._t = self._t[drop:]
            self._v = self._v[drop:]
            self._next = max(0, self._next - drop)
            self._last_peak_i -= drop
        return found

    def _scan(self, final: bool) -> list[float]:
        """Examine peak candidates whose look-ahead is complete (all of them when final)."""
        v, hw, r = self._v, self._hw, self._r
        n = v.size
        if n < 2 * hw + 2:
            return []
        c = np.concatenate([[0.0], np.cumsum(v)])
        # s[j] = mean of v[j : j + 2hw + 1], centred on buffer index j + hw.
        s = (c[2 * hw + 1:] - c[:n - 2 * hw]) / (2 * hw + 1)
        last = n - 1 - hw if final else n - 1 - hw - r
        first = max(self._next, hw)
        if last < first:
            return []
        mx = maximum_filter1d(s, size=2 * r + 1, mode="nearest")
        found: list[float] = []
        js = np.arange(first - hw, last - hw + 1)
        prev = s[np.maximum(js - 1, 0)]
        cand = (s[js] >= self.min_peak_g) & (s[js] >= mx[js]) & ((js == 0) | (prev < s[js]))
        for j in js[cand]:
            i = int(j) + hw
            if i - self._last_peak_i < r:
                continue
            t_on = self._onset(i, s[j])
            if t_on is None:
                continue
            self._last_peak_i = i
            if t_on > self._last_peak_t:
                self._last_peak_t = t_on
                t_out = self.rhythm.update(t_on)
                if t_out > self._last_out_t:
                    self._last_out_t = t_out
                    found.append(t_out)
        self._next = last + 1
        self.contacts_t_s += found
        return found

    def _onset(self, i: int, peak_g: float) -> float | None:
        """Contact time before the stance peak at buffer index i, or None if no flight valley."""
        v = self._v
        lo = max(0, i - self._w, self._last_peak_i + 1)
        if i - lo < 2:
            return None
        win = v[lo:i + 1]
        valley = float(win.min())
        rise = peak_g - valley
        if rise < self.min_rise_g:
            return None
        # The initial loading rise: first upward crossing of the half-way level after the
        # valley (later crossings can be the rise from the impact-to-active-peak dip).
        k_val = lo + int(np.argmin(win))
        mid = valley + 0.5 * rise
        k_mid = self._first_up_crossing(k_val, i, mid)
        if k_mid is None:
            return None
        # Its foot: the lowest point shortly before it (the flight valley itself can lie much
        # earlier, e.g. a dip in mid-flight, and would make the onset early).
        f_lo = max(lo, k_mid - self._fw)
        k_foot = f_lo + int(np.argmin(v[f_lo:k_mid + 1]))
        foot = float(v[k_foot])
        t_rise = self._rise_onset(k_foot, i, foot)
        if t_rise is not None:
            return t_rise
        level = foot + max(self.onset_level_g, self.onset_fraction * (peak_g - foot))
        k = self._last_up_crossing(f_lo, k_mid + 1, level)
        if k is None:
            return None
        return self._cross_time(k, level)

    def _rise_onset(self, k_foot: int, i: int, foot_g: float) -> float | None:
        """Contact time (s) from the rise_levels_g crossings between the foot (buffer index
        k_foot, level foot_g) and the stance peak (index i), or None when they are unusable."""
        levels = self.rise_levels_g
        if levels.size == 0 or foot_g >= levels[0]:
            return None
        times = []
        for level in levels:
            k = self._first_up_crossing(k_foot, i, level)
            if k is None:
                return None
            times.append(self._cross_time(k, level))
        t_x = np.asarray(times)
        t_c, level_c = float(t_x.mean()), float(levels.mean())
        dt = t_x - t_c
        if not np.any(dt > 0.0):
            # All crossings inside one sample step at the same interpolated time: no slope.
            return None
        slope_g_per_s = float(np.sum(dt * (levels - level_c)) / np.sum(dt * dt))
        self._rise_s.append((level_c - foot_g) / slope_g_per_s)
        return t_c - float(np.median(self._rise_s))

    def _cross_time(self, k: int, level: float) -> float:
        """Time (s) at which v passes `level` between buffer samples k and k + 1 (linear)."""
        v, t = self._v, self._t
        v0, v1 = v[k], v[k + 1]
        frac = (level - v0) / (v1 - v0) if v1 > v0 else 0.0
        return float(t[k] + frac * (t[k + 1] - t[k]))

    def _first_up_crossing(self, lo: int, hi: int, level: float) -> int | None:
        """Smallest k in [lo, hi) with v[k] < level <= v[k + 1], or None."""
        seg = self._v[lo:hi + 1]
        k = np.flatnonzero((seg[:-1] < level) & (seg[1:] >= level))
        return lo + int(k[0]) if k.size else None

    def _last_up_crossing(self, lo: int, hi: int, level: float) -> int | None:
        """Largest k in [lo, hi) with v[k] < level <= v[k + 1], or None."""
        seg = self._v[lo:hi + 1]
        k = np.flatnonzero((seg[:-1] < level) & (seg[1:] >= level))
        return lo + int(k[-1]) if k.size else None


class StepRhythm:
    """Removes implausible left/right alternation from a stream of contact times (s).

    Steps alternate feet, so in a chain of consecutive steps the intervals ending at even and
    at odd contacts belong to the two sides. For each new contact the median of the last
    `n_intervals / 2` same-parity intervals is compared with that of the other parity; when
    they differ by more than `max_asymmetry` x the step time, the contact is moved by a quarter
    of the excess (the other side's contacts move the opposite way), which leaves exactly
    `max_asymmetry` of alternation. A chain starts again after an interval outside
    `min_interval_s`-`max_interval_s` (a missed or extra step, a pause) or `reset()`; contacts
    before `n_intervals` intervals are in the chain pass unchanged. Uses only past contacts:
    no added delay. `max_asymmetry=None` disables the correction.
    """

    def __init__(self, max_asymmetry: float | None = 0.10, n_intervals: int = 8,
                 min_interval_s: float = 0.24, max_interval_s: float = 0.60):
        if n_intervals < 4 or n_intervals % 2:
            raise ValueError(f"n_intervals must be an even number >= 4, got {n_intervals}")
        self.max_asymmetry = max_asymmetry
        self.n_intervals = n_intervals
        self.min_interval_s = min_interval_s
        self.max_interval_s = max_interval_s
        self.reset()

    def reset(self) -> None:
        self._raw_t: deque[float] = deque(maxlen=self.n_intervals + 1)

    def update(self, t_s: float) -> float:
        """Add one raw contact time (s, increasing); return its corrected time (s)."""
        if self._raw_t:
            dt = t_s - self._raw_t[-1]
            if not self.min_interval_s <= dt <= self.max_interval_s:
                self._raw_t.clear()
        self._raw_t.append(t_s)
        if self.max_asymmetry is None or len(self._raw_t) < self.n_intervals + 1:
            return t_s
        d = np.diff(np.asarray(self._raw_t))
        same = float(np.median(d[::-2]))      # intervals ending at this contact's side
        other = float(np.median(d[-2::-2]))
        diff = same - other
        excess = abs(diff) - self.max_asymmetry * 0.5 * (same + other)
        if excess <= 0.0:
            return t_s
        return float(t_s - np.sign(diff) * excess / 4.0)


class CadenceTracker:
    """Live cadence (steps/min) from the most recent step intervals.

    Keeps the contacts of the last `window_s` seconds (at most `max_steps`); cadence is
    60 / mean of the intervals within 0.24-0.60 s that lie within 25 % of their median, the
    same rule as the validation windows. A missed step (a double interval) or an extra one (two
    short intervals) falls outside the 25 % band and does not bias the estimate.
    """

    def __init__(self, window_s: float = 10.0, max_steps: int = 24, min_intervals: int = 3):
        self.window_s = window_s
        self.min_intervals = min_intervals
        self._t: deque[float] = deque(maxlen=max_steps)
        self.cadence_spm: float | None = None

    def reset(self) -> None:
        self._t.clear()
        self.cadence_spm = None

    def update(self, step_t_s, now_s: float | None = None) -> float | None:
        """Add new contact times (s, increasing); return the cadence (spm) or None when there
        are too few recent intervals. `now_s` (default: the newest contact) ages out old
        contacts, so the cadence goes to None when the runner stops."""
        for ts in step_t_s:
            if not self._t or ts > self._t[-1]:
                self._t.append(float(ts))
        now = now_s if now_s is not None else (self._t[-1] if self._t else None)
        while self._t and now is not None and self._t[0] < now - self.window_s:
            self._t.popleft()
        d = np.diff(np.asarray(self._t))
        d = d[(d >= 0.24) & (d <= 0.60)]
        if d.size:
            med = float(np.median(d))
            d = d[np.abs(d - med) <= 0.25 * med]
        self.cadence_spm = 60.0 / float(d.mean()) if d.size >= self.min_intervals else None
        return self.cadence_spm
