"""Sensor health as the coach sees it: green, amber or red, with the reason.

The acquisition health record counts, per IMU, FIFO overflows (the sensor thread read too
late: samples lost, points at CPU load), FIFO restarts after a failed read (samples lost
because of the bus: points at the cable), I2C errors (failed transfers, retried: the cable
again), gaps in the sample stream and reconnects. Totals alone say nothing about now: "ovf 85
gaps 90" on a session that lost samples an hour ago and none since is fine, the same numbers
rising by a few every second are not. `HealthJudge` therefore looks at how the counts rose
in the recent past, on the clock the health record is stamped with:

- red: the sensor does not answer, or samples were lost (overflows, restarts, gaps) in each of the
  last `red_windows` windows (losses keep rising), or `red_losses` or more in one window;
- amber: samples were lost in the current or the previous window, or I2C errors rose in it;
- green otherwise. A problem that stopped fades back to green after one clean window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: Window over which new losses are counted (s): long enough to hold a burst of overflows
#: from one CPU hiccup, short enough that amber appears within seconds of the first loss.
WINDOW_S = 5.0


_KEYS = ("losses", "gaps", "i2c_errors", "restarts")


@dataclass(frozen=True)
class HealthVerdict:
    """level: "ok", "amber" or "red"; reason: one line for the SENSORS panel (None when ok)."""

    level: str = "ok"
    reason: str | None = None


class HealthJudge:
    """Streaming judge of one IMU's health record.

    window_s: length of a counting window (s). red_windows: consecutive windows with lost
    samples that make it red. red_losses: lost-sample events in one window that make it red.
    """

    def __init__(self, window_s: float = WINDOW_S, red_windows: int = 3, red_losses: int = 10):
        self.window_s = float(window_s)
        self.red_windows = int(red_windows)
        self.red_losses = int(red_losses)
        self._window_start_s: float | None = None
        self._base: dict[str, int] = {}
        self._last: dict[str, int] = {}
        # New (losses, gaps, i2c_errors, restarts) of each closed window, newest last; losses
        # are overflows + restarts (both empty the FIFO).
        self._closed: deque[tuple[int, ...]] = deque(maxlen=max(2, self.red_windows))

    def update(self, t_s: float, present: bool, overflows: int, gaps: int, i2c_errors: int,
               last_error: str | None = None, fifo_restarts: int = 0) -> HealthVerdict:
        """Judge the record seen at clock time t_s (s): the counters are running totals
        (fifo_restarts: FIFO resets after a failed read, where the record has them)."""
        counts = {"losses": int(overflows) + int(fifo_restarts), "gaps": int(gaps),
                  "i2c_errors": int(i2c_errors), "restarts": int(fifo_restarts)}
        if self._window_start_s is None:
            self._window_start_s = float(t_s)
            self._base = dict(counts)
        while t_s - self._window_start_s >= self.window_s:
            # Close the window: whatever rose since its start belongs to it (rises seen
            # after a long pause between updates land in the first window closed).
            self._closed.append(tuple(self._last.get(k, self._base[k]) - self._base[k]
                                      for k in _KEYS))
            self._base = dict(self._last or self._base)
            self._window_start_s += self.window_s
        self._last = counts
        now = tuple(counts[k] - self._base[k] for k in _KEYS)
        if not present:
            return HealthVerdict("red", f"no answer: {last_error}" if last_error
                                 else "no answer: check its cable")
        recent = list(self._closed)[-(self.red_windows - 1):] if self.red_windows > 1 else []
        lossy = [w for w in recent if w[0] + w[1] > 0]
        if now[0] + now[1] > 0 and len(lossy) >= self.red_windows - 1:
            return HealthVerdict("red", self._loss_text(now, recent, "keep rising"))
        if now[0] + now[1] >= self.red_losses:
            return HealthVerdict("red", self._loss_text(now, [], "rising fast"))
        previous = self._closed[-1] if self._closed else (0, 0, 0, 0)
        if now[0] + now[1] > 0 or previous[0] + previous[1] > 0:
            return HealthVerdict("amber", self._loss_text(now, [previous], "rising"))
        if now[2] > 0 or previous[2] > 0:
            n = now[2] + previous[2]
            return HealthVerdict("amber", f"I2C errors rising ({n} in {self._span(1)}): "
                                          "check the cable")
        return HealthVerdict()

    def _span(self, n_windows: int) -> str:
        return f"{self.window_s * (n_windows + 1):g} s"

    def _loss_text(self, now, windows, how: str) -> str:
        restarts = now[3] + sum(w[3] for w in windows)
        ovf = now[0] + sum(w[0] for w in windows) - restarts
        gaps = now[1] + sum(w[1] for w in windows)
        errors = now[2] + sum(w[2] for w in windows)
        span = self._span(len(windows))
        parts = []
        if ovf:
            parts.append(f"{ovf} FIFO overflow{'s' if ovf != 1 else ''}")
        if restarts:
            parts.append(f"{restarts} FIFO restart{'s' if restarts != 1 else ''} after a "
                         "failed read")
        if gaps:
            parts.append(f"{gaps} gap{'s' if gaps != 1 else ''}")
        text = f"samples lost, {how}: {' and '.join(parts)} in {span}"
        if errors or restarts:
            # A FIFO reset after a failed read loses samples because of the bus, not the CPU.
            return text + (f" with {errors} I2C error{'s' if errors != 1 else ''}"
                           if errors else "") + ": check the cable"
        if ovf:
            return text + ": the sensor thread reads too late (CPU load?)"
        return text
