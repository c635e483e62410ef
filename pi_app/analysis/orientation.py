"""Per-sensor orientation while running: the vertical in sensor axes and the axial rate.

The sensor may be mounted in any orientation, so the vertical comes from gravity. Each sensor
gets one `OrientationEstimator`, which reports, per sample,

- `up` : the unit vector pointing up (against gravity) in sensor axes, and
- `axial_rate_dps` : the angular rate about that vertical in deg/s, positive = counter-clockwise
  seen from above (turning toward the runner's left), with the calibration's gyro bias removed
  (a residual bias only makes theta ramp; `rotation.py` and `strides.py` remove that ramp).

Method: `up` is the direction of the specific force averaged over several strides (first-order
low-pass, time constant `tau_s`), initialised from a calibration's gravity direction or from
the mean over the first `init_s` seconds. A runner on a treadmill does not accelerate on
average, so the mean specific force is gravity's reaction; the segment's tilt oscillates only a
few degrees about it, and the gyro is projected on that mean vertical.

Why not the x-io Fusion AHRS (imufusion 1.3) that DESIGN.md names: while running the
accelerometer is 2-3 g away from gravity most of the time, so with acceleration rejection Fusion
integrates the gyro almost alone and a 1 deg/s gyro bias tilts its vertical without bound.
Measured, truth strikes, per-stride bias removal as in `strides.py`:

| method | synthetic 60 s runs, 1 dps bias: phase err mean / max | hamner2013 pelvis / thorax phase CMAE |
| --- | --- | --- |
| Fusion, gain 0.5, rejection 10 deg, timeout 5 s | 32 / 180 deg | 2.8 / 2.0 deg |
| same, gyro bias from a 10 s mean of the gyro | 20 / 156 deg | 3.0 / 2.3 deg |
| mean specific force (this module) | 0.3 / 1.0 deg | 3.1 / 1.7 deg |

On the 4-5 s hamner trials the AHRS has no time to drift; over a real session it does. Samples
of the first `init_s` window are returned once it is complete (a one-off start latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pi_app.analysis.recurrence import linear_scan


class OrientationCalibration(Protocol):
    """What a standing calibration measured for one sensor; `pi_app.analysis.calibration.
    SensorCalibration` fits.

    gyro_bias_dps: (3,) gyro offset in deg/s, sensor axes.
    gravity_unit: (3,) unit vector pointing up at rest, sensor axes, or None (then the initial
        vertical comes from the running data).
    """

    gyro_bias_dps: Sequence[float]
    gravity_unit: Sequence[float] | None


@dataclass
class OrientationSamples:
    """Output of `OrientationEstimator.update` for the samples it could finish.

    t_s: (n,) s; up: (n, 3) unit up vector in sensor axes; axial_rate_dps: (n,) deg/s about up,
    bias removed. Gap samples (NaN input) give NaN rows.
    """

    t_s: np.ndarray
    up: np.ndarray
    axial_rate_dps: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


class OrientationEstimator:
    """Streaming vertical and axial rate for one IMU (see module docstring).

    calibration: gyro bias (subtracted) and gravity direction (initial vertical), or None.
    init_s: seconds of data averaged for the initial vertical when there is no calibration.
    tau_s: time constant (s) of the specific-force average that tracks the vertical; several
        strides long, so the stride (~1.4 Hz) and step (~2.8 Hz) accelerations average out
        (first-order attenuation 1/(2 pi 1.4 Hz 4 s) = 3 % at the stride frequency).
    gap_s: a time step longer than this (or NaN input) is a gap and is not averaged over.
    """

    def __init__(self, *, calibration: OrientationCalibration | None = None, init_s: float = 1.0,
                 tau_s: float = 4.0, gap_s: float = 0.1):
        self.calibration = calibration
        self.init_s = float(init_s)
        self.tau_s = float(tau_s)
        self.gap_s = float(gap_s)
        self._mean_acc_g: np.ndarray | None = None
        self._bias_dps = (np.zeros(3) if calibration is None
                          else np.asarray(calibration.gyro_bias_dps, dtype=float).reshape(3))
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._last_t_s: float | None = None

    @property
    def vertical_unit(self) -> np.ndarray | None:
        """The current vertical (gravity direction) in sensor axes, unit length; None until
        started. Which way up the sensor is strapped: the mounting check of a baseline."""
        if self._mean_acc_g is None:
            return None
        return self._mean_acc_g / float(np.linalg.norm(self._mean_acc_g))

    @property
    def started(self) -> bool:
        """True once the vertical is initialised and samples flow through without delay."""
        return self._mean_acc_g is not None

    def update(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray) -> OrientationSamples:
        """Feed consecutive samples (t_s (n,) s, acc_g (n,3) g, gyro_dps (n,3) deg/s) and get
        back the samples finished so far (all of them once initialised)."""
        t_s = np.asarray(t_s, dtype=float)
        acc_g = np.asarray(acc_g, dtype=float).reshape(-1, 3)
        gyro_dps = np.asarray(gyro_dps, dtype=float).reshape(-1, 3)
        if self._mean_acc_g is None:
            self._pending.append((t_s, acc_g, gyro_dps))
            t_s = np.concatenate([p[0] for p in self._pending])
            acc_g = np.concatenate([p[1] for p in self._pending])
            gyro_dps = np.concatenate([p[2] for p in self._pending])
            if not self._try_start(t_s, acc_g):
                return OrientationSamples(np.empty(0), np.empty((0, 3)), np.empty(0))
            self._pending = []
        return self._run(t_s, acc_g, gyro_dps)

    def _try_start(self, t_s: np.ndarray, acc_g: np.ndarray) -> bool:
        cal_up = None if self.calibration is None else getattr(self.calibration, "gravity_unit", None)
        if cal_up is not None:
            up = np.asarray(cal_up, dtype=float).reshape(3)
        else:
            ok = np.flatnonzero(np.all(np.isfinite(acc_g), axis=1))
            if ok.size < 2 or t_s[ok[-1]] - t_s[ok[0]] < self.init_s:
                return False
            # Exactly the valid samples up to the first one init_s after the first, so the
            # initial vertical does not depend on how the stream is chunked.
            last = int(np.searchsorted(t_s[ok], t_s[ok[0]] + self.init_s))
            up = acc_g[ok[:last + 1]].mean(axis=0)
        norm = float(np.linalg.norm(up))
        if not np.isfinite(norm) or norm < 0.1:
            return False
        # Start at 1 g along the initial vertical: the average then moves only in direction.
        self._mean_acc_g = up / norm
        return True

    def _run(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray) -> OrientationSamples:
        n = t_s.shape[0]
        up_out = np.full((n, 3), np.nan)
        rate_out = np.full(n, np.nan)
        if n == 0:
            return OrientationSamples(t_s.copy(), up_out, rate_out)
        valid = np.isfinite(acc_g).all(axis=1) & np.isfinite(gyro_dps).all(axis=1)
        # Time of the previous sample when it was valid (a gap row resets it), else NaN.
        prev_t = np.empty(n)
        prev_t[0] = np.nan if self._last_t_s is None else self._last_t_s
        prev_t[1:] = np.where(valid[:-1], t_s[:-1], np.nan)
        dt = t_s - prev_t
        with np.errstate(invalid="ignore"):
            step = valid & (dt > 0.0) & (dt <= self.gap_s)
        alpha = np.where(step, np.minimum(1.0, np.where(step, dt, 0.0) / self.tau_s), 0.0)
        # mean += (a - mean) * alpha, as a linear recurrence over the samples.
        a = np.where(valid[:, None], acc_g, 0.0)
        mean = linear_scan(1.0 - alpha, alpha[:, None] * a, self._mean_acc_g)
        self._mean_acc_g = mean[-1].copy()
        self._last_t_s = float(t_s[-1]) if valid[-1] else None
        up = mean[valid] / np.linalg.norm(mean[valid], axis=1)[:, None]
        up_out[valid] = up
        rate_out[valid] = np.einsum("ij,ij->i", gyro_dps[valid] - self._bias_dps, up)
        return OrientationSamples(t_s.copy(), up_out, rate_out)
