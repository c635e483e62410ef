"""`pi-app calibrate`: stand still, measure each IMU's gyro bias and gravity direction, save
the calibration profile (calibration/README.md)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pi_app.acquisition.ring import COL_ACC, COL_GYRO, FLAG_GAP, row_flags
from pi_app.analysis.calibration import CalibrationProfile, Calibrator
from pi_app.calibration_profile import save_profile
from pi_app.clock import ManualClock, WallClock
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import ConfigError, PiAppError
from pi_app.hw.imu import ImuSettings
from pi_app.paths import default_profile_path
from pi_app.commands import argtypes
from pi_app.commands.common import add_simulation_options, rate_notes

STILL_TARGET_S = 5.0
STILL_MIN_S = 2.0


class StillnessNotFoundError(PiAppError):
    """No still period long enough was seen on a sensor."""


def register(subparsers):
    p = subparsers.add_parser(
        "calibrate", help="stand still: measure gyro bias and gravity, save the profile",
        description="Stand still, upright, for a few seconds with both IMUs strapped on. "
                    "Stillness is detected automatically; each sensor's gyro bias and "
                    "gravity direction are saved as the calibration profile.")
    add_simulation_options(p)
    p.add_argument("--profile", type=Path, default=None, metavar="PATH",
                   help=f"where to save the profile (default {default_profile_path()})")
    p.add_argument("--seconds", type=argtypes.duration_s("--seconds 30"), default=30.0,
                   help="give up after this many seconds without enough stillness "
                        "(default 30)")
    p.add_argument("--rate-hz", type=float, default=1000.0,
                   help="IMU output data rate (default 1000)")
    p.set_defaults(func=run)
    return p


def _say(text: str) -> None:
    print(text, flush=True)


def calibrate(reader, clock, seconds: float, *, simulate: bool,
              progress=_say) -> dict:
    """Poll `reader` until every sensor has been still for STILL_TARGET_S, or was still for
    at least STILL_MIN_S and then moved, or `seconds` passed; returns
    {role: SensorCalibration | None} (None: no still period long enough)."""
    calibrators, cursors = {}, {}
    for role in reader.roles:
        driver = reader.driver(role)
        if driver is None:
            continue
        calibrators[role] = Calibrator(driver.output_rate_hz, min_still_s=STILL_MIN_S,
                                       max_still_s=STILL_TARGET_S, device=driver.describe())
        cursors[role] = reader.rings[role].reader()
    start_s = clock.now_s()
    next_s = start_s
    next_report_s = start_s + 1.0
    def settled(c: Calibrator) -> bool:
        # Done, or still long enough once and now moving (the athlete started running).
        return c.done or (c.still_s == 0.0 and c.best_still_s >= STILL_MIN_S)

    while not all(settled(c) for c in calibrators.values()) and \
            clock.now_s() - start_s < seconds:
        next_s += DRAIN_INTERVAL_S
        if simulate:
            clock.advance(max(0.0, next_s - clock.now_s()))
        else:
            clock.sleep_s(next_s - clock.now_s())
        reader.poll()
        for role, cal in calibrators.items():
            rows = cursors[role].read().rows
            if rows.shape[0] == 0 or cal.done:
                continue
            acc, gyro = rows[:, COL_ACC], rows[:, COL_GYRO]
            gaps = np.flatnonzero(row_flags(rows) & FLAG_GAP)
            if gaps.size:
                # A NaN row before each gap keeps the still window from spanning it.
                acc = np.insert(acc, gaps, np.nan, axis=0)
                gyro = np.insert(gyro, gaps, np.nan, axis=0)
            cal.update(acc, gyro)
        if clock.now_s() >= next_report_s:
            next_report_s += 1.0
            parts = [f"{role} {'done' if settled(c) else f'{c.still_s:.1f} s'}"
                     for role, c in calibrators.items()]
            progress(f"  still: {', '.join(parts)} (need {STILL_TARGET_S:g} s)")
    return {role: cal.finish() for role, cal in calibrators.items()}


def run(args) -> int:
    from pi_app.acquisition.setup import open_bus, open_reader

    profile_path = args.profile if args.profile is not None else default_profile_path()
    # Before the athlete stands still: a profile path that cannot be written fails now.
    argtypes.check_output_file(profile_path, "--profile", creates_folder=True)
    clock = ManualClock() if args.simulate else WallClock()
    bus = open_bus(simulate=args.simulate, bus_number=args.bus, scenario=args.scenario,
                   seed=args.seed, chips=args.chips, clock=clock, day=args.day)
    try:
        reader = open_reader(bus, clock, bus_number=args.bus,
                             settings=ImuSettings(rate_hz=args.rate_hz))
        for note in rate_notes(reader, args.rate_hz):
            print(f"pi-app: {note}", file=sys.stderr)
        names = " and ".join(reader.roles)
        _say(f"Stand still and upright, arms relaxed, for {STILL_TARGET_S:g} seconds "
             f"(calibrating {names}) ...")
        results = calibrate(reader, clock, args.seconds, simulate=args.simulate)
    finally:
        close = getattr(bus, "close", None)
        if close is not None:
            close()
    missing = [role for role, cal in results.items() if cal is None]
    if missing or not results:
        raise StillnessNotFoundError(
            f"no {STILL_MIN_S:g} s still period found on the {' and '.join(missing) or 'IMU'} "
            f"sensor within {args.seconds:g} s; stand still (no walking, no talking with "
            "your hands) and run `pi-app calibrate` again, or give more time with --seconds")
    source = (f"simulated {args.scenario} seed {args.seed} chips {args.chips}"
              if args.simulate else f"i2c bus {args.bus}")
    profile = CalibrationProfile(
        sensors=results, source=source,
        created_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = save_profile(profile, profile_path)
    for role, cal in results.items():
        bias = ", ".join(f"{v:+.2f}" for v in cal.gyro_bias_dps)
        up = ", ".join(f"{v:+.3f}" for v in cal.gravity_unit)
        _say(f"  {role} ({cal.device}): gyro bias [{bias}] deg/s, up [{up}], "
             f"|acc| {cal.acc_norm_g:.3f} g over {cal.still_duration_s:.1f} s")
        if not cal.acc_norm_ok:
            print(f"pi-app: warning: the {role} accelerometer reads {cal.acc_norm_g:.2f} g at "
                  "rest instead of 1 g; check its range setting or replace the part.",
                  file=sys.stderr)
    _say(f"Done, now start running. Profile saved to {path}.")
    return 0
