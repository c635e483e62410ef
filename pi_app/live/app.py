"""The live app: sensor thread, analysis thread and UI wired together.

    sensor thread (SensorThread: drains the FIFOs into rings every drain interval)
        │ rings
    analysis thread (LiveSession.step: coach commands ▸ align ▸ Analyzer ▸ cue engine ▸
        │             snapshot ▸ session hooks)
        │ SnapshotBox (newest snapshot)          ▲ CommandQueue (coach keys)
    UI main thread (draws the newest snapshot, turns keys into commands; optional)

`LiveSession` is the analysis side with no thread in it: `step()` analyses whatever the
sensor thread has delivered since the last call. `LiveApp` runs it on a thread next to the
sensor thread (real or scaled clock); `run_stepped` instead drives the sensor reader and the
session in one loop on a `ManualClock`, deterministic and as fast as the CPU allows (tests,
`pi-app demo --headless --speed X`). Cues are decided in the analysis step, so the display
never delays them.

Session hooks (`SessionHook`: on_chunk, on_update, on_cue, on_event) receive everything the
analysis produced, in order, on the analysis thread: the event log (pi_app.live.events) and
the session store subscribe this way. A hook that raises is counted and shown, never fatal.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
from collections import deque
from typing import Callable, Iterable, Protocol

import numpy as np

from pi_app.acquisition.align import FrameAligner
from pi_app.analysis.drift import DriftDetector
from pi_app.analysis.pipeline import AnalysisUpdate, Analyzer
from pi_app.frames import FrameChunk
from pi_app.live.snapshot import (CoachCommand, CommandQueue, CueEvent, LiveSnapshot,
                                  SensorStatus, SnapshotBox)

CUE_MODES = ("bandwidth", "faded", "off")
# How much history the dashboard gets: traces of the last ~4 s at ~100 Hz (the screen has
# ~1000 px for them), the last 20 strides, the last 12 cue decisions.
TRACE_S = 4.0
TRACE_RATE_HZ = 100.0
RECENT_STRIDES = 20
CUE_LOG = 12
# A thread whose heartbeat is older than this (clock seconds) is shown as stalled: 1 s is
# ~60 drain intervals, far beyond scheduling jitter, and an MPU-6050 FIFO (85 ms) would have
# overflowed many times over.
STALL_TIMEOUT_S = 1.0
# I2C error counts are logged at most this often (s): a noisy bus must not flood the log.
ERROR_LOG_INTERVAL_S = 5.0


class SessionHook(Protocol):
    """A subscriber to everything the analysis thread produces (session store, event log).

    Called on the analysis thread, in order; must return quickly (queue work elsewhere)."""

    def on_chunk(self, chunk: FrameChunk) -> None:
        """Newly aligned samples (sample-clock times)."""

    def on_update(self, update: AnalysisUpdate) -> None:
        """What the analysis made known from that chunk (steps, strides, verdicts)."""

    def on_cue(self, cue: CueEvent) -> None:
        """A cue decision (played or withheld)."""

    def on_event(self, kind: str, detail) -> None:
        """Faults and session events: kind e.g. "sensor_lost", "sensor_back", "overflow",
        "i2c_errors", "stall", "stall_cleared", "baseline_restart", "band_from_current",
        "cue_mode", "mute", "metronome", "recording", "start", "stop"; detail a dict (with
        "t_s" on the sample clock where it has one) or text."""


class CueDecider(Protocol):
    """The cue engine as the session uses it (pi_app.cues.engine.CueEngine)."""

    def on_stride(self, stride, verdict, closing_sample_t_s: float) -> CueEvent | None:
        ...


class Heartbeats:
    """Per-thread heartbeats on one clock; `stalled(now_s)` lists threads that are late."""

    def __init__(self, timeout_s: float = STALL_TIMEOUT_S):
        self.timeout_s = float(timeout_s)
        self._beats: dict[str, float | None] = {}
        self._sources: dict[str, Callable[[], float | None]] = {}
        self._lock = threading.Lock()

    def watch(self, name: str, source: Callable[[], float | None] | None = None) -> None:
        """Watch thread `name`: it calls beat(name), or `source()` returns its last beat."""
        with self._lock:
            self._beats[name] = None
            if source is not None:
                self._sources[name] = source

    def beat(self, name: str, now_s: float) -> None:
        with self._lock:
            self._beats[name] = now_s

    def last(self, name: str) -> float | None:
        source = self._sources.get(name)
        if source is not None:
            return source()
        with self._lock:
            return self._beats.get(name)

    def stalled(self, now_s: float, since_s: float) -> tuple[str, ...]:
        """Threads whose last beat (or `since_s`, the start, if none yet) is older than the
        timeout."""
        with self._lock:
            names = list(self._beats)
        out = []
        for name in names:
            last = self.last(name)
            if now_s - (since_s if last is None else last) > self.timeout_s:
                out.append(name)
        return tuple(out)


class LiveSession:
    """The analysis side of the live app, one `step()` at a time (no threads, no sleeps).

    reader: the `SensorReader` whose rings the sensor thread fills. clock: its clock.
    analyzer: the `Analyzer`. cue_engine: a `CueDecider` or None (no cues). drift_kwargs:
    the DriftDetector arguments (a restarted baseline gets a fresh detector with them).
    hooks: session hooks. simulated / scenario / calibration_text / warnings: shown on the
    dashboard. heartbeats: shared with the app (the session watches "sensors" and beats
    "analysis").
    """

    def __init__(self, reader, clock, analyzer: Analyzer, cue_engine: CueDecider | None = None,
                 *, drift_kwargs: dict | None = None, hooks: Iterable[SessionHook] = (),
                 commands: CommandQueue | None = None, box: SnapshotBox | None = None,
                 simulated: bool = False, scenario: str | None = None,
                 calibration_text: str = "not calibrated", warnings: Iterable[str] = (),
                 cue_mode: str = "bandwidth", metronome_on: bool = False,
                 metronome_target_spm: float | None = None,
                 heartbeats: Heartbeats | None = None):
        self.reader = reader
        self.clock = clock
        self.analyzer = analyzer
        self.cue_engine = cue_engine
        self.drift_kwargs = dict(drift_kwargs or {})
        self.hooks = list(hooks)
        self.commands = commands if commands is not None else CommandQueue()
        self.box = box if box is not None else SnapshotBox()
        self.aligner = FrameAligner()
        self.cursors = {role: reader.rings[role].reader(from_start=True)
                        for role in reader.roles}
        self.heartbeats = heartbeats if heartbeats is not None else Heartbeats()
        self.heartbeats.watch("sensors", lambda: reader.health.heartbeat_s)
        self.heartbeats.watch("analysis")
        self.started_s = clock.now_s()
        self.simulated = simulated
        self.scenario = scenario
        self.calibration_text = calibration_text
        self.warnings = list(warnings)
        if cue_mode not in CUE_MODES:
            raise ValueError(f"cue_mode must be one of {CUE_MODES}")
        self.cue_mode = cue_mode
        self.muted = False
        self.metronome_on = metronome_on
        self.metronome_target_spm = metronome_target_spm
        self.recording = False
        self.recorder = None
        self.quit_requested = False
        self.t_s: float | None = None          # newest analysed sample (sample clock)
        self.n_chunks = 0
        self.n_samples = 0
        self.hook_errors = 0
        self.cues: list[CueEvent] = []
        self._recent = deque(maxlen=RECENT_STRIDES)
        self._cue_log = deque(maxlen=CUE_LOG)
        self._verdict = None
        self._trace_t: deque[np.ndarray] = deque()
        self._trace_p: deque[np.ndarray] = deque()
        self._trace_th: deque[np.ndarray] = deque()
        self._trace_keep = 0
        self._health_prev: dict[str, dict] = {}
        self._errors_logged_s = -math.inf
        self._errors_unlogged: dict[str, int] = {}
        self._stalled: tuple[str, ...] = ()
        self._push_engine_state()

    # -- the step ------------------------------------------------------------------------
    def step(self) -> AnalysisUpdate:
        """Drain coach commands, align the samples the sensor thread delivered, analyse
        them, decide cues, publish a snapshot and call the hooks. Returns the update."""
        for command in self.commands.drain():
            self.apply(command)
        rows = {role: cursor.read().rows for role, cursor in self.cursors.items()}
        chunk = self.aligner.update(rows.get("pelvis"), rows.get("thorax"))
        return self._analyse(chunk)

    def feed(self, chunk: FrameChunk) -> AnalysisUpdate:
        """Like `step()`, but analyse `chunk` (already aligned, e.g. a stored session being
        replayed) instead of reading the sensor rings."""
        for command in self.commands.drain():
            self.apply(command)
        return self._analyse(chunk)

    def _analyse(self, chunk: FrameChunk) -> AnalysisUpdate:
        now_s = self.clock.now_s()
        if len(chunk):
            self.t_s = float(chunk.t_s[-1])
            self.n_chunks += 1
            self.n_samples += len(chunk)
            self._call("on_chunk", chunk)
        update = self.analyzer.update(chunk)
        if len(update.strides):
            self._call("on_update", update)
        elif len(update.steps):
            self._call("on_update", update)
        closing_t_s = self.t_s if self.t_s is not None else now_s
        engine = self.cue_engine
        if engine is not None and update.steps and hasattr(engine, "on_steps"):
            engine.on_steps(update.steps)
        for stride, verdict in zip(update.strides, update.verdicts):
            self._recent.append(stride)
            self._verdict = verdict
            if self.cue_engine is not None:
                cue = self.cue_engine.on_stride(stride, verdict, closing_t_s)
                if cue is not None:
                    self.cues.append(cue)
                    self._cue_log.append(cue)
                    self._call("on_cue", cue)
        if engine is not None and hasattr(engine, "tick"):
            engine.tick(now_s)
        self._keep_trace(update)
        self._watch_health(now_s)
        self.heartbeats.beat("analysis", now_s)
        self._watch_stalls(now_s)
        self.box.put(self.snapshot())
        return update

    # -- the session store ---------------------------------------------------------------
    def attach_recorder(self, recorder) -> None:
        """Record this session with `recorder` (a `pi_app.store.SessionRecorder`): it becomes
        a hook, its `recording` flag and `warning` show on the dashboard and the coach's
        toggle_recording pauses and resumes it."""
        self.recorder = recorder
        self.hooks.append(recorder)

    @property
    def is_recording(self) -> bool:
        """True while the session is being stored (the recorder's state when there is one)."""
        if self.recorder is not None:
            return bool(self.recorder.recording)
        return self.recording

    # -- coach commands ------------------------------------------------------------------
    def apply(self, command: CoachCommand) -> None:
        """Carry out one coach command (on the analysis thread, between chunks)."""
        kind = command.kind
        t = {"t_s": self.t_s}
        if kind == "restart_baseline":
            # The coach says the runner is settled now: no second warm-up.
            self.analyzer.drift = DriftDetector(**{**self.drift_kwargs, "warmup_s": 0.0})
            self._verdict = None
            self._call("on_event", "baseline_restart", t)
        elif kind == "band_from_current":
            bands = self.analyzer.drift.set_band_from_current()
            self._call("on_event", "band_from_current",
                       {**t, "bands": {m: [round(b.low, 2), round(b.high, 2)]
                                       for m, b in bands.items()}})
            if not bands:
                self._warn_once("no strides yet to set the band from")
        elif kind == "cycle_cue_mode":
            self.cue_mode = CUE_MODES[(CUE_MODES.index(self.cue_mode) + 1) % len(CUE_MODES)]
            self._call("on_event", "cue_mode", {**t, "mode": self.cue_mode})
        elif kind == "toggle_mute":
            self.muted = not self.muted
            self._call("on_event", "mute", {**t, "muted": self.muted})
        elif kind == "toggle_metronome":
            self.metronome_on = not self.metronome_on
            self._call("on_event", "metronome", {**t, "on": self.metronome_on,
                                                 "target_spm": self.metronome_target_spm})
        elif kind == "metronome_target_delta_spm":
            base = self.metronome_target_spm or self.analyzer.live.cadence_spm or 170.0
            self.metronome_target_spm = round(base + float(command.value or 0.0), 1)
            self._call("on_event", "metronome", {**t, "on": self.metronome_on,
                                                 "target_spm": self.metronome_target_spm})
        elif kind == "toggle_recording":
            recorder = self.recorder
            if recorder is None:
                self.recording = not self.recording
            elif recorder.recording:
                recorder.pause()
            elif recorder.warning is None:
                recorder.resume()
            else:
                # Stopped by a disk problem: resuming cannot help; the warning says why.
                self._warn_once("recording cannot resume: " + recorder.warning)
            self._call("on_event", "recording", {**t, "on": self.is_recording})
        elif kind == "quit":
            self.quit_requested = True
            self._call("on_event", "quit", t)
        self._push_engine_state()

    def _push_engine_state(self) -> None:
        """Tell the cue engine the coach's settings (mode, mute, metronome)."""
        engine = self.cue_engine
        if engine is None:
            return
        setter = getattr(engine, "set_mode", None)
        if callable(setter):
            setter(self.cue_mode)
        if hasattr(engine, "mute"):
            engine.mute(self.muted)
        elif hasattr(engine, "set_muted"):
            engine.set_muted(self.muted)
        if hasattr(engine, "metronome_on"):
            if self.metronome_on and engine.metronome is None:
                engine.metronome_on(self.metronome_target_spm)
            elif not self.metronome_on and engine.metronome is not None:
                engine.metronome_off()
            if self.metronome_target_spm and \
                    engine.metronome_target() != self.metronome_target_spm:
                engine.set_metronome_target(self.metronome_target_spm)
            self.metronome_target_spm = engine.metronome_target()

    # -- the snapshot --------------------------------------------------------------------
    def snapshot(self) -> LiveSnapshot:
        """The dashboard's view of now."""
        live = self.analyzer.live
        drift = self.analyzer.drift
        band = drift.coach_bands.get("rel_phase") or drift.baseline.get("rel_phase")
        t_tr = np.concatenate(self._trace_t) if self._trace_t else np.empty(0)
        p_tr = np.concatenate(self._trace_p) if self._trace_p else np.empty(0)
        th_tr = np.concatenate(self._trace_th) if self._trace_th else np.empty(0)
        warnings = list(self.warnings)
        if self.hook_errors:
            warnings.append(f"{self.hook_errors} session hook error(s): see the event log")
        if self.recorder is not None and self.recorder.warning \
                and self.recorder.warning not in warnings:
            warnings.append(self.recorder.warning)
        return LiveSnapshot(
            t_s=self.t_s if self.t_s is not None else 0.0,
            session_start_s=self.started_s,
            simulated=self.simulated, scenario=self.scenario,
            cadence_spm=live.cadence_spm, rel_phase_deg=live.rel_phase_deg,
            pelvis_phase_deg=live.phase_deg.get("pelvis"),
            thorax_phase_deg=live.phase_deg.get("thorax"),
            phase_confidence=live.phase_confidence,
            band_deg=None if band is None else (band.low, band.high),
            band_source=None if band is None else band.source,
            recent_strides=tuple(self._recent),
            trace_t_s=t_tr, trace_pelvis_deg=p_tr, trace_thorax_deg=th_tr,
            verdict=self._verdict, cue_log=tuple(self._cue_log), cue_mode=self.cue_mode,
            muted=self.muted, metronome_on=self.metronome_on,
            metronome_target_spm=self.metronome_target_spm, recording=self.is_recording,
            calibration_text=self.calibration_text, sensors=self._sensor_status(),
            stalled_threads=self._stalled, warnings=tuple(warnings))

    def _sensor_status(self) -> tuple[SensorStatus, ...]:
        out = []
        for role, h in self._health_prev.items():
            out.append(SensorStatus(
                role=role, model=h["model"] or None, address=h["address"],
                present=h["present"], configured_rate_hz=h["configured_rate_hz"] or None,
                effective_rate_hz=h["effective_rate_hz"] or None, overflows=h["overflows"],
                i2c_errors=h["i2c_errors"], gaps=h["gaps"], reconnects=h["reconnects"],
                last_error=h["last_error"] or None))
        return tuple(out)

    def _keep_trace(self, update: AnalysisUpdate) -> None:
        t = update.trace_t_s
        if not t.size:
            return
        step = max(1, int(round(self.analyzer.rate_hz / TRACE_RATE_HZ)))
        # Decimate on the global sample index so the kept samples do not depend on chunking.
        first = (-self._trace_keep) % step
        self._trace_keep += t.size
        idx = np.arange(first, t.size, step)
        nan = np.full(t.size, np.nan)
        self._trace_t.append(t[idx])
        self._trace_p.append(update.trace_theta_live_deg.get("pelvis", nan)[idx])
        self._trace_th.append(update.trace_theta_live_deg.get("thorax", nan)[idx])
        horizon = float(t[-1]) - TRACE_S
        while self._trace_t and (self._trace_t[0].size == 0 or self._trace_t[0][-1] < horizon):
            self._trace_t.popleft()
            self._trace_p.popleft()
            self._trace_th.popleft()

    # -- faults --------------------------------------------------------------------------
    def _watch_health(self, now_s: float) -> None:
        health = self.reader.snapshot()["sensors"]
        # Faults are stamped when seen: the reader's clock is the samples' time base, and the
        # newest analysed sample lags it by the aligner's wait.
        t_s = now_s
        for role, h in health.items():
            prev = self._health_prev.get(role)
            if prev is not None:
                where = f"{role} IMU at 0x{h['address']:02X}"
                if prev["present"] and not h["present"]:
                    self._call("on_event", "sensor_lost",
                               {"t_s": t_s, "role": role, "detail": f"{where} lost: "
                                f"{h['last_error'] or 'no answer'}"})
                elif not prev["present"] and h["present"] and h["reconnects"] > \
                        prev["reconnects"]:
                    self._call("on_event", "sensor_back",
                               {"t_s": t_s, "role": role,
                                "detail": f"{where} back (reconnect {h['reconnects']})"})
                if h["overflows"] > prev["overflows"]:
                    self._call("on_event", "overflow",
                               {"t_s": t_s, "role": role,
                                "count": h["overflows"] - prev["overflows"],
                                "detail": f"{where} FIFO overflowed (samples lost)"})
                new_errors = h["i2c_errors"] - prev["i2c_errors"]
                if new_errors > 0:
                    self._errors_unlogged[role] = self._errors_unlogged.get(role, 0) + new_errors
            self._health_prev[role] = h
        if self._errors_unlogged and now_s - self._errors_logged_s >= ERROR_LOG_INTERVAL_S:
            for role, n in self._errors_unlogged.items():
                self._call("on_event", "i2c_errors",
                           {"t_s": t_s, "role": role, "count": n,
                            "detail": f"{role} IMU: {n} transient I2C error(s), retried"})
            self._errors_unlogged = {}
            self._errors_logged_s = now_s

    def _watch_stalls(self, now_s: float) -> None:
        stalled = self.heartbeats.stalled(now_s, self.started_s)
        # The analysis thread cannot see itself stall; the UI checks that (LiveApp).
        stalled = tuple(n for n in stalled if n != "analysis")
        for name in set(stalled) - set(self._stalled):
            self._call("on_event", "stall", {"t_s": self.t_s, "thread": name})
        for name in set(self._stalled) - set(stalled):
            self._call("on_event", "stall_cleared", {"t_s": self.t_s, "thread": name})
        self._stalled = stalled

    def _warn_once(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def _call(self, method: str, *args) -> None:
        for hook in self.hooks:
            fn = getattr(hook, method, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception as err:  # a broken subscriber must not stop the analysis
                self.hook_errors += 1
                if method != "on_event":
                    self._call("on_event", "hook_error",
                               {"t_s": self.t_s, "detail": f"{type(hook).__name__}."
                                f"{method}: {type(err).__name__}: {err}"})


def run_stepped(session: LiveSession, clock, seconds: float, drain_interval_s: float,
                analysis_every: int = 1, stop: threading.Event | None = None,
                poll: Callable[[], object] | None = None) -> int:
    """Drive the sensor reader and the session in one loop on a `ManualClock`: advance one
    drain interval, poll the sensors, and every `analysis_every` drains run `session.step()`.
    Deterministic, as fast as the CPU allows; virtual time spent in analysis is zero, so cue
    latencies measured this way exclude CPU time. Returns the number of analysis steps.

    Stops after `seconds` of clock time, when `stop` is set or the coach quits."""
    poll = poll if poll is not None else session.reader.poll
    end_s = clock.now_s() + seconds
    drains = steps = 0
    while clock.now_s() < end_s - 1e-9:
        if (stop is not None and stop.is_set()) or session.quit_requested:
            break
        clock.advance(drain_interval_s)
        poll()
        drains += 1
        if drains % analysis_every == 0:
            session.step()
            steps += 1
    session.step()
    return steps + 1


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
    def run_main(self, seconds: float | None = None, on_frame: Callable[[], None] | None = None,
                 wall_poll_s: float = 0.05) -> None:
        """The main thread's loop until `seconds` of clock time passed, the stop event is
        set, the coach quits or a thread died: draw the newest snapshot (with a UI) and turn
        key presses into coach commands. Never blocks the analysis (SnapshotBox)."""
        start_s = self.clock.now_s()
        period_s = 1.0 / self.ui_fps if self.ui is not None else wall_poll_s
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
            self.stop_event.wait(period_s)

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


class StridePrinter:
    """A session hook for headless runs: one line per stride, per cue and per fault. Times are
    printed in seconds since `t0_s` (the session's start on the sample clock)."""

    def __init__(self, write: Callable[[str], None] = print, t0_s: float = 0.0):
        self.write = write
        self.t0_s = float(t0_s)

    def on_chunk(self, chunk) -> None:
        pass

    def on_update(self, update) -> None:
        for s, v in zip(update.strides, update.verdicts):
            def deg(x):
                return "   -" if x is None else f"{x:4.0f}"
            state = v.state
            if v.state == "building_baseline":
                state = f"building baseline {v.progress * 100:3.0f}%"
            elif v.state == "drifting":
                state = f"DRIFTING {v.metric} ({v.direction})"
            flags = f"  [{','.join(sorted(s.quality))}]" if s.quality else ""
            self.write(f"t={s.t_end_s - self.t0_s:8.2f} s  stride {s.index:4d}  cadence "
                       f"{s.cadence_spm:5.1f} spm  rel {deg(s.rel_phase_deg)}°  pelvis "
                       f"{deg(s.pelvis_phase_deg)}°  thorax {deg(s.thorax_phase_deg)}°  "
                       f"{state}{flags}")

    def on_cue(self, cue) -> None:
        what = "CUE" if cue.played else "cue withheld"
        latency = "" if cue.latency_ms is None else f", latency {cue.latency_ms:.1f} ms"
        reason = f" ({cue.reason})" if cue.reason else ""
        self.write(f"t={cue.t_s - self.t0_s:8.2f} s  {what}: {cue.kind}, "
                   f"intensity {cue.intensity:.2f}"
                   f"{latency}{reason}")

    def on_event(self, kind, detail) -> None:
        if kind in ("start", "stop"):
            return
        if isinstance(detail, dict):
            t = detail.get("t_s")
            text = detail.get("detail") or ", ".join(f"{k}={v}" for k, v in detail.items()
                                                     if k != "t_s")
        else:
            t, text = None, str(detail)
        stamp = "t=       - s" if t is None else f"t={t - self.t0_s:8.2f} s"
        self.write(f"{stamp}  {kind.replace('_', ' ')}: {text}")


def sensor_specs(cfg_sensors):
    """The `SensorSpec`s from the [sensors] config, or None to find the IMUs on the bus."""
    from pi_app.acquisition.sensor_thread import SensorSpec
    from pi_app.hw.imu import ImuSettings
    if not cfg_sensors.pelvis_address:
        return None
    settings = imu_settings(cfg_sensors)
    return [SensorSpec("pelvis", cfg_sensors.pelvis_address, settings),
            SensorSpec("thorax", cfg_sensors.thorax_address, settings)]


def imu_settings(cfg_sensors):
    """The chip settings the [sensors] config asks for."""
    from pi_app.hw.imu import ImuSettings
    return ImuSettings(rate_hz=cfg_sensors.rate_hz, acc_range_g=cfg_sensors.acc_range_g,
                       gyro_range_dps=cfg_sensors.gyro_range_dps, dlpf=cfg_sensors.dlpf)


def open_session(cfg, clock, bus, *, cue_engine: CueDecider | None = None,
                 hooks: Iterable[SessionHook] = (), calibration=None,
                 calibration_text: str = "not calibrated", simulated: bool = False,
                 scenario: str | None = None, warnings: Iterable[str] = ()):
    """Open the sensors on `bus` as `cfg.sensors` says and build the `LiveSession` (Analyzer
    at the rate the pelvis chip really runs, drift detector from `cfg.baseline`). Returns
    (session, reader). Raises the hardware layer's PiAppError when no IMU answers."""
    from pi_app.acquisition.setup import open_reader
    reader = open_reader(bus, clock, specs=sensor_specs(cfg.sensors),
                         bus_number=cfg.sensors.bus, settings=imu_settings(cfg.sensors))
    pelvis = reader.driver("pelvis") if "pelvis" in reader.roles else None
    rate_hz = float(pelvis.output_rate_hz) if pelvis is not None else cfg.sensors.rate_hz
    drift_kwargs = cfg.baseline.drift_detector_kwargs()
    analyzer = Analyzer(rate_hz, gyro_segments=tuple(reader.roles), calibration=calibration,
                        drift=DriftDetector(**drift_kwargs))
    session = LiveSession(
        reader, clock, analyzer, cue_engine, drift_kwargs=drift_kwargs, hooks=hooks,
        simulated=simulated, scenario=scenario, calibration_text=calibration_text,
        warnings=warnings, cue_mode=cfg.cues.mode, metronome_on=cfg.metronome.enabled,
        metronome_target_spm=cfg.metronome.target_spm or None)
    return session, reader


class PolicyCues:
    """Cue decisions without sound outputs: `CuePolicy.decide` at the session clock's time,
    with the latency from the closing sample. Used when no cue engine (buzzer/audio) is
    available in this checkout; the decisions and latencies are the same, nothing plays."""

    def __init__(self, policy, clock):
        self.policy = policy
        self.clock = clock

    def on_stride(self, stride, verdict, closing_sample_t_s: float) -> CueEvent | None:
        now_s = self.clock.now_s()
        cue = self.policy.decide(stride, verdict, now_s)
        if cue is None or not cue.played:
            return cue
        return dataclasses.replace(cue, latency_ms=(now_s - closing_sample_t_s) * 1000.0)

    def set_mode(self, mode: str) -> None:
        self.policy.set_mode(mode)

    def set_muted(self, muted: bool) -> None:
        self.policy.muted = bool(muted)


def cue_policy(cfg_cues):
    """The `CuePolicy` the [cues] config asks for."""
    from pi_app.cues.policy import CuePolicy
    return CuePolicy(mode=cfg_cues.mode, min_interval_s=cfg_cues.min_interval_s,
                     fade_schedule=cfg_cues.fade_schedule)


def make_cue_engine(cfg, clock, simulated: bool):
    """(cue engine, warnings). Simulated: a recording `SimulatedBuzzer` and silent audio.
    On the Pi: the configured GPIO buzzer and ALSA audio (silent with a warning when the
    audio device cannot be opened). Without pi_app.cues.engine in this checkout: decisions
    only (`PolicyCues`)."""
    policy = cue_policy(cfg.cues)
    try:
        from pi_app.cues.engine import CueEngine
    except ImportError:
        return PolicyCues(policy, clock), ["cue outputs not available: decisions only"]
    from pi_app.cues.audio import SilentAudio, open_audio
    from pi_app.cues.buzzer import GpioBuzzer, SimulatedBuzzer
    warnings = []
    if simulated:
        buzzer = SimulatedBuzzer(clock, kind=cfg.buzzer.kind)
        audio = SilentAudio(clock)
    else:
        buzzer = (GpioBuzzer(cfg.buzzer.pin_bcm, cfg.buzzer.kind, clock=clock)
                  if cfg.buzzer.enabled else None)
        audio = (open_audio(clock, device=cfg.audio.device or None,
                            buffer_frames=cfg.audio.buffer_frames)
                 if cfg.audio.enabled else SilentAudio(clock))
        if audio.warning:
            warnings.append(audio.warning)
    return CueEngine(policy, buzzer, audio, clock,
                     metronome_target_spm=cfg.metronome.target_spm or None), warnings


def start_recorder(session: LiveSession, *, state_dir=None, athlete: str = "",
                   athlete_id: str = "", notes: str = "", config_text: str = "",
                   calibration_text: str = "", scenario: str | None = None,
                   seed: int | None = None, max_size_mb: float | None = None):
    """Record `session` into the session store in `state_dir` (see pi_app.paths.state_dir):
    a `SessionRecorder` attached to it as a hook. Never raises for a store problem: the
    recorder then comes back with its `warning` set (shown on the dashboard) and live
    feedback goes on. Close it with `stop_recorder`."""
    from pi_app.store import SessionInfo, SessionRecorder
    roles = tuple(session.reader.roles)
    info = SessionInfo(athlete_name=athlete, athlete_id=athlete_id, notes=notes,
                       rate_hz=float(session.analyzer.rate_hz), segments=roles,
                       gyro_segments=tuple(session.analyzer.gyro_segments),
                       config_text=config_text, calibration_text=calibration_text,
                       simulated=session.simulated, scenario=scenario, seed=seed)
    # The drift detector is read at each stride: a restarted baseline replaces it.
    recorder = SessionRecorder.start(info, state_dir, max_size_mb=max_size_mb,
                                     drift=lambda: session.analyzer.drift)
    session.attach_recorder(recorder)
    return recorder


def stop_recorder(recorder, reason: str = "stopped") -> None:
    """End the recorded session: commit everything queued, mark it ended, close the store.
    Safe to call twice and with None."""
    if recorder is None:
        return
    recorder.close(reason)
    store = getattr(recorder, "store", None)
    if store is not None:
        store.close()


# systemd shows the last STATUS line in `systemctl status`; every few seconds is enough to
# read it and cheap (one datagram).
STATUS_INTERVAL_S = 5.0


def status_text(snapshot: LiveSnapshot, n_strides: int | None = None) -> str:
    """One line on the sensors and the session for `systemctl status` (rates in Hz)."""
    parts = []
    for s in snapshot.sensors:
        if s.present:
            rate = f"{s.effective_rate_hz:.0f} Hz" if s.effective_rate_hz else "no rate yet"
            text = f"{s.role} {s.model or 'IMU'} {rate}"
            counts = [f"{n} {what}" for n, what in ((s.i2c_errors, "I2C errors"),
                                                    (s.overflows, "overflows"),
                                                    (s.reconnects, "reconnects")) if n]
            if counts:
                text += " (" + ", ".join(counts) + ")"
        else:
            text = f"{s.role} IMU LOST" + (f" ({s.last_error})" if s.last_error else "")
        parts.append(text)
    if n_strides is not None:
        parts.append(f"{n_strides} strides")
    if snapshot.stalled_threads:
        parts.append("stalled: " + ", ".join(snapshot.stalled_threads))
    parts.append("recording" if snapshot.recording else "not recording")
    parts.extend(snapshot.warnings)
    return "; ".join(parts)


class ServiceReporter:
    """What the live app tells systemd, called from the main loop (`tick()` every iteration).

    notifier: a `pi_app.service.ServiceNotifier`. READY is sent once every role in `roles`
    answers (present with samples) and the display is up (`tick(display_up=True)`; headless
    callers always pass True); before that STATUS says what it waits for. Afterwards STATUS
    carries `status_text` every `status_interval_s` (clock s). The watchdog is fed on every
    tick while the sensor and analysis heartbeats are fresh (see WatchdogFeeder)."""

    def __init__(self, notifier, session: LiveSession, *, roles=("pelvis", "thorax"),
                 status_interval_s: float = STATUS_INTERVAL_S):
        self.notifier = notifier
        self.session = session
        self.roles = tuple(roles)
        self.status_interval_s = float(status_interval_s)
        self.ready = False
        self._last_status_s = -math.inf

    def missing(self) -> tuple[str, ...]:
        """Roles whose IMU has not delivered samples yet (or is absent now)."""
        health = self.session.reader.snapshot()["sensors"]
        return tuple(r for r in self.roles
                     if r not in health or not health[r]["present"] or not health[r]["samples"])

    def tick(self, display_up: bool = True, now_s: float | None = None) -> tuple[str, ...]:
        """One main-loop iteration: READY / STATUS when due, then the watchdog. Returns the
        stale heartbeats (empty when healthy)."""
        now_s = self.session.clock.now_s() if now_s is None else now_s
        if not self.ready:
            missing = self.missing()
            if not missing and display_up:
                self.ready = True
                self._last_status_s = now_s
                snapshot, _ = self.session.box.get()
                self.notifier.ready(status_text(snapshot, self.session.analyzer.n_strides))
            elif now_s - self._last_status_s >= self.status_interval_s:
                self._last_status_s = now_s
                waiting = [f"{r} IMU" for r in missing] + ([] if display_up else ["display"])
                self.notifier.status("starting: waiting for " + ", ".join(waiting))
        elif now_s - self._last_status_s >= self.status_interval_s:
            self._last_status_s = now_s
            snapshot, _ = self.session.box.get()
            self.notifier.status(status_text(snapshot, self.session.analyzer.n_strides))
        return self.notifier.watchdog_tick(self.session.heartbeats, now_s)

    def stopping(self, text: str = "stopping") -> None:
        self.notifier.stopping(text)
