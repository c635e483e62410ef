"""Which foot struck: right or left, from the thorax axial rotation.

The thorax is the signal that is consistent between runners: at a right strike the right
shoulder is back, i.e. the thorax is turned clockwise seen from above (theta below its stride
mean), and it turns furthest left near the left strike (thorax phase 142-167 deg in all 40
Hamner & Delp 2013 trials, ../shared/data/README.md). The pelvis is not consistent (its phase
spreads over 120-320 deg between runners, so the sign of pelvis yaw at a strike says R for some
runners and L for others); without a thorax signal the side is left empty ("").

Evidence per strike: theta(t_strike) minus the mean theta over one stride (two step intervals)
ending at the strike - or, for the first strikes, the first stride of data. Negative = R.
The first strike after standing or a pause has no running stride before it (and the first
strides of a run ramp up), so its side waits for the evidence of the strikes that follow
(`lookahead_strikes`), by alternation.
Strikes alternate, so the decision combines the evidence of the last `window_strikes` strikes of
an unbroken alternating chain with alternating signs; a step interval far from the recent
median (a missed or an extra strike) breaks the chain, since parity is unknown across it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pi_app.analysis.types import Step


# Longest time step (s) within which theta is integrated (AxialRotation's gap_s).
_MAX_STEP_S = 0.1


class SideDetector:
    """Streaming R/L labelling of strikes from the thorax theta (deg, + = toward the left).

    window_strikes: strikes of the current alternating chain whose evidence is combined.
    max_interval_ratio / min_interval_ratio: a step interval outside these multiples of the
        recent median step interval breaks the alternation chain.
    median_steps: how many recent step intervals give the median step interval.
    lookahead_strikes: how many following strikes (from the second on, whose stride lies
        wholly in the run) decide the side of a strike that starts a run.
    """

    def __init__(self, *, window_strikes: int = 6, max_interval_ratio: float = 1.5,
                 min_interval_ratio: float = 0.6, median_steps: int = 8,
                 lookahead_strikes: int = 1):
        self.window_strikes = int(window_strikes)
        self.max_interval_ratio = float(max_interval_ratio)
        self.min_interval_ratio = float(min_interval_ratio)
        self.median_steps = int(median_steps)
        self.lookahead_strikes = int(lookahead_strikes)
        self._t = np.empty(0)
        self._theta = np.empty(0)
        self._t_first: float | None = None
        self._pending: list[float] = []
        self._strikes: list[float] = []          # all strike times seen (decided + pending)
        self._chain: list[float] = []            # evidence of the current chain, oldest first
        self._last_decided_t: float | None = None
        self._has_thorax: bool | None = None

    def update(self, t_s: np.ndarray, thorax_theta_deg: np.ndarray | None,
               strike_t_s: Sequence[float] = ()) -> list[Step]:
        """Add theta samples (t_s s, thorax_theta_deg deg or None without a thorax sensor) and new
        strike times (s, increasing). Returns the strikes whose side was decided in this call."""
        t_s = np.asarray(t_s, dtype=float)
        if thorax_theta_deg is None:
            self._has_thorax = False if self._has_thorax is None else self._has_thorax
        else:
            self._has_thorax = True
            if t_s.size:
                if self._t_first is None:
                    self._t_first = float(t_s[0])
                self._t = np.concatenate([self._t, t_s])
                self._theta = np.concatenate([self._theta, np.asarray(thorax_theta_deg, float)])
        for t in strike_t_s:
            self._pending.append(float(t))
            self._strikes.append(float(t))
        if not self._has_thorax:
            out = [Step(t, "") for t in self._pending]
            self._pending = []
            self._strikes = self._strikes[-(self.median_steps + 1):]
            return out
        out = []
        while self._pending:
            step = self._decide(self._pending[0], final=False)
            if step is None:
                break
            out.append(step)
            self._pending.pop(0)
        self._trim()
        return out

    def finish(self) -> list[Step]:
        """At the end of a recording: decide the remaining strikes with the data there is."""
        out = []
        while self._pending:
            step = self._decide(self._pending[0], final=True)
            out.append(step if step is not None else Step(self._pending[0], ""))
            self._pending.pop(0)
        return out

    def _median_step_s(self) -> float | None:
        times = np.asarray(self._strikes[-(self.median_steps + 1):])
        if times.size < 2:
            return None
        return float(np.median(np.diff(times)))

    def _decide(self, t_k: float, *, final: bool) -> Step | None:
        if self._has_thorax is False:
            return Step(t_k, "")
        step_s = self._median_step_s()
        if step_s is None:
            return Step(t_k, "") if final else None
        if self._t_first is None or self._t.size == 0:
            return Step(t_k, "") if final else None
        stride_s = 2.0 * step_s
        w0 = max(self._t_first, t_k - stride_s)
        w1 = w0 + stride_s
        t_last = float(self._t[-1])
        if w0 > self._t_first and self._starts_run(t_k, step_s):
            evidence = self._lookahead_evidence(t_k, stride_s, t_last, final)
            if evidence is None:
                return None
            if np.isfinite(evidence):
                self._chain = []
                return self._vote(t_k, evidence)
            # No usable strike after it: judge it like any other strike.
        if t_last < max(w1, t_k):
            if not final:
                return None
            w1 = t_last
        evidence = self._evidence(t_k, w0, w1)
        if not np.isfinite(evidence) and w0 < t_k:
            # The stride before this strike has a gap (e.g. the first strike after a sensor
            # came back): take the mean over the stride after it instead.
            if t_last < t_k + stride_s and not final:
                return None
            evidence = self._evidence(t_k, t_k, min(t_k + stride_s, t_last))
        if self._last_decided_t is not None:
            interval = t_k - self._last_decided_t
            if not (self.min_interval_ratio * step_s <= interval <= self.max_interval_ratio * step_s):
                self._chain = []
        return self._vote(t_k, evidence)

    def _vote(self, t_k: float, evidence: float) -> Step:
        self._chain.append(evidence)
        self._chain = self._chain[-self.window_strikes:]
        self._last_decided_t = t_k
        # The newest strike has sign +1, the one before -1, ...: a sum < 0 means "this is R".
        signs = (-1.0) ** np.arange(len(self._chain))[::-1]
        vote = float(np.nansum(signs * np.asarray(self._chain)))
        side = "R" if vote < 0 else "L" if vote > 0 else ""
        return Step(t_k, side)

    def _starts_run(self, t_k: float, step_s: float) -> bool:
        """True when no strike came within `max_interval_ratio` step intervals before t_k."""
        before = [t for t in self._strikes if t < t_k]
        return not before or t_k - before[-1] > self.max_interval_ratio * step_s

    def _lookahead_evidence(self, t_k: float, stride_s: float, t_last: float,
                            final: bool) -> float | None:
        """Evidence for a strike that starts a run, from the strikes after it: strike k + j has
        the same side as strike k for even j. None = wait for more strikes or data."""
        after = [t for t in self._strikes if t > t_k]
        # An alternating chain only while the intervals stay near the step time.
        chain = [t_k]
        for t in after:
            interval = t - chain[-1]
            if not (self.min_interval_ratio * stride_s / 2 <= interval
                    <= self.max_interval_ratio * stride_s / 2):
                break
            chain.append(t)
        broken = len(chain) - 1 < len(after)      # a strike after the chain broke it
        wanted = chain[2:2 + self.lookahead_strikes]
        if not (final or broken) and (len(wanted) < self.lookahead_strikes
                                      or t_last < wanted[-1]):
            return None
        total, used = 0.0, 0
        for j, t_j in enumerate(wanted, start=2):
            e = self._evidence(t_j, t_j - stride_s, t_j)
            if np.isfinite(e):
                total += e if j % 2 == 0 else -e
                used += 1
        return total if used else float("nan")

    def _evidence(self, t_k: float, w0: float, w1: float) -> float:
        inside = (self._t >= w0) & (self._t <= w1)
        window = self._theta[inside]
        if window.size < 3 or not np.all(np.isfinite(window)):
            return float("nan")
        # Missing rows: theta is not integrated across a long time step, so its level after
        # the gap is unknown relative to before; such a window says nothing.
        t_in = self._t[inside]
        if (float(np.max(np.diff(t_in))) > _MAX_STEP_S or t_in[0] - w0 > _MAX_STEP_S
                or w1 - t_in[-1] > _MAX_STEP_S):
            return float("nan")
        at = float(np.interp(t_k, self._t, self._theta))
        if not np.isfinite(at):
            return float("nan")
        return at - float(window.mean())

    def _trim(self) -> None:
        self._strikes = self._strikes[-(self.median_steps + 1 + len(self._pending)):]
        if self._t.size == 0:
            return
        # Keep what the oldest undecided strike can still need: a stride (< 2.5 s) before it.
        keep_from = (self._pending[0] if self._pending else float(self._t[-1])) - 3.0
        cut = int(np.searchsorted(self._t, keep_from))
        if cut > 0:
            self._t = self._t[cut:]
            self._theta = self._theta[cut:]
