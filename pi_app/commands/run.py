"""`pi-app run`: the live app on the Pi — the IMUs on the real I2C bus, the GPIO buzzer, ALSA
audio and the dashboard on the HDMI screen (KMS/DRM).

It never falls back to the simulator: a missing bus, IMU, buzzer or display stops it with a
message that says how to fix it (`pi-app demo` is the simulated app). SIGINT/SIGTERM stop
every thread within 2 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pi_app.errors import ConfigError


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run", help="the live app on the Pi: IMUs, buzzer, audio and the coach's dashboard",
        description="Run the live app with the real sensors on the I2C bus, the GPIO buzzer, "
                    "ALSA audio and the dashboard on the HDMI display. Use `pi-app demo` for "
                    "a simulated runner.")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML (see config/pi-app.example.toml; default: built-in "
                        "defaults)")
    p.add_argument("--headless", action="store_true",
                   help="no dashboard: print one line per stride")
    p.add_argument("--events-out", type=Path, default=None, metavar="F.jsonl",
                   help="write strides, cue decisions and faults as JSON lines")
    p.set_defaults(func=run)
    return p


def _calibration(cfg):
    """(profile or None, text for the dashboard)."""
    from pi_app.calibration_profile import load_profile
    from pi_app.paths import default_profile_path
    path = Path(cfg.calibration.profile) if cfg.calibration.profile else default_profile_path()
    if not path.exists():
        if cfg.calibration.required:
            raise ConfigError(f"no calibration profile at {path} and [calibration] required "
                              "= true; run `pi-app calibrate` first.",
                              key="calibration.profile")
        return None, "not calibrated (run pi-app calibrate)"
    return load_profile(path), f"calibrated ({path.name})"


def _open_display(cfg, headless: bool):
    if headless or not cfg.display.enabled:
        return None
    try:
        from pi_app.ui.display import open_live_ui
    except ImportError:
        raise ConfigError("the dashboard (pi_app.ui) is not part of this installation; "
                          "reinstall pi-app, or run with --headless.",
                          key="display.enabled") from None
    return open_live_ui(cfg.display, simulated=False, fullscreen=cfg.display.fullscreen)


def run(args) -> int:
    from pi_app.acquisition.sensor_thread import SensorThread
    from pi_app.clock import WallClock
    from pi_app.config import load_config
    from pi_app.hw.bus import open_i2c_bus
    from pi_app.live.app import LiveApp, StridePrinter, make_cue_engine, open_session
    from pi_app.live.events import EventLog

    cfg = load_config(args.config)
    calibration, calibration_text = _calibration(cfg)
    clock = WallClock()
    bus = open_i2c_bus(cfg.sensors.bus)
    ui = None
    events = None
    try:
        engine, warnings = make_cue_engine(cfg, clock, simulated=False)
        ui = _open_display(cfg, args.headless)
        hooks = [] if ui is not None else [StridePrinter(lambda s: print(s, flush=True))]
        session = None
        if args.events_out is not None:
            events = EventLog(args.events_out,
                              clock_t_s=lambda: session.t_s if session is not None else None)
            hooks.append(events)
        session, reader = open_session(cfg, clock, bus, cue_engine=engine, hooks=hooks,
                                       calibration=calibration,
                                       calibration_text=calibration_text, warnings=warnings)
        app = LiveApp(session, SensorThread(reader, cfg.sensors.drain_interval_s),
                      analysis_interval_s=cfg.sensors.drain_interval_s, ui=ui,
                      ui_fps=cfg.display.fps)
        app.install_signal_handlers()
        app.start()
        try:
            app.run_main(None)
        finally:
            if not app.stop(2.0):
                print("pi-app: a thread did not stop within 2 s.", file=sys.stderr)
        print(f"pi-app: stopped after {session.analyzer.n_strides} strides.", file=sys.stderr)
    finally:
        if ui is not None:
            ui.close()
        if events is not None:
            events.close()
        bus.close()
    return 0
