"""The live app talking to systemd: READY only after both IMUs answer (and the display is up),
STATUS with the sensor state, watchdog pings from the main loop that stop when the analysis
thread stalls, STOPPING on shutdown. A real AF_UNIX datagram socket as NOTIFY_SOCKET; the
deterministic tests run on a `ManualClock` with the stepped loop."""

from __future__ import annotations

import re
import socket
import uuid

import pytest

from pi_app.clock import ManualClock, ScaledClock
from pi_app.config import Config
from pi_app.live.service_status import ServiceReporter, status_text
from pi_app.live.session import run_stepped
from pi_app.service import ServiceNotifier
from pi_app.sim import open_simulated_bus
from pi_app.store import SessionStore

DRAIN_S = Config().sensors.drain_interval_s


@pytest.fixture
def listener():
    name = f"pi-app-h6-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    yield sock, {"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "2000000"}
    sock.close()


_pending: dict[int, list[str]] = {}


def drain(sock) -> None:
    """Take what arrived (the kernel queues only a few datagrams: a reader that lags would
    block the sender, as systemd never does)."""
    box = _pending.setdefault(id(sock), [])
    while True:
        try:
            box.append(sock.recv(65536).decode())
        except BlockingIOError:
            return


def received(sock) -> list[str]:
    """Everything that arrived since the last call."""
    drain(sock)
    return _pending.pop(id(sock), [])


def ticking(reader, reporter, sock, **tick):
    """A stepped-loop poll: the sensors, then the main loop's tick, then the socket read."""
    def poll():
        reader.poll()
        reporter.tick(**tick)
        drain(sock)
    return poll


def test_ready_only_after_both_imus_answer_and_the_display_is_up(simulated_session, listener):
    sock, env = listener
    clock = ManualClock()
    session, reader, bus, _ = simulated_session("steady", clock=clock)
    reporter = ServiceReporter(ServiceNotifier(clock, env=env), session)
    reporter.tick()                       # nothing drained yet: the IMUs have not answered
    assert not reporter.ready
    first = received(sock)
    assert any(m.startswith("STATUS=starting: waiting for") and "thorax IMU" in m
               for m in first), first
    assert not any("READY=1" in m for m in first)
    run_stepped(session, clock, 0.5, DRAIN_S,
                poll=ticking(reader, reporter, sock, display_up=False))
    assert not reporter.ready             # the sensors answer, the dashboard is not up yet
    assert not any("READY=1" in m for m in received(sock))
    reporter.tick(display_up=True)
    assert reporter.ready
    ready = [m for m in received(sock) if m.startswith("READY=1")]
    assert len(ready) == 1
    assert "pelvis MPU-6050" in ready[0] and "thorax MPU-6050" in ready[0]
    reporter.tick()
    assert not any("READY=1" in m for m in received(sock))      # once only


@pytest.mark.slow
def test_ready_waits_for_a_missing_imu_and_status_says_which(simulated_session, listener):
    # The dropout scenario's thorax is gone for 5 s; a service starting then is not ready
    # until it answers again.
    sock, env = listener
    clock = ManualClock()
    session, reader, bus, _ = simulated_session("dropout", clock=clock)
    t_gone_s = bus.scenario.params["dropout_start_s"]
    run_stepped(session, clock, t_gone_s + 1.0, DRAIN_S, analysis_every=8)
    reporter = ServiceReporter(ServiceNotifier(clock, env=env), session)
    run_stepped(session, clock, 3.0, DRAIN_S, analysis_every=8,
                poll=ticking(reader, reporter, sock))
    assert not reporter.ready
    messages = received(sock)
    assert any(m == "STATUS=starting: waiting for thorax IMU" for m in messages), messages
    run_stepped(session, clock, 4.0, DRAIN_S, analysis_every=8,
                poll=ticking(reader, reporter, sock))
    assert reporter.ready
    assert sum(m.startswith("READY=1") for m in received(sock)) == 1


@pytest.mark.slow
def test_status_every_few_seconds_and_a_stalled_analysis_stops_the_pings(simulated_session, listener):
    sock, env = listener
    clock = ManualClock()
    session, reader, bus, _ = simulated_session("steady", clock=clock)
    notifier = ServiceNotifier(clock, env=env)
    reporter = ServiceReporter(notifier, session)
    run_stepped(session, clock, 20.0, DRAIN_S, poll=ticking(reader, reporter, sock))
    messages = received(sock)
    pings = messages.count("WATCHDOG=1")
    assert 19 <= pings <= 21                        # every 1 s (half of WATCHDOG_USEC)
    statuses = [m for m in messages if m.startswith("STATUS=") and "READY" not in m]
    assert 3 <= len(statuses) <= 5                  # every 5 s after READY
    assert "strides" in statuses[-1]
    assert re.search(r"thorax MPU-6050 (9[5-9][0-9]|10[0-4][0-9]) Hz", statuses[-1]), statuses[-1]
    # The analysis thread hangs; the sensor thread and the main loop go on.
    poll = ticking(reader, reporter, sock)
    for _ in range(int(10.0 / DRAIN_S)):
        clock.advance(DRAIN_S)
        poll()
    messages = received(sock)
    # Pings continue only until the analysis heartbeat is 5 s old, then stop.
    assert 4 <= messages.count("WATCHDOG=1") <= 6
    assert "STATUS=watchdog withheld: analysis thread not responding" in messages
    i_withheld = messages.index("STATUS=watchdog withheld: analysis thread not responding")
    assert "WATCHDOG=1" not in messages[i_withheld:]
    # It recovers: the pings resume.
    run_stepped(session, clock, 3.0, DRAIN_S, poll=ticking(reader, reporter, sock))
    assert received(sock).count("WATCHDOG=1") >= 2


@pytest.mark.slow
def test_status_text_names_faults(simulated_session):
    clock = ManualClock()
    session, reader, bus, _ = simulated_session("dropout", clock=clock)
    run_stepped(session, clock, bus.scenario.params["dropout_start_s"] + 1.0, DRAIN_S,
                analysis_every=8)
    text = status_text(session.snapshot(), session.analyzer.n_strides)
    assert "thorax IMU LOST" in text
    assert re.search(r"pelvis MPU-6050 (9[5-9][0-9]|10[0-4][0-9]) Hz", text), text
    assert "not recording" in text


@pytest.mark.slow
def test_run_live_threads_ready_then_stopping_and_the_session_recorded(listener, tmp_path):
    """The `pi-app run` loop (run_live) on the simulated bus, threads on a real-time clock
    for ~1.5 s: READY after the IMUs answered, STOPPING last, the session closed in the
    store."""
    from pi_app.app import run_live
    sock, env = listener
    clock = ScaledClock(1.0)
    cfg = Config()
    bus = open_simulated_bus("steady", seed=0, clock=clock)
    lines = []
    result = run_live(cfg, clock, bus, notifier=ServiceNotifier(clock, env=env),
                      record={"state_dir": tmp_path, "athlete": "Ana"}, seconds=1.5,
                      simulated=True, install_signals=False, write=lines.append)
    assert result["ready"]
    messages = received(sock)
    kinds = [m.split("=")[0] for m in messages]
    assert kinds.index("READY") < kinds.index("STOPPING") == len(kinds) - 1
    assert "WATCHDOG=1" in messages
    with SessionStore.open(tmp_path, read_only=True) as store:
        summary = store.summary(result["session_id"])
        assert summary.status == "ended" and summary.athlete_name == "Ana"
        assert summary.n_samples > 500


@pytest.mark.slow
def test_run_live_without_recording_says_why_when_the_coach_presses_r(listener, fake_dashboard):
    """`pi-app run --no-record`: R never shows a REC state with nothing stored; the
    dashboard is told why recording is off."""
    from pi_app.app import run_live
    from pi_app.records import CoachCommand
    sock, env = listener
    clock = ScaledClock(1.0)
    bus = open_simulated_bus("steady", seed=0, clock=clock)

    ui = fake_dashboard({3: [CoachCommand("toggle_recording")]})
    run_live(Config(), clock, bus, ui=ui, notifier=ServiceNotifier(clock, env=env),
             record=None, seconds=1.0, simulated=True, install_signals=False)
    last = ui.snapshots[-1]
    assert not any(s.recording for s in ui.snapshots)
    assert last.recording_off_reason == "pi-app run was started with --no-record"
    assert "recording is off: pi-app run was started with --no-record" in last.warnings


def test_each_problem_the_dashboard_starts_to_show_is_one_journal_line(simulated_session):
    """STATUS keeps only the latest line; the journal gets every new warning and stall once,
    when it appears, and again if it comes back after it was gone."""
    clock = ManualClock()
    session, reader, bus, _ = simulated_session("steady", clock=clock)
    lines: list[str] = []
    reporter = ServiceReporter(ServiceNotifier(clock, env={}), session, journal=lines.append)
    run_stepped(session, clock, 1.0, DRAIN_S, poll=lambda: (reader.poll(), reporter.tick()))
    assert lines == []
    session.warnings.append("the disk is almost full: 40 MB left on /var/lib/pi-app")
    session.box.put(session.snapshot())
    reporter.tick()
    reporter.tick()
    assert lines == ["pi-app: the disk is almost full: 40 MB left on /var/lib/pi-app."]
    session.warnings.clear()
    session.box.put(session.snapshot())
    reporter.tick()
    session.warnings.append("the disk is almost full: 40 MB left on /var/lib/pi-app")
    session.box.put(session.snapshot())
    reporter.tick()
    assert len(lines) == 2 and lines[1] == lines[0]
