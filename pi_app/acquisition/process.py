"""Acquisition in its own process: the FIFO drain keeps its schedule whatever the dashboard and
the analysis do (its own interpreter lock; optionally real-time priority).

    acq = AcquisitionProcess(AcquisitionSpec(BusSpec(simulated=True, chips="mpu6500")), clock)
    acq.open()            # spawns the process: it opens the bus and the IMUs, then streams
    acq.start()           # supervision: a crashed or hung process is restarted
    ... acq.rings["pelvis"].reader() ...   # the same SampleRing API as the sensor thread's
    acq.stop()

The process (its body: `pi_app.acquisition.worker`) runs the same `SensorReader` as the sensor
thread, writing into `SampleRing`s that live in shared memory (`multiprocessing.shared_memory`,
laid out by `shared_block`), behind one `multiprocessing` lock. The health record (a JSON copy of `SensorReader.snapshot()`), the heartbeat and the process's
CPU time are published in the same block. A simulated bus (`BusSpec(simulated=True)`) is
built inside the process, so the demo pays for its chip emulators there, as a real Pi pays for
its I2C transfers.

For the analysis `AcquisitionProcess` looks like a `SensorReader` (roles, rings, snapshot(),
health.heartbeat_s, driver(role)); for `LiveApp` like a `SensorThread` (start, stop,
is_alive). The process needs a clock every process shares (`WallClock`, `ScaledClock`); the
stepped `ManualClock` runs acquisition in the caller's thread instead
(`pi_app.app.open_acquisition` chooses).
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from multiprocessing import shared_memory
from multiprocessing.process import BaseProcess

import numpy as np

from pi_app.acquisition import shared_block as B
from pi_app.acquisition.ring import SampleRing
from pi_app.acquisition.spec import AcquisitionSpec, BusSpec
from pi_app.acquisition.worker import process_main
from pi_app.errors import PiAppError

__all__ = ["AcquisitionError", "AcquisitionProcess", "AcquisitionSpec", "BusSpec"]

# Counters that continue across a restart of the process (the new one starts at zero).
_COUNTERS = ("samples", "overflows", "i2c_errors", "fifo_restarts_after_error", "gaps",
             "reconnects", "exceptions")


class AcquisitionError(PiAppError):
    """The acquisition process could not start or keeps failing; the message says why."""


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
        size, offsets = B.layout(spec.ring_capacity)
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self._buf = self._shm.buf
        self._header = np.ndarray((B.HEADER_SLOTS,), dtype=np.float64, buffer=self._buf)
        self._header[:] = 0.0
        self._header[B.HB] = math.nan
        self._lock = self._ctx.Lock()
        self._all_rings = {role: SampleRing.on_buffer(self._buf, spec.ring_capacity,
                                                      self._lock, offset=off)
                           for role, off in zip(B.ROLES, offsets)}
        self._stop = self._ctx.Event()
        self._proc: BaseProcess | None = None
        self._supervisor: threading.Thread | None = None
        self._quit = threading.Event()
        self._state_lock = threading.Lock()
        self._roles: list[str] = []
        self._drivers: dict[str, _DriverInfo | None] = {}
        self.bus_number = spec.bus.bus_number
        self.warnings: list[str] = []
        #: The SCHED_FIFO priority the process got (0: normal scheduling), see worker.set_rt_priority.
        self.rt_priority_in_effect = 0
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
        self.rt_priority_in_effect = int(info.get("rt_priority", 0))
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
            target=process_main, name="pi-app-acquisition", daemon=True,
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
        last_hb = self._header[B.HB]
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
            hb = self._header[B.HB]
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
            self._header[B.HSEQ] = 0.0
            self._header[B.HLEN] = 0.0
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
        seq = self._header[B.HSEQ]
        if seq == self._health_seq:
            return self._health_cache
        if not self._lock.acquire(timeout=0.5):
            return self._health_cache
        try:
            seq = self._header[B.HSEQ]
            n = int(self._header[B.HLEN])
            data = bytes(self._buf[B.HEADER_BYTES:B.HEADER_BYTES + n])
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
        hb = float(self._header[B.HB])
        return None if math.isnan(hb) or hb == 0.0 else hb

    def _process_info(self) -> dict:
        proc = self._proc
        return {"pid": None if proc is None else proc.pid,
                "alive": proc is not None and proc.is_alive(),
                "restarts": self.restarts, "last_exit": self.last_exit, "fault": self.fault,
                "cpu_s": round(float(self._header[B.CPU]), 3),
                "bus_cpu_s": round(float(self._header[B.BUS_CPU]), 3),
                "polls": int(self._header[B.POLLS]), "warnings": list(self.warnings),
                "rt_priority": self.spec.rt_priority,
                "rt_priority_in_effect": self.rt_priority_in_effect}

    def _close_shm(self) -> None:
        # Remove the name now; the mapping itself lives on while the rings (numpy views into
        # it) are referenced, so a late read after stop() sees the last rows, never freed
        # memory.
        try:
            self._shm.unlink()
        except FileNotFoundError:
            pass
