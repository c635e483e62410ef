"""The threaded live app: the sensor thread, the analysis thread running a `LiveSession`,
and the UI loop on the caller's (main) thread; clean stop on SIGINT/SIGTERM, stalled threads
shown."""

from __future__ import annotations

import dataclasses
import signal
import threading
from typing import Callable

from pi_app.live.session import LiveSession


class FramePacer:
    """Frame times at a fixed rate: `wait_s(now_s)` after a frame says how long to wait for
    the next one, so the rate is `fps` whatever a frame costs (as long as it costs less than
    a period). A frame later than one period restarts the schedule instead of bursting to
    catch up. Times in seconds on any monotonic clock."""

    def __init__(self, fps: float):
        if not fps > 0:
            raise ValueError("fps must be > 0")
        self.period_s = 1.0 / float(fps)
        self._next_s: float | None = None

    def wait_s(self, now_s: float) -> float:
        """Seconds from `now_s` until the next frame is due (>= 0)."""
        if self._next_s is None or now_s - self._next_s > self.period_s:
            self._next_s = now_s
        self._next_s += self.period_s
        return max(0.0, self._next_s - now_s)


class LiveApp:
    """The threaded live app: the sensor thread, the analysis thread (session.step every
    `analysis_interval_s` of clock time) and, on the caller's (main) thread, the UI loop.

    ui: an object with `draw(snapshot)` and `poll_commands() -> list[CoachCommand]` (pygame
    lives on the main thread), or None for headless. `stop()` ends every thread within
    `timeout_s`."""

    def __init__(self, session: LiveSession, sensor_thread, *, analysis_interval_s: float,
                 ui=None, ui_fps: float = 30.0, wall_sleep: Callable[[float], None] | None = None):
        self.session = session
        self.sensor_thread = sensor_thread
        self.clock = session.clock
        self.analysis_interval_s = float(analysis_interval_s)
        self.ui = ui
        self.ui_fps = float(ui_fps)
        self.stop_event = threading.Event()
        self.analysis_errors = 0
        self._thread = threading.Thread(target=self._analysis_loop, name="pi-app-analysis",
                                        daemon=True)
        if ui is not None:
            session.heartbeats.watch("ui")

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "LiveApp":
        self.session._call("on_event", "start", {"t_s": None})
        self.sensor_thread.start()
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Stop the analysis and sensor threads; True if both ended within `timeout_s`
        (wall seconds, shared between them)."""
        import time
        self.stop_event.set()
        t_end = time.monotonic() + timeout_s
        if self._thread.is_alive():
            self._thread.join(max(0.0, t_end - time.monotonic()))
        sensor_ok = self.sensor_thread.stop(max(0.0, t_end - time.monotonic()))
        ok = sensor_ok and not self._thread.is_alive()
        self.session._call("on_event", "stop", {"t_s": self.session.t_s, "clean": ok})
        return ok

    def threads_alive(self) -> list[str]:
        out = []
        if self._thread.is_alive():
            out.append("analysis")
        if self.sensor_thread.is_alive():
            out.append("sensors")
        return out

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM set the stop event (main thread only)."""
        def handler(signum, frame):
            self.stop_event.set()
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    # -- the main thread -----------------------------------------------------------------
    def run_main(self, seconds: float | None = None, on_frame: Callable[[], object] | None = None,
                 wall_poll_s: float = 0.05) -> None:
        """The main thread's loop until `seconds` of clock time passed, the stop event is
        set, the coach quits or a thread died: draw the newest snapshot (with a UI) and turn
        key presses into coach commands. Never blocks the analysis (SnapshotBox)."""
        import time
        start_s = self.clock.now_s()
        # The frame rate is a wall-clock rate whatever the session clock does.
        pacer = FramePacer(self.ui_fps if self.ui is not None else 1.0 / wall_poll_s)
        while not self.stop_event.is_set():
            if seconds is not None and self.clock.now_s() - start_s >= seconds:
                break
            if self.session.quit_requested or not self._thread.is_alive():
                break
            if self.ui is not None:
                snapshot, _ = self.session.box.get()
                now_s = self.clock.now_s()
                self.session.heartbeats.beat("ui", now_s)
                stalled = self._analysis_stalled(now_s)
                if stalled:
                    snapshot = dataclasses.replace(
                        snapshot, stalled_threads=tuple(snapshot.stalled_threads) + stalled)
                self.ui.draw(snapshot)
                for command in self.ui.poll_commands():
                    self.session.commands.put(command)
            if on_frame is not None:
                on_frame()
            self.stop_event.wait(pacer.wait_s(time.monotonic()))

    def _analysis_stalled(self, now_s: float) -> tuple[str, ...]:
        last = self.session.heartbeats.last("analysis")
        since = self.session.started_s if last is None else last
        return ("analysis",) if now_s - since > self.session.heartbeats.timeout_s else ()

    def _analysis_loop(self) -> None:
        next_s = self.clock.now_s()
        while not self.stop_event.is_set():
            try:
                self.session.step()
            except Exception as err:  # show it and keep going; a traceback is for the log
                self.analysis_errors += 1
                self.session._call("on_event", "analysis_error",
                                   {"t_s": self.session.t_s,
                                    "detail": f"{type(err).__name__}: {err}"})
                if self.analysis_errors > 100:
                    self.stop_event.set()
                    return
            if self.session.quit_requested:
                self.stop_event.set()
                return
            next_s += self.analysis_interval_s
            now_s = self.clock.now_s()
            if next_s < now_s - self.analysis_interval_s:
                next_s = now_s
            wait_s = next_s - now_s
            if wait_s > 0:
                self.clock.sleep_s(wait_s)

