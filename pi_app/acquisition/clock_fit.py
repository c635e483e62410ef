"""Sample times from FIFO frame counts: each chip's real sample period, fitted against the
monotonic clock.

A chip's oscillator is off by a fraction of a percent (MEMS parts are specified to a few
tenths of a percent up to ~1 %), and Python reads the FIFO whenever the scheduler lets it, so
neither "nominal period" nor "read time" gives usable sample times. What we do know at every
drain is (cumulative frame count K, read time t_read): frame K was sampled less than one period
before the FIFO count was read. So t_read = t0 + K * period + d, with d = quantisation
(uniform in [0, period)) + read latency. A line fitted through these points gives the period
(its slope) and the anchor; every frame k then gets t0 + k * period.

The fit is a least-squares line with exponential forgetting (it follows slow oscillator drift
with temperature), a prior on the slope (the nominal rate, later the previous segment's fit) so
the first drains are sensible, a gate that rejects read-jitter outliers, and a re-anchor after a
gap (FIFO overflow, reconnect) when the frame count lost its meaning. A run of rejected points
means frames were lost without anyone saying so: the fit re-anchors and reports a time step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

_X = TypeVar("_X", float, np.ndarray)


@dataclass
class FitUpdate:
    """Times for the frames of one drain: `t_s` (n,) seconds on the monotonic clock, strictly
    increasing across updates; `step` is True when the fit detected lost frames (a run of
    observations off the line) and re-anchored before this drain."""

    t_s: np.ndarray
    step: bool = False


class SampleClockFit:
    """Running fit of one chip's sample clock.

    nominal_rate_hz: configured output data rate. memory_s: forgetting time constant of the
    fit. prior_rate_error: how far (fraction) the true rate may plausibly be from nominal, the
    width of the slope prior. max_rate_error: hard clamp on the fitted rate (fraction).
    min_gate_s: outlier gate floor in seconds. max_rejected: consecutive rejected drains that
    count as a time step.
    """

    # Per-segment state (set by _reset_segment, which __init__ calls).
    _k_total: int
    _n_obs: int
    _rejected: int
    _x_ref: float
    _t_ref: float
    _last_read_s: float | None

    def __init__(self, nominal_rate_hz: float, memory_s: float = 30.0,
                 prior_rate_error: float = 0.01, max_rate_error: float = 0.05,
                 min_gate_s: float = 0.002, max_rejected: int = 6):
        if nominal_rate_hz <= 0:
            raise ValueError("nominal_rate_hz must be > 0")
        self.nominal_period_s = 1.0 / float(nominal_rate_hz)
        self.memory_s = float(memory_s)
        self.prior_rate_error = float(prior_rate_error)
        self.max_rate_error = float(max_rate_error)
        self.min_gate_s = float(min_gate_s)
        self.max_rejected = int(max_rejected)
        # Typical |residual| (s): starts at half a period plus 1 ms of read latency.
        self._scale_s = 0.5 * self.nominal_period_s + 0.001
        self._prior_period_s = self.nominal_period_s
        self._prior_weight = self._slope_prior_weight(self.prior_rate_error)
        self._period_s = self.nominal_period_s
        self._last_t_s = -math.inf
        self.reanchors = 0
        self._reset_segment()

    # -- public -------------------------------------------------------------------------------
    @property
    def period_s(self) -> float:
        """Fitted sample period, seconds."""
        return self._period_s

    @property
    def effective_rate_hz(self) -> float:
        """Fitted true output rate of the chip, Hz."""
        return 1.0 / self._period_s

    @property
    def observations(self) -> int:
        """Drains accepted into the current segment's fit."""
        return self._n_obs

    def reanchor(self) -> None:
        """Frames were lost (overflow, reconnect, FIFO reset): the frame count restarts at 0.
        The fitted period is kept (same oscillator) as the prior of the next segment."""
        if self._n_obs >= 2:
            spread = self._sxx - self._sx * self._sx / self._s0
            # What this segment learned about the slope carries over as prior weight.
            self._prior_weight = min(self._prior_weight + max(spread, 0.0),
                                     self._slope_prior_weight(1e-5))
            self._prior_period_s = self._period_s
        self.reanchors += 1
        self._reset_segment()

    def update(self, n_frames: int, t_read_s: float) -> FitUpdate:
        """Add one drain: `n_frames` new frames were read; `t_read_s` is the monotonic time
        (s) taken just before the FIFO count was read. Returns the times of those frames."""
        n_frames = int(n_frames)
        step = False
        if n_frames <= 0:
            return FitUpdate(np.zeros(0), False)
        k_end = self._k_total + n_frames
        if self._n_obs >= 3:
            residual_s = (t_read_s - self._t_ref) - self._line(k_end - self._x_ref)
            gate_s = max(5.0 * self._scale_s, 1.5 * self._period_s, self.min_gate_s)
            if abs(residual_s) > gate_s:
                self._rejected += 1
                if self._rejected < self.max_rejected:
                    first_k = self._k_total + 1
                    self._k_total = k_end
                    return FitUpdate(self._emit(first_k, n_frames), False)
                # Consistently off the line: frames went missing (or appeared) unseen.
                self.reanchor()
                step = True
                k_end = n_frames
            else:
                self._rejected = 0
                self._scale_s += 0.05 * (abs(residual_s) - self._scale_s)
        self._add(k_end, t_read_s)
        return FitUpdate(self._emit(k_end - n_frames + 1, n_frames), step)

    # -- internals ----------------------------------------------------------------------------
    def _slope_prior_weight(self, rate_error: float) -> float:
        # Ratio of observation variance to slope variance (frames^2): a Gaussian prior on the
        # slope with sigma = rate_error * period, observations with sigma = typical residual.
        sigma_slope = max(rate_error, 1e-9) * self.nominal_period_s
        return (self._scale_s / sigma_slope) ** 2

    def _reset_segment(self) -> None:
        self._k_total = 0           # frames handed out in this segment
        self._n_obs = 0
        self._rejected = 0
        self._x_ref = 0.0           # reference frame count and time of the centred sums
        self._t_ref = 0.0
        self._last_read_s = None
        self._s0 = self._sx = self._st = self._sxx = self._sxt = 0.0
        self._offset_s = 0.0        # line: t - t_ref = offset + period * (k - x_ref)

    def _line(self, x: _X) -> _X:
        return self._offset_s + self._period_s * x

    def _recentre(self, x_ref: float, t_ref: float) -> None:
        dx, dt = x_ref - self._x_ref, t_ref - self._t_ref
        s0, sx, st = self._s0, self._sx, self._st
        self._sxx = self._sxx - 2.0 * dx * sx + dx * dx * s0
        self._sxt = self._sxt - dt * sx - dx * st + dx * dt * s0
        self._sx = sx - dx * s0
        self._st = st - dt * s0
        self._offset_s = self._offset_s + self._period_s * dx - dt
        self._x_ref, self._t_ref = x_ref, t_ref

    def _add(self, k_end: int, t_read_s: float) -> None:
        if self._n_obs == 0:
            self._x_ref, self._t_ref = float(k_end), float(t_read_s)
            self._offset_s = 0.0
        else:
            self._recentre(float(k_end), float(t_read_s))
            assert self._last_read_s is not None     # set by the first observation
            decay = math.exp(-max(t_read_s - self._last_read_s, 0.0) / self.memory_s)
            self._s0 *= decay
            self._sx *= decay
            self._st *= decay
            self._sxx *= decay
            self._sxt *= decay
        # The new point sits at the reference: x = 0, t = 0.
        self._s0 += 1.0
        self._last_read_s = float(t_read_s)
        self._n_obs += 1
        self._k_total = k_end
        self._solve()

    def _solve(self) -> None:
        mu = self._prior_weight
        a11, a12, a22 = self._s0, self._sx, self._sxx + mu
        r1, r2 = self._st, self._sxt + mu * self._prior_period_s
        det = a11 * a22 - a12 * a12
        period_s = (a11 * r2 - a12 * r1) / det if det > 0 else self._prior_period_s
        lo = self.nominal_period_s / (1.0 + self.max_rate_error)
        hi = self.nominal_period_s / (1.0 - self.max_rate_error)
        self._period_s = min(max(period_s, lo), hi)
        self._offset_s = (self._st - self._period_s * self._sx) / self._s0

    def _emit(self, first_k: int, n_frames: int) -> np.ndarray:
        """Times of frames first_k .. first_k + n_frames - 1 of this segment."""
        k = np.arange(first_k, first_k + n_frames, dtype=np.float64)
        # The line runs through the read times, which trail the last frame's sampling instant by
        # half a period on average (the count is read at a uniformly random moment of a period).
        t = self._t_ref + self._line(k - self._x_ref) - 0.5 * self._period_s
        # Never go back in time when the fit moves: stay at least half a period past the last
        # sample handed out.
        floor = self._last_t_s + 0.5 * self._period_s * np.arange(1, n_frames + 1)
        t = np.maximum(t, floor)
        self._last_t_s = float(t[-1])
        return t
