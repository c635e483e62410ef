"""The analysis side of the live app, with no thread in it, and the stepped driver.

`LiveSession.step()` analyses whatever the sensor thread has delivered since the last call:
coach commands ▸ align ▸ Analyzer ▸ cue engine ▸ snapshot ▸ session hooks. Each coach command
goes to its owner: cue commands to the cue engine (which holds the cue settings), baseline
commands to the drift detector, recording to the recorder. `run_stepped` drives the sensor
reader and the session in one loop on a `ManualClock`, deterministic and as fast as the CPU
allows (tests, `pi-app demo --headless --speed X`); `pi_app.live.threads`
runs the same session on a thread next to the sensor thread instead. Cues are decided in the
analysis step, so the display never delays them.

Session hooks (`SessionHook`: on_chunk, on_update, on_cue, on_event) receive everything the
analysis produced, in order, on the analysis thread: the event log (pi_app.live.events) and
the session store subscribe this way. A hook that raises is counted and shown, never fatal.
"""


import math
import threading
from collections import deque
from typing import Callable, Iterable, Protocol

import numpy as np

from pi_app.acquisition.align import FrameAligner
from pi_app.analysis.drift import DriftVerdict, MetricBand
from pi_app.analysis.pipeline import AnalysisUpdate, Analyzer
from pi_app.analysis.types import StrideMetrics
from pi_app.frames import FrameChunk
from pi_app.live.dial import dial_needle
from pi_app.live.health import HealthJudge
from pi_app.live.snapshot import (CommandQueue, LiveSnapshot, ReplayInfo, SensorStatus,
                                  SnapshotBox)
from pi_app.records import CoachCommand, CueEvent, CueMode, CueSettings, SensorRole

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
        "cue_mode", "mute", "metronome", "audio_device_lost", "display_lost",
        "display_back", "recording", "start", "stop";
        detail a dict (with "t_s" on the sample clock where it has one) or text."""


class CueDecider(Protocol):
    """The cue engine as the session uses it (pi_app.cues.engine.CueEngine)."""

    def on_stride(self, stride, verdict, closing_sample_t_s: float) -> CueEvent | None:
        """The cue decision for a new stride (None: nothing to say)."""

    def on_steps(self, steps) -> None:
        """New contacts (the metronome locks to them)."""

    def tick(self, now_s: float) -> object:
        """Once per analysed chunk: schedule what is due (metronome beats)."""

    def apply_command(self, command: CoachCommand) -> bool:
        """Carry out a cue command of the coach; False when it is not one."""

    @property
    def settings(self) -> CueSettings:
        """The cue settings now (shown on the dashboard)."""

    @property
    def cue_log(self) -> tuple[CueEvent, ...]:
        """The recent decisions, newest last."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Output problems for the dashboard (no audio device, the sound device went away)."""


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
    analyzer: the `Analyzer` (its drift detector is reset, never replaced, on a baseline
    restart). cue_engine: a `CueDecider` (it owns the cue settings) or None (no cues: the
    dashboard shows cues off). hooks: session hooks. simulated / scenario / calibration_text /
    warnings: shown on the dashboard. heartbeats: shared with the app (the session watches
    "sensors" and beats "analysis").
    """

    def __init__(self, reader, clock, analyzer: Analyzer, cue_engine: CueDecider | None = None,
                 *, hooks: Iterable[SessionHook] = (),
                 commands: CommandQueue | None = None, box: SnapshotBox | None = None,
                 simulated: bool = False, scenario: str | None = None,
                 calibration_text: str = "not calibrated", warnings: Iterable[str] = (),
                 heartbeats: Heartbeats | None = None):
        self.reader = reader
        self.clock = clock
        self.analyzer = analyzer
        self.cue_engine = cue_engine
        self.hooks = list(hooks)
        # Coach commands carried out by a part attached to the session (`own_command`).
        self._command_owners: dict[str, Callable[[CoachCommand], None]] = {}
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
        self.recorder = None
        # Why R cannot record when no recorder is attached (the command that builds the
        # session says it more precisely, e.g. "started with --no-record").
        self.recording_off_reason = "this run has no session store"
        self.replay: ReplayInfo | None = None  # while a stored session replays
        self.target_offset_deg: float | None = None   # set by pi_app.coaching.target
        self.display_start_s: float | None = None   # sample-clock 00:00 (default: started_s)
        self._health_judges: dict[str, HealthJudge] = {}
        self._health_verdicts: dict = {}
        self.quit_requested = False
        self.t_s: float | None = None          # newest analysed sample (sample clock)
        self.n_chunks = 0
        self.n_samples = 0
        self.hook_errors = 0
        #: Every cue decision of this session, oldest first (the run's summary counts them).
        self.cues: list[CueEvent] = []
        self._recent: deque[StrideMetrics] = deque(maxlen=RECENT_STRIDES)
        self._verdict: DriftVerdict | None = None
        self._band: MetricBand | None = None   # the relative-phase band judged against now
        self._trace_t: deque[np.ndarray] = deque()
        self._trace_p: deque[np.ndarray] = deque()
        self._trace_th: deque[np.ndarray] = deque()
        self._trace_keep = 0
        self._health_prev: dict[str, dict] = {}
        self._errors_logged_s = -math.inf
        self._errors_unlogged: dict[str, int] = {}
        self._stalled: tuple[str, ...] = ()
        self._acq_restarts = 0
        self._acq_note: str | None = None

    # -- the step ------------------------------------------------------------------------
    def step(self) -> AnalysisUpdate:
        """Drain coach commands, align the samples the sensor thread delivered, analyse
        them, decide cues, publish a snapshot and call the hooks. Returns the update."""
        for command in self.commands.drain():
            self.apply(command)
        rows = {role: cursor.read().rows for role, cursor in self.cursors.items()}
        chunk = self.aligner.update(rows.get(SensorRole.PELVIS), rows.get(SensorRole.THORAX))
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
        if engine is not None and update.steps:
            engine.on_steps(update.steps)
        for stride, verdict in zip(update.strides, update.verdicts):
            self._recent.append(stride)
            self._verdict = verdict
            self._band = verdict.bands.get("rel_phase")
            if engine is not None:
                cue = engine.on_stride(stride, verdict, closing_t_s)
                if cue is not None:
                    self.cues.append(cue)
                    self._call("on_cue", cue)
        if engine is not None:
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
        """True while the session is being stored (never without a recorder)."""
        return self.recorder is not None and bool(self.recorder.recording)

    # -- coach commands ------------------------------------------------------------------
    def apply(self, command: CoachCommand) -> None:
        """Carry out one coach command (on the analysis thread, between chunks), by its owner:
        the cue engine, the drift detector, the recorder or the session itself."""
        kind = command.kind
        t = {"t_s": self.t_s}
        if kind in _CUE_COMMANDS:
            self._apply_cue_command(command, t)
        elif kind == "display_lost":
            self._warn_once(DISPLAY_LOST)
            self._call("on_event", "display_lost", t)
        elif kind == "display_back":
            if DISPLAY_LOST in self.warnings:
                self.warnings.remove(DISPLAY_LOST)
            self._call("on_event", "display_back", t)
        elif kind == "restart_baseline":
            # The coach says the runner is settled now: no second warm-up.
            self.analyzer.drift.reset(skip_warmup=True)
            self._verdict = None
            self._band = None
            self._call("on_event", "baseline_restart", t)
        elif kind == "band_from_current":
            bands = self.analyzer.drift.set_band_from_current()
            if "rel_phase" in bands:
                self._band = bands["rel_phase"]
            self._call("on_event", "band_from_current",
                       {**t, "bands": {m: [round(b.low, 2), round(b.high, 2)]
                                       for m, b in bands.items()}})
            if not bands:
                self._warn_once("no strides yet to set the band from")
        elif kind == "toggle_recording":
            recorder = self.recorder
            if recorder is None:
                # Nothing would be stored: never show a REC state without data.
                self._warn_once(f"recording is off: {self.recording_off_reason}")
            elif recorder.recording:
                recorder.pause()
            elif recorder.warning is None:
                recorder.resume()
            else:
                # Stopped by a disk problem: resuming cannot help; the warning says why.
                self._warn_once("recording cannot resume: " + recorder.warning)
            self._call("on_event", "recording", {**t, "on": self.is_recording})
        elif kind in self._command_owners:
            owner = self._command_owners[kind]
            try:
                owner(command)
            except Exception as err:  # a broken owner must not stop the analysis
                self.hook_errors += 1
                self._call("on_event", "hook_error", {
                    "t_s": self.t_s, "detail": f"{kind}: {type(err).__name__}: {err}"})
        elif kind == "quit":
            self.quit_requested = True
            self._call("on_event", "quit", t)
        else:
            # e.g. the target keys in a session built without a target: say so, once.
            self._warn_once(f"nothing in this run carries out the {kind} key")

    def own_command(self, kind: str, owner: Callable[[CoachCommand], None]) -> None:
        """Coach commands of `kind` go to `owner(command)` (on the analysis thread), e.g.
        "target_step" to the coaching target (pi_app.coaching.target.TargetHook)."""
        self._command_owners[kind] = owner

    def _apply_cue_command(self, command: CoachCommand, t: dict) -> None:
        engine = self.cue_engine
        if engine is None:
            self._warn_once("this run gives no cues: the cue keys do nothing")
            return
        engine.apply_command(command)
        now = engine.settings
        if command.kind == "cycle_cue_mode":
            self._call("on_event", "cue_mode", {**t, "mode": now.mode})
        elif command.kind == "toggle_mute":
            self._call("on_event", "mute", {**t, "muted": now.muted})
        elif command.kind == "audio_device_lost":
            self._call("on_event", "audio_device_lost",
                       {**t, "detail": "; ".join(engine.warnings)})
        else:
            self._call("on_event", "metronome", {**t, "on": now.metronome_on,
                                                 "target_spm": now.metronome_target_spm})

    @property
    def cue_settings(self) -> CueSettings:
        """The cue engine's settings (cues off when this session has no cue engine)."""
        if self.cue_engine is None:
            return CueSettings(mode=CueMode.OFF)
        return self.cue_engine.settings

    # -- the snapshot --------------------------------------------------------------------
    def snapshot(self) -> LiveSnapshot:
        """The dashboard's view of now."""
        live = self.analyzer.live
        band = self._band
        cues = self.cue_settings
        cue_log = self.cue_engine.cue_log[-CUE_LOG:] if self.cue_engine is not None else ()
        t_tr = np.concatenate(self._trace_t) if self._trace_t else np.empty(0)
        p_tr = np.concatenate(self._trace_p) if self._trace_p else np.empty(0)
        th_tr = np.concatenate(self._trace_th) if self._trace_th else np.empty(0)
        warnings = list(self.warnings)
        if self._acq_note:
            warnings.append(self._acq_note)
        if self.hook_errors:
            warnings.append(f"{self.hook_errors} session hook error(s): see the event log")
        if self.recorder is not None:
            for text in (self.recorder.warning, getattr(self.recorder, "space_warning", None)):
                if text and text not in warnings:
                    warnings.append(text)
        if self.cue_engine is not None:
            # Output problems that arise while running (the sound device went away).
            warnings.extend(w for w in self.cue_engine.warnings if w not in warnings)
        sensors = self._sensor_status()
        needle_deg, needle_note = dial_needle(live, sensors)
        return LiveSnapshot(
            t_s=self.t_s if self.t_s is not None else 0.0,
            session_start_s=(self.display_start_s if self.display_start_s is not None
                             else self.started_s),
            simulated=self.simulated, scenario=self.scenario,
            cadence_spm=live.cadence_spm, rel_phase_deg=live.rel_phase_deg,
            pelvis_phase_deg=live.phase_deg.get("pelvis"),
            thorax_phase_deg=live.phase_deg.get("thorax"),
            phase_confidence=live.phase_confidence,
            band_deg=None if band is None else (band.low, band.high),
            band_source=None if band is None else band.source,
            recent_strides=tuple(self._recent),
            trace_t_s=t_tr, trace_pelvis_deg=p_tr, trace_thorax_deg=th_tr,
            verdict=self._verdict, cue_log=cue_log, cue_mode=cues.mode,
            muted=cues.muted, metronome_on=cues.metronome_on,
            metronome_target_spm=cues.metronome_target_spm, recording=self.is_recording,
            calibration_text=self.calibration_text, sensors=sensors,
            stalled_threads=self._stalled, warnings=tuple(warnings),
            recording_off_reason=None if self.recorder is not None
            else self.recording_off_reason,
            needle_deg=needle_deg, needle_note=needle_note, replay=self.replay,
            baseline_note=self.analyzer.drift.stored_note,
            target_offset_deg=self.target_offset_deg)

    def _sensor_status(self) -> tuple[SensorStatus, ...]:
        out = []
        for role, h in self._health_prev.items():
            verdict = self._health_verdicts.get(role)
            out.append(SensorStatus(
                role=SensorRole(role), model=h["model"] or None, address=h["address"],
                present=h["present"], configured_rate_hz=h["configured_rate_hz"] or None,
                effective_rate_hz=h["effective_rate_hz"] or None, overflows=h["overflows"],
                i2c_errors=h["i2c_errors"], gaps=h["gaps"], reconnects=h["reconnects"],
                last_error=h["last_error"] or None,
                health=verdict.level if verdict is not None else "ok",
                health_reason=verdict.reason if verdict is not None else None))
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
        record = self.reader.snapshot()
        self._watch_process(record.get("process"), now_s)
        health = record["sensors"]
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
                restarts = (h.get("fifo_restarts_after_error", 0)
                            - prev.get("fifo_restarts_after_error", 0))
                if restarts > 0:
                    self._call("on_event", "fifo_restart",
                               {"t_s": t_s, "role": role, "count": restarts,
                                "detail": f"{where} FIFO restarted after a failed I2C read "
                                          "(samples lost): check its cable and connectors"})
                new_errors = h["i2c_errors"] - prev["i2c_errors"]
                if new_errors > 0:
                    self._errors_unlogged[role] = self._errors_unlogged.get(role, 0) + new_errors
            self._health_prev[role] = h
            judge = self._health_judges.setdefault(role, HealthJudge())
            self._health_verdicts[role] = judge.update(
                t_s, h["present"], h["overflows"], h["gaps"], h["i2c_errors"],
                h["last_error"] or None, h.get("fifo_restarts_after_error", 0))
        if self._errors_unlogged and now_s - self._errors_logged_s >= ERROR_LOG_INTERVAL_S:
            for role, n in self._errors_unlogged.items():
                self._call("on_event", "i2c_errors",
                           {"t_s": t_s, "role": role, "count": n,
                            "detail": f"{role} IMU: {n} transient I2C error(s), retried"})
            self._errors_unlogged = {}
            self._errors_logged_s = now_s

    def _watch_process(self, proc: dict | None, now_s: float) -> None:
        """The acquisition process (when acquisition runs in one): a restart is a fault event
        and stays on the screen; a process left down is a warning until the app stops."""
        if not proc:
            return
        restarts = int(proc.get("restarts") or 0)
        if restarts > self._acq_restarts:
            self._acq_restarts = restarts
            since = _since(now_s - self.started_s)
            self._acq_note = (f"acquisition process restarted at {since} ({proc.get('last_exit')}"
                              f"; {restarts} restart(s)): samples were lost")
            self._call("on_event", "acquisition_restart",
                       {"t_s": now_s, "count": restarts, "detail": self._acq_note})
        if proc.get("fault") and proc["fault"] not in self.warnings:
            self.warnings.append(proc["fault"])
            self._call("on_event", "acquisition_fault", {"t_s": now_s, "detail": proc["fault"]})

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


#: What the coach is told (in the journal, and on the dashboard once it is back) while no
#: screen is connected.
DISPLAY_LOST = ("the screen is disconnected (no KMS/DRM connector reports a display): cues "
                "and recording go on; the dashboard comes back when a screen is plugged in")

#: The coach commands the cue engine carries out.
_CUE_COMMANDS = frozenset({"cycle_cue_mode", "toggle_mute", "toggle_metronome",
                           "metronome_target_delta_spm", "audio_device_lost"})


def _since(seconds: float) -> str:
    t = max(0, int(seconds))
    return f"{t // 60:02d}:{t % 60:02d}"


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

