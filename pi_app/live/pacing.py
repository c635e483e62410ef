"""Pacing a stepped virtual clock against real time: `pi-app demo --headless --speed X`.

The stepped loop (pi_app.live.session.run_stepped) advances a `ManualClock` by one drain
interval per iteration, so its results do not depend on how fast the computer is. `Pacer`
only decides *when* each iteration may start: never before `speed` times real time allows,
so `--speed 2` really runs the simulated world at twice real time. When the CPU cannot keep
up the loop runs as fast as it can and `achieved_speed` says how fast that was; time lost
that way is not made up later (a burst of catch-up would play the demo's sounds, which are
timed on the virtual clock, in a rush).
"""

from __future__ import annotations

from pi_app.clock import Clock


class Pacer:
    """Holds a virtual clock to at most `speed` times the `wall` clock.

    speed: virtual seconds per real second (> 0), or None for "as fast as the CPU allows".
    wall: the real clock (its `sleep_s` waits). max_lag_s: how far (real s) the loop may fall
    behind before the schedule is moved instead of caught up with.
    """

    def __init__(self, speed: float | None, wall: Clock, max_lag_s: float = 0.1):
        if speed is not None and not speed > 0:
            raise ValueError("speed must be > 0 or None")
        self.speed = None if speed is None else float(speed)
        self.wall = wall
        self._virtual0_s: float | None = None
        self._wall0_s = 0.0
        self._virtual_last_s = 0.0
        self.waited_s = 0.0
        self.max_lag_s = float(max_lag_s)
        self.lost_s = 0.0                       # real time the schedule was moved by

    def wait(self, virtual_s: float) -> None:
        """Return once real time has caught up with virtual time `virtual_s` (s)."""
        if self._virtual0_s is None:
            self._virtual0_s = float(virtual_s)
            self._wall0_s = self.wall.now_s()
        self._virtual_last_s = float(virtual_s)
        if self.speed is None:
            return
        due_s = self._wall0_s + (virtual_s - self._virtual0_s) / self.speed
        ahead_s = due_s - self.wall.now_s()
        if ahead_s < -self.max_lag_s:
            self._wall0_s -= ahead_s
            self.lost_s -= ahead_s
        elif ahead_s > 0:
            self.waited_s += ahead_s
            self.wall.sleep_s(ahead_s)

    @property
    def achieved_speed(self) -> float | None:
        """Virtual seconds per real second since the first `wait` (None before any)."""
        if self._virtual0_s is None:
            return None
        elapsed_s = self.wall.now_s() - (self._wall0_s - self.lost_s)
        if elapsed_s <= 0:
            return None
        return (self._virtual_last_s - self._virtual0_s) / elapsed_s
