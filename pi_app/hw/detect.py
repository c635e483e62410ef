"""Which IMU is at an address: read WHO_AM_I and build the matching driver.

Two families share the bus: InvenSense (MPU-6050/6500/9250, WHO_AM_I at 0x75, addresses
0x68/0x69) and ST (LSM6DS3/3TR-C/DSOX, WHO_AM_I at 0x0F, addresses 0x6A/0x6B). The family whose
addresses include the given one is asked first, then the other (a board may be strapped
oddly, and 0x6A/0x6B differ only in the address pin).
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass
from typing import Callable

from pi_app.errors import DeviceNotFoundError, UnknownDeviceError
from pi_app.hw import chips
from pi_app.hw.bus import scan_bus
from pi_app.hw.i2c import I2cBus
from pi_app.hw.imu import ImuDriver
from pi_app.hw.lsm6ds import Lsm6dsDriver
from pi_app.hw.mpu import MpuDriver

# The driver of each family in the chip table.
_DRIVERS: dict[str, type[MpuDriver] | type[Lsm6dsDriver]] = {
    chips.INVENSENSE.name: MpuDriver, chips.ST.name: Lsm6dsDriver}

# Attempts per WHO_AM_I read: a transient EIO should not make a present chip look absent.
_READ_ATTEMPTS = 3


@dataclass(frozen=True)
class Family:
    """One chip family: where its WHO_AM_I is and which ids it knows."""

    who_am_i_register: int
    models: dict[int, str]
    addresses: tuple[int, ...]
    driver: type[MpuDriver] | type[Lsm6dsDriver]


def families() -> list[Family]:
    """The supported families, from the chip table (pi_app.hw.chips)."""
    return [Family(f.who_am_i_register, chips.models(f), f.addresses, _DRIVERS[f.name])
            for f in chips.FAMILIES]


def supported_ids() -> dict[int, str]:
    """Every supported WHO_AM_I value -> model name."""
    ids: dict[int, str] = {}
    for family in families():
        ids.update(family.models)
    return ids


def _read_who_am_i(bus: I2cBus, address: int, register: int) -> int | None:
    """WHO_AM_I value, or None when nothing acknowledges (or every attempt fails)."""
    for _ in range(_READ_ATTEMPTS):
        try:
            return bus.read_byte_data(address, register)
        except OSError as err:
            if err.errno in (errno.EREMOTEIO, errno.ENXIO):
                return None          # no ACK: nobody at this address
    return None


def open_imu(bus: I2cBus, address: int, bus_number: int | None = None, *,
             sleep_s: Callable[[float], None] = time.sleep) -> ImuDriver:
    """Identify the IMU at `address` on `bus` and return its driver (not yet configured), which
    waits with `sleep_s(seconds)` (pass the simulated runner's `clock.sleep_s` on its bus).

    Raises DeviceNotFoundError (nothing at the address; lists what answered) or
    UnknownDeviceError (a WHO_AM_I we do not support).
    """
    if bus_number is None:
        bus_number = getattr(bus, "bus_number", None)
    bus_name = f"I2C bus {bus_number}" if bus_number is not None else "the I2C bus"
    ordered = sorted(families(), key=lambda f: address not in f.addresses)
    first_found: int | None = None
    for family in ordered:
        value = _read_who_am_i(bus, address, family.who_am_i_register)
        if value is None:
            continue
        if value in family.models:
            return family.driver(bus, address, value, family.models[value], sleep_s=sleep_s)
        if first_found is None:
            first_found = value
    if first_found is None:
        answered = scan_bus(bus)
        listing = (f"devices that answered: {', '.join(f'0x{a:02X}' for a in answered)}"
                   if answered else "no device answered at any address")
        raise DeviceNotFoundError(
            f"no device answered at address 0x{address:02X} on {bus_name} ({listing}); check "
            "power, SDA/SCL wiring and the address pin (AD0 for MPU, SA0 for LSM6DS), or "
            "configure the address that answered", bus=bus_number, address=address,
            answered=answered)
    expected = supported_ids()
    expected_text = ", ".join(f"0x{k:02X} {v}" for k, v in sorted(expected.items()))
    raise UnknownDeviceError(
        f"the device at address 0x{address:02X} on {bus_name} reports WHO_AM_I "
        f"0x{first_found:02X}, which is not a supported IMU (expected one of: {expected_text}); "
        "use a supported chip or check that the configured address is the IMU's",
        bus=bus_number, address=address, expected=expected, found=first_found)
