"""What the acquisition process is asked to read, and how: handed from the app to the process
(pickled by `multiprocessing`'s spawn), so plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from pi_app.acquisition.sensor_thread import SensorSpec
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.hw.imu import ImuSettings


@dataclass(frozen=True)
class BusSpec:
    """The bus the acquisition process opens: `/dev/i2c-<bus_number>`, or with `simulated` a
    simulated runner (`scenario`, `seed`, `chips`, `day`, see pi_app.sim.open_simulated_bus)."""

    bus_number: int = 1
    simulated: bool = False
    scenario: str = "steady"
    seed: int = 0
    chips: str = "mpu6050"
    day: int = 0

    def open(self, clock):
        from pi_app.acquisition.setup import open_bus
        return open_bus(self.simulated, self.bus_number, scenario=self.scenario,
                        seed=self.seed, chips=self.chips, clock=clock, day=self.day)


@dataclass(frozen=True)
class AcquisitionSpec:
    """What the acquisition process reads and how. specs: the sensors (None: probe the bus).
    drain_interval_s: seconds between FIFO drains. rt_priority: SCHED_FIFO priority 1-99 to
    ask for (0: normal scheduling)."""

    bus: BusSpec = field(default_factory=BusSpec)
    specs: tuple[SensorSpec, ...] | None = None
    settings: ImuSettings = field(default_factory=ImuSettings)
    drain_interval_s: float = DRAIN_INTERVAL_S
    ring_capacity: int = 8192
    rt_priority: int = 0
