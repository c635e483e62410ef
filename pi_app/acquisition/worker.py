"""The body of the acquisition process: open the bus and the IMUs, then drain the FIFOs on
schedule into the shared rings and publish heartbeat and health (see
`pi_app.acquisition.process` for the app's side, which starts and supervises it)."""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import threading
import time
from multiprocessing import shared_memory

import numpy as np

from pi_app.acquisition import shared_block as B
from pi_app.acquisition.ring import FLAG_RECONNECT, SampleRing
from pi_app.acquisition.spec import AcquisitionSpec
from pi_app.errors import PiAppError

# Publish the health record every this many polls (~60 ms at 15 ms): the heartbeat is every poll.
_HEALTH_EVERY = 4


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
def set_rt_priority(priority: int) -> tuple[int, str | None]:
    """Ask for SCHED_FIFO `priority` where this process is offered real-time priority at all
    (root, or RLIMIT_RTPRIO above 0: the service's LimitRTPRIO=), at most up to that limit.

    Returns (priority in effect, 0 = normal scheduling; the warning to show, or None). Not
    offered (a desktop session, a shell: RLIMIT_RTPRIO 0) is normal scheduling and no warning;
    offered but refused (seccomp's RestrictRealtime=yes, a cgroup without real-time runtime)
    is a warning that says how to allow it."""
    if priority <= 0:
        return 0, None
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if os.geteuid() != 0:
        if soft == 0:
            return 0, None
        if soft != resource.RLIM_INFINITY:
            priority = min(priority, soft)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(priority)))
    except OSError as err:
        return 0, (f"acquisition runs at normal priority: real-time priority {priority} was "
                   f"not granted ({err.strerror or err}); allow it in the service "
                   f"(RestrictRealtime=no, LimitRTPRIO={priority}) or set "
                   "[sensors] rt_priority = 0")
    return int(priority), None


def process_main(spec: AcquisitionSpec, clock, shm_name: str, lock, stop_event, conn,
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
        header = np.ndarray((B.HEADER_SLOTS,), dtype=np.float64, buffer=shm.buf)
        header[B.PID] = os.getpid()
        _, offsets = B.layout(spec.ring_capacity)
        # The drain never waits for the app: a reader holding the lock (its thread may lose the
        # interpreter lock to a long draw call meanwhile) only delays the rows by a poll.
        rings = {role: SampleRing.on_buffer(shm.buf, spec.ring_capacity, lock, offset=off,
                                            writer_waits=False)
                 for role, off in zip(B.ROLES, offsets)}
        if restarted:
            for ring in rings.values():
                ring.mark_gap(FLAG_RECONNECT)     # the chips were re-opened: samples lost
        rt_priority, warning = set_rt_priority(spec.rt_priority)
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
                              "bus_number": reader.bus_number, "warning": warning,
                              "rt_priority": rt_priority}))
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
        header[B.HB] = reader.health.heartbeat_s if reader.health.heartbeat_s is not None \
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
    if len(data) > B.HEALTH_BYTES:
        data = json.dumps({"error": "health record too large"}).encode()
    if not lock.acquire(False):
        return                                  # the app is reading: next time
    try:
        buf[B.HEADER_BYTES:B.HEADER_BYTES + len(data)] = data
        header[B.HLEN] = len(data)
        header[B.HSEQ] += 1
        header[B.CPU] = time.process_time()
        header[B.BUS_CPU] = bus.cpu_s
        header[B.POLLS] = polls
    finally:
        lock.release()


