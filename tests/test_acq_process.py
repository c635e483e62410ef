"""Acquisition in its own process: shared-memory rings, clean start and stop, crash and hang
detection with restart (shown to the analysis as a fault), errors as one sentence; and the
one place that chooses between the process and the in-process sensor thread.

The process tests run a real spawned process on the wall clock (the point is a second
interpreter): they wait for conditions with a generous limit and never assert on durations."""

import dataclasses
import os
import resource
import signal
import subprocess
import sys
import threading
from multiprocessing import shared_memory

import numpy as np
import pytest

from pi_app.acquisition.process import (AcquisitionError, AcquisitionProcess, AcquisitionSpec,
                                        BusSpec)
from pi_app.acquisition.ring import (COL_FLAGS, COL_T, FLAG_GAP, FLAG_RECONNECT, N_COLS,
                                     SampleRing)
from pi_app.clock import ManualClock, WallClock
from pi_app.config import Config, SensorsConfig
from pi_app.errors import PiAppError
from pi_app.app import acquisition_mode, open_acquisition, open_session

LIMIT_S = 60.0      # generous: the machine may be busy; nothing is asserted about time


def wait_for(condition, limit_s: float = LIMIT_S) -> bool:
    pause = threading.Event()
    for _ in range(int(limit_s / 0.05)):
        if condition():
            return True
        pause.wait(0.05)
    return condition()


def sim_spec(**kw) -> AcquisitionSpec:
    return AcquisitionSpec(BusSpec(simulated=True, chips="mpu6500", seed=1), **kw)


# -- deterministic parts --------------------------------------------------------------------
def test_the_mode_is_chosen_in_one_place():
    process_cfg = Config()
    thread_cfg = dataclasses.replace(Config(), sensors=SensorsConfig(acquisition="thread"))
    assert process_cfg.sensors.acquisition == "process"           # the default
    assert acquisition_mode(process_cfg, WallClock()) == "process"
    assert acquisition_mode(thread_cfg, WallClock()) == "thread"
    # A stepped virtual clock cannot be shared with another process; a bus object opened by
    # the caller (tests) is read where it is.
    assert acquisition_mode(process_cfg, ManualClock()) == "thread"
    assert acquisition_mode(process_cfg, WallClock(), bus=object()) == "thread"
    with pytest.raises(ValueError, match="ManualClock"):
        AcquisitionProcess(sim_spec(), ManualClock())


def test_ring_on_a_shared_buffer_reads_like_a_private_ring():
    buf = bytearray(SampleRing.nbytes(16) + 24)
    shared = SampleRing.on_buffer(memoryview(buf), 16, threading.Lock(), offset=24)
    private = SampleRing(16)
    rng = np.random.default_rng(0)
    readers = [shared.reader(from_start=True), private.reader(from_start=True)]
    for n in (5, 9, 20, 3):
        t = np.arange(n, dtype=float)
        acc, gyro = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        for ring in (shared, private):
            ring.mark_gap(FLAG_RECONNECT)
            ring.write(t, acc, gyro)
        a, b = (r.read() for r in readers)
        np.testing.assert_array_equal(a.rows, b.rows)
        assert a.lost == b.lost
    assert shared.written == private.written == 37


def test_a_reader_does_not_hang_on_a_lock_its_dead_writer_held():
    lock = threading.Lock()
    ring = SampleRing.on_buffer(bytearray(SampleRing.nbytes(8)), 8, lock, lock_timeout_s=0.01)
    ring.write(np.arange(3.0), np.zeros((3, 3)), np.zeros((3, 3)))
    reader = ring.reader(from_start=True)
    lock.acquire()                       # the writer "died" holding it
    assert len(reader.read()) == 0 and reader.cursor == 0
    ring.replace_lock(threading.Lock())  # what the supervisor does on restart
    assert len(reader.read()) == 3


def _run_as_child(code: str) -> str:
    """Run `code` in a fresh interpreter (scheduling and limits change for good) and return
    its last printed line."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=root), cwd="/")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


# Import first (the interpreter's files may not be readable by that user), then drop root so
# the kernel decides as it does for the service user.
_AS_SERVICE_USER = ("import os, resource; from pi_app.acquisition.worker import "
                    "set_rt_priority; resource.setrlimit(resource.RLIMIT_RTPRIO, ({0}, {0})); "
                    "os.setuid(65534); ")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_real_time_priority_not_offered_is_normal_scheduling_without_a_warning():
    # A desktop session or a shell: RLIMIT_RTPRIO 0. The demo must not nag about it.
    text = _run_as_child(_AS_SERVICE_USER.format(0) + "print(set_rt_priority(50), "
                         "os.sched_getscheduler(0) == os.SCHED_OTHER)")
    assert text == "(0, None) True"


@pytest.mark.skipif(os.geteuid() != 0 or resource.getrlimit(resource.RLIMIT_RTPRIO)[1] < 20,
                    reason="needs root to drop to another user, allowed an RLIMIT_RTPRIO of 20")
def test_real_time_priority_is_granted_up_to_the_services_limit():
    # The unit's LimitRTPRIO=20 with rt_priority = 50: the kernel grants 20, not 50.
    text = _run_as_child(_AS_SERVICE_USER.format(20) + "print(set_rt_priority(50), "
                         "os.sched_getscheduler(0) == os.SCHED_FIFO, "
                         "os.sched_getparam(0).sched_priority)")
    assert text == "(20, None) True 20"


_CPU_CGROUP = "/sys/fs/cgroup/cpu"


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(f"{_CPU_CGROUP}/cpu.rt_runtime_us"),
                    reason="needs root and cgroup v1 real-time group scheduling to be refused")
def test_real_time_priority_refused_is_one_clear_sentence():
    # A real refusal: a cgroup without real-time runtime (what CONFIG_RT_GROUP_SCHED gives a
    # new group) makes the kernel answer EPERM even to root.
    group = f"{_CPU_CGROUP}/pi_app_test_rt_{os.getpid()}"
    os.mkdir(group)
    try:
        text = _run_as_child(
            "import os; from pi_app.acquisition.worker import set_rt_priority; "
            f"open({group + '/tasks'!r}, 'w').write(str(os.getpid())); "
            "print(repr(set_rt_priority(20)))")
    finally:
        with open(f"{_CPU_CGROUP}/tasks", "w") as tasks:   # nothing left inside: remove it
            pass
        os.rmdir(group)
    assert text.startswith("(0, ") and "not granted (Operation not permitted)" in text
    assert "RestrictRealtime=no, LimitRTPRIO=20" in text and "rt_priority = 0" in text


# -- the process ------------------------------------------------------------------------------
@pytest.mark.slow
def test_process_streams_into_shared_rings_and_stops_cleanly():
    acq = AcquisitionProcess(sim_spec(), WallClock())
    try:
        assert acq.open() == ["pelvis", "thorax"]
        assert acq.driver("pelvis").model == "MPU-6500"
        assert acq.driver("pelvis").output_rate_hz == pytest.approx(1000.0)
        acq.start()
        readers = {role: ring.reader(from_start=True) for role, ring in acq.rings.items()}
        rows = {role: [] for role in readers}

        def enough():
            for role, r in readers.items():
                got = r.read()
                assert got.lost == 0
                rows[role].append(got.rows)
            return all(sum(len(x) for x in v) >= 1500 for v in rows.values())

        assert wait_for(enough)
        for role, parts in rows.items():
            data = np.concatenate(parts)
            assert data.shape[1] == N_COLS
            assert np.all(np.diff(data[:, COL_T]) > 0), role   # sample-clock times, in order
            assert np.abs(np.linalg.norm(data[:, 1:4], axis=1)).max() < 20.0
        snap = acq.snapshot()
        assert snap["process"]["alive"] and snap["process"]["pid"] != os.getpid()
        assert snap["process"]["cpu_s"] > 0.0 and snap["process"]["bus_cpu_s"] > 0.0
        assert snap["sensors"]["pelvis"]["samples"] > 0
        assert acq.health.heartbeat_s is not None
        name = acq._shm.name
    finally:
        clean = acq.stop()
    assert clean and not acq.is_alive()
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)        # the block is freed
    assert acq.snapshot()["sensors"]["pelvis"]["samples"] > 0   # the last health stays


@pytest.mark.slow
def test_a_killed_process_is_restarted_and_the_analysis_shows_the_fault():
    cfg = Config()
    clock = WallClock()
    acq = AcquisitionProcess(sim_spec(), clock)
    events = []

    class Hook:
        def on_event(self, kind, detail):
            events.append((kind, detail))

    try:
        acq.open()
        session, _ = open_session(cfg, clock, reader=acq, hooks=[Hook()], simulated=True)
        acq.start()
        assert wait_for(lambda: session.step() is not None and session.n_samples > 500)
        first_pid = acq.snapshot()["process"]["pid"]
        before = acq.snapshot()["sensors"]["pelvis"]["samples"]
        os.kill(first_pid, signal.SIGKILL)
        assert wait_for(lambda: acq.snapshot()["process"]["restarts"] == 1
                        and acq.snapshot()["sensors"]["pelvis"]["samples"] > before + 200)
        proc = acq.snapshot()["process"]
        assert proc["pid"] != first_pid and proc["alive"]
        assert proc["last_exit"] == "killed by SIGKILL"
        flags = []
        cursor = acq.rings["pelvis"].reader(from_start=True)
        rows = cursor.read().rows
        flags = rows[:, COL_FLAGS].astype(np.int64)
        assert np.any((flags & (FLAG_GAP | FLAG_RECONNECT)) == (FLAG_GAP | FLAG_RECONNECT))
        session.step()
        kinds = [k for k, _ in events]
        assert "acquisition_restart" in kinds
        warning = [w for w in session.snapshot().warnings if "acquisition process" in w]
        assert warning and "SIGKILL" in warning[0] and "samples were lost" in warning[0]
        h = acq.snapshot()["sensors"]["pelvis"]
        assert h["reconnects"] >= 1 and h["samples"] > before     # counters continue
    finally:
        assert acq.stop()


@pytest.mark.slow
def test_a_hung_process_is_killed_and_restarted():
    acq = AcquisitionProcess(sim_spec(), WallClock(), hang_timeout_s=1.0)
    try:
        acq.open()
        acq.start()
        pid = acq.snapshot()["process"]["pid"]
        assert wait_for(lambda: acq.health.heartbeat_s is not None)
        os.kill(pid, signal.SIGSTOP)
        assert wait_for(lambda: acq.snapshot()["process"]["restarts"] == 1)
        proc = acq.snapshot()["process"]
        assert proc["pid"] != pid and "no heartbeat" in proc["last_exit"]
    finally:
        assert acq.stop()


@pytest.mark.slow
def test_repeated_crashes_leave_it_down_with_a_fault():
    acq = AcquisitionProcess(sim_spec(), WallClock(), max_restarts=1)
    try:
        acq.open()
        acq.start()
        for n in range(2):
            pid = acq.snapshot()["process"]["pid"]
            os.kill(pid, signal.SIGKILL)
            assert wait_for(lambda: acq.snapshot()["process"]["restarts"] == 1 or
                            acq.snapshot()["process"]["fault"])
            assert wait_for(lambda: acq.snapshot()["process"]["pid"] != pid or
                            acq.snapshot()["process"]["fault"])
        fault = acq.snapshot()["process"]["fault"]
        assert fault and "not restarted" in fault and "pi-app sensors" in fault
    finally:
        acq.stop()


@pytest.mark.slow
def test_no_bus_is_the_same_one_sentence_as_in_process():
    with pytest.raises(PiAppError) as in_process:
        BusSpec(bus_number=97).open(WallClock())
    acq = AcquisitionProcess(AcquisitionSpec(BusSpec(bus_number=97)), WallClock())
    try:
        with pytest.raises(AcquisitionError) as in_child:
            acq.open()
    finally:
        acq.stop()
    assert str(in_child.value) == str(in_process.value)
    assert "\n" not in str(in_child.value)


@pytest.mark.slow
def test_open_acquisition_runs_the_demo_runner_in_the_process():
    cfg = Config()
    reader, runner, opened = open_acquisition(cfg, WallClock(),
                                              BusSpec(simulated=True, chips="lsm6dsox"))
    try:
        assert isinstance(reader, AcquisitionProcess) and runner is reader and opened is None
        assert reader.driver("pelvis").model == "LSM6DSOX"
    finally:
        assert runner.stop()


def test_analysis_runs_every_30_ms_but_never_faster_than_the_drains():
    from pi_app.app import analysis_interval_s
    assert analysis_interval_s(Config()) == pytest.approx(0.03)
    slow = dataclasses.replace(Config(), sensors=SensorsConfig(drain_interval_s=0.04))
    assert analysis_interval_s(slow) == pytest.approx(0.04)


def test_the_writer_never_waits_for_a_reader_and_keeps_the_order_and_gap_marks():
    lock = threading.Lock()
    ring = SampleRing.on_buffer(bytearray(SampleRing.nbytes(64)), 64, lock, writer_waits=False)
    reader = ring.reader(from_start=True)
    zeros = np.zeros((3, 3))
    ring.write(np.arange(0.0, 3.0), zeros, zeros)
    lock.acquire()                         # a reader holds the lock for a long time
    ring.mark_gap(FLAG_RECONNECT)
    assert ring.write(np.arange(3.0, 6.0), zeros, zeros) == 3       # returned at once
    ring.write(np.arange(6.0, 9.0), zeros, zeros)
    assert ring.written == 3 and ring.backlog_rows == 6
    lock.release()
    assert ring.flush() == 6 and ring.backlog_rows == 0
    rows = reader.read().rows
    np.testing.assert_array_equal(rows[:, COL_T], np.arange(9.0))
    flags = rows[:, COL_FLAGS].astype(np.int64)
    assert flags[3] == FLAG_GAP | FLAG_RECONNECT and not flags[np.arange(9) != 3].any()


@pytest.mark.slow
def test_pi_app_run_without_a_bus_says_so_first_in_one_sentence(capsys, tmp_path):
    if os.path.exists("/dev/i2c-1"):
        pytest.skip("this machine has /dev/i2c-1")
    from pi_app.cli import main
    code = main(["run", "--headless", "--no-record", "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and err[0].startswith("pi-app: I2C bus 1 is not available")
    assert "Traceback" not in err[0]
