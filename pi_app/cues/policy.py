"""When to cue: bandwidth feedback, error scaling, a faded schedule, a minimum interval.

science.md ("Feedback"): good feedback is silent inside the runner's band (bandwidth feedback),
scaled to the size of the error, and faded over time so the runner does not come to depend on
it; constant concurrent feedback builds dependence. The policy is pure logic on sample-clock
times: the engine plays what it decides.
"""

from __future__ import annotations

import math

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.cues.patterns import cue_kind
from pi_app.records import UNRELIABLE_QUALITY, CueEvent, CueMode

MODES = tuple(CueMode)
#: Default faded schedule: (seconds since the session's first decision, fraction of eligible
#: strides cued): 100 % for 5 min, 50 % up to 10 min, then 25 %.
DEFAULT_FADE_SCHEDULE: tuple[tuple[float, float], ...] = ((0.0, 1.0), (300.0, 0.5),
                                                          (600.0, 0.25))


class CuePolicy:
    """Decides, per stride, whether a cue plays.

    mode: a `CueMode`: bandwidth (every eligible drifting stride), faded (a deterministic
    fraction of them from `fade_schedule`) or off (never; decisions are still logged as
    withheld).
    min_interval_s: no two cue opportunities closer than this (s, sample clock).
    fade_schedule: ((after_s, fraction), ...) with after_s counted from `start_session`
    (default: the first decision) and fraction 1, 1/2, 1/4, ... : fraction 1/n plays the 1st
    of every n eligible strides ("every 2nd / 4th", never random). A withheld faded stride
    uses up its opportunity, so the minimum interval also runs from it.
    full_scale_sd: how far beyond the band edge, in the runner's SDs, gives intensity 1.
    min_intensity: intensity of a drifting stride at the band edge (0..1).

    `decide` returns None when nothing is to be said (in band, warmup, building the
    baseline, suppressed after a speed change, unreliable stride) and a CueEvent otherwise:
    played, or withheld with the reason.
    """

    def __init__(self, mode: CueMode | str = CueMode.BANDWIDTH, min_interval_s: float = 3.0,
                 fade_schedule=DEFAULT_FADE_SCHEDULE, full_scale_sd: float = 3.0,
                 min_intensity: float = 0.2):
        self.set_mode(mode)
        if min_interval_s < 0:
            raise ValueError("min_interval_s must be >= 0")
        if full_scale_sd <= 0 or not 0.0 <= min_intensity <= 1.0:
            raise ValueError("need full_scale_sd > 0 and 0 <= min_intensity <= 1")
        self.min_interval_s = float(min_interval_s)
        self.full_scale_sd = float(full_scale_sd)
        self.min_intensity = float(min_intensity)
        self.set_fade_schedule(fade_schedule)
        self.muted = False
        self._session_start_s: float | None = None
        self._last_opportunity_s = -math.inf
        self._stage = -1
        self._eligible_in_stage = 0

    # -- coach controls --------------------------------------------------------------------
    def set_mode(self, mode: CueMode | str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown cue mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = CueMode(mode)

    def set_fade_schedule(self, schedule) -> None:
        """Replace the faded schedule ((after_s, fraction), ...); fractions in (0, 1]."""
        stages = sorted((float(t), float(f)) for t, f in schedule)
        if not stages or stages[0][0] > 0.0:
            raise ValueError("the fade schedule must start at after_s = 0")
        for _, fraction in stages:
            if not 0.0 < fraction <= 1.0:
                raise ValueError("fade fractions must be in (0, 1]")
        self.fade_schedule = tuple(stages)
        self._stage = -1

    def start_session(self, t_s: float) -> None:
        """Start the faded schedule's clock at sample-clock time t_s (s)."""
        self._session_start_s = float(t_s)
        self._stage = -1

    # -- decisions -------------------------------------------------------------------------
    def intensity(self, verdict: DriftVerdict) -> float:
        """Error-scaled intensity 0..1: min_intensity at the band edge, 1 at full_scale_sd
        runner SDs beyond it."""
        beyond_sd = 0.0
        if verdict.beyond_band is not None and verdict.deviation and verdict.deviation_sd:
            sd = abs(verdict.deviation / verdict.deviation_sd)
            beyond_sd = verdict.beyond_band / sd
        scaled = self.min_intensity + (1.0 - self.min_intensity) * beyond_sd / self.full_scale_sd
        return float(min(1.0, max(self.min_intensity, scaled)))

    def fade_every_n(self, t_s: float) -> int:
        """n of "cue 1 of every n eligible strides" at time t_s (1 outside faded mode)."""
        if self.mode != CueMode.FADED:
            return 1
        return round(1.0 / self.fade_schedule[self._stage_at(t_s)][1])

    def _stage_at(self, t_s: float) -> int:
        start = self._session_start_s if self._session_start_s is not None else t_s
        elapsed = t_s - start
        stage = 0
        for i, (after_s, _) in enumerate(self.fade_schedule):
            if elapsed >= after_s:
                stage = i
        return stage

    def decide(self, stride: StrideMetrics, verdict: DriftVerdict,
               t_s: float) -> CueEvent | None:
        """The decision for one stride, made at sample-clock time t_s (s)."""
        if self._session_start_s is None:
            self._session_start_s = float(t_s)
        kind = cue_kind(verdict)
        if kind is None or stride.quality & UNRELIABLE_QUALITY:
            return None
        intensity = self.intensity(verdict)

        def withheld(reason: str) -> CueEvent:
            return CueEvent(t_s=t_s, kind=kind, intensity=intensity, played=False,
                            reason=reason)

        if self.mode == CueMode.OFF:
            return withheld("mode off")
        if self.muted:
            return withheld("muted")
        if t_s - self._last_opportunity_s < self.min_interval_s:
            return withheld("min interval")
        self._last_opportunity_s = float(t_s)
        if self.mode == CueMode.FADED:
            stage = self._stage_at(t_s)
            if stage != self._stage:
                self._stage, self._eligible_in_stage = stage, 0
            n = round(1.0 / self.fade_schedule[stage][1])
            k = self._eligible_in_stage % n
            self._eligible_in_stage += 1
            if k != 0:
                return withheld(f"faded: {k + 1} of {n}")
            reason = f"faded: 1 of {n}"
        else:
            reason = f"{verdict.direction}, {_size_text(verdict)}"
        return CueEvent(t_s=t_s, kind=kind, intensity=intensity, played=True, reason=reason)


def _size_text(verdict: DriftVerdict) -> str:
    if verdict.deviation_sd is None:
        return "drifting"
    return f"{abs(verdict.deviation_sd):.1f} SD"
