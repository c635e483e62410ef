"""The runner's baseline and the drift detector: is this stride out of the runner's band?

Rule (science.md, "Normal variability"): warm up, build a baseline from ~60 strides at the
current speed, compare a rolling median over 8-16 strides with baseline +- k SD (circular SD
for phases, with floors), enter and leave with hysteresis, and suppress for ~20 s after a speed
change (seen as a cadence jump), then build a fresh baseline. A coach may instead set an
absolute band per metric.

The rolling median lags a step change by about half its window, which alone would miss the
"flag within 3 strides" goal, so a short median (3 strides) is also compared with a wider band
(`k_fast_sd`): a large change is flagged fast, a small one after the window median confirms it.
Stride intervals are long-range correlated (slow wander is normal), hence the wide fast band.

Two additions make both goals hold on the simulated runner (bench/drift_false_alarms.py):
- The band's SD keeps learning after the baseline: a 60-stride baseline underestimates how
  far the runner wanders over minutes (the SD of 10-stride means over 20 min was 1.3-1.5x the
  baseline's), which alone caused most false episodes.
- A trend path flags a ramp as it crosses the band edge: the least-squares line through the
  last `trend_strides` strides is past the edge AND has risen `k_trend_sd` SDs above the
  median of the `reference_strides` strides before it. Slow wander crosses the edge too, but
  it does not rise that fast; a ramp of 1.5-3 deg/stride does.

Remembered baselines: a `Baseline` record (per metric center and SD, the strides it came from,
the cadence it was built at) can be given to `use_baseline`. When the warm-up ends, the
detector judges against it at once instead of building a fresh one, but only if the rolling
median cadence is within `cadence_tolerance_frac` of the stored cadence (the same speed)
or the caller says the entered treadmill speed is the same; otherwise it builds a fresh
baseline and `stored_note` says why. The stored band is a prior worth one baseline of strides
that today's warm-up strides update (center and SD: another day sits a little elsewhere);
it keeps learning the SD as always, and a later speed change still suppresses and rebuilds.
`learnt_baseline()` gives the current one as a record, to be remembered.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pi_app.analysis.types import StrideMetrics
from pi_app.records import UNRELIABLE_QUALITY, DriftDirection, DriftState

# Judged metrics, most important first: name -> (StrideMetrics field, circular?, unit).
METRICS: dict[str, tuple[str, bool, str]] = {
    "rel_phase": ("rel_phase_deg", True, "deg"),
    "thorax_phase": ("thorax_phase_deg", True, "deg"),
    "pelvis_phase": ("pelvis_phase_deg", True, "deg"),
    "cadence": ("cadence_spm", False, "spm"),
}
# Judged against the runner's own baseline unless configured otherwise. Pelvis phase alone
# and cadence wander with speed and fatigue and differ between runners (science.md); a change
# of pelvis timing already shows in the relative phase, and cadence is better coached with an
# absolute band or the metronome. Judging them by default tripled false alarms on the
# simulated steady runner.
DEFAULT_JUDGED_METRICS = ("rel_phase", "thorax_phase")


def _wrap180(x: float) -> float:
    """Angle in degrees wrapped to [-180, 180)."""
    return (x + 180.0) % 360.0 - 180.0


def circular_mean_sd_deg(values_deg) -> tuple[float, float]:
    """Circular mean in [0, 360) and circular SD sqrt(-2 ln R), both in degrees."""
    rad = np.radians(np.asarray(values_deg, dtype=np.float64))
    c, s = np.cos(rad).mean(), np.sin(rad).mean()
    r = min(1.0, math.hypot(c, s))
    mean = math.degrees(math.atan2(s, c)) % 360.0
    sd = math.degrees(math.sqrt(-2.0 * math.log(r))) if r > 1e-12 else 180.0
    return mean, sd


@dataclass(frozen=True)
class MetricBand:
    """The band one metric is judged against: center +- half_width (deg or spm; for phases
    the band is the arc center-half_width .. center+half_width). sd is the runner's SD (from
    the baseline, else the floor); source is "baseline" or "coach"."""

    metric: str
    center: float
    half_width: float
    sd: float
    source: str

    @property
    def low(self) -> float:
        low = self.center - self.half_width
        return low % 360.0 if METRICS[self.metric][1] else low

    @property
    def high(self) -> float:
        high = self.center + self.half_width
        return high % 360.0 if METRICS[self.metric][1] else high


@dataclass(frozen=True)
class MetricJudgement:
    """One metric at one stride: rolling median `value`, its signed `deviation` from the band
    center (deg or spm; phases wrapped) and in SDs, whether this stride is out of the band and
    whether the metric is in a drift episode (after hysteresis)."""

    metric: str
    value: float
    deviation: float
    deviation_sd: float
    beyond_band: float
    out: bool
    drifting: bool


@dataclass(frozen=True)
class DriftVerdict:
    """The detector's verdict after one stride.

    state: a `DriftState`. progress: baseline progress 0..1 while building (1 once built).
    When drifting: metric (the most important drifting one), direction (a `DriftDirection`
    of that metric), deviation from the band center (signed, unit), deviation_sd (signed, in
    the runner's SDs), beyond_band (>= 0, how far outside the band, unit). drifting_metrics
    lists every drifting metric; judgements has each judged metric.
    suppressed_for_s: seconds of suppression left after a speed change.
    bands: the band each metric was judged against at this stride (a coach's band, else the
    baseline; none while there is neither), as it stood after the stride.
    """

    state: DriftState
    progress: float = 0.0
    metric: str | None = None
    direction: DriftDirection | None = None
    unit: str | None = None
    deviation: float | None = None
    deviation_sd: float | None = None
    beyond_band: float | None = None
    drifting_metrics: tuple[str, ...] = ()
    suppressed_for_s: float = 0.0
    judgements: dict[str, MetricJudgement] = field(default_factory=dict)
    bands: dict[str, MetricBand] = field(default_factory=dict)

    @property
    def drift(self) -> bool:
        return self.state == DriftState.DRIFTING


@dataclass(frozen=True)
class Baseline:
    """A runner's baseline as plain parameters (no I/O): per metric (names of `METRICS`) the
    center (deg for phases, in [0, 360); spm for cadence) and the runner's SD (same unit; as
    the band used it, so at least the detector's floor), learnt from `n_strides` strides.
    cadence_spm: the median cadence it was built at (the speed it belongs to), None if
    unknown. origin: where it came from, for people ("session 12", "run1.csv");
    created_unix_s: when it was built (s since 1970) or None."""

    centers: dict[str, float]
    sds: dict[str, float]
    n_strides: int
    origin: str = ""
    created_unix_s: float | None = None

    def __post_init__(self):
        unknown = sorted((set(self.centers) | set(self.sds)) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; use {', '.join(METRICS)}")
        if set(self.centers) != set(self.sds):
            raise ValueError("every metric needs both a center and an SD")
        for metric, sd in self.sds.items():
            if not (math.isfinite(sd) and sd >= 0.0 and math.isfinite(self.centers[metric])):
                raise ValueError(f"{metric}: center and SD must be finite, SD >= 0")
        if self.n_strides < 1:
            raise ValueError("n_strides must be >= 1")

    @property
    def cadence_spm(self) -> float | None:
        return self.centers.get("cadence")


class _Track:
    """Per-metric rolling values and hysteresis counters."""

    def __init__(self, window: int):
        self.values: deque[float] = deque(maxlen=window)
        self.out_run = 0
        self.in_run = 0
        self.drifting = False
        # Sum of squared deviations from the baseline center and their count (learned SD).
        self.sum_sq = 0.0
        self.n_sq = 0

    def reset_episode(self) -> None:
        self.out_run = self.in_run = 0
        self.drifting = False


class DriftDetector:
    """Per-stride drift judgement against the runner's own baseline (or a coach's band).

    warmup_s / warmup_strides: nothing is judged until both have passed since the first stride.
    baseline_strides: strides in a baseline (at one speed).
    window_strides: rolling-median length (8-16). k_sd: band half-width in baseline SDs.
    fast_strides / k_fast_sd: the short median and its wider band for large, sudden changes.
    phase_sd_floor_deg / cadence_sd_floor_spm: smallest SD used (a very steady baseline must
    not give a band narrower than the measurement's own noise).
    enter_after / leave_after: consecutive out / in strides to start / end an episode; to
    count as "in" during an episode the rolling median must be `leave_margin_sd` SDs inside
    the band edge (a median hovering at the edge would otherwise start many episodes).
    cadence_jump_frac: rolling cadence vs baseline cadence change that means a new speed.
    suppress_s: quiet time after such a jump; a fresh baseline is built after it.
    trend_strides / reference_strides / k_trend_sd: the trend path (module docstring).
    learn_sd: widen the baseline band as the runner's long-run SD becomes known (strides
    outside a drift episode and inside the band count).
    judged_metrics: the metrics judged against the runner's baseline (default: relative and
    thorax phase, the cross-body timing the product trains). The others are still learned
    and shown, and are judged as soon as a coach sets an absolute band for them.
    cadence_tolerance_frac: a remembered baseline (`use_baseline`) is used only when the
    rolling median cadence at the end of the warm-up is within this fraction of its cadence
    (3 %: below the 5 % that already counts as a new speed).
    """

    def __init__(self, warmup_s: float = 30.0, warmup_strides: int = 0,
                 baseline_strides: int = 60, window_strides: int = 10, k_sd: float = 2.5,
                 fast_strides: int = 3, k_fast_sd: float = 3.5,
                 phase_sd_floor_deg: float = 5.0, cadence_sd_floor_spm: float = 2.0,
                 enter_after: int = 2, leave_after: int = 3, leave_margin_sd: float = 0.5,
                 cadence_jump_frac: float = 0.05, suppress_s: float = 20.0,
                 trend_strides: int = 6, reference_strides: int = 20,
                 k_trend_sd: float = 2.5, learn_sd: bool = True,
                 judged_metrics: tuple[str, ...] = DEFAULT_JUDGED_METRICS,
                 cadence_tolerance_frac: float = 0.03):
        if baseline_strides < window_strides or window_strides < fast_strides or fast_strides < 1:
            raise ValueError("need baseline_strides >= window_strides >= fast_strides >= 1")
        if trend_strides < 3 or reference_strides < 1:
            raise ValueError("need trend_strides >= 3 and reference_strides >= 1")
        if k_fast_sd < k_sd:
            raise ValueError("k_fast_sd must be >= k_sd")
        self.warmup_s = float(warmup_s)
        self.warmup_strides = int(warmup_strides)
        self.baseline_strides = int(baseline_strides)
        self.window_strides = int(window_strides)
        self.k_sd = float(k_sd)
        self.fast_strides = int(fast_strides)
        self.k_fast_sd = float(k_fast_sd)
        self.sd_floor = {"rel_phase": phase_sd_floor_deg, "thorax_phase": phase_sd_floor_deg,
                         "pelvis_phase": phase_sd_floor_deg, "cadence": cadence_sd_floor_spm}
        self.enter_after = int(enter_after)
        self.leave_after = int(leave_after)
        self.leave_margin_sd = float(leave_margin_sd)
        self.cadence_jump_frac = float(cadence_jump_frac)
        self.suppress_s = float(suppress_s)
        self.trend_strides = int(trend_strides)
        self.reference_strides = int(reference_strides)
        self.k_trend_sd = float(k_trend_sd)
        self.learn_sd = bool(learn_sd)
        unknown = [m for m in judged_metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; use {', '.join(METRICS)}")
        self.judged_metrics = tuple(m for m in METRICS if m in judged_metrics)
        self.cadence_tolerance_frac = float(cadence_tolerance_frac)
        self.reset(skip_warmup=False)

    def reset(self, skip_warmup: bool = False) -> None:
        """Forget the runner and start again, as a new detector with the same settings would:
        no baseline, no coach bands, no remembered baseline offered. skip_warmup: the coach
        says the runner is settled now, so the baseline starts building at the next stride
        (the warm-up time is 0 s; `warmup_strides` still counts)."""
        self._warmup_s = 0.0 if skip_warmup else self.warmup_s
        history = max(self.window_strides, self.trend_strides + self.reference_strides)
        self._tracks = {m: _Track(history) for m in METRICS}
        self._t0_s: float | None = None
        self._n_strides = 0
        self._state = DriftState.WARMUP
        self._collect: dict[str, list[float]] = {m: [] for m in METRICS}
        self._collected = 0
        self._suppress_until_s = -math.inf
        self.baseline: dict[str, MetricBand] = {}
        self.coach_bands: dict[str, MetricBand] = {}
        self.episodes = 0
        self._last: dict[str, MetricJudgement] = {}
        self._fast_jump_run = 0
        self._stored: list[Baseline] = []
        self._stored_speed_match: bool | None = None
        #: The remembered baseline being judged against (None: a fresh one, or none yet).
        self.stored_in_use: Baseline | None = None
        #: Why a remembered baseline was or was not used (None until the warm-up ends).
        self.stored_note: str | None = None

    # -- remembered baselines --------------------------------------------------------------
    def use_baseline(self, baseline: "Baseline | list[Baseline]",
                     speed_match: bool | None = None) -> None:
        """Judge against `baseline` from the end of the warm-up, if the conditions match:
        speed_match True (the coach entered the same treadmill speed) uses it whatever the
        cadence; False (a different speed) never uses it; None decides by cadence
        (`cadence_tolerance_frac`). A list is several candidates, preferred first (e.g. the
        athlete's baselines, newest first): the first that fits is used. Call before the
        warm-up ends."""
        self._stored = [baseline] if isinstance(baseline, Baseline) else list(baseline)
        self._stored_speed_match = speed_match

    def reject_baseline(self, why: str) -> None:
        """The caller found that the remembered baseline(s) do not fit (other chips,
        mounting, speed): build a fresh one, and say why in `stored_note`."""
        self._stored = []
        self.stored_note = f"remembered baseline not used: {why}"

    def learnt_baseline(self, origin: str = "", created_unix_s: float | None = None
                        ) -> Baseline | None:
        """The baseline judged against now, as a record (the SD includes what was learnt
        since it was built), or None while there is none. Coach bands are not part of it."""
        if not self.baseline:
            return None
        track_n = [self._tracks[m].n_sq for m in self.baseline]
        return Baseline(centers={m: b.center for m, b in self.baseline.items()},
                        sds={m: b.sd for m, b in self.baseline.items()},
                        n_strides=max([self.baseline_strides] + track_n),
                        origin=origin, created_unix_s=created_unix_s)

    def _stored_fits(self, stored: Baseline) -> tuple[bool, str]:
        if self._stored_speed_match is False:
            return False, "conditions differ"
        if self._stored_speed_match is True:
            return True, "same treadmill speed"
        if stored.cadence_spm is None:
            return False, "it has no cadence to compare the speed with"
        vals = [v for v in self._tracks["cadence"].values][-self.window_strides:]
        if len(vals) < self.fast_strides:
            return False, "no cadence measured yet to compare the speed with"
        now = float(statistics.median(vals))
        diff = now / stored.cadence_spm - 1.0
        text = (f"cadence {now:.0f} vs {stored.cadence_spm:.0f} spm ({diff:+.1%}, tolerance "
                f"+-{self.cadence_tolerance_frac:.0%})")
        return abs(diff) <= self.cadence_tolerance_frac, text

    def _start_from_stored(self) -> bool:
        """At the end of the warm-up: judge against the first remembered baseline that
        fits; else say why the first one did not."""
        if not self._stored:
            return False
        candidates, self._stored = self._stored, []
        checked = [(b, *self._stored_fits(b)) for b in candidates]
        fitting = [(b, why) for b, fits, why in checked if fits]
        if not fitting:
            self.stored_note = f"remembered baseline not used: {checked[0][2]}"
            return False
        stored, why = fitting[0]
        self.baseline = {}
        # Another day sits a little elsewhere (the sensors are strapped a little differently)
        # and spreads differently. The stored band is the prior, worth one baseline of
        # strides; today's warm-up strides update it: the center moves by their median
        # offset weighted by their number, and they join the learnt SD, as in a fresh band.
        prior_n = min(stored.n_strides, self.baseline_strides)
        for metric, center in stored.centers.items():
            sd_raw = stored.sds[metric]
            track = self._tracks[metric]
            circular = METRICS[metric][1]
            devs = [(_wrap180(v - center) if circular else v - center) for v in track.values]
            if devs:
                center += float(np.median(devs)) * len(devs) / (len(devs) + prior_n)
                devs = [(_wrap180(v - center) if circular else v - center)
                        for v in track.values]
            track.sum_sq = prior_n * sd_raw * sd_raw + sum(d * d for d in devs)
            track.n_sq = prior_n + len(devs)
            sd_raw = math.sqrt(track.sum_sq / track.n_sq) if self.learn_sd else sd_raw
            sd = max(sd_raw, self.sd_floor[metric])
            center = center % 360.0 if METRICS[metric][1] else center
            self.baseline[metric] = MetricBand(metric, center, self.k_sd * sd, sd, "baseline")
        self.stored_in_use = stored
        origin = f" from {stored.origin}" if stored.origin else ""
        self.stored_note = f"remembered baseline{origin} ({why})"
        self._state = DriftState.IN_BAND
        return True

    # -- coach bands -----------------------------------------------------------------------
    def set_band(self, metric: str, low: float, high: float) -> MetricBand:
        """Judge `metric` against the absolute band low..high (deg or spm) instead of the
        baseline. For phases the band runs counter-clockwise from low to high (it may wrap
        through 0, e.g. 330..20)."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
        circular = METRICS[metric][1]
        if circular:
            width = (high - low) % 360.0
            center = (low + width / 2.0) % 360.0
        else:
            if high <= low:
                raise ValueError("high must be > low")
            width, center = high - low, (low + high) / 2.0
        base = self.baseline.get(metric)
        sd = base.sd if base is not None else self.sd_floor[metric]
        band = MetricBand(metric, center, width / 2.0, sd, "coach")
        self.coach_bands[metric] = band
        self._tracks[metric].reset_episode()
        return band

    def set_band_from_current(self) -> dict[str, MetricBand]:
        """Coach's "keep it like this": each metric's band becomes the current rolling median
        +- k_sd SD (the baseline SD, else the SD of the recent strides, with the floor)."""
        bands = {}
        for metric, track in self._tracks.items():
            if len(track.values) < self.fast_strides:
                continue
            vals = list(track.values)[-self.window_strides:]
            circular = METRICS[metric][1]
            if circular:
                center, sd = circular_mean_sd_deg(vals)
                center = (center + float(np.median([_wrap180(v - center) for v in vals]))) % 360
            else:
                center, sd = float(np.median(vals)), float(np.std(vals))
            base = self.baseline.get(metric)
            sd = max(base.sd if base is not None else sd, self.sd_floor[metric])
            half = self.k_sd * sd
            bands[metric] = self.set_band(metric, center - half, center + half)
        return bands

    def clear_band(self, metric: str | None = None) -> None:
        """Back to the baseline for `metric` (all metrics when None)."""
        for m in ([metric] if metric else list(self.coach_bands)):
            self.coach_bands.pop(m, None)
            self._tracks[m].reset_episode()

    # -- the per-stride update -------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def update(self, stride: StrideMetrics) -> DriftVerdict:
        """Judge one stride (None fields are skipped); returns the verdict."""
        if self._t0_s is None:
            self._t0_s = stride.t_start_s
        self._n_strides += 1
        t_s = stride.t_end_s
        good = not (stride.quality & UNRELIABLE_QUALITY)
        values: dict[str, float] = {}
        if good:
            for metric, (name, _, _) in METRICS.items():
                v = getattr(stride, name)
                if v is not None and math.isfinite(v):
                    values[metric] = float(v)
                    self._tracks[metric].values.append(float(v))

        if self._state == DriftState.WARMUP:
            if (t_s - self._t0_s >= self._warmup_s
                    and self._n_strides >= self.warmup_strides):
                if not self._start_from_stored():
                    self._start_baseline()
            return self._verdict(DriftState.WARMUP, judge=False)

        if self._state == DriftState.SUPPRESSED:
            if t_s < self._suppress_until_s:
                return self._verdict(DriftState.SUPPRESSED, judge=False, t_s=t_s)
            self._start_baseline()

        if self._cadence_jumped():
            self._suppress_until_s = t_s + self.suppress_s
            self._state = DriftState.SUPPRESSED
            self.baseline = {}
            self.stored_in_use = None
            for track in self._tracks.values():
                track.reset_episode()
            return self._verdict(DriftState.SUPPRESSED, judge=False, t_s=t_s)

        if self._state == DriftState.BUILDING_BASELINE:
            if good:
                for metric, v in values.items():
                    self._collect[metric].append(v)
                self._collected += 1
            if self._collected >= self.baseline_strides:
                self._finish_baseline()
                self._state = DriftState.IN_BAND
            else:
                return self._verdict(DriftState.BUILDING_BASELINE, judge=good)
        return self._verdict(DriftState.IN_BAND, judge=good)

    # -- internals -------------------------------------------------------------------------
    def _start_baseline(self) -> None:
        self._state = DriftState.BUILDING_BASELINE
        self._collect = {m: [] for m in METRICS}
        self._collected = 0
        self.baseline = {}

    def _finish_baseline(self) -> None:
        self.baseline = {}
        for metric, vals in self._collect.items():
            # A metric present in fewer than half the strides has no trustworthy baseline.
            if len(vals) < self.baseline_strides / 2:
                continue
            if METRICS[metric][1]:
                center, sd = circular_mean_sd_deg(vals)
            else:
                center, sd = float(np.median(vals)), float(np.std(vals, ddof=1))
            track = self._tracks[metric]
            track.sum_sq, track.n_sq = len(vals) * sd * sd, len(vals)
            sd = max(sd, self.sd_floor[metric])
            self.baseline[metric] = MetricBand(metric, center, self.k_sd * sd, sd, "baseline")

    def _cadence_jumped(self) -> bool:
        """A new speed: the rolling-median cadence is more than `cadence_jump_frac` from the
        baseline cadence, or the short median by 1.5 times that for `enter_after` strides in a
        row (so a large speed change is suppressed before the fast path cues on it)."""
        track = self._tracks["cadence"]
        if "cadence" in self.baseline:
            reference = self.baseline["cadence"].center
        elif self._state == DriftState.BUILDING_BASELINE and len(self._collect["cadence"]) >= \
                self.window_strides:
            reference = float(statistics.median(self._collect["cadence"]))
        else:
            self._fast_jump_run = 0
            return False
        vals = list(track.values)[-self.window_strides:]
        if len(vals) >= self.fast_strides:
            fast = statistics.median(vals[-self.fast_strides:])
            # The short median is noisier, so it must move further (1.5x) to count.
            if abs(fast / reference - 1.0) > 1.5 * self.cadence_jump_frac:
                self._fast_jump_run += 1
            else:
                self._fast_jump_run = 0
        if self._fast_jump_run >= self.enter_after:
            self._fast_jump_run = 0
            return True
        if len(vals) < self.window_strides:
            return False
        return abs(statistics.median(vals) / reference - 1.0) > self.cadence_jump_frac

    def _band(self, metric: str) -> MetricBand | None:
        return self.coach_bands.get(metric) or self.baseline.get(metric)

    def _learn_sd(self, metric: str, band: MetricBand, dev: float) -> MetricBand:
        """Widen the baseline band to the runner's long-run SD about the baseline center.

        Stride values are long-range correlated (science.md, "Normal variability"), so the SD
        of a ~60-stride baseline underestimates how far the runner wanders over minutes; every
        stride judged outside a drift episode adds to the estimate (it only ever widens)."""
        track = self._tracks[metric]
        track.sum_sq += dev * dev
        track.n_sq += 1
        sd_long = math.sqrt(track.sum_sq / track.n_sq)
        if sd_long <= band.sd:
            return band
        band = MetricBand(metric, band.center, self.k_sd * sd_long, sd_long, band.source)
        self.baseline[metric] = band
        return band

    def _trend(self, devs: list[float]) -> tuple[float, float] | None:
        """(end, rise): the least-squares line through the last `trend_strides` deviations
        evaluated at the newest stride, and its rise over the median of the
        `reference_strides` strides before them (deg or spm). None until enough strides."""
        n, r = self.trend_strides, self.reference_strides
        if len(devs) < n + r:
            return None
        y = np.asarray(devs[-n:])
        x = np.arange(n) - (n - 1) / 2.0
        slope = float(np.dot(x, y - y.mean()) / np.dot(x, x))
        end = float(y.mean()) + slope * (n - 1) / 2.0
        return end, end - float(np.median(devs[-n - r:-n]))

    def _judge(self, metric: str, band: MetricBand) -> MetricJudgement | None:
        track = self._tracks[metric]
        if len(track.values) < self.fast_strides:
            return None
        circular = METRICS[metric][1]
        devs = [(_wrap180(v - band.center) if circular else v - band.center)
                for v in track.values]
        if self.learn_sd and band.source == "baseline" and not track.drifting \
                and track.out_run == 0:
            band = self._learn_sd(metric, band, devs[-1])
        dev_w = float(statistics.median(devs[-self.window_strides:]))
        dev_f = float(statistics.median(devs[-self.fast_strides:]))
        fast_half = band.half_width + (self.k_fast_sd - self.k_sd) * band.sd
        out_w = abs(dev_w) > band.half_width
        out_f = abs(dev_f) > fast_half
        # A change faster than the runner's slow wander: the line through the last strides
        # is past the band edge and has risen `k_trend_sd` SDs above where the runner just
        # was. It sees a ramp as it crosses the edge, where the medians lag behind it.
        trend = self._trend(devs)
        out_t = (trend is not None and abs(trend[0]) > band.half_width
                 and abs(dev_f) > band.half_width - self.leave_margin_sd * band.sd
                 and trend[0] * trend[1] > 0 and abs(trend[1]) > self.k_trend_sd * band.sd)
        out = out_w or out_f or out_t
        if track.drifting and not out:
            out = abs(dev_w) > band.half_width - self.leave_margin_sd * band.sd
        if out_w or not (out_f or out_t):
            dev = dev_w
        elif out_f:
            dev = dev_f
        else:
            assert trend is not None            # out_t needs one
            dev = trend[0]
        beyond = max(0.0, abs(dev) - band.half_width)
        if out:
            track.out_run += 1
            track.in_run = 0
            if not track.drifting and track.out_run >= self.enter_after:
                track.drifting = True
                self.episodes += 1
        else:
            track.in_run += 1
            track.out_run = 0
            if track.drifting and track.in_run >= self.leave_after:
                track.drifting = False
        value = (band.center + dev) % 360.0 if circular else band.center + dev
        return MetricJudgement(metric, value, dev, dev / band.sd, beyond, out, track.drifting)

    @staticmethod
    def _direction(metric: str, band: MetricBand, dev: float) -> DriftDirection:
        if metric == "rel_phase":
            # In-phase (0 deg) means thorax and pelvis turn together: counter-rotation lost.
            now = abs(_wrap180(band.center + dev))
            return DriftDirection.COUNTER_ROTATION_LOST if now < abs(_wrap180(band.center)) \
                else DriftDirection.MORE_ANTI_PHASE
        if metric == "thorax_phase":
            return DriftDirection.THORAX_LATE if dev > 0 else DriftDirection.THORAX_EARLY
        if metric == "pelvis_phase":
            return DriftDirection.PELVIS_LATE if dev > 0 else DriftDirection.PELVIS_EARLY
        return DriftDirection.CADENCE_HIGH if dev > 0 else DriftDirection.CADENCE_LOW

    def _verdict(self, state: DriftState, judge: bool, t_s: float | None = None) -> DriftVerdict:
        progress = 1.0 if self.baseline else 0.0
        if state == DriftState.BUILDING_BASELINE:
            progress = min(1.0, self._collected / self.baseline_strides)
        suppressed_for_s = 0.0
        if state == DriftState.SUPPRESSED and t_s is not None:
            suppressed_for_s = max(0.0, self._suppress_until_s - t_s)
        judgements: dict[str, MetricJudgement] = {}
        if judge:
            for metric in METRICS:
                if metric not in self.judged_metrics and metric not in self.coach_bands:
                    continue
                band = self._band(metric)
                # While building, only a coach's absolute band can be judged.
                if band is None or (state == DriftState.BUILDING_BASELINE
                                    and band.source != "coach"):
                    continue
                j = self._judge(metric, band)
                if j is not None:
                    judgements[metric] = j
            self._last = judgements
        elif state in (DriftState.IN_BAND, DriftState.BUILDING_BASELINE):
            # An unusable stride (gap, missed step) leaves every judgement as it was.
            judgements = dict(self._last)
        else:
            self._last = {}
        bands = {**self.baseline, **self.coach_bands}
        drifting = tuple(m for m in METRICS if m in judgements and judgements[m].drifting)
        if not drifting:
            return DriftVerdict(state, progress, drifting_metrics=(),
                                suppressed_for_s=suppressed_for_s, judgements=judgements,
                                bands=bands)
        metric = drifting[0]
        j = judgements[metric]
        band = self._band(metric)
        assert band is not None                 # a metric drifts only against a band
        return DriftVerdict(DriftState.DRIFTING, progress, metric=metric,
                            direction=self._direction(metric, band, j.deviation),
                            unit=METRICS[metric][2], deviation=j.deviation,
                            deviation_sd=j.deviation_sd, beyond_band=j.beyond_band,
                            drifting_metrics=drifting, judgements=judgements, bands=bands)
