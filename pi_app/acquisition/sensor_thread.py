"""The sensor thread: the one owner of the I2C bus. It drains both IMU FIFOs every 10-20 ms,
timestamps the frames from the chips' fitted sample clocks and writes them to one ring buffer
per sensor.

`SensorReader.poll()` is one drain cycle and has no thread or sleep in it, so tests drive it
step by step on a `ManualClock`; `SensorThread` calls it periodically on its own thread.

Faults never stop acquisition: a transient OSError is counted and the next poll retries;
EREMOTEIO (nothing ACKed: unplugged) or repeated errors mark the sensor absent, and it is
re-probed every `reprobe_interval_s` (open + configure) until it answers again. Every lost
stretch of samples is marked in the ring (`FLAG_GAP` on the first sample after it).
"""

from __future__ import annotations

import errno
import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from pi_app.acquisition.clock_fit import SampleClockFit
from pi_app.acquisition.health import AcquisitionHealth, SensorHealth
from pi_app.acquisition.ring import (FLAG_OVERFLOW, FLAG_READ_ERROR, FLAG_RECONNECT,
                                     FLAG_TIME_STEP, SampleRing)
from pi_app.clock import Clock
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import PiAppError
from pi_app.hw.chips import INVENSENSE, family_at
from pi_app.hw.i2c import I2cBus
from pi_app.hw.imu import ImuDriver, ImuSettings

OpenImu = Callable[..., ImuDriver]


@dataclass(frozen=True)
class SensorSpec:
    """One sensor to read: its role ("pelvis" or "thorax"), 7-bit I2C address and the chip
    settings to request."""

    role: str
    address: int
    settings: ImuSettings = field(default_factory=ImuSettings)


# While one chip waits out its reset, the others are drained this often (s): well inside the
# smallest FIFO (MPU-6500: 42 ms at 1 kHz).
_WAIT_STEP_S = 0.01


def _default_open_imu(bus: I2cBus, address: int, bus_number: int | None = None) -> ImuDriver:
    from pi_app.hw.detect import open_imu
    return open_imu(bus, address, bus_number=bus_number)


def _vec3(row: np.ndarray) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in np.asarray(row))
    return x, y, z


class _Sensor:
    """Per-sensor state owned by the reader."""

    def __init__(self, spec: SensorSpec, ring: SampleRing):
        self.spec = spec
        self.ring = ring
        self.health = SensorHealth(role=spec.role, address=spec.address)
        self.driver: ImuDriver | None = None
        self.fit: SampleClockFit | None = None
        self.consecutive_errors = 0
        self.next_probe_s = -math.inf
        self.last_frames_s = 0.0
        self.ever_present = False


class SensorReader:
    """Reads the configured sensors from one bus.

    bus: an smbus2.SMBus-like object (real or simulated). sensors: what to read. clock: the
    monotonic time base shared by all sensors. bus_number: for error messages. open_imu:
    `open_imu(bus, address, bus_number=None) -> ImuDriver` (default: pi_app.hw.detect.open_imu).
    max_consecutive_errors: failed drains in a row that mark a sensor absent.
    reprobe_interval_s: how often an absent sensor is probed. stall_timeout_s: a present sensor
    that delivers no frame for this long (at least 5 frame periods) is re-configured (it was
    reset by a power glitch between two polls). rings: a ring per role to write into (the
    acquisition process passes rings in shared memory); default: new rings of
    `ring_capacity` rows.
    """

    def __init__(self, bus: I2cBus, sensors: Sequence[SensorSpec], clock: Clock,
                 bus_number: int | None = None, *, ring_capacity: int = 8192,
                 open_imu: OpenImu | None = None, max_consecutive_errors: int = 5,
                 reprobe_interval_s: float = 1.0, stall_timeout_s: float = 0.25,
                 rings: dict[str, SampleRing] | None = None):
        roles = [s.role for s in sensors]
        if len(set(roles)) != len(roles):
            raise ValueError(f"sensor roles must be unique, got {roles}")
        self.bus = bus
        self.clock = clock
        self.bus_number = bus_number
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.reprobe_interval_s = float(reprobe_interval_s)
        self.stall_timeout_s = float(stall_timeout_s)
        self._open_imu = open_imu or _default_open_imu
        self._sensors = [_Sensor(spec, rings[spec.role] if rings is not None
                                 else SampleRing(ring_capacity)) for spec in sensors]
        self.rings: dict[str, SampleRing] = {s.spec.role: s.ring for s in self._sensors}
        self.health = AcquisitionHealth(
            sensors={s.spec.role: s.health for s in self._sensors})
        self._lock = threading.Lock()
        self._opening = False

    # -- public -------------------------------------------------------------------------------
    @property
    def roles(self) -> list[str]:
        return [s.spec.role for s in self._sensors]

    def driver(self, role: str) -> ImuDriver | None:
        """The driver of a present sensor, else None."""
        for s in self._sensors:
            if s.spec.role == role:
                return s.driver
        raise KeyError(role)

    def open(self) -> list[str]:
        """Probe and configure every sensor now; returns the roles that answered. Sensors that
        did not are re-probed by later polls. The stream starts when every FIFO does: nothing
        is written before."""
        # Configuring one chip takes ~100 ms of reset wait, long enough to fill (overflow) the
        # FIFO of a chip configured before it: start every FIFO afresh, together, and do not
        # drain the ones already configured meanwhile (their rows would end in a discontinuity
        # that the sample clock fit later mistakes for lost frames).
        self._opening = True
        try:
            for s in self._sensors:
                if s.driver is None:
                    self._guarded(s, self._probe, self.clock.now_s())
        finally:
            self._opening = False
        now_s = self.clock.now_s()
        for s in self._sensors:
            if s.driver is not None:
                try:
                    s.driver.reset_fifo()
                except OSError as err:
                    s.health.i2c_errors += 1
                    s.health.last_error = f"{self._describe(s)}: {err.strerror or err}"
                s.last_frames_s = now_s
        return [s.spec.role for s in self._sensors if s.driver is not None]

    def poll(self) -> int:
        """One drain cycle of every sensor; returns the number of samples written."""
        written = 0
        for s in self._sensors:
            written += self._guarded(s, self._poll_one, self.clock.now_s()) or 0
        with self._lock:
            self.health.polls += 1
            self.health.heartbeat_s = self.clock.now_s()
        return written

    def snapshot(self) -> dict:
        """A copy of the health, safe to read from any thread (see AcquisitionHealth)."""
        with self._lock:
            return self.health.to_dict()

    def record_exception(self, err: BaseException) -> None:
        """Note an unexpected exception that escaped a poll (used by SensorThread)."""
        with self._lock:
            self.health.exceptions += 1
            self.health.last_error = f"{type(err).__name__}: {err}"

    # -- internals ----------------------------------------------------------------------------
    def _guarded(self, s: _Sensor, step, now_s: float):
        try:
            return step(s, now_s)
        except Exception as err:  # the thread must outlive any bug in a driver
            with self._lock:
                s.health.exceptions += 1
                s.health.last_error = f"{type(err).__name__}: {err}"
                self.health.exceptions += 1
                self.health.last_error = s.health.last_error
            return 0

    def _describe(self, s: _Sensor) -> str:
        bus = f"bus {self.bus_number} " if self.bus_number is not None else ""
        return f"{s.spec.role} IMU at {bus}0x{s.spec.address:02X}"

    def _probe(self, s: _Sensor, now_s: float) -> None:
        s.next_probe_s = now_s + self.reprobe_interval_s
        if not self._answers(s):
            return
        try:
            driver = self._open_imu(self.bus, s.spec.address, bus_number=self.bus_number)
            driver.wait_s = lambda seconds: self._wait_draining_others(s, seconds)
            driver.configure(s.spec.settings)
        except OSError as err:
            s.health.last_error = f"{self._describe(s)} does not answer ({err.strerror or err})"
            return
        except PiAppError as err:
            s.health.last_error = str(err)
            return
        rate_hz = float(driver.output_rate_hz)
        if s.fit is None or abs(s.fit.nominal_period_s * rate_hz - 1.0) > 1e-9:
            s.fit = SampleClockFit(rate_hz)
        if s.ever_present:
            # Back after a dropout: the chip restarted, its frame count means nothing now.
            s.health.reconnects += 1
            self._gap(s, FLAG_RECONNECT)
        s.ever_present = True
        s.driver = driver
        s.consecutive_errors = 0
        s.last_frames_s = now_s
        h = s.health
        h.present = True
        h.model = driver.model
        h.configured_rate_hz = rate_hz
        h.effective_rate_hz = s.fit.effective_rate_hz

    def _wait_draining_others(self, s: _Sensor, seconds: float) -> None:
        """Wait `seconds` (a chip's reset time) while draining every other present sensor
        each `_WAIT_STEP_S`, so a reconnecting chip does not overflow the others' FIFOs (while
        opening, the others are restarted afterwards instead)."""
        end_s = self.clock.now_s() + seconds
        if self._opening:
            self.clock.sleep_s(seconds)
            return
        while True:
            now_s = self.clock.now_s()
            if now_s >= end_s:
                return
            self.clock.sleep_s(min(_WAIT_STEP_S, end_s - now_s))
            for other in self._sensors:
                if other is not s and other.driver is not None:
                    self._guarded(other, self._poll_one, self.clock.now_s())

    def _answers(self, s: _Sensor) -> bool:
        """A side-effect-free check that a vanished sensor acknowledges again. (open_imu
        scans the whole bus when nothing answers, and a scan read pops a FIFO byte of the other,
        streaming, chip: never while streaming.)"""
        # The family's WHO_AM_I register: reading it is side-effect free (any register would
        # do for the acknowledge at an address outside the chip table).
        family = family_at(s.spec.address) or INVENSENSE
        register = family.who_am_i_register
        try:
            self.bus.read_byte_data(s.spec.address, register)
        except OSError as err:
            s.health.last_error = f"{self._describe(s)} does not answer ({err.strerror or err})"
            return False
        return True

    def _gap(self, s: _Sensor, flag: int) -> None:
        s.health.gaps += 1
        s.ring.mark_gap(flag)
        if s.fit is not None:
            s.fit.reanchor()

    def _mark_absent(self, s: _Sensor, now_s: float) -> None:
        s.driver = None
        s.health.present = False
        # Probe on the next poll already (a glitch recovers fast), then every interval.
        s.next_probe_s = now_s

    def _poll_one(self, s: _Sensor, now_s: float) -> int:
        if s.driver is None:
            if now_s >= s.next_probe_s:
                self._probe(s, now_s)
            return 0
        h = s.health
        batch = None
        # One immediate retry: a small FIFO (MPU-6500: 42 ms at 1 kHz) overflows if a transient
        # error makes it wait for two more polls.
        for _ in range(2):
            t_read_s = self.clock.now_s()
            try:
                batch = s.driver.drain()
                break
            except OSError as err:
                h.i2c_errors += 1
                s.consecutive_errors += 1
                h.last_error = f"{self._describe(s)}: {err.strerror or err}"
                if (err.errno == errno.EREMOTEIO
                        or s.consecutive_errors >= self.max_consecutive_errors):
                    self._mark_absent(s, now_s)
                    return 0
        if batch is None:
            return 0
        s.consecutive_errors = 0
        if batch.overflowed:
            h.overflows += 1
            self._gap(s, FLAG_OVERFLOW)
        elif batch.restarted_after_error:
            # An I2C error cost these samples, not a late reader: counted apart, so the
            # health points at the wiring and not at the CPU.
            h.fifo_restarts_after_error += 1
            self._gap(s, FLAG_READ_ERROR)
        n = batch.n_frames
        if n == 0:
            period_s = s.fit.period_s if s.fit is not None else 0.0
            if now_s - s.last_frames_s > max(self.stall_timeout_s, 5.0 * period_s):
                h.last_error = (f"{self._describe(s)} stopped delivering samples; "
                                "re-configuring it")
                self._mark_absent(s, now_s)
                self._probe(s, now_s)
            return 0
        s.last_frames_s = now_s
        fit = s.fit
        assert fit is not None          # _probe sets it before the driver
        update = fit.update(n, t_read_s)
        if update.step:
            # Frames went missing without an overflow flag: the times jumped, say so.
            h.gaps += 1
            s.ring.mark_gap(FLAG_TIME_STEP)
        s.ring.write(update.t_s, batch.acc_g, batch.gyro_dps)
        h.samples += n
        h.effective_rate_hz = fit.effective_rate_hz
        h.last_sample_t_s = float(update.t_s[-1])
        h.latest_acc_g = _vec3(batch.acc_g[-1])
        h.latest_gyro_dps = _vec3(batch.gyro_dps[-1])
        return n


class SensorThread:
    """Runs `reader.poll()` every `drain_interval_s` (10-20 ms) on its own daemon thread."""

    def __init__(self, reader: SensorReader, drain_interval_s: float = DRAIN_INTERVAL_S,
                 name: str = "pi-app-sensors"):
        if not 0.0 < drain_interval_s <= 1.0:
            raise ValueError("drain_interval_s must be in (0, 1] seconds")
        self.reader = reader
        self.clock = reader.clock
        self.drain_interval_s = float(drain_interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def heartbeat_s(self) -> float | None:
        """Monotonic time (s) of the last completed poll, for the watchdog."""
        return self.reader.health.heartbeat_s

    def start(self) -> "SensorThread":
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Ask the thread to finish and join it; True if it ended within `timeout_s`."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def __enter__(self) -> "SensorThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        next_s = self.clock.now_s()
        while not self._stop.is_set():
            try:
                self.reader.poll()
            except Exception as err:  # poll guards each sensor; this is the last net
                self.reader.record_exception(err)
            next_s += self.drain_interval_s
            now_s = self.clock.now_s()
            if next_s < now_s - self.drain_interval_s:
                next_s = now_s  # fell far behind (paused): restart the schedule, no burst
            wait_s = next_s - now_s
            if wait_s > 0 and not self._stop.is_set():
                self.clock.sleep_s(wait_s)
