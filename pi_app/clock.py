"""Clocks: where "now" comes from.

Everything that needs the time (the sensor thread, the simulated chips' sample clocks) takes a
`Clock`, so tests can run on a virtual clock (`pi_app.sim.ManualClock`) that moves only when
told, and the demo can run faster than real time (`ScaledClock`).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic time source in seconds."""

    def now_s(self) -> float:
        """Current monotonic time in seconds."""
        ...

    def sleep_s(self, duration_s: float) -> None:
        """Wait `duration_s` seconds of this clock's time."""
        ...


class WallClock:
    """The real monotonic clock (`time.monotonic`)."""

    def now_s(self) -> float:
        return time.monotonic()

    def sleep_s(self, duration_s: float) -> None:
        if duration_s > 0:
            time.sleep(duration_s)


class ScaledClock:
    """Real time multiplied by `speed`: the demo's `--speed X` runs the simulated world X times
    faster than the wall clock. Time starts at `start_s`."""

    def __init__(self, speed: float = 1.0, start_s: float = 0.0):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._start_s = float(start_s)
        self._wall0_s = time.monotonic()

    def now_s(self) -> float:
        return self._start_s + (time.monotonic() - self._wall0_s) * self.speed

    def sleep_s(self, duration_s: float) -> None:
        if duration_s > 0:
            time.sleep(duration_s / self.speed)


class ManualClock:
    """A virtual clock for deterministic tests: time moves only on `advance(seconds)`.

    `sleep_s` advances the clock by the requested duration (so a single-threaded loop that
    sleeps between polls is deterministic and runs as fast as the CPU allows).
    """

    def __init__(self, start_s: float = 0.0):
        self._now_s = float(start_s)
        self._lock = threading.Lock()

    def now_s(self) -> float:
        with self._lock:
            return self._now_s

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (>= 0); returns the new time in seconds."""
        if seconds < 0:
            raise ValueError("a ManualClock cannot go backwards")
        with self._lock:
            self._now_s += float(seconds)
            return self._now_s

    def sleep_s(self, duration_s: float) -> None:
        if duration_s > 0:
            self.advance(duration_s)
