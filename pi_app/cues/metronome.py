"""A step-locked metronome that nudges cadence toward a target.

science.md ("Feedback"): tempo changes of 1-3 % entrain cadence unnoticed (~4 % is noticed);
runners land slightly before the beat, so beats are scheduled ahead from predicted step
times rather than triggered by detected contacts (which the analysis only knows ~0.1-0.3 s
late). Each beat is placed one beat period (at the current tempo) after the previous one and
pulled part of the way toward the nearest predicted contact, by at most `max_correction_frac`
of a period: when tempo equals the runner's cadence the beats coincide with contacts; when
the tempo leads, the beats slide ahead slowly and smoothly instead of jumping.

The tempo starts at the runner's own cadence and moves toward the target by at most
`max_nudge_pct_per_min` % per minute, and never more than `max_lead_pct` % away from the
runner's measured cadence (a runner who does not follow is not dragged beyond what goes
unnoticed).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable

from pi_app.analysis.types import Step


class Metronome:
    """Pure beat scheduling on sample-clock time (s).

    target_spm: target cadence (steps/min). max_nudge_pct_per_min: tempo slew limit.
    max_lead_pct: tempo stays within this % of the runner's measured cadence.
    beat_offset_s: beat time relative to the predicted contact (0: on the contact).
    horizon_s: beats are scheduled this far ahead of `now_s` (must exceed the interval between
    `update` calls so no beat is ever decided late).
    history_steps: contacts used for the step period (median interval).
    phase_gain / max_correction_frac: pull toward the predicted contact per beat.
    stale_s: with no contact for this long the metronome free-runs at its tempo.
    """

    def __init__(self, target_spm: float, max_nudge_pct_per_min: float = 3.0,
                 max_lead_pct: float = 3.0, beat_offset_s: float = 0.0,
                 horizon_s: float = 0.25, history_steps: int = 9, phase_gain: float = 0.5,
                 max_correction_frac: float = 0.02, stale_s: float = 2.0):
        self.set_target(target_spm)
        self.max_nudge_pct_per_min = float(max_nudge_pct_per_min)
        self.max_lead_pct = float(max_lead_pct)
        self.beat_offset_s = float(beat_offset_s)
        self.horizon_s = float(horizon_s)
        self.phase_gain = float(phase_gain)
        self.max_correction_frac = float(max_correction_frac)
        self.stale_s = float(stale_s)
        self._contacts: deque[float] = deque(maxlen=max(3, int(history_steps)))
        self.tempo_spm: float | None = None
        self._last_update_s: float | None = None
        self._last_beat_s: float | None = None
        self.beats_s: list[float] = []

    def set_target(self, target_spm: float) -> None:
        if not 60.0 <= target_spm <= 240.0:
            raise ValueError("target cadence must be 60..240 steps/min")
        self.target_spm = float(target_spm)

    def on_steps(self, steps: Iterable[Step | float]) -> None:
        """Newly detected contacts (Step or t_s), oldest first."""
        for step in steps:
            t_s = float(step.t_s if isinstance(step, Step) else step)
            if not self._contacts or t_s > self._contacts[-1]:
                self._contacts.append(t_s)

    def step_period_s(self) -> float | None:
        """The runner's current step period (s): median of the recent contact intervals."""
        if len(self._contacts) < 3:
            return None
        c = list(self._contacts)
        return float(statistics.median(b - a for a, b in zip(c, c[1:])))

    def runner_cadence_spm(self) -> float | None:
        period = self.step_period_s()
        return None if period is None else 60.0 / period

    def _update_tempo(self, now_s: float) -> None:
        runner = self.runner_cadence_spm()
        if self.tempo_spm is None:
            self.tempo_spm = runner if runner is not None else self.target_spm
            self._last_update_s = now_s
            return
        assert self._last_update_s is not None      # set with the first tempo
        dt_s = max(0.0, now_s - self._last_update_s)
        self._last_update_s = now_s
        step = self.tempo_spm * self.max_nudge_pct_per_min / 100.0 * dt_s / 60.0
        goal = self.target_spm
        if runner is not None:
            lead = self.max_lead_pct / 100.0
            goal = min(max(goal, runner * (1.0 - lead)), runner * (1.0 + lead))
        self.tempo_spm += min(step, max(-step, goal - self.tempo_spm))

    def _predicted_contact_near(self, t_s: float, now_s: float) -> float | None:
        period = self.step_period_s()
        if period is None or now_s - self._contacts[-1] > self.stale_s + period:
            return None
        last = self._contacts[-1]
        k = round((t_s - last) / period)
        return last + k * period

    def update(self, now_s: float) -> list[float]:
        """Move the tempo to now_s and return the new beats (s) up to now_s + horizon_s."""
        self._update_tempo(now_s)
        assert self.tempo_spm is not None           # _update_tempo always sets one
        period_s = 60.0 / self.tempo_spm
        new: list[float] = []
        while True:
            if self._last_beat_s is None:
                contact = self._predicted_contact_near(now_s + self.horizon_s, now_s)
                beat = (contact + self.beat_offset_s) if contact is not None else \
                    now_s + self.horizon_s
                while beat <= now_s:
                    beat += period_s
            else:
                nominal = self._last_beat_s + period_s
                contact = self._predicted_contact_near(nominal - self.beat_offset_s, now_s)
                beat = nominal
                if contact is not None:
                    error_s = contact + self.beat_offset_s - nominal
                    limit_s = self.max_correction_frac * period_s
                    beat += min(limit_s, max(-limit_s, self.phase_gain * error_s))
                if beat <= now_s:
                    # The caller was away longer than the horizon: restart the grid ahead
                    # rather than emit a beat in the past.
                    beat += period_s * math.ceil((now_s - beat) / period_s + 1e-9)
            if beat > now_s + self.horizon_s:
                break
            new.append(beat)
            self._last_beat_s = beat
        self.beats_s.extend(new)
        return new

    def reset(self) -> None:
        """Forget the beat grid and tempo (start afresh at the runner's cadence)."""
        self.tempo_spm = None
        self._last_beat_s = None
        self._last_update_s = None
