"""Command-line options shared by several `pi-app` subcommands."""

from __future__ import annotations

import argparse

from pi_app.commands import argtypes

from pi_app.sim import CHIP_CHOICES
from pi_app.sim.scenarios import SCENARIOS


def add_simulation_options(p: argparse.ArgumentParser, *, with_switch: bool = True,
                           with_bus: bool = True) -> None:
    """--scenario, --chips, --seed for the simulated runner (and --simulate to choose it
    instead of the I2C bus, and --bus N for the real one)."""
    if with_switch:
        p.add_argument("--simulate", action="store_true",
                       help="use the simulated runner behind emulated chips instead of the "
                            "I2C bus")
    p.add_argument("--scenario", default="steady", metavar="NAME",
                   help=f"simulated scenario: {', '.join(SCENARIOS)} (default steady: "
                        "stands 5 s, then runs)")
    p.add_argument("--chips", default="mpu6050",
                   help=f"simulated chips: {', '.join(CHIP_CHOICES)} or PELVIS+THORAX "
                        "(default mpu6050)")
    p.add_argument("--seed", type=argtypes.seed, default=0,
                   help="simulation seed, a whole number >= 0 (default 0)")
    if with_bus:
        p.add_argument("--bus", type=int, default=1, metavar="N",
                       help="I2C bus number, /dev/i2c-N (default 1)")


def rate_notes(reader, requested_hz: float) -> list[str]:
    """One line per IMU whose output rate differs from the requested --rate-hz by more than
    1 % (the chips only have a few output rates; the driver takes the nearest), so nobody
    believes a 123 Hz recording was made at 123 Hz."""
    notes = []
    for role in reader.roles:
        driver = reader.driver(role)
        if driver is None:
            continue
        actual_hz = driver.output_rate_hz
        if abs(actual_hz - requested_hz) > 0.01 * requested_hz:
            notes.append(f"the {role} {driver.describe()} runs at {actual_hz:g} Hz, its "
                         f"supported rate nearest --rate-hz {requested_hz:g}.")
    return notes
