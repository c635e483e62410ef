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


def _open_display(cfg, headless: bool):
    if headless or not cfg.display.enabled:
        return None
    from pi_app.ui.display import open_live_ui
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
    """(cfg, plan or None) for `pi_app.app.athlete_and_plan`, with the wait for the coach's
    choice reported to systemd (it sets args.athlete)."""
    from pi_app.app import athlete_and_plan

    def waiting(text: str) -> None:
        notifier.status(text)
        notifier.extend_start(20.0)     # systemd's TimeoutStartSec runs until READY
    args.athlete, cfg, plan = athlete_and_plan(cfg, args.state_dir, args.athlete, ui, clock,
                                               status=waiting)
    if plan is not None:
        print(f"pi-app: {plan.describe()}.", file=sys.stderr)
    return cfg, plan


def run(args) -> int:
    from pi_app.app import (coaching_args, live_calibration, recording_args, run_live,
                            target_offset)
    from pi_app.clock import WallClock
    from pi_app.config import load_config
    from pi_app.service import ServiceNotifier

    check_recording_options(args)
    from pi_app.commands.argtypes import check_output_file
    check_output_file(args.events_out, "--events-out")
    cfg = load_config(args.config)
    calibration, calibration_text, profile_text = live_calibration(cfg)
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
    cfg, plan = _athlete_and_plan(args, cfg, ui, clock, notifier)
    planned = plan.session if plan is not None else None
    target_offset_deg = target_offset(cfg, plan)
    record = None if args.no_record else recording_args(
        state_dir=args.state_dir, athlete=args.athlete, notes=args.notes,
        config_text=config_text(args.config), max_size_mb=args.max_size_mb,
        treadmill_speed_kmh=args.treadmill_kmh, planned=planned,
        target_offset_deg=target_offset_deg, calibration_text=profile_text,
        **(dict(scenario=scenario, seed=0) if scenario is not None else {}))
    coaching = coaching_args(args.state_dir, args.athlete, args.treadmill_kmh)
    # The bus is opened where acquisition runs (pi_app.app.open_acquisition).
    run_live(cfg, clock, None, ui=ui, notifier=notifier, calibration=calibration,
             calibration_text=calibration_text, events_out=args.events_out,
             record=record, coaching=coaching, scenario=scenario,
             seconds=planned.duration_s if planned is not None else None,
             target_offset_deg=target_offset_deg)
    return 0
