"""Axial rotation angle theta of a segment, streaming.

theta (deg) is the rotation about the vertical, positive counter-clockwise seen from above
(toward the runner's left): the time integral of the axial rate from `orientation.py`. For the
small tilt oscillations of pelvis and thorax in running, this integral tracks the yaw of the
segment's horizontally-forward axis (the spec's theta) closely: on hamner2013 with the truth
strikes the stride phases come within a few degrees of the motion-capture truth.

Two outputs per sample:

- `theta_deg`: the plain integral (trapezoidal, measured sample times). A residual gyro bias
  makes it ramp; `strides.StrideAnalyzer` removes that ramp with the mean axial rate over whole
  recent strides, and the stride mean, as the spec requires. Kept unfiltered so the
  stride-frequency phase is not distorted.
- `theta_live_deg`: for the live trace, the integral of the rate minus a slowly tracked mean rate
  (time constant `bias_tau_s`), passed through a first-order high-pass at `highpass_hz`
  (0.05 Hz: a phase lead of atan(0.05/1.4) = 2 deg at a 1.4 Hz stride frequency).

Gaps (NaN rate) give NaN theta for those samples; the integral resumes after the gap from its
last value (the rotation during the gap is unknown, so strides spanning a gap are flagged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pi_app.analysis.recurrence import linear_scan


@dataclass
class RotationSamples:
    """theta for consecutive samples: t_s (n,) s, theta_deg and theta_live_deg (n,) deg."""

    t_s: np.ndarray
    theta_deg: np.ndarray
    theta_live_deg: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


class AxialRotation:
    """Integrates one segment's axial rate (deg/s) into theta (deg), streaming.

    highpass_hz: corner of the live trace's high-pass; bias_tau_s: time constant of the live
    trace's mean-rate tracker; gap_s: longer time steps (or NaN samples) are not integrated over.
    """

    def __init__(self, *, highpass_hz: float = 0.05, bias_tau_s: float = 20.0, gap_s: float = 0.1):
        self.highpass_hz = float(highpass_hz)
        self.bias_tau_s = float(bias_tau_s)
        self.gap_s = float(gap_s)
        self._theta_deg = 0.0
        self._live_deg = 0.0
        self._mean_rate_dps = 0.0
        self._n_rate = 0
        self._last_t_s: float | None = None
        self._last_rate_dps: float | None = None

    def update(self, t_s: np.ndarray, axial_rate_dps: np.ndarray) -> RotationSamples:
        """Feed consecutive samples (t_s s, axial_rate_dps deg/s); returns theta for each."""
        t_s = np.asarray(t_s, dtype=float)
        rate = np.asarray(axial_rate_dps, dtype=float)
        n = t_s.shape[0]
        theta = np.full(n, np.nan)
        live = np.full(n, np.nan)
        if n == 0:
            return RotationSamples(t_s.copy(), theta, live)
        valid = np.isfinite(rate)
        # Previous sample's time and rate when it was valid (a NaN sample resets them).
        prev_t = np.empty(n)
        prev_r = np.empty(n)
        prev_t[0] = np.nan if self._last_t_s is None else self._last_t_s
        prev_r[0] = np.nan if self._last_rate_dps is None else self._last_rate_dps
        prev_t[1:] = np.where(valid[:-1], t_s[:-1], np.nan)
        prev_r[1:] = rate[:-1]
        dt = t_s - prev_t
        with np.errstate(invalid="ignore"):
            step = valid & (dt > 0.0) & (dt <= self.gap_s)
        dt = np.where(step, dt, 0.0)
        mean_rate = np.where(step, 0.5 * (rate + prev_r), 0.0)
        # Trapezoidal integral, summed in sample order from the carried value.
        increments = np.concatenate([[self._theta_deg], mean_rate * dt])
        integral = np.cumsum(increments)[1:]
        # Mean-rate tracker: a plain running mean while warming up, then exponential.
        n_rate = self._n_rate + np.cumsum(step)
        with np.errstate(divide="ignore"):
            alpha = np.where(step, np.maximum(1.0 / np.maximum(n_rate, 1), dt / self.bias_tau_s),
                             0.0)
        mean_dps = linear_scan(1.0 - alpha, alpha * mean_rate, self._mean_rate_dps)
        # live += (rate - mean) dt, then the first-order high-pass: live -= w dt live.
        keep = 1.0 - 2.0 * np.pi * self.highpass_hz * dt
        live_all = linear_scan(keep, keep * (mean_rate - mean_dps) * dt, self._live_deg)
        theta[valid] = integral[valid]
        live[valid] = live_all[valid]
        self._theta_deg = float(integral[-1])
        self._live_deg = float(live_all[-1])
        self._mean_rate_dps = float(mean_dps[-1])
        self._n_rate = int(n_rate[-1])
        self._last_t_s = float(t_s[-1]) if valid[-1] else None
        self._last_rate_dps = float(rate[-1]) if valid[-1] else None
        return RotationSamples(t_s.copy(), theta, live)
