"""What the live app tells systemd: READY once both IMUs deliver and the display is up,
a STATUS line with the sensor state, watchdog pings only while the sensor and analysis
threads are alive, STOPPING on shutdown; and in the journal, one line for every problem the
dashboard starts to show (a warning, a stalled thread), when it starts."""

from __future__ import annotations

import math
import sys
from typing import Callable

from pi_app.live.session import LiveSession
from pi_app.live.snapshot import LiveSnapshot


# systemd shows the last STATUS line in `systemctl status`; every few seconds is enough to
# read it and cheap (one datagram).
STATUS_INTERVAL_S = 5.0


def status_text(snapshot: LiveSnapshot, n_strides: int | None = None) -> str:
    """One line on the sensors and the session for `systemctl status` (rates in Hz)."""
    parts = []
    for s in snapshot.sensors:
        if s.present:
            rate = f"{s.effective_rate_hz:.0f} Hz" if s.effective_rate_hz else "no rate yet"
            text = f"{s.role} {s.model or 'IMU'} {rate}"
            counts = [f"{n} {what}" for n, what in ((s.i2c_errors, "I2C errors"),
                                                    (s.overflows, "overflows"),
                                                    (s.reconnects, "reconnects")) if n]
            if counts:
                text += " (" + ", ".join(counts) + ")"
        else:
            text = f"{s.role} IMU LOST" + (f" ({s.last_error})" if s.last_error else "")
        parts.append(text)
    if n_strides is not None:
        parts.append(f"{n_strides} strides")
    if snapshot.stalled_threads:
        parts.append("stalled: " + ", ".join(snapshot.stalled_threads))
    parts.append("recording" if snapshot.recording else "not recording")
    parts.extend(snapshot.warnings)
    return "; ".join(parts)


class ServiceReporter:
    """What the live app tells systemd, called from the main loop (`tick()` every iteration).

    notifier: a `pi_app.service.ServiceNotifier`. READY is sent once every role in `roles`
    answers (present with samples) and the display is up (`tick(display_up=True)`; headless
    callers always pass True); before that STATUS says what it waits for. Afterwards STATUS
    carries `status_text` every `status_interval_s` (clock s). The watchdog is fed on every
    tick while the sensor and analysis heartbeats are fresh (see WatchdogFeeder). journal(line)
    gets each newly shown problem once (default: stderr, which systemd puts in the journal):
    STATUS only keeps the latest line, and a coach or installer reads `journalctl -u pi-app`
    after the fact."""

    def __init__(self, notifier, session: LiveSession, *, roles=("pelvis", "thorax"),
                 status_interval_s: float = STATUS_INTERVAL_S,
                 journal: Callable[[str], object] | None = None):
        self.notifier = notifier
        self.session = session
        self.roles = tuple(roles)
        self.status_interval_s = float(status_interval_s)
        self.ready = False
        self._last_status_s = -math.inf
        self._journal = journal if journal is not None else (
            lambda line: print(line, file=sys.stderr, flush=True))
        self._shown: set[str] = set()

    def _journal_new(self, snapshot: LiveSnapshot) -> None:
        shown = set(snapshot.warnings) | {f"stalled: {name} not responding"
                                          for name in snapshot.stalled_threads}
        for text in sorted(shown - self._shown):
            self._journal(f"pi-app: {text.rstrip('.')}.")
        # Forgotten once gone, so a problem that comes back is told again.
        self._shown = shown

    def missing(self) -> tuple[str, ...]:
        """Roles whose IMU has not delivered samples yet (or is absent now)."""
        health = self.session.reader.snapshot()["sensors"]
        return tuple(r for r in self.roles
                     if r not in health or not health[r]["present"] or not health[r]["samples"])

    def tick(self, display_up: bool = True, now_s: float | None = None) -> tuple[str, ...]:
        """One main-loop iteration: READY / STATUS when due, then the watchdog. Returns the
        stale heartbeats (empty when healthy)."""
        now_s = self.session.clock.now_s() if now_s is None else now_s
        self._journal_new(self.session.box.get()[0])
        if not self.ready:
            missing = self.missing()
            if not missing and display_up:
                self.ready = True
                self._last_status_s = now_s
                snapshot, _ = self.session.box.get()
                self.notifier.ready(status_text(snapshot, self.session.analyzer.n_strides))
            elif now_s - self._last_status_s >= self.status_interval_s:
                self._last_status_s = now_s
                waiting = [f"{r} IMU" for r in missing] + ([] if display_up else ["display"])
                self.notifier.status("starting: waiting for " + ", ".join(waiting))
        elif now_s - self._last_status_s >= self.status_interval_s:
            self._last_status_s = now_s
            snapshot, _ = self.session.box.get()
            self.notifier.status(status_text(snapshot, self.session.analyzer.n_strides))
        return self.notifier.watchdog_tick(self.session.heartbeats, now_s)

    def stopping(self, text: str = "stopping") -> None:
        self.notifier.stopping(text)
