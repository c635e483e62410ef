"""Time-aligned sample frames: the one input format of the analysis.

Live, the sensor thread's two streams (each on its own chip clock) are aligned onto the pelvis
sample times; offline, a recording CSV already has one time column. Either way the analysis
sees `FrameChunk`s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENTS = ("pelvis", "thorax")


@dataclass
class FrameChunk:
    """Consecutive samples on one time base, oldest first.

    t_s: (n,) float64 seconds, strictly increasing.
    *_acc_g: (n, 3) specific force in g, sensor axes; *_gyro_dps: (n, 3) deg/s, sensor axes.
    A sensor or quantity that is not present is None. Rows of NaN mark a gap in that sensor.
    """

    t_s: np.ndarray
    pelvis_acc_g: np.ndarray | None = None
    pelvis_gyro_dps: np.ndarray | None = None
    thorax_acc_g: np.ndarray | None = None
    thorax_gyro_dps: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def acc_g(self, segment: str) -> np.ndarray | None:
        return getattr(self, f"{segment}_acc_g")

    def gyro_dps(self, segment: str) -> np.ndarray | None:
        return getattr(self, f"{segment}_gyro_dps")

    def slice(self, start: int, stop: int) -> "FrameChunk":
        def cut(a):
            return None if a is None else a[start:stop]
        return FrameChunk(self.t_s[start:stop], cut(self.pelvis_acc_g), cut(self.pelvis_gyro_dps),
                          cut(self.thorax_acc_g), cut(self.thorax_gyro_dps))
