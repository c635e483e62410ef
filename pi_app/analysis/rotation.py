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
        w_hp = 2.0 * np.pi * self.highpass_hz
        for k in range(n):
            r = rate[k]
            if not np.isfinite(r):
                self._last_t_s = None
                self._last_rate_dps = None
                continue
            if self._last_t_s is not None:
                dt = t_s[k] - self._last_t_s
                if 0.0 < dt <= self.gap_s:
                    mean_rate = 0.5 * (r + self._last_rate_dps)
                    self._theta_deg += mean_rate * dt
                    # Mean-rate tracker warms up as a plain running mean, then exponential.
                    self._n_rate += 1
                    alpha = max(1.0 / self._n_rate, dt / self.bias_tau_s)
                    self._mean_rate_dps += alpha * (mean_rate - self._mean_rate_dps)
                    self._live_deg += (mean_rate - self._mean_rate_dps) * dt
                    self._live_deg -= w_hp * dt * self._live_deg
            self._last_t_s = float(t_s[k])
            self._last_rate_dps = float(r)
            theta[k] = self._theta_deg
            live[k] = self._live_deg
        return RotationSamples(t_s.copy(), theta, live)
