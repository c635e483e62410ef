"""The simulated runner behind emulated I2C chips: the demo, the test bench and the benchmark.

    bus = open_simulated_bus(scenario="steady", seed=0, chips="mpu6050", clock=ManualClock())

returns a `SimulatedBus` with the smbus2.SMBus methods, so the real drivers (and any
third-party smbus driver) run unchanged on it. The pelvis IMU sits at the lower address, the
thorax IMU at the higher one. `bus.scenario.truth` holds the ground truth (foot strikes with
side, per-stride metrics as in the strides CSV spec).
"""

from __future__ import annotations

import numpy as np

from pi_app.clock import Clock, ManualClock, ScaledClock, WallClock
from pi_app.errors import ConfigError
from pi_app.hw.chips import ChipModel, by_model
from pi_app.sim.bus import SimulatedBus

__all__ = ["open_simulated_bus", "ManualClock", "ScaledClock", "WallClock", "SimulatedBus",
           "CHIP_CHOICES"]

# The parts there is an emulator for (pi_app/sim/chips), by simulator name ("mpu6050"); the
# pelvis IMU sits at the family's lower address, the thorax IMU at the higher one.
_EMULATED = ("MPU-6050", "MPU-6500", "MPU-9250", "LSM6DS3", "LSM6DS3TR-C", "LSM6DSOX")
_CHIPS: dict[str, ChipModel] = {chip.sim_name: chip for chip in map(by_model, _EMULATED)}
CHIP_CHOICES = tuple(_CHIPS)


def _make_chip(name: str, role: str, source, clock: Clock, rng: np.random.Generator):
    chip = _CHIPS[name]
    family, model = chip.family.name, chip.model
    address = chip.family.addresses[0 if role == "pelvis" else 1]
    # Real MEMS oscillators are off by a fraction of a percent; each chip gets its own error.
    clock_error = float(rng.uniform(-0.005, 0.005))
    if family == "invensense":
        from pi_app.sim.chips.invensense import InvenSenseChip
        return InvenSenseChip(model=model, address=address, source=source, clock=clock,
                              clock_error=clock_error)
    from pi_app.sim.chips.st import StChip
    return StChip(model=model, address=address, source=source, clock=clock,
                  clock_error=clock_error)


def parse_chips(chips: str) -> tuple[str, str]:
    """"mpu6050" -> both sensors that chip; "mpu6050+lsm6dsox" -> pelvis, thorax."""
    names = [c.strip().lower().replace("-", "") for c in chips.split("+")]
    if len(names) == 1:
        names = names * 2
    if len(names) != 2 or any(n not in _CHIPS for n in names):
        raise ConfigError(
            f"unknown simulated chips {chips!r}: use one of {', '.join(CHIP_CHOICES)} "
            "or PELVIS+THORAX, e.g. mpu6050+lsm6dsox")
    if _CHIPS[names[0]].family.addresses[0] > _CHIPS[names[1]].family.addresses[1]:
        # The pelvis IMU must sit at the lower address (that is how roles are assigned).
        raise ConfigError(
            f"simulated chips {chips!r} would put the pelvis IMU at a higher address than the "
            f"thorax IMU; put the InvenSense part on the pelvis, e.g. {names[1]}+{names[0]}")
    return names[0], names[1]


def open_simulated_bus(scenario: str = "steady", seed: int = 0, chips: str = "mpu6050",
                       clock: Clock | None = None, bus_number: int = 1,
                       day: int = 0) -> SimulatedBus:
    """A simulated I2C bus with a pelvis and a thorax IMU driven by a running-body model.

    scenario: a name from `pi_app.sim.scenarios.SCENARIOS` (stand, steady, drift,
    cadence-change, dropout, i2c-noise, ...). seed: makes everything reproducible.
    chips: "mpu6050", "mpu6500", "mpu9250", "lsm6ds3", "lsm6ds3trc", "lsm6dsox" or
    "PELVIS+THORAX". clock: defaults to the wall clock; pass `ManualClock()` for tests.
    day: the same runner on another day (pi_app.sim.scenarios).
    """
    from pi_app.sim.scenarios import make_scenario

    clock = clock if clock is not None else WallClock()
    pelvis_chip, thorax_chip = parse_chips(chips)
    world = make_scenario(scenario, seed=seed, start_s=clock.now_s(), day=day)
    rng = np.random.default_rng([seed, 0x5EED])
    chip_objs = [
        _make_chip(pelvis_chip, "pelvis", world.sensor_source("pelvis"), clock, rng),
        _make_chip(thorax_chip, "thorax", world.sensor_source("thorax"), clock, rng),
    ]
    bus = SimulatedBus(chip_objs, clock=clock, faults=world.faults, bus_number=bus_number)
    bus.scenario = world
    return bus
