"""Opening the real I2C bus (Linux i2c-dev via smbus2) and scanning it like `i2cdetect`."""

from __future__ import annotations

import errno
from pathlib import Path

import smbus2

from pi_app.errors import BusError
from pi_app.hw.i2c import I2cBus

ENABLE_I2C_HINT = ("enable I2C with `sudo raspi-config nonint do_i2c 0` (or add "
                   "`dtparam=i2c_arm=on` to /boot/firmware/config.txt) and reboot")


def _existing_buses(dev_dir: Path) -> list[str]:
    return sorted(p.name for p in dev_dir.glob("i2c-*"))


def open_i2c_bus(bus_number: int, dev_dir: str | Path = "/dev") -> smbus2.SMBus:
    """Open /dev/i2c-`bus_number` as an `smbus2.SMBus`.

    Raises `BusError` with the fix when the device node is missing (I2C not enabled), not
    accessible (user not in group `i2c`) or not an I2C adapter. `dev_dir` exists for tests.
    """
    dev_dir = Path(dev_dir)
    path = dev_dir / f"i2c-{bus_number}"
    if not path.exists():
        existing = _existing_buses(dev_dir)
        found = (f"existing buses: {', '.join(str(dev_dir / n) for n in existing)}"
                 if existing else f"there is no {dev_dir}/i2c-* at all")
        raise BusError(f"I2C bus {bus_number} is not available ({path} does not exist; "
                       f"{found}): {ENABLE_I2C_HINT}, or choose an existing bus",
                       bus=bus_number)
    bus = smbus2.SMBus()
    try:
        bus.open(str(path))
    except PermissionError:
        bus.close()
        raise BusError(f"permission denied opening {path}: add this user to group i2c "
                       "(`sudo usermod -aG i2c $USER`), then log out and back in",
                       bus=bus_number) from None
    except OSError as err:
        bus.close()
        if err.errno == errno.ENOENT:
            raise BusError(f"I2C bus {bus_number} is not available ({path} vanished): "
                           f"{ENABLE_I2C_HINT}", bus=bus_number) from None
        raise BusError(f"cannot use {path} as an I2C bus ({err.strerror or err}); check that "
                       f"it is an i2c-dev adapter (`ls -l {dev_dir}/i2c-*`) and "
                       f"{ENABLE_I2C_HINT}", bus=bus_number) from None
    return bus


def scan_bus(bus: I2cBus, first: int = 0x03, last: int = 0x77) -> list[int]:
    """7-bit addresses in [first, last] that answer a one-byte read, like `i2cdetect -r`.

    Works on `smbus2.SMBus` and `SimulatedBus`. Do not scan while a driver streams from a
    chip: the read goes to that chip's current register pointer, which after a FIFO burst is
    its FIFO data register, and would pop (and misalign) a FIFO byte.
    """
    answered = []
    for address in range(first, last + 1):
        try:
            bus.read_byte(address)
        except OSError:
            continue
        answered.append(address)
    return answered
