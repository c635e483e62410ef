"""Running as a systemd service: readiness, status text and the watchdog.

    notifier = ServiceNotifier(clock)          # no-op outside systemd (NOTIFY_SOCKET unset)
    notifier.status("waiting for IMUs")
    notifier.ready("pelvis MPU-6050 1000 Hz, thorax MPU-6050 1000 Hz, display kmsdrm")
    while running:                             # the main loop, never a helper thread
        notifier.watchdog_tick(session.heartbeats)
    notifier.stopping()
"""

from __future__ import annotations

import os
from typing import Mapping

from pi_app.clock import Clock, WallClock
from pi_app.service.sd_notify import notify_address, sd_notify
from pi_app.service.watchdog import (DEFAULT_REQUIRED, DEFAULT_STALE_AFTER_S, WatchdogFeeder,
                                     watchdog_interval_s)

__all__ = ["ServiceNotifier", "WatchdogFeeder", "sd_notify", "notify_address",
           "watchdog_interval_s"]


def _one_line(text: str) -> str:
    # A newline would start a new KEY=value assignment in the datagram.
    return " ".join(str(text).split())


class ServiceNotifier:
    """What the live app tells systemd. Every method is a no-op when NOTIFY_SOCKET is unset.

    clock: the clock heartbeats are stamped with (monotonic seconds). env: the environment
    (default os.environ; tests pass a dict). stale_after_s, required: see WatchdogFeeder.
    """

    def __init__(self, clock: Clock | None = None, env: Mapping[str, str] | None = None,
                 required=DEFAULT_REQUIRED, stale_after_s: float = DEFAULT_STALE_AFTER_S):
        self.clock = clock if clock is not None else WallClock()
        self._env = dict(os.environ if env is None else env)
        self.enabled = notify_address(self._env) is not None
        interval_s = watchdog_interval_s(self._env) if self.enabled else None
        self.watchdog = WatchdogFeeder(self._send, interval_s, self.clock.now_s(),
                                       required=required, stale_after_s=stale_after_s)
        self.is_ready = False

    def _send(self, message: str) -> bool:
        return self.enabled and sd_notify(message, self._env)

    def ready(self, status: str = "") -> bool:
        """Tell systemd start-up is done (both IMUs answer, the display is up)."""
        self.is_ready = True
        message = "READY=1" + (f"\nSTATUS={_one_line(status)}" if status else "")
        return self._send(message)

    def status(self, text: str) -> bool:
        """One line shown by `systemctl status pi-app` (sensor state, faults)."""
        return self._send("STATUS=" + _one_line(text))

    def extend_start(self, seconds: float) -> bool:
        """Before READY: ask systemd for `seconds` more than TimeoutStartSec from now
        (EXTEND_TIMEOUT_USEC, systemd >= 236), e.g. while the coach chooses the athlete."""
        return self._send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1e6)}")

    def watchdog_tick(self, heartbeats, now_s: float | None = None) -> tuple[str, ...]:
        """Call every main-loop iteration. heartbeats: `pi_app.live.session.Heartbeats` or a
        mapping name -> last beat (clock s, None = not yet). Pings WATCHDOG=1 when due and
        the sensor and analysis heartbeats are fresh; returns the stale thread names."""
        return self.watchdog.tick(heartbeats, self.clock.now_s() if now_s is None else now_s)

    def stopping(self, status: str = "") -> bool:
        """Tell systemd a clean stop has begun (no watchdog restart while shutting down)."""
        message = "STOPPING=1" + (f"\nSTATUS={_one_line(status)}" if status else "")
        return self._send(message)
