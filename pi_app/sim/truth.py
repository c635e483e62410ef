"""Ground truth of a simulated run: the foot strikes with sides and the per-stride metrics of
the strides-CSV spec (../shared/spec/recording-csv.md), computed from the body model's true
axial angles, plus the scenario's events and the sensors' true mounting and bias.
"""

from __future__ import annotations

import math

import numpy as np

from pi_app.analysis.types import Step, StrideMetrics
from pi_app.sim.body import Gait, SegmentMotion, SimulatedImu

# Points per stride of the uniform grid the stride phase and ROM are computed on (~0.7 ms at
# 170 steps/min: far finer than any sensor rate, so the grid does not matter).
GRID_PER_STRIDE = 1000


def stride_phase_rom(theta_deg: np.ndarray) -> tuple[float, float]:
    """(phase_deg in [0, 360), rom_deg) of theta sampled on a uniform grid t_k = t_start +
    k T / N, k = 0..N-1, exactly as in the spec: stride mean removed, phase = arg sum theta_k
    exp(+i 2 pi k / N), ROM = peak-to-peak."""
    n = theta_deg.shape[0]
    centred = theta_deg - theta_deg.mean()
    z = np.sum(centred * np.exp(2j * math.pi * np.arange(n) / n))
    phase = math.degrees(math.atan2(z.imag, z.real)) % 360.0
    return phase, float(theta_deg.max() - theta_deg.min())


class Truth:
    """What really happened in a simulated world. Times are bus-clock seconds.

    events: list of (t_s, kind, detail) sorted by time, e.g. (5.0, "running_start", "").
    """

    def __init__(self, gait: Gait, segments: dict[str, SegmentMotion],
                 sensors: dict[str, SimulatedImu], events: list[tuple[float, str, str]]):
        self.gait = gait
        self.segments = segments
        self.sensors = sensors
        self.events = sorted(events, key=lambda e: e[0])
        self._strides: dict[int, StrideMetrics] = {}

    # -- steps -------------------------------------------------------------------------------
    def steps_between(self, t0_s: float, t1_s: float) -> list[Step]:
        """Foot strikes with t0_s <= t_s < t1_s, side 'R' or 'L'."""
        times, idx = self.gait.strikes_between(t0_s, t1_s)
        return [Step(float(t), "R" if i % 2 == 0 else "L") for t, i in zip(times, idx)]

    # -- strides -----------------------------------------------------------------------------
    def scripted_rel_phase_deg(self, t_s: float) -> float:
        """Thorax minus pelvis phase (deg, [0, 360)) at t_s as the scenario scripts it, without
        the runner's natural stride-to-stride jitter: what "the true change" means when a drift
        is judged against the band."""
        return (self.segments["thorax"].scripted_phase_deg(t_s)
                - self.segments["pelvis"].scripted_phase_deg(t_s)) % 360.0

    def _drift_start_s(self) -> float:
        starts = [t for t, kind, _ in self.events if kind == "drift_start"]
        return min(starts) if starts else math.inf

    def stride(self, index: int) -> StrideMetrics:
        """Stride `index` (0 = from the first right strike to the second)."""
        cached = self._strides.get(index)
        if cached is not None:
            return cached
        t0 = self.gait.strike_time_s(2 * index)
        t1 = self.gait.strike_time_s(2 * index + 2)
        duration = t1 - t0
        grid = t0 + duration * np.arange(GRID_PER_STRIDE) / GRID_PER_STRIDE
        values = {}
        for role in ("pelvis", "thorax"):
            values[role] = stride_phase_rom(self.segments[role].theta_deg(grid))
        rel = (values["thorax"][0] - values["pelvis"][0]) % 360.0
        metrics = StrideMetrics(
            index=index, t_start_s=t0, t_end_s=t1, cadence_spm=120.0 / duration,
            pelvis_rom_deg=values["pelvis"][1], thorax_rom_deg=values["thorax"][1],
            pelvis_phase_deg=values["pelvis"][0], thorax_phase_deg=values["thorax"][0],
            rel_phase_deg=rel, drift=t0 >= self._drift_start_s())
        self._strides[index] = metrics
        return metrics

    def strides_between(self, t0_s: float, t1_s: float) -> list[StrideMetrics]:
        """Whole strides (right strike to next right strike) with t0_s <= t_start_s and
        t_end_s <= t1_s. `drift` is True for strides starting at or after a drift_start
        event (the runner is losing or has lost the counter-rotation)."""
        times, idx = self.gait.strikes_between(t0_s, t1_s)
        rights = [int(i) // 2 for i in idx if i % 2 == 0]
        out = []
        for j in rights:
            m = self.stride(j)
            if m.t_end_s <= t1_s:
                out.append(m)
        return out

    # -- per-sensor facts --------------------------------------------------------------------
    def theta_deg(self, role: str, t_s: np.ndarray) -> np.ndarray:
        """True axial rotation of `role` (deg, + = toward the runner's left) at times t_s."""
        return self.segments[role].theta_deg(np.asarray(t_s, dtype=np.float64))

    def mounting(self, role: str) -> np.ndarray:
        """3x3 rotation: columns = the sensor's x, y, z axes in segment axes (forward, left,
        up)."""
        return self.sensors[role].mounting.copy()

    def gyro_bias_dps(self, role: str, t_s: float | None = None) -> np.ndarray:
        """The true gyro bias (deg/s, (3,)): the constant part, or the total at time t_s."""
        sensor = self.sensors[role]
        if t_s is None:
            return sensor.gyro_bias_dps.copy()
        return sensor.gyro_bias_at_dps(np.array([float(t_s)]))[0]

    def events_of(self, kind: str) -> list[tuple[float, str, str]]:
        """Events of one kind."""
        return [e for e in self.events if e[1] == kind]
