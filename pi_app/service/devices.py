"""Waiting for device nodes at boot.

On a cold boot systemd may start the service before udev has created /dev/i2c-N (after the
i2c-dev module loads) and /dev/dri/card* (after vc4 probes the HDMI output): a few seconds
at most. Failing at once would burn the unit's restart limit on every boot, so the app waits
a bounded time, telling systemd what it waits for (STATUS=), and only then opens the devices
(whose own errors name the fix if they never came).
"""

from __future__ import annotations

import glob
from typing import Callable, Iterable

from pi_app.clock import Clock

#: How long start-up waits for device nodes (s); well inside the unit's TimeoutStartSec=60.
DEVICE_WAIT_S = 30.0


class DeviceWait:
    """Wait until every glob pattern (e.g. "/dev/dri/card*") matches an existing path.

    clock: the clock slept on (a ManualClock in tests). timeout_s: give up after this long.
    poll_s: time between looks. status: called with one line while waiting, at most every
    `status_every_s`. exists: pattern -> bool (default: glob finds a match)."""

    def __init__(self, clock: Clock, *, timeout_s: float = DEVICE_WAIT_S, poll_s: float = 0.1,
                 status: Callable[[str], object] | None = None, status_every_s: float = 1.0,
                 exists: Callable[[str], bool] | None = None):
        self.clock = clock
        self.timeout_s = float(timeout_s)
        self.poll_s = float(poll_s)
        self.status = status
        self.status_every_s = float(status_every_s)
        self.exists = exists if exists is not None else (lambda pattern: bool(glob.glob(pattern)))
        #: Seconds the last wait() took.
        self.waited_s = 0.0

    def wait(self, patterns: Iterable[str]) -> list[str]:
        """Block until all patterns exist or the timeout passes; the ones still missing."""
        start_s = self.clock.now_s()
        next_status_s = start_s
        missing = [p for p in patterns if not self.exists(p)]
        while missing:
            now_s = self.clock.now_s()
            waited_s = now_s - start_s
            if waited_s >= self.timeout_s:
                break
            if self.status is not None and now_s >= next_status_s:
                self.status(f"waiting for {', '.join(missing)} (created by udev once their "
                            f"drivers load): {waited_s:.0f} of {self.timeout_s:.0f} s")
                next_status_s = now_s + self.status_every_s
            self.clock.sleep_s(min(self.poll_s, self.timeout_s - waited_s))
            missing = [p for p in missing if not self.exists(p)]
        self.waited_s = self.clock.now_s() - start_s
        return missing


def live_devices(bus: int, want_drm: bool, dev_dir: str = "/dev") -> list[str]:
    """The device node patterns `pi-app run` needs: the I2C bus, and a DRM card when the
    dashboard is to use KMS/DRM."""
    patterns = [f"{dev_dir}/i2c-{int(bus)}"]
    if want_drm:
        patterns.append(f"{dev_dir}/dri/card*")
    return patterns
