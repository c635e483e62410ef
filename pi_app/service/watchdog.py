"""Feeding the systemd watchdog only while the app's threads are alive.

`WatchdogFeeder.tick(heartbeats, now_s)` is called from the main loop. It sends `WATCHDOG=1`
at most every `interval_s` and only while every required heartbeat (sensor thread, analysis
thread) is fresh. So a hung main loop (no ticks) and a hung worker thread (stale heartbeat)
both stop the pings, and systemd restarts the service after `WatchdogSec`.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from pi_app import workers

# A heartbeat older than this (clock seconds) is a hung thread. The sensor thread beats every
# 10-20 ms and the analysis thread every ~50 ms, so 5 s is far past any scheduling hiccup
# (the dashboard already shows a thread as stalled after 1 s) yet well inside WatchdogSec.
DEFAULT_STALE_AFTER_S = 5.0
#: The threads the live app must keep alive (pi_app.live.session.Heartbeats names).
DEFAULT_REQUIRED = (workers.SENSORS, workers.ANALYSIS)


def watchdog_interval_s(env: Mapping[str, str] | None = None, pid: int | None = None
                        ) -> float | None:
    """Half the watchdog timeout systemd set (`WATCHDOG_USEC`), the ping period sd_watchdog_
    enabled(3) recommends; None when the watchdog is off or meant for another process
    (`WATCHDOG_PID`)."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 2e6


def _last_beat(heartbeats, name: str) -> float | None:
    """A thread's last beat (clock s) from a mapping or a `Heartbeats`-like `.last(name)`."""
    if hasattr(heartbeats, "last"):
        return heartbeats.last(name)
    return heartbeats.get(name)


class WatchdogFeeder:
    """Decides when to send `WATCHDOG=1`.

    send: `send(message) -> bool` (e.g. sd_notify). interval_s: seconds between pings (None =
    watchdog off: ticks only check health). required: heartbeat names that must be fresh.
    stale_after_s: age (clock s) at which a heartbeat counts as hung. start_s: clock time the
    app started; a thread that has not beaten yet is given `stale_after_s` from then.
    """

    def __init__(self, send: Callable[[str], bool], interval_s: float | None, start_s: float,
                 required=DEFAULT_REQUIRED, stale_after_s: float = DEFAULT_STALE_AFTER_S):
        self._send = send
        self.interval_s = None if interval_s is None else float(interval_s)
        self.start_s = float(start_s)
        self.required = tuple(required)
        self.stale_after_s = float(stale_after_s)
        self.last_ping_s: float | None = None
        self.pings = 0
        self.stale: tuple[str, ...] = ()

    def stale_threads(self, heartbeats, now_s: float) -> tuple[str, ...]:
        """Required threads whose heartbeat is missing or older than `stale_after_s`."""
        out = []
        for name in self.required:
            last = _last_beat(heartbeats, name)
            since = self.start_s if last is None else float(last)
            if now_s - since > self.stale_after_s:
                out.append(name)
        return tuple(out)

    def tick(self, heartbeats, now_s: float) -> tuple[str, ...]:
        """One main-loop tick: ping if due and every required thread is fresh. Returns the
        stale threads (empty = healthy). When a thread goes stale, STATUS says which."""
        stale = self.stale_threads(heartbeats, now_s)
        if stale and stale != self.stale:
            self._send(f"STATUS=watchdog withheld: {workers.describe(stale)} not responding")
        self.stale = stale
        if stale or self.interval_s is None:
            return stale
        if self.last_ping_s is None or now_s - self.last_ping_s >= self.interval_s:
            if self._send("WATCHDOG=1"):
                self.pings += 1
            self.last_ping_s = now_s
        return stale
