"""What every emulated chip shares: a sample clock with its own oscillator error, driven by a
motion source, producing samples at the configured output data rate.

A chip "catches up" to the bus clock whenever it is touched: every sample tick of its own
clock up to now is generated (vectorised) and handed to the chip-specific FIFO encoder.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np



class MotionSource(Protocol):
    """Physical truth seen by one sensor, in the sensor's own axes."""

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """At increasing times `t_s` (seconds, shape (n,)), return (acc_g (n, 3), gyro_dps
        (n, 3)): specific force in g and angular rate in deg/s, with the sensor's mounting,
        bias and noise applied. Called with non-decreasing times across calls."""
        ...


class SampleClock:
    """A chip's sample clock: ticks at `rate_hz * (1 + clock_error)` while running.

    `clock_error` is the oscillator's fractional error (e.g. +0.003 = 0.3 % fast). Ticks are
    counted from `start(now_s)`; `due(now_s)` returns the times of the ticks that happened since
    the last call (seconds on the bus clock, the true sample instants).
    """

    def __init__(self, clock_error: float):
        self.clock_error = float(clock_error)
        self.rate_hz = 0.0
        self._t0_s = 0.0
        self._next_tick = 0
        self.running = False

    @property
    def true_rate_hz(self) -> float:
        return self.rate_hz * (1.0 + self.clock_error)

    def start(self, rate_hz: float, now_s: float) -> None:
        """(Re)start ticking at nominal `rate_hz` from `now_s` (first tick one period later)."""
        self.rate_hz = float(rate_hz)
        self._t0_s = float(now_s)
        self._next_tick = 1
        self.running = rate_hz > 0

    def stop(self) -> None:
        self.running = False

    def due(self, now_s: float) -> np.ndarray:
        """True times (s) of ticks in (last call, now_s]."""
        if not self.running:
            return np.zeros(0)
        period_s = 1.0 / self.true_rate_hz
        last_tick = int(np.floor((now_s - self._t0_s) / period_s + 1e-9))
        if last_tick < self._next_tick:
            return np.zeros(0)
        ticks = np.arange(self._next_tick, last_tick + 1)
        self._next_tick = last_tick + 1
        return self._t0_s + ticks * period_s


def to_int16_counts(values: np.ndarray, full_scale: float) -> np.ndarray:
    """Convert physical values to signed 16-bit ADC counts for a +-`full_scale` range,
    saturating as the real ADC does."""
    counts = np.round(np.asarray(values, dtype=np.float64) * (32768.0 / full_scale))
    return np.clip(counts, -32768, 32767).astype(np.int16)
