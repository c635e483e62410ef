"""sd_notify datagrams and the watchdog feeder, against a real AF_UNIX datagram socket and a
virtual clock (no sleeps)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from pi_app.clock import ManualClock
from pi_app.service import ServiceNotifier, WatchdogFeeder, sd_notify, watchdog_interval_s
from pi_app.service.sd_notify import notify_address


@pytest.fixture
def listener():
    """An abstract-namespace datagram socket (no path-length or cleanup issues) and the
    NOTIFY_SOCKET value that points at it."""
    name = f"pi-app-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    yield sock, "@" + name
    sock.close()


def received(sock) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_notify_address_forms():
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@abc"}) == "\0abc"
    assert notify_address({"NOTIFY_SOCKET": "vsock:2:1"}) is None


def test_sd_notify_abstract_socket(listener):
    sock, value = listener
    assert sd_notify("READY=1\nSTATUS=ok", {"NOTIFY_SOCKET": value})
    assert received(sock) == ["READY=1\nSTATUS=ok"]


def test_sd_notify_path_socket(tmp_path):
    # Short directory: AF_UNIX paths are limited to 108 bytes.
    path = f"/tmp/pi-app-{uuid.uuid4().hex[:12]}.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        sock.setblocking(False)
        assert sd_notify("WATCHDOG=1", {"NOTIFY_SOCKET": path})
        assert received(sock) == ["WATCHDOG=1"]
    finally:
        sock.close()
        os.unlink(path)


def test_sd_notify_without_socket_or_listener_is_false():
    assert sd_notify("READY=1", {}) is False
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": "@pi-app-nobody-" + uuid.uuid4().hex}) is False


def test_watchdog_interval_from_env():
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "10000000"}) == pytest.approx(5.0)
    assert watchdog_interval_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "42"},
                               pid=42) == pytest.approx(5.0)
    assert watchdog_interval_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "43"},
                               pid=42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "junk"}) is None


def test_notifier_is_a_noop_outside_systemd():
    n = ServiceNotifier(ManualClock(), env={})
    assert not n.enabled
    assert n.ready("x") is False and n.status("y") is False and n.stopping() is False
    assert n.watchdog_tick({"sensors": 0.0, "analysis": 0.0}) == ()
    assert n.watchdog.pings == 0


def test_notifier_messages(listener):
    sock, value = listener
    clock = ManualClock()
    n = ServiceNotifier(clock, env={"NOTIFY_SOCKET": value})
    assert n.status("waiting for\nIMUs")
    assert n.ready("pelvis ok, thorax ok")
    assert n.stopping()
    assert received(sock) == ["STATUS=waiting for IMUs", "READY=1\nSTATUS=pelvis ok, thorax ok",
                              "STOPPING=1"]


class Beats:
    """Heartbeats like pi_app.live.session.Heartbeats: last(name) -> clock s or None."""

    def __init__(self):
        self.t: dict[str, float | None] = {"sensors": None, "analysis": None}

    def last(self, name):
        return self.t[name]


def run_main_loop(n, clock, beats, seconds, period_s=0.05, threads_alive=("sensors", "analysis")):
    """A main loop at 20 Hz on the virtual clock; the named worker threads beat each tick."""
    for _ in range(round(seconds / period_s)):
        clock.advance(period_s)
        for name in threads_alive:
            beats.t[name] = clock.now_s()
        n.watchdog_tick(beats)


def test_watchdog_pings_at_half_the_timeout_and_stop_when_main_loop_hangs(listener):
    sock, value = listener
    clock = ManualClock(100.0)
    n = ServiceNotifier(clock, env={"NOTIFY_SOCKET": value, "WATCHDOG_USEC": "4000000"})
    beats = Beats()
    run_main_loop(n, clock, beats, 10.0)
    pings = received(sock)
    assert set(pings) == {"WATCHDOG=1"}
    assert len(pings) == 5          # every 2 s over 10 s
    # The main loop hangs: the worker threads keep beating but nobody ticks -> no pings.
    for _ in range(200):
        clock.advance(0.05)
        beats.t["sensors"] = beats.t["analysis"] = clock.now_s()
    assert received(sock) == []
    # Back alive: pings resume at once.
    run_main_loop(n, clock, beats, 0.05)
    assert received(sock) == ["WATCHDOG=1"]


@pytest.mark.parametrize("hung, said", [("sensors", "sensor reading"),
                                        ("analysis", "analysis thread")])
def test_watchdog_withheld_while_a_worker_thread_is_stale(listener, hung, said):
    sock, value = listener
    clock = ManualClock()
    n = ServiceNotifier(clock, env={"NOTIFY_SOCKET": value, "WATCHDOG_USEC": "2000000"},
                        stale_after_s=3.0)
    beats = Beats()
    run_main_loop(n, clock, beats, 5.0)
    assert received(sock) and n.watchdog.stale == ()
    alive = tuple(t for t in ("sensors", "analysis") if t != hung)
    run_main_loop(n, clock, beats, 3.0, threads_alive=alive)   # fresh until 3 s have passed
    run_main_loop(n, clock, beats, 10.0, threads_alive=alive)
    msgs = received(sock)
    status = [m for m in msgs if m.startswith("STATUS=")]
    # "sensor reading", not "sensors thread": acquisition usually runs in its own process.
    assert status == [f"STATUS=watchdog withheld: {said} not responding"]
    last_ping = max(i for i, m in enumerate(msgs) if m == "WATCHDOG=1")
    assert last_ping < msgs.index(status[0])     # no ping once it is stale
    assert n.watchdog.stale == (hung,)
    run_main_loop(n, clock, beats, 0.05)          # the thread recovers
    assert received(sock) == ["WATCHDOG=1"]


def test_threads_that_never_beat_get_a_grace_period_then_block_pings():
    sent = []
    clock = ManualClock()
    feeder = WatchdogFeeder(lambda m: sent.append(m) or True, interval_s=1.0,
                            start_s=clock.now_s(), stale_after_s=5.0)
    assert feeder.tick({"sensors": None, "analysis": None}, 4.0) == ()
    assert sent == ["WATCHDOG=1"]
    assert feeder.tick({"sensors": None, "analysis": 5.5}, 6.0) == ("sensors",)
    assert sent[-1].startswith("STATUS=watchdog withheld: sensor reading not responding")
    assert sent.count("WATCHDOG=1") == 1


def test_works_with_the_live_apps_heartbeats(listener):
    from pi_app.live.session import Heartbeats
    sock, value = listener
    clock = ManualClock()
    hb = Heartbeats()
    hb.watch("sensors")
    hb.watch("analysis")
    n = ServiceNotifier(clock, env={"NOTIFY_SOCKET": value, "WATCHDOG_USEC": "1000000"})
    clock.advance(1.0)
    hb.beat("sensors", clock.now_s())
    hb.beat("analysis", clock.now_s())
    assert n.watchdog_tick(hb) == ()
    assert received(sock) == ["WATCHDOG=1"]
    clock.advance(10.0)
    assert n.watchdog_tick(hb) == ("sensors", "analysis")
