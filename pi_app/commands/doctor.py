"""`pi-app doctor`: check the Pi's set-up (I2C, IMUs, rate, display, audio, GPIO, state dir,
service) and print the fix for each failure. Exit code 0 only when no check failed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "doctor", help="check I2C, IMUs, display, audio, GPIO, storage and the service",
        description="Check everything pi-app needs on this Pi and say how to fix what "
                    "fails. Exit code 0 only if every check passed (skipped checks do not "
                    "fail). Stop the service first to test the sensors, display and audio.")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML (default: /etc/pi-app/config.toml when it exists, "
                        "else the built-in defaults)")
    p.add_argument("--state-dir", type=Path, default=None, metavar="DIR",
                   help="state directory to check (default: as the app resolves it)")
    p.add_argument("--simulate", action="store_true",
                   help="run the sensor checks against the simulated bus and runner")
    p.add_argument("--seconds", type=float, default=1.0, metavar="S",
                   help="how long to stream for the rate check, default: 1")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
    return p


SYSTEM_CONFIG = Path("/etc/pi-app/config.toml")


def run(args) -> int:
    from pi_app.config import load_config
    from pi_app.doctor import DoctorContext, all_passed, format_text, run_checks, to_json

    path = args.config
    if path is None and SYSTEM_CONFIG.exists():
        path = SYSTEM_CONFIG
    cfg = load_config(path)
    # [sensors] simulate makes `pi-app run` read the simulator: check what it will read.
    ctx = DoctorContext(config=cfg, simulate=args.simulate or bool(cfg.sensors.simulate),
                        state_dir=args.state_dir, stream_s=max(0.1, args.seconds))
    results = run_checks(ctx)
    if args.json:
        print(json.dumps(to_json(results)))
    else:
        print(format_text(results))
    return 0 if all_passed(results) else 1
