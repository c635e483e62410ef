"""`pi-app run`: the live app on the Pi — the IMUs on the real I2C bus, the GPIO buzzer, ALSA
audio and the dashboard on the HDMI screen (KMS/DRM).

It never falls back to the simulator: a missing bus, IMU, buzzer or display stops it with a
message that says how to fix it (`pi-app demo` is the simulated app). SIGINT/SIGTERM stop
every thread within 2 s.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

from pi_app.errors import ConfigError


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run", help="the live app on the Pi: IMUs, buzzer, audio and the coach's dashboard",
        description="Run the live app with the real sensors on the I2C bus, the GPIO buzzer, "
                    "ALSA audio and the dashboard on the HDMI display. Every session is "
                    "recorded in the session database unless --no-record. Use `pi-app demo` "
                    "for a simulated runner.")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML (see config/pi-app.example.toml; default: built-in "
                        "defaults)")
    p.add_argument("--headless", action="store_true",
                   help="no dashboard: print one line per stride")
    p.add_argument("--events-out", type=Path, default=None, metavar="F.jsonl",
                   help="write strides, cue decisions and faults as JSON lines")
    p.add_argument("--no-record", action="store_true",
                   help="do not store this session in the session database")
    add_recording_options(p)
    p.set_defaults(func=run)
    return p


def add_recording_options(p: argparse.ArgumentParser) -> None:
    """--state-dir, --athlete, --notes and --max-size-mb (shared with `pi-app demo`)."""
    from pi_app.commands.sessions import add_state_dir
    add_state_dir(p)
    p.add_argument("--athlete", default="", metavar="NAME",
                   help="athlete name stored with the session")
    p.add_argument("--notes", default="", metavar="TEXT",
                   help="notes stored with the session (speed, shoes, ...)")
    p.add_argument("--treadmill-kmh", type=float, default=None, metavar="KMH",
                   help="treadmill speed (km/h), stored with the session; a remembered "
                        "baseline is reused at the same speed (docs/coaching.md)")
    p.add_argument("--max-size-mb", type=float, default=None, metavar="MB",
                   help="cap on the session database size; recording stops with a warning "
                        "beyond it (default: no cap)")


def check_recording_options(args) -> None:
    kmh = getattr(args, "treadmill_kmh", None)
    if kmh is not None and not 0.0 < kmh <= 40.0:
        raise ConfigError(f"--treadmill-kmh is {kmh:g}; give the treadmill speed in km/h, "
                          "e.g. --treadmill-kmh 10.", key="treadmill_kmh")
    cap = getattr(args, "max_size_mb", None)
    if cap is not None and not cap > 0:
        raise ConfigError(f"--max-size-mb is {cap:g}; give a positive size in MB, e.g. "
                          "--max-size-mb 2000.", key="max_size_mb")


def config_text(path) -> str:
    """The config file's text stored with a session ("" for the built-in defaults)."""
    if path is None:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""      # load_config has already read it; a race is not worth a failure


def _calibration(cfg):
    """(profile or None, text for the dashboard, profile TOML text to store)."""
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


def _open_display(cfg, headless: bool):
    if headless or not cfg.display.enabled:
        return None
    try:
        from pi_app.ui.display import open_live_ui
    except ImportError:
        raise ConfigError("the dashboard (pi_app.ui) is not part of this installation; "
                          "reinstall pi-app, or run with --headless.",
                          key="display.enabled") from None
    return open_live_ui(cfg.display, simulated=bool(cfg.sensors.simulate),
                        fullscreen=cfg.display.fullscreen)


def _wait_for_devices(cfg, headless: bool, clock, notifier) -> None:
    """At boot udev may not have created the I2C and DRM nodes yet: under systemd, wait for
    them (bounded) instead of failing and burning the service's restart limit. Started by
    hand, a missing device is reported at once."""
    if not notifier.enabled:
        return
    from pi_app.service.devices import DeviceWait, live_devices
    from pi_app.ui.display import KMSDRM, same_driver
    want_drm = (not headless and cfg.display.enabled
                and same_driver(os.environ.get("SDL_VIDEODRIVER"), KMSDRM))
    patterns = live_devices(cfg.sensors.bus, want_drm)
    if cfg.sensors.simulate:
        patterns = [p for p in patterns if "/i2c-" not in p]   # the IMUs are not on a bus
    DeviceWait(clock, status=notifier.status).wait(patterns)


def _athlete_and_plan(args, cfg, ui, clock, notifier):
    """(cfg, the programme session to run or None): the athlete is --athlete or the one the
    coach chooses on the dashboard (pi_app.coaching.live.choose_on_dashboard; it sets
    args.athlete), and their programme's next session adapts the cue policy."""
    from pi_app.coaching.live import choose_on_dashboard, plan_for
    if not args.athlete.strip():
        def waiting(text):
            notifier.status(text)
            notifier.extend_start(20.0)     # systemd's TimeoutStartSec runs until READY
        args.athlete = choose_on_dashboard(ui, args.state_dir, cfg.coaching.choose_athlete_s,
                                           clock, status=waiting)
    if not args.athlete.strip():
        return cfg, None
    from pi_app.coaching.plan import config_for
    plan = plan_for(args.state_dir, args.athlete)
    print(f"pi-app: {plan.describe()}.", file=sys.stderr)
    if plan.session is not None:
        cfg = config_for(cfg, plan.session)
    return cfg, plan.session


def run(args) -> int:
    from pi_app.clock import WallClock
    from pi_app.config import load_config
    from pi_app.service import ServiceNotifier

    check_recording_options(args)
    from pi_app.commands.argtypes import check_output_file
    check_output_file(args.events_out, "--events-out")
    cfg = load_config(args.config)
    calibration, calibration_text, profile_text = _calibration(cfg)
    clock = WallClock()
    notifier = ServiceNotifier(clock)
    _wait_for_devices(cfg, args.headless, clock, notifier)
    scenario = cfg.sensors.simulate or None
    if scenario is not None:
        # Explicitly configured (never a fallback): say it where the operator looks.
        print(f"pi-app: {cfg.source}: [sensors] simulate = \"{scenario}\": the IMUs are "
              "emulated chips on a simulated runner, not the I2C bus (the dashboard and the "
              "session say SIMULATED).", file=sys.stderr)
        notifier.status(f"starting: simulated IMUs (scenario {scenario})")
    else:
        notifier.status("starting: opening the I2C bus and the IMUs")
    ui = _open_display(cfg, args.headless)
    try:
        cfg, planned = _athlete_and_plan(args, cfg, ui, clock, notifier)
    except BaseException:
        if ui is not None:
            ui.close()
        raise
    from pi_app.coaching.live import target_offset_for
    target_offset_deg = target_offset_for(cfg, planned)
    record = None if args.no_record else dict(
        state_dir=args.state_dir, athlete=args.athlete, notes=args.notes,
        config_text=config_text(args.config), calibration_text=profile_text,
        max_size_mb=args.max_size_mb, treadmill_speed_kmh=args.treadmill_kmh)
    if record is not None and planned is not None:
        from pi_app.coaching.plan import recorder_fields
        record.update(recorder_fields(planned))
    if record is not None:
        record["target_offset_deg"] = target_offset_deg
    if record is not None and scenario is not None:
        record.update(scenario=scenario, seed=0)
    coaching = None if not args.athlete.strip() else dict(
        state_dir=args.state_dir, athlete_name=args.athlete,
        treadmill_speed_kmh=args.treadmill_kmh)
    # The bus is opened where acquisition runs (pi_app.live.wiring.open_acquisition).
    run_live(cfg, clock, None, ui=ui, notifier=notifier, calibration=calibration,
             calibration_text=calibration_text, events_out=args.events_out,
             record=record, coaching=coaching, scenario=scenario,
             seconds=planned.duration_s if planned is not None else None,
             target_offset_deg=target_offset_deg)
    return 0


def run_live(cfg, clock, bus, *, ui=None, notifier=None, calibration=None,
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
    ([coaching] target_step_deg). Closes `ui`; returns a
    summary dict. simulated: simulated cue outputs too (tests); scenario: with bus None,
    acquisition reads the simulator running this scenario ([sensors] simulate) while the
    cue outputs stay real (the session is marked simulated)."""
    from pi_app.live.printer import StridePrinter
    from pi_app.live.service_status import ServiceReporter
    from pi_app.live.threads import LiveApp
    from pi_app.live.wiring import (analysis_interval_s, make_cue_engine, open_acquisition,
                                    open_session, start_recorder, stop_recorder)
    from pi_app.live.events import EventLog
    from pi_app.service import ServiceNotifier

    write = write if write is not None else (lambda line: print(line, flush=True))
    notifier = notifier if notifier is not None else ServiceNotifier(clock, env={})
    events = recorder = hook = None
    session = None
    runner = opened = None
    try:
        # The bus and the IMUs first: without them nothing else matters (and their error
        # is the one to see first).
        bus_spec = None
        if scenario is not None:
            from pi_app.acquisition.process import BusSpec
            bus_spec = BusSpec(bus_number=cfg.sensors.bus, simulated=True, scenario=scenario)
        reader, runner, opened = open_acquisition(cfg, clock, bus_spec, bus=bus)
        engine, warnings = make_cue_engine(cfg, clock, simulated=simulated)
        hooks = [] if ui is not None else [StridePrinter(write, t0_s=clock.now_s())]
        if events_out is not None:
            events = EventLog(events_out,
                              clock_t_s=lambda: session.t_s if session is not None else None)
            hooks.append(events)
        session, reader = open_session(cfg, clock, reader=reader, cue_engine=engine,
                                       hooks=hooks, calibration=calibration,
                                       simulated=simulated or scenario is not None,
                                       scenario=scenario, calibration_text=calibration_text,
                                       warnings=warnings)
        from pi_app.coaching.target import attach_target
        attach_target(session, target_offset_deg, cfg.coaching.target_step_deg)
        if coaching is not None:
            from pi_app.coaching.live import attach_coaching
            hook = attach_coaching(session, **coaching)
            if record is not None:
                record = {**record, "athlete": hook.athlete.name, "athlete_ref": hook.athlete.id}
        if record is None:
            session.recording_off_reason = "pi-app run was started with --no-record"
        else:
            recorder = start_recorder(session, **record)
            if recorder.warning:
                print(f"pi-app: {recorder.warning}", file=sys.stderr)
        reporter = ServiceReporter(notifier, session)
        app = LiveApp(session, runner, analysis_interval_s=analysis_interval_s(cfg), ui=ui,
                      ui_fps=cfg.display.fps)
        if install_signals:
            app.install_signal_handlers()
        app.start()
        # on_frame runs after each drawn frame, so with a UI the display is up by then.
        try:
            app.run_main(seconds, on_frame=reporter.tick)
        finally:
            reporter.stopping(f"stopping after {session.analyzer.n_strides} strides")
            if not app.stop(2.0):
                print("pi-app: a thread did not stop within 2 s.", file=sys.stderr)
            stop_recorder(recorder)
        print(f"pi-app: stopped after {session.analyzer.n_strides} strides"
              + (f"; session {recorder.session_id} recorded." if recorder is not None
                 and recorder.session_id is not None else "."), file=sys.stderr)
        return {"strides": session.analyzer.n_strides, "ready": reporter.ready,
                "session_id": None if recorder is None else recorder.session_id}
    finally:
        stop_recorder(recorder)
        if hook is not None:
            hook.close()
        if runner is not None:
            runner.stop(2.0)            # no-op when the app stopped it already
        if opened is not None:
            opened.close()
        if ui is not None:
            ui.close()
        if events is not None:
            events.close()
