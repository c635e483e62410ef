"""The composition root: the one place the app is built from the validated config.

Every mode gets its parts here, so a setting given in the config reaches every consumer:

- the live app (`build_live`, run by `run_live` for `pi-app run`; `pi-app demo` and the
  dashboard screenshots use `build_live` too): acquisition in its own process or a thread
  (`acquisition_mode`), the analysis, the cue engine, the event log, the coaching hook and
  the session recorder;
- the offline analysis (`offline_analysis` for `pi-app analyze`, `import_recording`);
- replay (`replay_session`, `replay_live` for `pi-app replay`), judged with the config and
  calibration the session stored.

`analyzer` is the one place an `Analyzer` and its drift detector are made from the config.
Commands parse their arguments, call one function here and print what it returns.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from pi_app.analysis.drift import DriftDetector
from pi_app.analysis.pipeline import Analyzer
from pi_app.clock import Clock, WallClock
from pi_app.config import Config
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import ConfigError, PiAppError
from pi_app.live.session import CueDecider, LiveSession, SessionHook

if TYPE_CHECKING:
    from pi_app.acquisition.process import AcquisitionProcess
    from pi_app.acquisition.sensor_thread import SensorReader, SensorThread
    from pi_app.coaching.live import CoachingHook
    from pi_app.coaching.target import TargetHook
    from pi_app.cues.audio import PygameAudio
    from pi_app.cues.engine import CueEngine
    from pi_app.live.events import EventLog
    from pi_app.store.writer import SessionRecorder

# --- analysis -----------------------------------------------------------------------------


def drift_detector(cfg: Config) -> DriftDetector:
    """The drift detector the [baseline] config asks for."""
    return DriftDetector(**cfg.baseline.drift_detector_kwargs())


def analyzer(cfg: Config, rate_hz: float, gyro_segments: Iterable[str], *, calibration=None,
             live_phase: bool = True, drift: DriftDetector | None = None) -> Analyzer:
    """The `Analyzer` of every mode at `rate_hz` (Hz), with the drift detector of
    cfg.baseline unless `drift` (one already built from it, e.g. given a stored baseline).
    live_phase: the dashboard's live phase estimate (not needed offline)."""
    return Analyzer(rate_hz, gyro_segments=tuple(gyro_segments), calibration=calibration,
                    drift=drift if drift is not None else drift_detector(cfg),
                    live_phase=live_phase)


# --- acquisition --------------------------------------------------------------------------


def sensor_specs(cfg_sensors):
    """The `SensorSpec`s from the [sensors] config, or None to find the IMUs on the bus."""
    from pi_app.acquisition.sensor_thread import SensorSpec
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


#: How often the live analysis runs (s). Each step has a fixed cost (~1.2 ms here, ~5 ms on a
#: Pi 4 core) whatever it analyses: measured per second of data, 15 ms steps cost 155 ms of
#: CPU, 30 ms steps 79 ms, 45 ms steps 65 ms. 30 ms delays a cue by 7.5 ms on average, far
#: inside one stride (~700 ms) and the 50 ms cue latency target.
ANALYSIS_INTERVAL_S = 0.03


def analysis_interval_s(cfg: Config) -> float:
    """Seconds between live analysis steps: ANALYSIS_INTERVAL_S, never faster than the
    FIFO drains."""
    return max(ANALYSIS_INTERVAL_S, cfg.sensors.drain_interval_s)


def acquisition_mode(cfg: Config, clock, bus=None) -> str:
    """Where acquisition runs, decided here only: "thread" (a sensor thread in this process)
    for a stepped `ManualClock` (it cannot be shared with another process), for a `bus`
    object already opened by the caller (tests), or when [sensors] acquisition = "thread";
    else "process" (its own process: the FIFO drain keeps its schedule whatever the
    dashboard and the analysis do)."""
    from pi_app.clock import ManualClock
    if bus is not None or isinstance(clock, ManualClock):
        return "thread"
    return cfg.sensors.acquisition


def simulator_spec(cfg: Config, scenario: str, *, seed: int = 0, chips: str = "mpu6050",
                   day: int = 0):
    """The `BusSpec` of a simulated runner on cfg.sensors.bus (built where acquisition runs)."""
    from pi_app.acquisition.process import BusSpec
    return BusSpec(bus_number=cfg.sensors.bus, simulated=True, scenario=scenario, seed=seed,
                   chips=chips, day=day)


def open_acquisition(cfg: Config, clock, bus_spec=None, *, bus=None):
    """Open the IMUs as `acquisition_mode` decides. bus_spec: a
    `pi_app.acquisition.process.BusSpec` (default: the real bus cfg.sensors.bus; or
    `simulator_spec`); bus: an already opened bus (then in this process).

    Returns (reader, runner, bus_opened_here): reader is what the session reads (a
    `SensorReader` or the `AcquisitionProcess`), runner what `LiveApp` starts and stops (a
    `SensorThread` or the same process), and the bus this call opened in this process (close
    it at the end) or None. Raises the hardware layer's PiAppError when no IMU answers."""
    from pi_app.acquisition.process import AcquisitionProcess, AcquisitionSpec, BusSpec
    from pi_app.acquisition.sensor_thread import SensorThread
    from pi_app.acquisition.setup import open_reader
    s = cfg.sensors
    bus_spec = bus_spec if bus_spec is not None else BusSpec(bus_number=s.bus)
    if acquisition_mode(cfg, clock, bus) == "thread":
        opened = None
        if bus is None:
            bus = opened = bus_spec.open(clock)
        try:
            reader = open_reader(bus, clock, specs=sensor_specs(s), bus_number=s.bus,
                                 settings=imu_settings(s))
        except BaseException:
            if opened is not None and hasattr(opened, "close"):
                opened.close()
            raise
        return reader, SensorThread(reader, s.drain_interval_s), opened
    specs = sensor_specs(s)
    process = AcquisitionProcess(
        AcquisitionSpec(bus=bus_spec, specs=None if specs is None else tuple(specs),
                        settings=imu_settings(s), drain_interval_s=s.drain_interval_s,
                        rt_priority=s.rt_priority), clock)
    try:
        process.open()
    except BaseException:
        process.stop(1.0)
        raise
    return process, process, None


# --- cues ---------------------------------------------------------------------------------


def cue_policy(cfg: Config):
    """The `CuePolicy` the [cues] config asks for."""
    from pi_app.cues.policy import CuePolicy
    return CuePolicy(mode=cfg.cues.mode, min_interval_s=cfg.cues.min_interval_s,
                     fade_schedule=cfg.cues.fade_schedule)


def make_cue_engine(cfg: Config, clock, simulated: bool,
                    sound: bool = False) -> tuple[CueEngine, list[str]]:
    """(cue engine, warnings). Simulated: a recording `SimulatedBuzzer`, and with `sound` the
    computer's own sound device (the same synthesis as on the Pi; silent with a warning when
    there is none), else silent audio. On the Pi: the configured GPIO buzzer and ALSA audio
    (silent with a warning when the audio device cannot be opened)."""
    from pi_app.cues.audio import SilentAudio, open_audio
    from pi_app.cues.buzzer import GpioBuzzer, SimulatedBuzzer
    from pi_app.cues.engine import CueEngine
    warnings = []
    buzzer: SimulatedBuzzer | GpioBuzzer | None
    audio: PygameAudio | SilentAudio
    if simulated:
        buzzer = SimulatedBuzzer(clock, kind=cfg.buzzer.kind)
        audio = SilentAudio(clock)
        if sound:
            audio = open_audio(clock, device=cfg.audio.device or None,
                               buffer_frames=cfg.audio.buffer_frames, volume=cfg.audio.volume,
                               fallback="the demo runs silent (cues show in the cue log)")
            if audio.warning:
                warnings.append(audio.warning)
    else:
        buzzer = (GpioBuzzer(cfg.buzzer.pin_bcm, cfg.buzzer.kind, clock=clock)
                  if cfg.buzzer.enabled else None)
        audio = (open_audio(clock, device=cfg.audio.device or None,
                            buffer_frames=cfg.audio.buffer_frames, volume=cfg.audio.volume)
                 if cfg.audio.enabled else SilentAudio(clock))
        if audio.warning:
            warnings.append(audio.warning)
    return CueEngine(cue_policy(cfg), buzzer, audio, clock,
                     metronome_target_spm=cfg.metronome.target_spm or None,
                     metronome_on=cfg.metronome.enabled,
                     metronome_max_change_pct_per_min=cfg.metronome.max_change_pct_per_min
                     ), warnings


# --- the live session ---------------------------------------------------------------------


def live_session(cfg: Config, reader, clock, analysis: Analyzer,
                 cue_engine: CueDecider | None, *, hooks: Iterable[SessionHook] = (),
                 simulated: bool = False, scenario: str | None = None,
                 calibration_text: str = "not calibrated",
                 warnings: Iterable[str] = ()) -> LiveSession:
    """The `LiveSession` on `analysis` (its drift detector built from [baseline]); the cue
    engine carries the [cues] and [metronome] settings (`make_cue_engine`)."""
    return LiveSession(
        reader, clock, analysis, cue_engine, hooks=hooks, simulated=simulated,
        scenario=scenario, calibration_text=calibration_text, warnings=warnings)


def open_session(cfg: Config, clock, bus=None, *, reader=None,
                 cue_engine: CueDecider | None = None, hooks: Iterable[SessionHook] = (),
                 calibration=None, calibration_text: str = "not calibrated",
                 simulated: bool = False, scenario: str | None = None,
                 warnings: Iterable[str] = ()):
    """Build the `LiveSession` (Analyzer at the rate the pelvis chip really runs, drift
    detector from `cfg.baseline`) on `reader` (from `open_acquisition`), or on a reader
    opened here on `bus` as `cfg.sensors` says. Returns (session, reader). Raises the
    hardware layer's PiAppError when no IMU answers."""
    from pi_app.acquisition.setup import open_reader
    if reader is None:
        reader = open_reader(bus, clock, specs=sensor_specs(cfg.sensors),
                             bus_number=cfg.sensors.bus, settings=imu_settings(cfg.sensors))
    warnings = list(warnings) + list(getattr(reader, "warnings", ()))
    pelvis = reader.driver("pelvis") if "pelvis" in reader.roles else None
    rate_hz = float(pelvis.output_rate_hz) if pelvis is not None else cfg.sensors.rate_hz
    session = live_session(cfg, reader, clock,
                           analyzer(cfg, rate_hz, reader.roles, calibration=calibration),
                           cue_engine, hooks=hooks, simulated=simulated, scenario=scenario,
                           calibration_text=calibration_text, warnings=warnings)
    return session, reader


def start_recorder(session: LiveSession, *, state_dir=None, athlete: str = "",
                   athlete_id: str = "", notes: str = "", config_text: str = "",
                   calibration_text: str = "", scenario: str | None = None,
                   seed: int | None = None, max_size_mb: float | None = None,
                   athlete_ref: int | None = None, treadmill_speed_kmh: float | None = None,
                   **programme):
    """Record `session` into the session store in `state_dir` (see pi_app.paths.state_dir):
    a `SessionRecorder` attached to it as a hook. Never raises for a store problem: the
    recorder then comes back with its `warning` set (shown on the dashboard) and live
    feedback goes on. `programme`: the session's place in the athlete's programme
    (pi_app.coaching.plan.recorder_fields). Close it with `stop_recorder`."""
    from pi_app.store import SessionInfo, SessionRecorder
    roles = tuple(session.reader.roles)
    info = SessionInfo(athlete_name=athlete, athlete_id=athlete_id, notes=notes,
                       rate_hz=float(session.analyzer.rate_hz), segments=roles,
                       gyro_segments=tuple(session.analyzer.gyro_segments),
                       config_text=config_text, calibration_text=calibration_text,
                       simulated=session.simulated, scenario=scenario, seed=seed,
                       athlete_ref=athlete_ref, treadmill_speed_kmh=treadmill_speed_kmh,
                       **programme)
    recorder = SessionRecorder.start(info, state_dir, max_size_mb=max_size_mb)
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


# --- the live app -------------------------------------------------------------------------


@dataclass
class LiveParts:
    """Everything `build_live` opened, closed in reverse by `close()` (safe to call twice).
    bus: the bus opened in this process (thread mode), or None; warnings: what the cue
    outputs said when they opened (e.g. no audio device)."""

    session: LiveSession | None = None
    reader: SensorReader | AcquisitionProcess | None = None
    runner: SensorThread | AcquisitionProcess | None = None
    bus: object = None
    engine: CueEngine | None = None
    events: EventLog | None = None
    recorder: SessionRecorder | None = None
    coaching: CoachingHook | None = None
    target: TargetHook | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def live(self) -> LiveSession:
        """The session (`build_live` returns only with one: it raises when it cannot build
        it)."""
        assert self.session is not None, "LiveParts used before build_live made the session"
        return self.session

    def close(self) -> None:
        stop_recorder(self.recorder)
        if self.coaching is not None:
            self.coaching.close()
        if self.runner is not None:
            self.runner.stop(2.0)            # no-op when the app stopped it already
        close_bus = getattr(self.bus, "close", None)
        if close_bus is not None:
            close_bus()
            self.bus = None
        if self.engine is not None:
            self.engine.close()
        if self.events is not None:
            self.events.close()


def build_live(cfg: Config, clock, *, bus=None, bus_spec=None, scenario: str | None = None,
               simulated_outputs: bool = False, sound: bool = False,
               stride_lines: Callable[[str], None] | None = None, t0_s: float | None = None,
               events_out: Path | None = None, calibration=None,
               calibration_text: str = "not calibrated", record: dict | None = None,
               recording_off_reason: str = "", coaching: dict | None = None,
               target_offset_deg: float | None = None) -> LiveParts:
    """The live app's parts from `cfg`, in the order that shows the most useful error first
    (the IMUs): acquisition (`open_acquisition` on `bus` or `bus_spec`), the cue engine
    (simulated outputs with `simulated_outputs`, the computer's sound device with `sound`),
    the session hooks (one line per stride to `stride_lines`, its times in seconds since
    `t0_s` (default: the clock once the IMUs are open), the JSON-lines event log
    `events_out`), the `LiveSession`, the relative-phase target (starting at
    `target_offset_deg`, None: none; moved by the coach's [ and ] keys by [coaching]
    target_step_deg), the athlete's coaching hook when `coaching` holds
    `attach_coaching` arguments, and the recorder when `record` holds `start_recorder`
    arguments (else R says `recording_off_reason`, when given). scenario: the simulated runner's
    scenario (the session is then marked simulated). On an error everything opened so far
    is closed before it is raised."""
    from pi_app.live.events import EventLog
    from pi_app.live.printer import StridePrinter
    parts = LiveParts()
    try:
        parts.reader, parts.runner, parts.bus = open_acquisition(cfg, clock, bus_spec, bus=bus)
        parts.engine, parts.warnings = make_cue_engine(cfg, clock, simulated=simulated_outputs,
                                                       sound=sound)
        hooks: list[SessionHook] = []
        if stride_lines is not None:
            hooks.append(StridePrinter(stride_lines,
                                       t0_s=clock.now_s() if t0_s is None else t0_s,
                                       buzzer_kind=cfg.buzzer.kind if simulated_outputs
                                       else None))
        if events_out is not None:
            parts.events = EventLog(events_out, clock_t_s=lambda: (
                parts.session.t_s if parts.session is not None else None))
            hooks.append(parts.events)
        parts.session, parts.reader = open_session(
            cfg, clock, reader=parts.reader, cue_engine=parts.engine, hooks=hooks,
            calibration=calibration, simulated=simulated_outputs or scenario is not None,
            scenario=scenario, calibration_text=calibration_text, warnings=parts.warnings)
        from pi_app.coaching.target import attach_target
        parts.target = attach_target(parts.session, target_offset_deg,
                                     cfg.coaching.target_step_deg)
        if coaching is not None:
            from pi_app.coaching.live import attach_coaching
            parts.coaching = attach_coaching(parts.session, **coaching)
            if record is not None:
                record = {**record, "athlete": parts.coaching.athlete.name,
                          "athlete_ref": parts.coaching.athlete.id}
        if record is None:
            if recording_off_reason:
                parts.session.recording_off_reason = recording_off_reason
        else:
            parts.recorder = start_recorder(parts.session, **record)
    except BaseException:
        parts.close()
        raise
    return parts


def live_calibration(cfg: Config):
    """(profile or None, text for the dashboard, profile TOML text to store) from
    [calibration]: ConfigError when it is required and missing."""
    from pi_app.calibration_profile import dumps_profile, load_profile
    from pi_app.paths import default_profile_path
    path = Path(cfg.calibration.profile) if cfg.calibration.profile else default_profile_path()
    if not path.exists():
        if cfg.calibration.required:
            raise ConfigError(f"no calibration profile at {path} and [calibration] required "
                              "= true; run `pi-app calibrate` first.",
                              key="calibration.profile")
        return None, "not calibrated (run pi-app calibrate)", ""
    profile = load_profile(path, flag="[calibration] profile (config)")
    return profile, f"calibrated ({path.name})", dumps_profile(profile)


def recording_args(*, state_dir, athlete: str = "", notes: str = "", config_text: str = "",
                   max_size_mb: float | None = None,
                   treadmill_speed_kmh: float | None = None, planned=None,
                   target_offset_deg: float | None = None, **more) -> dict:
    """The `start_recorder` arguments of a command (`record` of `build_live`); planned: the
    athlete's programme session (pi_app.coaching.programme.ProgrammeSession) or None;
    target_offset_deg: the target the session starts with (`target_offset`; stored with
    the session so a replay rebuilds it); more: scenario, seed, calibration_text."""
    record = dict(state_dir=state_dir, athlete=athlete, notes=notes, config_text=config_text,
                  max_size_mb=max_size_mb, treadmill_speed_kmh=treadmill_speed_kmh, **more)
    if planned is not None:
        from pi_app.coaching.plan import recorder_fields
        record.update(recorder_fields(planned))
    record["target_offset_deg"] = target_offset_deg
    return record


def coaching_args(state_dir, athlete: str, treadmill_speed_kmh: float | None
                  ) -> dict | None:
    """The `attach_coaching` arguments (`coaching` of `build_live`), None without an
    athlete."""
    if not athlete.strip():
        return None
    return dict(state_dir=state_dir, athlete_name=athlete,
                treadmill_speed_kmh=treadmill_speed_kmh)


def run_threads(parts: LiveParts, cfg: Config, *, ui=None, seconds: float | None = None,
                on_frame: Callable[[], object] | None = None, install_signals: bool = True,
                started: Callable[[], None] | None = None,
                stopping: Callable[[], None] | None = None) -> None:
    """Run the built app on threads (`LiveApp`: acquisition as built, the analysis thread
    every `analysis_interval_s`, `ui` on this thread) until `seconds` of clock time, a
    signal, or the coach quits. started / stopping: called once the threads run / before
    they are stopped; on_frame: after each drawn frame."""
    from pi_app.live.threads import LiveApp
    app = LiveApp(parts.live, parts.runner, analysis_interval_s=analysis_interval_s(cfg),
                  ui=ui, ui_fps=cfg.display.fps)
    if install_signals:
        app.install_signal_handlers()
    app.start()
    if started is not None:
        started()
    try:
        app.run_main(seconds, on_frame=on_frame)
    finally:
        if stopping is not None:
            stopping()
        if not app.stop(2.0):
            print("pi-app: a thread did not stop within 2 s.", file=sys.stderr)


def run_paced(parts: LiveParts, cfg: Config, clock, seconds: float,
              speed: float | None) -> float | None:
    """Run the built app stepped on its `ManualClock` (sensors polled and analysed in this
    thread, every cfg.sensors.drain_interval_s), paced to `speed` times real time (None or
    0: as fast as the CPU allows), until `seconds`, SIGINT/SIGTERM or the coach quits.
    Returns the speed achieved (None when unpaced)."""
    import signal
    import threading

    from pi_app.live.pacing import Pacer
    from pi_app.live.session import run_stepped
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    from pi_app.acquisition.sensor_thread import SensorReader
    reader = parts.reader
    if not isinstance(reader, SensorReader):
        raise PiAppError("a stepped run needs acquisition in this process: build it with a "
                         "ManualClock (pi_app.app.acquisition_mode).")
    pacer = Pacer(speed or None, WallClock())

    def poll() -> None:
        pacer.wait(clock.now_s())
        reader.poll()
    run_stepped(parts.live, clock, seconds, cfg.sensors.drain_interval_s, stop=stop,
                poll=poll)
    return pacer.achieved_speed


def choose_on_dashboard(ui, state_dir, timeout_s: float, clock, status=None) -> str:
    """The athlete the coach picks on the dashboard before a run started without --athlete
    ("" = none: no athletes in the store, the picker is off (`timeout_s` 0), or nobody
    chose within `timeout_s` s of the last key press). `status(text)`: where the service
    says it is waiting (systemd STATUS). Prints how it was decided."""
    import sys
    if ui is None or timeout_s <= 0:
        return ""
    from pi_app.coaching.live import athletes_by_recency
    names = athletes_by_recency(state_dir)
    if not names:
        return ""
    from pi_app.ui.athlete_picker import choose_athlete

    shown: list[int | None] = [None]     # the whole seconds last said

    def on_frame(left_s: float) -> None:
        if status is not None and round(left_s) != shown[0]:
            shown[0] = round(left_s)
            status(f"waiting for the coach to choose the athlete ({left_s:.0f} s left)")
    result = choose_athlete(ui, names, timeout_s, clock, on_frame=on_frame)
    print(f"pi-app: athlete {result.name!r} ({result.why})." if result.name
          else f"pi-app: no athlete ({result.why}).", file=sys.stderr)
    return result.name or ""


def choose_athlete(cfg: Config, state_dir, athlete: str, ui, clock,
                   status: Callable[[str], None] | None = None) -> str:
    """The athlete of a run: `athlete` when given, else the one the coach picks on the
    dashboard `ui` within [coaching] choose_athlete_s (`choose_on_dashboard`; "" = none).
    status(text): where the waiting is reported (systemd STATUS)."""
    if athlete.strip():
        return athlete
    return choose_on_dashboard(ui, state_dir, cfg.coaching.choose_athlete_s, clock,
                               status=status)


def athlete_and_plan(cfg: Config, state_dir, athlete: str, ui, clock,
                     status: Callable[[str], None] | None = None):
    """(athlete, cfg, plan or None) before a run: `athlete`, or the one the coach chooses on
    the dashboard `ui` (`choose_athlete`), and their programme's next session with the config
    it asks for (`plan_session`). Closes `ui` when this fails."""
    try:
        athlete = choose_athlete(cfg, state_dir, athlete, ui, clock, status=status)
        cfg, plan = plan_session(cfg, state_dir, athlete)
    except BaseException:
        if ui is not None:
            ui.close()
        raise
    return athlete, cfg, plan


def target_offset(cfg: Config, plan) -> float | None:
    """The relative-phase target a run starts with (deg toward anti-phase; None = none): the
    programme session's of `plan` (from `plan_session`) where it sets one, else [coaching]
    target_offset_deg."""
    from pi_app.coaching.live import target_offset_for
    return target_offset_for(cfg, plan.session if plan is not None else None)


def plan_session(cfg: Config, state_dir, athlete: str):
    """(config, plan): the athlete's next programme session (`pi_app.coaching.live.plan_for`)
    and the config it asks for; (cfg, None) without an athlete."""
    if not athlete.strip():
        return cfg, None
    from pi_app.coaching.live import plan_for
    from pi_app.coaching.plan import config_for
    plan = plan_for(state_dir, athlete)
    if plan.session is not None:
        cfg = config_for(cfg, plan.session)
    return cfg, plan


def run_live(cfg: Config, clock, bus, *, ui=None, notifier=None, calibration=None,
             calibration_text: str = "not calibrated", events_out: Path | None = None,
             record: dict | None = None, seconds: float | None = None,
             simulated: bool = False, install_signals: bool = True,
             write: Callable[[str], None] | None = None,
             coaching: dict | None = None,
             scenario: str | None = None,
             target_offset_deg: float | None = None) -> dict:
    """The live app on `bus` (None: the I2C bus of cfg.sensors, opened where acquisition runs)
    until SIGINT/SIGTERM (or `seconds` of clock time): acquisition and the analysis thread,
    the dashboard `ui` on this thread (None: one line per stride), the session recorded
    when `record` holds `start_recorder` arguments, and systemd told how it goes through
    `notifier` (READY once both IMUs answer and the display is up, STATUS, watchdog pings
    from this loop, STOPPING); the athlete's remembered baselines used and new ones
    remembered when `coaching` holds `attach_coaching` arguments; the relative-phase target
    starts at `target_offset_deg` (None: none) and moves with the coach's [ and ] keys
    ([coaching] target_step_deg). Closes `ui`; returns a summary dict. simulated: simulated cue outputs too (tests); scenario: with bus None,
    acquisition reads the simulator running this scenario ([sensors] simulate) while the
    cue outputs stay real (the session is marked simulated)."""
    from pi_app.live.service_status import ServiceReporter
    from pi_app.service import ServiceNotifier

    write = write if write is not None else (lambda line: print(line, flush=True))
    notifier = notifier if notifier is not None else ServiceNotifier(clock, env={})
    parts = None
    try:
        parts = build_live(
            cfg, clock, bus=bus,
            bus_spec=simulator_spec(cfg, scenario) if scenario is not None else None,
            scenario=scenario, simulated_outputs=simulated,
            stride_lines=write if ui is None else None, events_out=events_out,
            calibration=calibration, calibration_text=calibration_text, record=record,
            recording_off_reason="pi-app run was started with --no-record",
            coaching=coaching, target_offset_deg=target_offset_deg)
        session, recorder = parts.live, parts.recorder
        if recorder is not None and recorder.warning:
            print(f"pi-app: {recorder.warning}", file=sys.stderr)
        reporter = ServiceReporter(notifier, session)
        try:
            # on_frame runs after each drawn frame, so with a UI the display is up by then.
            run_threads(parts, cfg, ui=ui, seconds=seconds, on_frame=reporter.tick,
                        install_signals=install_signals, stopping=lambda: reporter.stopping(
                            f"stopping after {session.analyzer.n_strides} strides"))
        finally:
            stop_recorder(recorder)
        print(f"pi-app: stopped after {session.analyzer.n_strides} strides"
              + (f"; session {recorder.session_id} recorded." if recorder is not None
                 and recorder.session_id is not None else "."), file=sys.stderr)
        return {"strides": session.analyzer.n_strides, "ready": reporter.ready,
                "session_id": None if recorder is None else recorder.session_id}
    finally:
        if parts is not None:
            parts.close()
        if ui is not None:
            ui.close()


# --- offline ------------------------------------------------------------------------------


def offline_analysis(cfg: Config, path, *, chunk_s: float | None = None, calibration=None,
                     drift: DriftDetector | None = None):
    """`pi_app.offline.analyze_recording` of the recording at `path` with the analysis of
    `cfg` (drift: one built by `drift_detector(cfg)` and given a stored baseline).
    chunk_s: default `pi_app.offline.OFFLINE_CHUNK_S`."""
    from pi_app.offline import OFFLINE_CHUNK_S, analyze_recording
    return analyze_recording(path, lambda rate_hz, gyro: analyzer(
        cfg, rate_hz, gyro, calibration=calibration, live_phase=False, drift=drift),
        chunk_s=OFFLINE_CHUNK_S if chunk_s is None else chunk_s)


def import_recording(store, path, info=None, *, cfg: Config | None = None,
                     chunk_s: float = DRAIN_INTERVAL_S, calibration=None) -> int:
    """`pi_app.store.export.import_recording` (a recording CSV analysed in live-sized chunks
    into a new session) with the analysis of `cfg` (default: the built-in defaults)."""
    from pi_app.store.export import import_recording as record_into
    cfg = cfg if cfg is not None else Config()
    return record_into(store, path, info, lambda rate_hz, gyro: analyzer(
        cfg, rate_hz, gyro, calibration=calibration), chunk_s=chunk_s)


# --- replay -------------------------------------------------------------------------------


def stored_config(summary) -> Config:
    """The config the session was recorded with (the defaults when it stored none, or when
    it cannot be read any more, with a note on stderr)."""
    from pi_app.config import load_config
    from pi_app.replay import stored_text_file
    text = summary.config_text.strip()
    if not text:
        return Config()
    try:
        return stored_text_file(text, "config.toml", load_config)
    except PiAppError as err:
        print(f"pi-app: the session's stored config is not usable ({err}); replaying "
              "with the defaults.", file=sys.stderr)
        return Config()


def stored_calibration(summary):
    """The calibration profile stored with the session, or None (with a note on stderr when
    it cannot be read)."""
    from pi_app.calibration_profile import load_profile
    from pi_app.replay import stored_text_file
    text = summary.calibration_text.strip()
    if not text:
        return None
    try:
        return stored_text_file(text, "calibration.toml", load_profile)
    except PiAppError as err:
        print(f"pi-app: the session's stored calibration is not usable ({err}); replaying "
              "without it.", file=sys.stderr)
        return None


def replay_bands(store, summary):
    """What the stored session kept of the bands it was judged against live: the athlete's
    remembered baseline, the target and the coach's [ / ] / B / N presses
    (`pi_app.coaching.replay.ReplayBands`)."""
    from pi_app.coaching.replay import ReplayBands
    return ReplayBands.of_session(store, summary.id)


def replay_analyzer(summary, cfg: Config, bands=None) -> Analyzer:
    """A fresh live `Analyzer` for the stored session, with its calibration and the analysis
    of its stored config `cfg` (so verdicts and cues are those it had live), its drift
    detector offered the remembered baseline of `bands` (from `replay_bands`) as the live
    session was. The one place replay's baseline handling lives."""
    analysis = analyzer(cfg, summary.rate_hz, summary.gyro_segments,
                        calibration=stored_calibration(summary))
    if bands is not None:
        bands.prepare(analysis.drift)
    return analysis


def replay_cues(cfg: Config, clock: Clock):
    """Cue decisions by the [cues] policy of `cfg` (the session's stored config), made at
    the sample time that closed each stride, as they were live: a `CueEngine` without
    outputs, so nothing plays (and no latency is claimed); its [metronome] state shows as
    it did live."""
    from pi_app.cues.engine import CueEngine
    return CueEngine(cue_policy(cfg), None, None, clock,
                     metronome_target_spm=cfg.metronome.target_spm or None,
                     metronome_on=cfg.metronome.enabled,
                     metronome_max_change_pct_per_min=cfg.metronome.max_change_pct_per_min)


def replay_session(store, session_id: int, *, speed: float = 0.0, clock: Clock | None = None,
                   on_update: Callable | None = None, cfg: Config | None = None,
                   chunk_s: float = DRAIN_INTERVAL_S):
    """Run the session's samples through a fresh live `Analyzer` built from its stored
    config (or `cfg`), judged against the bands it had live (`replay_bands`: remembered
    baseline, target, the coach's keys at their sample times); `on_update(update)` gets
    every AnalysisUpdate. speed > 0 paces the feed at that many times real time on `clock`
    (default wall clock). Returns (analyzer, strides replayed)."""
    from pi_app.replay import feed_analyzer, replayable
    summary = replayable(store, session_id)
    cfg = cfg if cfg is not None else stored_config(summary)
    bands = replay_bands(store, summary)
    analysis = replay_analyzer(summary, cfg, bands)
    n = feed_analyzer(store, summary, analysis, clock=clock if clock is not None else WallClock(),
                      speed=speed, on_update=on_update, chunk_s=chunk_s, bands=bands)
    return analysis, n


def replay_live(store, session_id: int, ui, *, speed: float = 1.0, clock: Clock | None = None,
                fps: float = 30.0, chunk_s: float = DRAIN_INTERVAL_S) -> LiveSession:
    """Replay the session through a `LiveSession` (live analysis, snapshots, coach commands)
    built from its stored config and draw it on `ui` (`draw(snapshot)`, `poll_commands()`)
    at most `fps` times a second of `clock` time; speed as in `replay_session`. Stops early
    when the coach quits. Returns the LiveSession."""
    from pi_app.coaching.target import TargetHook
    from pi_app.replay import REPLAY_NOT_RECORDED, StoredReader, feed_session, replayable
    summary = replayable(store, session_id)
    clock = clock if clock is not None else WallClock()
    cfg = stored_config(summary)
    bands = replay_bands(store, summary)
    session = live_session(cfg, StoredReader(clock), clock, replay_analyzer(summary, cfg, bands),
                           replay_cues(cfg, clock), simulated=summary.simulated,
                           scenario=summary.scenario,
                           calibration_text=f"replay of session {session_id}"
                           + (" (calibrated)" if summary.calibration_text.strip() else ""))
    session.recording_off_reason = REPLAY_NOT_RECORDED
    session.display_start_s = summary.t_first_s
    # The target (and the [ / ] keys during the replay) as in the live session.
    session.hooks.append(TargetHook(session, bands.target))
    feed_session(store, summary, session, ui, clock=clock, speed=speed, fps=fps,
                 chunk_s=chunk_s, bands=bands)
    return session
