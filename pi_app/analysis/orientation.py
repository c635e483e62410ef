"""Per-sensor orientation while running: the vertical in sensor axes and the axial rate.

The sensor may be mounted in any orientation, so the vertical comes from gravity. Each sensor
gets one `OrientationEstimator`, which runs the x-io Fusion AHRS (imufusion 1.3) without a
magnetometer and reports, per sample,

- `up` : the unit vector pointing up (against gravity) in sensor axes, and
- `axial_rate_dps` : the angular rate about that vertical in deg/s, gyro bias removed,
  positive = counter-clockwise seen from above (turning toward the runner's left).

Why an AHRS rather than the mean specific force alone: the segment tilts by several degrees
each stride, and projecting the gyro on the instantaneous vertical rather than the mean one
gives segment phases closer to the motion-capture truth (hamner2013, truth strikes: pelvis
phase circular MAE 5.7 vs 6.0 deg, thorax 3.6 vs 3.8 deg). Running accelerations of 2-3 g make
the accelerometer a poor instantaneous gravity reference, so acceleration rejection is on: the
filter then mostly integrates the gyro between moments when the specific force agrees with
gravity, and recovers through the rejection timeout if it never does.

Initialisation: from a calibration (gyro bias and gravity direction measured standing still)
when one is given; otherwise from the mean specific force over the first `init_s` seconds of
data (a run has no standing period; over whole strides the mean specific force is gravity,
because the mean acceleration of a body that stays on the treadmill is zero). Samples of that
first window are returned once it is complete, so the start has a one-off latency of `init_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

import imufusion
import numpy as np


@dataclass(frozen=True)
class OrientationCalibration:
    """What a standing calibration measured for one sensor.

    gyro_bias_dps: (3,) gyro offset in deg/s, sensor axes.
    gravity_up: (3,) direction of the specific force at rest (points up), sensor axes, or None.
    """

    gyro_bias_dps: np.ndarray
    gravity_up: np.ndarray | None = None


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


def _quaternion_from_up(up: np.ndarray) -> np.ndarray:
    """Quaternion (w, x, y, z) of a sensor whose up vector is `up`, heading arbitrary."""
    up = up / np.linalg.norm(up)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(up, z)
    s = float(np.linalg.norm(axis))
    angle = float(np.arctan2(s, float(up @ z)))
    axis = axis / s if s > 1e-9 else np.array([1.0, 0.0, 0.0])
    return np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * axis])


class OrientationEstimator:
    """Streaming vertical and axial rate for one IMU (see module docstring).

    init_s: seconds of data averaged for the initial gravity direction when no calibration.
    gain: AHRS accelerometer gain (Fusion's default 0.5).
    acceleration_rejection_deg: Fusion rejects the accelerometer while its direction is further
        than this from the estimated gravity.
    rejection_timeout_s: after this long of continuous rejection Fusion re-trusts the
        accelerometer (recovery), bounding the tilt drift over an hour.
    gap_s: a time step longer than this (or NaN input) is a gap; integration uses the nominal
        period across it instead of the gap length.
    """

    def __init__(self, *, calibration: OrientationCalibration | None = None, init_s: float = 1.0,
                 gain: float = 0.5, acceleration_rejection_deg: float = 10.0,
                 rejection_timeout_s: float = 5.0, gap_s: float = 0.1):
        self.calibration = calibration
        self.init_s = float(init_s)
        self.gain = float(gain)
        self.acceleration_rejection_deg = float(acceleration_rejection_deg)
        self.rejection_timeout_s = float(rejection_timeout_s)
        self.gap_s = float(gap_s)
        self._ahrs: imufusion.Ahrs | None = None
        self._bias: imufusion.Bias | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._last_t_s: float | None = None
        self._period_s: float | None = None

    @property
    def started(self) -> bool:
        """True once the filter is initialised and samples flow through without delay."""
        return self._ahrs is not None

    def update(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray) -> OrientationSamples:
        """Feed consecutive samples (t_s (n,) s, acc_g (n,3) g, gyro_dps (n,3) deg/s) and get
        back the samples finished so far (all of them once initialised)."""
        t_s = np.asarray(t_s, dtype=float)
        acc_g = np.asarray(acc_g, dtype=float).reshape(-1, 3)
        gyro_dps = np.asarray(gyro_dps, dtype=float).reshape(-1, 3)
        if self._ahrs is None:
            self._pending.append((t_s, acc_g, gyro_dps))
            if not self._try_start():
                return OrientationSamples(np.empty(0), np.empty((0, 3)), np.empty(0))
            t_s = np.concatenate([p[0] for p in self._pending])
            acc_g = np.concatenate([p[1] for p in self._pending])
            gyro_dps = np.concatenate([p[2] for p in self._pending])
            self._pending = []
        return self._run(t_s, acc_g, gyro_dps)

    def _try_start(self) -> bool:
        t_s = np.concatenate([p[0] for p in self._pending])
        acc_g = np.concatenate([p[1] for p in self._pending])
        gyro_dps = np.concatenate([p[2] for p in self._pending])
        ok = np.all(np.isfinite(acc_g), axis=1) & np.all(np.isfinite(gyro_dps), axis=1)
        if ok.sum() < 2:
            return False
        steps = np.diff(t_s[ok])
        period_s = float(np.median(steps[steps > 0])) if np.any(steps > 0) else None
        cal = self.calibration
        if cal is not None and cal.gravity_up is not None:
            up = np.asarray(cal.gravity_up, dtype=float)
        else:
            if t_s[ok][-1] - t_s[ok][0] < self.init_s:
                return False
            up = acc_g[ok].mean(axis=0)
        if period_s is None or not np.all(np.isfinite(up)) or np.linalg.norm(up) < 0.1:
            return False
        self._start(up, period_s)
        return True

    def _start(self, up: np.ndarray, period_s: float) -> None:
        rate_hz = 1.0 / period_s
        self._period_s = period_s
        ahrs = imufusion.Ahrs()
        ahrs.set_settings(imufusion.AhrsSettings(
            sample_rate=rate_hz, convention=imufusion.CONVENTION_NWU, gain=self.gain,
            gyroscope_range=2000.0, acceleration_rejection=self.acceleration_rejection_deg,
            magnetic_rejection=0.0, rejection_timeout=int(round(self.rejection_timeout_s * rate_hz))))
        ahrs.set_quaternion(_quaternion_from_up(up))
        # The start-up phase uses a high gain that trusts the accelerometer; while running it
        # would tilt the estimate toward the momentary specific force, so skip it.
        ahrs.skip_startup()
        bias = imufusion.Bias()
        bias.set_settings(imufusion.BiasSettings(sample_rate=rate_hz))
        if self.calibration is not None:
            bias.set_offset(np.asarray(self.calibration.gyro_bias_dps, dtype=float))
        self._ahrs = ahrs
        self._bias = bias

    def _run(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray) -> OrientationSamples:
        n = t_s.shape[0]
        up_out = np.full((n, 3), np.nan)
        rate_out = np.full(n, np.nan)
        ahrs, bias = self._ahrs, self._bias
        nominal_s = self._period_s
        for k in range(n):
            a = acc_g[k]
            g = gyro_dps[k]
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(g))):
                self._last_t_s = None
                continue
            dt = nominal_s if self._last_t_s is None else t_s[k] - self._last_t_s
            if not (0.0 < dt <= self.gap_s):
                dt = nominal_s
            self._last_t_s = float(t_s[k])
            g = bias.update(g)
            ahrs.set_sample_period(dt)
            ahrs.update_no_magnetometer(g, a)
            up = ahrs.get_gravity()
            up = up / np.linalg.norm(up)
            up_out[k] = up
            rate_out[k] = float(g @ up)
        return OrientationSamples(t_s.copy(), up_out, rate_out)
