"""Building a live session from the config: where acquisition runs (its own process or a
thread), the IMU specs and settings, the cue engine (buzzer, audio, metronome, or decisions
only), and the session recorder."""

from __future__ import annotations

import dataclasses
from typing import Iterable

from pi_app.analysis.drift import DriftDetector
from pi_app.analysis.pipeline import Analyzer
from pi_app.live.session import CueDecider, LiveSession, SessionHook
from pi_app.live.snapshot import CueEvent


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


def analysis_interval_s(cfg) -> float:
    """Seconds between live analysis steps: ANALYSIS_INTERVAL_S, never faster than the
    FIFO drains."""
    return max(ANALYSIS_INTERVAL_S, cfg.sensors.drain_interval_s)


def acquisition_mode(cfg, clock, bus=None) -> str:
    """Where acquisition runs, decided here only: "thread" (a sensor thread in this process)
    for a stepped `ManualClock` (it cannot be shared with another process), for a `bus`
    object already opened by the caller (tests), or when [sensors] acquisition = "thread";
    else "process" (its own process: the FIFO drain keeps its schedule whatever the
    dashboard and the analysis do)."""
    from pi_app.clock import ManualClock
    if bus is not None or isinstance(clock, ManualClock):
        return "thread"
    return cfg.sensors.acquisition


def open_acquisition(cfg, clock, bus_spec=None, *, bus=None):
    """Open the IMUs as `acquisition_mode` decides. bus_spec: a
    `pi_app.acquisition.process.BusSpec` (the real bus cfg.sensors.bus, or a simulated
    runner); bus: an already opened bus (then in this process).

    Returns (reader, runner, bus_opened_here): reader is what the session reads (a
    `SensorReader` or the `AcquisitionProcess`), runner what `LiveApp` starts and stops (a
    `SensorThread` or the same process), and the bus this call opened in this process (close
    it at the end) or None. Raises the hardware layer's PiAppError when no IMU answers."""
    from pi_app.acquisition.process import (AcquisitionProcess, AcquisitionSpec, BusSpec)
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


def open_session(cfg, clock, bus=None, *, reader=None, cue_engine: CueDecider | None = None,
                 hooks: Iterable[SessionHook] = (), calibration=None,
                 calibration_text: str = "not calibrated", simulated: bool = False,
                 scenario: str | None = None, warnings: Iterable[str] = ()):
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


def make_cue_engine(cfg, clock, simulated: bool, sound: bool = False):
    """(cue engine, warnings). Simulated: a recording `SimulatedBuzzer`, and with `sound` the
    computer's own sound device (the same synthesis as on the Pi; silent with a warning when
    there is none), else silent audio. On the Pi: the configured GPIO buzzer and ALSA audio
    (silent with a warning when the audio device cannot be opened). Without
    pi_app.cues.engine in this checkout: decisions only (`PolicyCues`)."""
    policy = cue_policy(cfg.cues)
    try:
        from pi_app.cues.engine import CueEngine
    except ImportError:
        return PolicyCues(policy, clock), ["cue outputs not available: decisions only"]
    from pi_app.cues.audio import PygameAudio, SilentAudio, open_audio
    from pi_app.cues.buzzer import GpioBuzzer, SimulatedBuzzer
    warnings = []
    buzzer: SimulatedBuzzer | GpioBuzzer | None
    audio: SilentAudio | PygameAudio
    if simulated:
        buzzer = SimulatedBuzzer(clock, kind=cfg.buzzer.kind)
        audio = SilentAudio(clock)
        if sound:
            audio = open_audio(clock, device=cfg.audio.device or None,
                               buffer_frames=cfg.audio.buffer_frames,
                               fallback="the demo runs silent (cues show in the cue log)")
            if audio.warning:
                warnings.append(audio.warning)
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

