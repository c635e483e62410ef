"""Acquisition in its own process: the FIFO drain keeps its schedule whatever the dashboard and
the analysis do (its own interpreter lock; optionally real-time priority).

    acq = AcquisitionProcess(AcquisitionSpec(BusSpec(simulated=True, chips="mpu6500")), clock)
    acq.open()            # spawns the process: it opens the bus and the IMUs, then streams
    acq.start()           # supervision: a crashed or hung process is restarted
    ... acq.rings["pelvis"].reader() ...   # the same SampleRing API as the sensor thread's
    acq.stop()

The process runs the same `SensorReader` as the sensor thread, writing into `SampleRing`s that
live in shared memory (`multiprocessing.shared_memory`), behind one `multiprocessing` lock.
The health record (a JSON copy of `SensorReader.snapshot()`), the heartbeat and the process's
CPU time are published in the same block. A simulated bus (`BusSpec(simulated=True)`) is
built inside the process, so the demo pays for its chip emulators there, as a real Pi pays for
its I2C transfers.

For the analysis `AcquisitionProcess` looks like a `SensorReader` (roles, rings, snapshot(),
health.heartbeat_s, driver(role)); for `LiveApp` like a `SensorThread` (start, stop,
is_alive). The process needs a clock every process shares (`WallClock`, `ScaledClock`); the
stepped `ManualClock` runs acquisition in the caller's thread instead
(`pi_app.live.wiring.open_acquisition` chooses).
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from multiprocessing.process import BaseProcess

import numpy as np

from pi_app.acquisition.ring import FLAG_RECONNECT, SampleRing
from pi_app.acquisition.sensor_thread import SensorSpec
from pi_app.errors import PiAppError
from pi_app.hw.imu import ImuSettings

#: The roles a process can stream (the pelvis IMU at the lower address, then the thorax).
ROLES = ("pelvis", "thorax")
# Header slots (float64): heartbeat (clock s), health version, health length (bytes), process
# CPU time (s), CPU time inside bus calls (s), polls, pid.
_HB, _HSEQ, _HLEN, _CPU, _BUS_CPU, _POLLS, _PID = range(7)
_HEADER_BYTES = 64
_HEALTH_BYTES = 32 * 1024
# Publish the health record every this many polls (~60 ms at 15 ms): the heartbeat is every poll.
_HEALTH_EVERY = 4
# Counters that continue across a restart of the process (the new one starts at zero).
_COUNTERS = ("samples", "overflows", "i2c_errors", "fifo_restarts_after_error", "gaps",
             "reconnects", "exceptions")


class AcquisitionError(PiAppError):
    """The acquisition process could not start or keeps failing; the message says why."""


@dataclass(frozen=True)
class BusSpec:
    """The bus the acquisition process opens: `/dev/i2c-<bus_number>`, or with `simulated` a
    simulated runner (`scenario`, `seed`, `chips`, `day`, see pi_app.sim.open_simulated_bus)."""

    bus_number: int = 1
    simulated: bool = False
    scenario: str = "steady"
    seed: int = 0
    chips: str = "mpu6050"
    day: int = 0

    def open(self, clock):
        from pi_app.acquisition.setup import open_bus
        return open_bus(self.simulated, self.bus_number, scenario=self.scenario,
                        seed=self.seed, chips=self.chips, clock=clock, day=self.day)


@dataclass(frozen=True)
class AcquisitionSpec:
    """What the acquisition process reads and how. specs: the sensors (None: probe the bus).
    drain_interval_s: seconds between FIFO drains. rt_priority: SCHED_FIFO priority 1-99 to
    ask for (0: normal scheduling)."""

    bus: BusSpec = field(default_factory=BusSpec)
    specs: tuple[SensorSpec, ...] | None = None
    settings: ImuSettings = field(default_factory=ImuSettings)
    drain_interval_s: float = 0.015
    ring_capacity: int = 8192
    rt_priority: int = 0


def _layout(capacity: int) -> tuple[int, list[int]]:
    """(total bytes, ring offsets) of the shared block."""
    offsets = []
    at = _HEADER_BYTES + _HEALTH_BYTES
    for _ in ROLES:
        offsets.append(at)
        at += SampleRing.nbytes(capacity)
    return at, offsets


class _TimedBus:
    """Passes every call to the bus and adds the thread CPU time spent in it to `cpu_s` (the
    emulators' cost on a simulated bus, the I2C transfers on a real one)."""

    def __init__(self, bus):
        self._bus = bus
        self.cpu_s = 0.0
        self._methods = {}

    def __getattr__(self, name):
        real = getattr(self._bus, name)
        if not callable(real):
            return real
        timed = self._methods.get(name)
        if timed is None:
            def timed(*args, **kwargs):
                t0 = time.thread_time()
                try:
                    return real(*args, **kwargs)
                finally:
                    self.cpu_s += time.thread_time() - t0
            self._methods[name] = timed
        return timed


# -- the acquisition process ----------------------------------------------------------------
def _set_rt_priority(priority: int) -> str | None:
    """Ask for SCHED_FIFO `priority`; the warning to show when it is not granted, else None."""
    if priority <= 0:
        return None
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(priority)))
    except (PermissionError, OSError, AttributeError) as err:
        return (f"acquisition runs at normal priority: real-time priority {priority} was not "
                f"granted ({getattr(err, 'strerror', None) or err}); allow it in the service "
                "(RestrictRealtime=no, LimitRTPRIO=" f"{priority}) or set "
                "[sensors] rt_priority = 0")
    return None


def _process_main(spec: AcquisitionSpec, clock, shm_name: str, lock, stop_event, conn,
                  restarted: bool) -> None:
    """The body of the acquisition process: open, then drain every `drain_interval_s`."""
    # Ctrl-C reaches the whole process group: the parent decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_here = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop_here.set())
    parent = os.getppid()
    # Spawned children share the parent's resource tracker: attaching registers nothing new,
    # and the parent unlinks the block.
    try:
        shm = shared_memory.SharedMemory(name=shm_name)
    except FileNotFoundError:
        return                   # the app stopped while this process was starting
    try:
        header = np.ndarray((8,), dtype=np.float64, buffer=shm.buf)
        header[_PID] = os.getpid()
        _, offsets = _layout(spec.ring_capacity)
        # The drain never waits for the app: a reader holding the lock (its thread may lose the
        # interpreter lock to a long draw call meanwhile) only delays the rows by a poll.
        rings = {role: SampleRing.on_buffer(shm.buf, spec.ring_capacity, lock, offset=off,
                                            writer_waits=False)
                 for role, off in zip(ROLES, offsets)}
        if restarted:
            for ring in rings.values():
                ring.mark_gap(FLAG_RECONNECT)     # the chips were re-opened: samples lost
        warning = _set_rt_priority(spec.rt_priority)
        try:
            bus = _TimedBus(spec.bus.open(clock))
            from pi_app.acquisition.setup import open_reader
            reader = open_reader(bus, clock, specs=list(spec.specs) if spec.specs else None,
                                 bus_number=spec.bus.bus_number, settings=spec.settings,
                                 ring_capacity=spec.ring_capacity, rings=rings)
        except PiAppError as err:
            conn.send(("error", str(err)))
            return
        except Exception as err:      # a bug or an unexpected OS error: say what it was
            conn.send(("error", f"{type(err).__name__}: {err}"))
            return
        drivers = {}
        for role in reader.roles:
            driver = reader.driver(role)
            drivers[role] = None if driver is None else (driver.model,
                                                         float(driver.output_rate_hz))
        conn.send(("opened", {"roles": reader.roles, "drivers": drivers,
                              "bus_number": reader.bus_number, "warning": warning}))
        _stream(reader, rings, bus, clock, spec.drain_interval_s, header, shm.buf, lock,
                lambda: stop_event.is_set() or stop_here.is_set() or os.getppid() != parent)
        for ring in rings.values():
            ring.flush()
        try:
            close = getattr(bus, "close", None)
            if close is not None:
                close()
        except OSError:
            pass
    finally:
        conn.close()
        del header
        shm.close()


def _stream(reader, rings, bus, clock, interval_s: float, header, buf, lock,
            stopping) -> None:
    """Drain on schedule until `stopping()`; publish heartbeat and health."""
    next_s = clock.now_s()
    polls = 0
    while not stopping():
        try:
            reader.poll()
        except Exception as err:  # poll guards each sensor; this is the last net
            reader.record_exception(err)
        for ring in rings.values():
            ring.flush()                        # rows kept while the app held the lock
        polls += 1
        header[_HB] = reader.health.heartbeat_s if reader.health.heartbeat_s is not None \
            else math.nan
        if polls % _HEALTH_EVERY == 1:
            _publish(reader, bus, header, buf, lock, polls)
        next_s += interval_s
        now_s = clock.now_s()
        if next_s < now_s - interval_s:
            next_s = now_s                      # fell far behind: restart the schedule
        wait_s = next_s - now_s
        if wait_s > 0:
            clock.sleep_s(wait_s)
    _publish(reader, bus, header, buf, lock, polls)


def _publish(reader, bus, header, buf, lock, polls: int) -> None:
    data = json.dumps(reader.snapshot()).encode()
    if len(data) > _HEALTH_BYTES:
        data = json.dumps({"error": "health record too large"}).encode()
    if not lock.acquire(False):
        return                                  # the app is reading: next time
    try:
        buf[_HEADER_BYTES:_HEADER_BYTES + len(data)] = data
        header[_HLEN] = len(data)
        header[_HSEQ] += 1
        header[_CPU] = time.process_time()
        header[_BUS_CPU] = bus.cpu_s
        header[_POLLS] = polls
    finally:
        lock.release()


# -- the app's side -------------------------------------------------------------------------
class _DriverInfo:
    """What the analysis needs of a driver in the other process: model and output rate."""

    def __init__(self, model: str, output_rate_hz: float):
        self.model = model
        self.output_rate_hz = output_rate_hz


class _HealthView:
    def __init__(self, owner: "AcquisitionProcess"):
        self._owner = owner

    @property
    def heartbeat_s(self) -> float | None:
        return self._owner._heartbeat_s()


class AcquisitionProcess:
    """The acquisition process seen from the app (see the module doc).

    clock: shared by both processes (WallClock or ScaledClock). start_timeout_s: how long the
    process may take to start and open the IMUs (importing numpy on a Pi takes seconds).
    hang_timeout_s: wall seconds without a new heartbeat after which a live process is killed
    and restarted. max_restarts within restart_window_s: then it is left down, with a fault.
    """

    def __init__(self, spec: AcquisitionSpec, clock, *, start_timeout_s: float = 60.0,
                 hang_timeout_s: float = 3.0, max_restarts: int = 5,
                 restart_window_s: float = 60.0):
        from pi_app.clock import ManualClock
        if isinstance(clock, ManualClock):
            raise ValueError("a ManualClock cannot be shared with another process: run "
                             "acquisition in-process for stepped runs")
        import multiprocessing
        self.spec = spec
        self.clock = clock
        self.start_timeout_s = float(start_timeout_s)
        self.hang_timeout_s = float(hang_timeout_s)
        self.max_restarts = int(max_restarts)
        self.restart_window_s = float(restart_window_s)
        self._ctx = multiprocessing.get_context("spawn")
        size, offsets = _layout(spec.ring_capacity)
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self._buf = self._shm.buf
        self._header = np.ndarray((8,), dtype=np.float64, buffer=self._buf)
        self._header[:] = 0.0
        self._header[_HB] = math.nan
        self._lock = self._ctx.Lock()
        self._all_rings = {role: SampleRing.on_buffer(self._buf, spec.ring_capacity,
                                                      self._lock, offset=off)
                           for role, off in zip(ROLES, offsets)}
        self._stop = self._ctx.Event()
        self._proc: BaseProcess | None = None
        self._supervisor: threading.Thread | None = None
        self._quit = threading.Event()
        self._state_lock = threading.Lock()
        self._roles: list[str] = []
        self._drivers: dict[str, _DriverInfo | None] = {}
        self.bus_number = spec.bus.bus_number
        self.warnings: list[str] = []
        self.restarts = 0
        self.restart_times: list[float] = []
        self.last_exit: str | None = None
        self.fault: str | None = None
        self._health_seq = -1.0
        self._health_cache: dict = {}
        self._stale = False
        self._carry: dict[str, dict[str, int]] = {}
        self._final: dict | None = None
        self.health = _HealthView(self)

    # -- reader interface ----------------------------------------------------------------
    @property
    def roles(self) -> list[str]:
        return list(self._roles)

    @property
    def rings(self) -> dict[str, SampleRing]:
        return {role: self._all_rings[role] for role in self._roles}

    def driver(self, role: str):
        """Model and output rate of the IMU in `role` as it was opened (None if absent)."""
        if role not in self._roles:
            raise KeyError(role)
        return self._drivers.get(role)

    def snapshot(self) -> dict:
        """The health record (as SensorReader.snapshot()), counters continued across
        restarts, plus "process": pid, alive, restarts, last exit, CPU seconds, fault."""
        if self._final is not None:
            return self._final
        with self._state_lock:
            out = dict(self._read_health() or {"sensors": {}})
            # Until a restarted process publishes, the dead one's last record stands (its
            # counters are already the totals).
            if self._carry and not self._stale:
                out["sensors"] = {
                    role: {**h, **{key: h.get(key, 0) + value
                                   for key, value in self._carry.get(role, {}).items()}}
                    for role, h in out.get("sensors", {}).items()}
            out["heartbeat_s"] = self._heartbeat_s()
            out["process"] = self._process_info()
            return out

    # -- thread interface ------------------------------------------------------------------
    def open(self) -> list[str]:
        """Start the process and wait until it opened the IMUs; returns the roles. Raises the
        process's error (PiAppError: no bus, no IMU ...) as an AcquisitionError."""
        message = self._spawn(restarted=False)
        info = message[1]
        self._roles = list(info["roles"])
        self._drivers = {role: None if d is None else _DriverInfo(d[0], d[1])
                         for role, d in info["drivers"].items()}
        if info.get("warning"):
            self.warnings.append(info["warning"])
        return self.roles

    def start(self) -> "AcquisitionProcess":
        """Watch the process: restart it when it dies or hangs."""
        if self._proc is None:
            self.open()
        self._supervisor = threading.Thread(target=self._supervise, name="pi-app-acq-watch",
                                            daemon=True)
        self._supervisor.start()
        return self

    def is_alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.is_alive() and self._final is None

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Stop the process (and the supervision); True if it ended within `timeout_s`.
        Keeps the last health record readable; frees the shared memory."""
        if self._final is not None:
            return True
        self._quit.set()
        self._stop.set()
        t_end = time.monotonic() + timeout_s
        if self._supervisor is not None:
            self._supervisor.join(max(0.0, t_end - time.monotonic()))
        clean = True
        proc = self._proc
        if proc is not None:
            proc.join(max(0.0, t_end - time.monotonic()))
            if proc.is_alive():
                clean = False
                proc.kill()
                proc.join(1.0)
        self._final = self.snapshot()
        self._final["process"]["alive"] = False
        self._close_shm()
        return clean

    def __enter__(self) -> "AcquisitionProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------
    def _spawn(self, restarted: bool):
        parent_conn, child_conn = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_process_main, name="pi-app-acquisition", daemon=True,
            args=(self.spec, self.clock, self._shm.name, self._lock, self._stop, child_conn,
                  restarted))
        proc.start()
        child_conn.close()
        try:
            if not parent_conn.poll(self.start_timeout_s):
                proc.kill()
                proc.join(1.0)
                raise AcquisitionError(
                    f"the acquisition process did not open the IMUs within "
                    f"{self.start_timeout_s:g} s; check the I2C bus (pi-app sensors), or set "
                    "[sensors] acquisition = \"thread\"")
            try:
                message = parent_conn.recv()
            except EOFError:
                proc.join(1.0)
                raise AcquisitionError(
                    f"the acquisition process ended while starting (exit code "
                    f"{proc.exitcode}); run `pi-app sensors` to check the IMUs") from None
        finally:
            parent_conn.close()
        if message[0] == "error":
            proc.join(2.0)
            raise AcquisitionError(message[1])
        self._proc = proc
        return message

    def _supervise(self) -> None:
        from multiprocessing.connection import wait
        last_hb = self._header[_HB]
        last_change = time.monotonic()
        while not self._quit.is_set():
            proc = self._proc
            assert proc is not None          # start() supervises what open() started
            wait([proc.sentinel], timeout=0.1)
            if self._quit.is_set():
                return
            if not proc.is_alive():
                self._restart(self._describe_exit(proc.exitcode))
                last_change = time.monotonic()
                continue
            hb = self._header[_HB]
            if hb != last_hb:
                last_hb, last_change = hb, time.monotonic()
            elif time.monotonic() - last_change > self.hang_timeout_s:
                proc.kill()                          # restarted on the next turn
                proc.join(1.0)
                self.last_exit = (f"no heartbeat for {self.hang_timeout_s:g} s: killed")

    @staticmethod
    def _describe_exit(code) -> str:
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def _restart(self, why: str) -> None:
        now = time.monotonic()
        with self._state_lock:
            if self.last_exit is None or not self.last_exit.startswith("no heartbeat"):
                self.last_exit = why
            else:
                self.last_exit = f"{self.last_exit} ({why})"
            # Counters of the dead process continue in the next one.
            health = self._read_health()
            for role, h in health.get("sensors", {}).items():
                carry = self._carry.setdefault(role, {})
                for key in _COUNTERS:
                    carry[key] = carry.get(key, 0) + int(h.get(key, 0) or 0)
                carry["reconnects"] = carry.get("reconnects", 0) + 1
                carry["gaps"] = carry.get("gaps", 0) + 1
            self._health_seq = -1.0
            self._stale = True
            self._header[_HSEQ] = 0.0
            self._header[_HLEN] = 0.0
        self.restart_times = [t for t in self.restart_times if now - t < self.restart_window_s]
        if len(self.restart_times) >= self.max_restarts:
            self.fault = (f"acquisition process failed {len(self.restart_times) + 1} times in "
                          f"{self.restart_window_s:g} s ({self.last_exit}); not restarted: "
                          "restart pi-app and check the I2C bus (pi-app sensors)")
            self._quit.set()
            return
        # The dead process may have held the lock: the rings get a new one.
        self._lock = self._ctx.Lock()
        for ring in self._all_rings.values():
            ring.replace_lock(self._lock)
        if self._quit.is_set():
            return
        self.restart_times.append(now)
        try:
            self._spawn(restarted=True)
        except AcquisitionError as err:
            self.fault = f"acquisition process could not be restarted: {err}"
            self._quit.set()
            return
        self.restarts += 1

    def _read_health(self) -> dict:
        if self._buf is None:
            return self._health_cache
        seq = self._header[_HSEQ]
        if seq == self._health_seq:
            return self._health_cache
        if not self._lock.acquire(timeout=0.5):
            return self._health_cache
        try:
            seq = self._header[_HSEQ]
            n = int(self._header[_HLEN])
            data = bytes(self._buf[_HEADER_BYTES:_HEADER_BYTES + n])
        finally:
            self._lock.release()
        if n:
            self._health_cache = json.loads(data)
            self._health_seq = seq
            self._stale = False
        return self._health_cache

    def _heartbeat_s(self) -> float | None:
        if self._final is not None:
            return self._final.get("heartbeat_s")
        hb = float(self._header[_HB])
        return None if math.isnan(hb) or hb == 0.0 else hb

    def _process_info(self) -> dict:
        proc = self._proc
        return {"pid": None if proc is None else proc.pid,
                "alive": proc is not None and proc.is_alive(),
                "restarts": self.restarts, "last_exit": self.last_exit, "fault": self.fault,
                "cpu_s": round(float(self._header[_CPU]), 3),
                "bus_cpu_s": round(float(self._header[_BUS_CPU]), 3),
                "polls": int(self._header[_POLLS]), "warnings": list(self.warnings),
                "rt_priority": self.spec.rt_priority}

    def _close_shm(self) -> None:
        # Remove the name now; the mapping itself lives on while the rings (numpy views into
        # it) are referenced, so a late read after stop() sees the last rows, never freed
        # memory.
        try:
            self._shm.unlink()
        except FileNotFoundError:
            pass
