"""Opening the configured sensors: the real I2C bus or the simulated one, finding the IMUs on
it and starting a `SensorReader`.

The choice between real and simulated is explicit (`simulate=`): a Pi without sensors fails
with a message saying how to fix the wiring, it never falls back to the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from pi_app.acquisition.sensor_thread import SensorReader, SensorSpec
from pi_app.clock import Clock
from pi_app.errors import BusError, DeviceNotFoundError
from pi_app.hw.chips import IMU_ADDRESSES, addresses_text
from pi_app.hw.i2c import I2cBus
from pi_app.hw.imu import ImuSettings

__all__ = ["IMU_ADDRESSES", "ROLES", "BusProbe", "open_bus", "specs_for_addresses", "probe_bus",
           "require_i2c_transfers", "open_reader"]
#: Roles by address order: the pelvis IMU is strapped to the lower address.
ROLES = ("pelvis", "thorax")


@dataclass
class BusProbe:
    """What answered on the bus before streaming started."""

    bus_number: int | None
    answered: list[int] = field(default_factory=list)
    specs: list[SensorSpec] = field(default_factory=list)


def open_bus(simulate: bool = False, bus_number: int = 1, *, scenario: str = "steady",
             seed: int = 0, chips: str = "mpu6050", clock: Clock | None = None,
             day: int = 0) -> I2cBus:
    """The real `/dev/i2c-<bus_number>` (smbus2) or, with `simulate=True`, a simulated bus with
    a running body (`scenario`, `seed`, `chips`, `day`) on `clock`.

    The one place that chooses between the two (like gpiozero's pin factory): everything above
    gets an `I2cBus` and cannot tell. Whoever simulates also owns `clock` and hands its
    `sleep_s` to what waits on the bus (SensorReader does; pi_app.hw.detect.open_imu takes it)."""
    if simulate:
        from pi_app.sim import open_simulated_bus
        return open_simulated_bus(scenario=scenario, seed=seed, chips=chips, clock=clock,
                                  bus_number=bus_number, day=day)
    from pi_app.hw.bus import open_i2c_bus
    return open_i2c_bus(bus_number)


def specs_for_addresses(addresses: Sequence[int],
                        settings: ImuSettings = ImuSettings()) -> list[SensorSpec]:
    """Roles for the IMU addresses found: lowest = pelvis, next = thorax (one IMU = pelvis
    only; extra IMUs beyond two are ignored)."""
    found = sorted(a for a in set(addresses) if a in IMU_ADDRESSES)
    return [SensorSpec(role, address, settings) for role, address in zip(ROLES, found)]


def probe_bus(bus: I2cBus, bus_number: int | None = None,
              settings: ImuSettings = ImuSettings()) -> BusProbe:
    """Scan the bus like i2cdetect and assign roles to the IMU addresses that answered.

    Raises DeviceNotFoundError naming what did answer when no IMU address answered. Scan only
    before streaming starts (a scan read would pop a FIFO byte of a streaming chip)."""
    from pi_app.hw.bus import scan_bus
    if bus_number is None:
        bus_number = getattr(bus, "bus_number", None)
    answered = scan_bus(bus)
    specs = specs_for_addresses(answered, settings)
    if not specs:
        bus_name = f"I2C bus {bus_number}" if bus_number is not None else "the I2C bus"
        listing = (f"devices that answered: {', '.join(f'0x{a:02X}' for a in answered)}"
                   if answered else "no device answered at any address")
        raise DeviceNotFoundError(
            f"no IMU answered on {bus_name} at {addresses_text()} ({listing}); check "
            "power, SDA/SCL wiring and that I2C runs at 400 kHz", bus=bus_number,
            address=IMU_ADDRESSES[0], answered=answered)
    return BusProbe(bus_number, answered, specs)


def require_i2c_transfers(bus: I2cBus, bus_number: int | None) -> None:
    """Raise `BusError` when the adapter cannot do plain I2C transfers (I2C_RDWR; the
    I2C_FUNC_I2C bit of the adapter's I2C_FUNCS, which smbus2 keeps in `funcs`). The drivers
    read FIFOs in such transfers; on an SMBus-only adapter every read would fail and be counted
    as a transient error forever, with no sample and no message. A bus without `funcs` (the
    simulator) is not checked."""
    import smbus2
    funcs = getattr(bus, "funcs", None)
    if not isinstance(funcs, int) or funcs & smbus2.I2cFunc.I2C:
        return
    try:
        with open(f"/sys/class/i2c-adapter/i2c-{bus_number}/name") as f:
            name = f" ({f.read().strip()})"
    except (OSError, TypeError):
        name = ""
    raise BusError(f"I2C bus {bus_number}{name} cannot do plain I2C transfers (I2C_RDWR), which "
                   "reading the IMUs' FIFOs needs: connect the IMUs to the Pi's I2C header bus "
                   "(dtparam=i2c_arm=on, /dev/i2c-1) or set [sensors] bus to an adapter that can "
                   "(`i2cdetect -F N` shows I2C yes)", bus=bus_number)


def open_reader(bus: I2cBus, clock: Clock, specs: Sequence[SensorSpec] | None = None,
                bus_number: int | None = None, settings: ImuSettings = ImuSettings(),
                **reader_options: Any) -> SensorReader:
    """A `SensorReader` with every sensor opened and configured. Without `specs` the bus is
    probed for IMUs first. Sensors that do not answer now are re-probed while streaming; if
    none answers, raises the hardware layer's error for the first one."""
    if bus_number is None:
        bus_number = getattr(bus, "bus_number", None)
    if specs is None:
        specs = probe_bus(bus, bus_number, settings).specs
    require_i2c_transfers(bus, bus_number)
    reader = SensorReader(bus, list(specs), clock, bus_number=bus_number, **reader_options)
    if not reader.open():
        from pi_app.hw.detect import open_imu
        open_imu(bus, specs[0].address, bus_number=bus_number,   # raises the precise error
                 sleep_s=clock.sleep_s)
        raise DeviceNotFoundError(
            f"the IMU at 0x{specs[0].address:02X} answered but could not be configured "
            f"({reader.health.sensors[specs[0].role].last_error}); check its power supply",
            bus=bus_number, address=specs[0].address, answered=[])
    return reader
