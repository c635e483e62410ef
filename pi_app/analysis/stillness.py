"""Streaming stillness detection for one IMU (is the wearer standing still?)."""

from __future__ import annotations

import numpy as np


class StillnessDetector:
    """Flags each sample whose trailing window of `window_s` seconds looks still.

    Still means, over the window: the mean specific-force magnitude is within
    `acc_norm_tol_g` of 1 g, the accelerometer's total standard deviation (root of the summed
    per-axis variances) is below `acc_std_max_g`, the gyroscope's total standard deviation is
    below `gyro_std_max_dps` and the mean gyro rate's magnitude is below `gyro_mean_max_dps`.

    The gyro test is on the spread, not the raw rate, because an uncalibrated MEMS gyro reads
    an offset of several deg/s at rest (MPU-6050 datasheet 6.1: ZRO tolerance +-20 deg/s);
    `gyro_mean_max_dps` only rejects a steady turn. A person standing still sways a little,
    so the limits are loose compared with chip noise (~0.01 g, ~0.1 deg/s at 1 kHz).
    """

    def __init__(self, rate_hz: float, window_s: float = 0.5, acc_norm_tol_g: float = 0.15,
                 acc_std_max_g: float = 0.03, gyro_std_max_dps: float = 3.0,
                 gyro_mean_max_dps: float = 50.0):
        if rate_hz <= 0 or window_s <= 0:
            raise ValueError("rate_hz and window_s must be > 0")
        self.rate_hz = float(rate_hz)
        self.window_s = float(window_s)
        self.window_n = max(2, int(round(window_s * rate_hz)))
        self.acc_norm_tol_g = float(acc_norm_tol_g)
        self.acc_std_max_g = float(acc_std_max_g)
        self.gyro_std_max_dps = float(gyro_std_max_dps)
        self.gyro_mean_max_dps = float(gyro_mean_max_dps)
        self._tail = np.zeros((0, 6))

    def reset(self) -> None:
        """Forget the history (e.g. after a gap)."""
        self._tail = np.zeros((0, 6))

    def update(self, acc_g: np.ndarray, gyro_dps: np.ndarray) -> np.ndarray:
        """Feed (n, 3) accelerometer (g) and gyro (deg/s) samples; returns (n,) bool, True
        where the window ending at that sample is still. The first `window_n - 1` samples
        after start or a NaN row are never still."""
        x = np.hstack([np.asarray(acc_g, dtype=np.float64).reshape(-1, 3),
                       np.asarray(gyro_dps, dtype=np.float64).reshape(-1, 3)])
        n = x.shape[0]
        if n == 0:
            return np.zeros(0, dtype=bool)
        buf = np.vstack([self._tail, x])
        k = buf.shape[0] - n                     # samples of history in front of the chunk
        w = self.window_n
        bad = ~np.all(np.isfinite(buf), axis=1)
        clean = np.where(bad[:, None], 0.0, buf)
        # Subtract a reference before squaring so the running variance keeps its precision.
        ref = clean[-1]
        d = clean - ref
        c1 = np.vstack([np.zeros((1, 6)), np.cumsum(d, axis=0)])
        c2 = np.vstack([np.zeros((1, 6)), np.cumsum(d * d, axis=0)])
        cb = np.concatenate([[0], np.cumsum(bad)])
        end = np.arange(k, k + n) + 1            # window = buf[end - w : end]
        start = end - w
        valid = start >= 0
        start_c = np.clip(start, 0, None)
        s1 = (c1[end] - c1[start_c]) / w
        s2 = (c2[end] - c2[start_c]) / w
        var = np.maximum(s2 - s1 * s1, 0.0)
        mean = s1 + ref
        acc_norm = np.linalg.norm(mean[:, :3], axis=1)
        acc_std = np.sqrt(var[:, :3].sum(axis=1))
        gyro_std = np.sqrt(var[:, 3:].sum(axis=1))
        gyro_mean = np.linalg.norm(mean[:, 3:], axis=1)
        no_gap = (cb[end] - cb[start_c]) == 0
        still = (valid & no_gap
                 & (np.abs(acc_norm - 1.0) <= self.acc_norm_tol_g)
                 & (acc_std <= self.acc_std_max_g)
                 & (gyro_std <= self.gyro_std_max_dps)
                 & (gyro_mean <= self.gyro_mean_max_dps))
        self._tail = buf[-(w - 1):] if w > 1 else np.zeros((0, 6))
        return still
