"""Standing calibration: gyro bias and gravity direction per sensor from a still period.

The athlete stands still for a few seconds before running. Over that period the gyro reads
only its bias (the body does not turn) and the accelerometer reads only gravity's reaction,
which gives the sensor's "up" direction in its own axes and a check of the 1 g scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pi_app.analysis.stillness import StillnessDetector

# MPU-6050 PS 6.2 allows +-50 mg (X, Y) / +-80 mg (Z) zero-g offset and +-3 % sensitivity;
# the LSM6DS3 family +-40 mg and ~+-2 %. A norm further than this from 1 g means a wrong range
# setting or a damaged part, not ordinary offset.
ACC_NORM_TOL_G = 0.1

ROLES = ("pelvis", "thorax")


@dataclass(frozen=True)
class SensorCalibration:
    """What a still period tells about one sensor (all vectors in the sensor's own axes).

    gyro_bias_dps: mean gyro reading at rest, deg/s (subtract it from the gyro).
    gravity_unit: unit vector pointing up (the mean specific force, normalised).
    still_duration_s: length of the still period used, s.
    acc_norm_g: magnitude of the mean specific force, g (ideally 1).
    gyro_noise_dps / acc_noise_g: RMS over axes of the per-axis standard deviation at rest.
    device: free text naming the chip, e.g. "MPU-6050 at 0x68" ("" if unknown).
    """

    gyro_bias_dps: tuple[float, float, float]
    gravity_unit: tuple[float, float, float]
    still_duration_s: float
    acc_norm_g: float
    gyro_noise_dps: float = 0.0
    acc_noise_g: float = 0.0
    device: str = ""

    @property
    def acc_norm_ok(self) -> bool:
        """True when the accelerometer reads 1 g within `ACC_NORM_TOL_G`."""
        return abs(self.acc_norm_g - 1.0) <= ACC_NORM_TOL_G

    def correct_gyro(self, gyro_dps: np.ndarray) -> np.ndarray:
        """Gyro samples (n, 3) or (3,) in deg/s with the bias removed."""
        return np.asarray(gyro_dps, dtype=np.float64) - np.asarray(self.gyro_bias_dps)


@dataclass
class CalibrationProfile:
    """Calibrations per sensor role ("pelvis", "thorax"), when they were made and from what.

    created_utc: ISO 8601 time, e.g. "2025-05-01T08:30:00Z". source: what was measured,
    e.g. "i2c bus 1" or "simulated steady seed 0 mpu6050".
    """

    sensors: dict[str, SensorCalibration] = field(default_factory=dict)
    created_utc: str = ""
    source: str = ""
    version: int = 1

    def get(self, role: str) -> SensorCalibration | None:
        return self.sensors.get(role)


class Calibrator:
    """Streaming calibration of one sensor from its longest still period.

    Feed chunks with `update`; once the sensor has been still for `max_still_s` seconds in a
    row, `update` returns the `SensorCalibration` (and `done` becomes True). `finish()` gives
    the result from the longest still period seen so far if it lasted at least `min_still_s`,
    else None. The detector's keyword arguments go to `StillnessDetector`.
    """

    def __init__(self, rate_hz: float, min_still_s: float = 2.0, max_still_s: float = 5.0,
                 device: str = "", **detector_kwargs):
        if not 0 < min_still_s <= max_still_s:
            raise ValueError("need 0 < min_still_s <= max_still_s")
        self.rate_hz = float(rate_hz)
        self.min_still_s = float(min_still_s)
        self.max_still_s = float(max_still_s)
        self.device = device
        self.detector = StillnessDetector(rate_hz, **detector_kwargs)
        self._tail = np.zeros((0, 6))      # last window_n - 1 samples, to start a segment
        self._segment: list[np.ndarray] = []
        self._segment_n = 0
        self._in_segment = False
        self._best: np.ndarray | None = None
        self.result: SensorCalibration | None = None

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def still_s(self) -> float:
        """Length of the current still run, s (0 when moving)."""
        return self._segment_n / self.rate_hz if self._in_segment else 0.0

    @property
    def best_still_s(self) -> float:
        """Longest still run seen so far, s (including the current one)."""
        best = 0 if self._best is None else self._best.shape[0]
        return max(best, self._segment_n if self._in_segment else 0) / self.rate_hz

    def update(self, acc_g: np.ndarray, gyro_dps: np.ndarray) -> SensorCalibration | None:
        """Feed (n, 3) samples in g and deg/s; returns the calibration once complete."""
        if self.done:
            return self.result
        x = np.hstack([np.asarray(acc_g, dtype=np.float64).reshape(-1, 3),
                       np.asarray(gyro_dps, dtype=np.float64).reshape(-1, 3)])
        still = self.detector.update(x[:, :3], x[:, 3:])
        buf = np.vstack([self._tail, x])
        k = buf.shape[0] - x.shape[0]
        w = self.detector.window_n
        max_n = int(round(self.max_still_s * self.rate_hz))
        i = 0
        n = x.shape[0]
        while i < n:
            if still[i]:
                j = i
                while j < n and still[j]:
                    j += 1
                if not self._in_segment:
                    # The first still flag vouches for the whole window that ends at it.
                    self._segment = [buf[k + i - w + 1:k + i + 1]]
                    self._segment_n = w
                    self._in_segment = True
                    i += 1
                if j > i:
                    self._segment.append(x[i:j])
                    self._segment_n += j - i
                if self._segment_n >= max_n:
                    seg = np.vstack(self._segment)[:max_n]
                    self._best = seg
                    self._in_segment = False
                    self.result = self._calibrate(seg)
                    return self.result
                i = j
            else:
                self._close_segment()
                i += 1
        self._tail = buf[-(w - 1):] if w > 1 else np.zeros((0, 6))
        return None

    def _close_segment(self) -> None:
        if self._in_segment:
            seg = np.vstack(self._segment)
            if self._best is None or seg.shape[0] > self._best.shape[0]:
                self._best = seg
        self._in_segment = False
        self._segment = []
        self._segment_n = 0

    def finish(self) -> SensorCalibration | None:
        """The calibration from the longest still run if it lasted >= `min_still_s`."""
        if self.done:
            return self.result
        self._close_segment()
        if self._best is None or self._best.shape[0] < self.min_still_s * self.rate_hz:
            return None
        self.result = self._calibrate(self._best)
        return self.result

    def _calibrate(self, seg: np.ndarray) -> SensorCalibration:
        mean = seg.mean(axis=0)
        std = seg.std(axis=0)
        acc = mean[:3]
        norm = float(np.linalg.norm(acc))
        up = acc / norm if norm > 0 else np.array([0.0, 0.0, 1.0])
        return SensorCalibration(
            gyro_bias_dps=(float(mean[3]), float(mean[4]), float(mean[5])),
            gravity_unit=(float(up[0]), float(up[1]), float(up[2])),
            still_duration_s=seg.shape[0] / self.rate_hz,
            acc_norm_g=norm,
            gyro_noise_dps=float(np.sqrt(np.mean(std[3:] ** 2))),
            acc_noise_g=float(np.sqrt(np.mean(std[:3] ** 2))),
            device=self.device,
        )
