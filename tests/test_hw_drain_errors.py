"""A transient I2C error costs a gap only when it may have taken FIFO bytes with it: a failed
status/count read consumed nothing; a failed data burst may have (then the next drain restarts
the FIFO and reports the gap instead of returning misaligned or unaccounted frames)."""

import errno

import numpy as np
import pytest

from pi_app.acquisition.setup import open_bus
from pi_app.clock import ManualClock
from pi_app.hw.detect import open_imu


class FlakyBus:
    """Wraps a bus; fails the next call of `method` with EIO when armed."""

    def __init__(self, bus):
        self._bus = bus
        self.fail_next: str | None = None

    def __getattr__(self, name):
        real = getattr(self._bus, name)
        if not callable(real):
            return real

        def call(*args, **kwargs):
            if self.fail_next == name:
                self.fail_next = None
                raise OSError(errno.EIO, "Input/output error")
            return real(*args, **kwargs)
        return call


@pytest.mark.parametrize("chips,address", [("mpu6050", 0x68), ("lsm6ds3", 0x6A),
                                           ("lsm6dsox", 0x6A)])
def test_failed_status_read_is_no_gap_but_failed_burst_is(chips, address):
    clock = ManualClock(0.0)
    bus = FlakyBus(open_bus(True, scenario="steady", seed=0, chips=chips, clock=clock))
    driver = open_imu(bus, address, sleep_s=clock.sleep_s)
    driver.configure()
    clock.advance(0.02)
    assert driver.drain().n_frames > 0

    clock.advance(0.02)
    # The first bus call of a drain reads status/count (the ST driver uses i2c_rdwr for it).
    bus.fail_next = "read_byte_data" if chips.startswith("mpu") else "i2c_rdwr"
    with pytest.raises(OSError):
        driver.drain()
    batch = driver.drain()
    assert not batch.overflowed and batch.n_frames > 0

    clock.advance(0.02)
    if chips.startswith("mpu"):
        bus.fail_next = "i2c_rdwr"          # the FIFO data burst
    else:
        failing = _FailSecondRdwr(bus)
        driver.bus = failing
    with pytest.raises(OSError):
        driver.drain()
    after = driver.drain()
    # A restart after an I2C error, not an overflow: the reader was not late.
    assert after.restarted_after_error and not after.overflowed and after.n_frames == 0
    assert driver.stats.restarts_after_error == 1 and driver.stats.overflows == 0
    clock.advance(0.02)
    assert driver.drain().n_frames > 0


class _FailSecondRdwr:
    """Lets the status read (first i2c_rdwr) through and fails the data burst (second)."""

    def __init__(self, bus):
        self._bus = bus
        self._calls = 0

    def __getattr__(self, name):
        return getattr(self._bus, name)

    def i2c_rdwr(self, *msgs):
        self._calls += 1
        if self._calls == 2:
            raise OSError(errno.EIO, "Input/output error")
        return self._bus.i2c_rdwr(*msgs)


@pytest.mark.parametrize("chips", ["mpu6500", "lsm6dsox"])
def test_one_percent_i2c_errors_are_reported_as_read_errors_not_overflows(chips):
    """Issue 12: with 1 % of transactions failing, the health said "FIFO overflowed" for
    every FIFO restart; a restart after a failed read is an I2C error (the cable), and an
    overflow (a late reader: the CPU) is counted only when the FIFO really filled."""
    from pi_app.acquisition.ring import FLAG_OVERFLOW, FLAG_READ_ERROR, row_flags
    from pi_app.acquisition.setup import open_reader
    from pi_app.live.events import FAULT_KINDS

    clock = ManualClock(0.0)
    bus = open_bus(True, scenario="i2c-noise", seed=3, chips=chips, clock=clock)
    reader = open_reader(bus, clock)
    cursors = {role: ring.reader() for role, ring in reader.rings.items()}
    flags = {role: 0 for role in cursors}
    while clock.now_s() < 20.0:
        clock.advance(0.015)
        reader.poll()
        for role, cursor in cursors.items():
            rows = cursor.read().rows
            flags[role] |= int(np.bitwise_or.reduce(row_flags(rows))) if len(rows) else 0
    restarts = 0
    for role, h in reader.snapshot()["sensors"].items():
        assert h["i2c_errors"] > 0, role
        assert h["overflows"] == 0, (role, h)
        restarts += h["fifo_restarts_after_error"]
        assert h["gaps"] == h["fifo_restarts_after_error"] + h["reconnects"], (role, h)
        assert not flags[role] & FLAG_OVERFLOW
        if h["fifo_restarts_after_error"]:
            assert flags[role] & FLAG_READ_ERROR
    assert restarts > 0
    assert "fifo_restart" in FAULT_KINDS
