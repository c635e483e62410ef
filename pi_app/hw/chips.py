"""The one table of the IMU chips the app supports: family, model, WHO_AM_I register and value,
and the I2C addresses the address pin selects.

Drivers (`hw/mpu.py`, `hw/lsm6ds.py`), detection (`hw/detect.py`), the sensor reader's
re-probe, the bus probe, the config schema and the simulator all read it from here, so a new
part is one row. No import of smbus2 or numpy: the config loader uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChipFamily:
    """Parts that share a register map, a WHO_AM_I register and an address pair."""

    name: str                     # "invensense" or "st"
    who_am_i_register: int
    addresses: tuple[int, ...]    # 7-bit, address pin low then high
    address_pin: str              # the pin that selects between them


@dataclass(frozen=True)
class ChipModel:
    """One part: its family and the WHO_AM_I value it answers with."""

    family: ChipFamily
    model: str
    who_am_i: int

    @property
    def sim_name(self) -> str:
        """The simulator's name for the part ("MPU-6050" -> "mpu6050")."""
        return self.model.lower().replace("-", "")


# WHO_AM_I is register 0x75 (117) and the address 0b110100x with x = AD0 (RM-MPU-6000A-00 rev 4.2
# section 4.32; RM-MPU-6500A-00 rev 2.1 and RM-MPU-9250A-00 rev 1.4 section 4.38 keep both).
INVENSENSE = ChipFamily("invensense", 0x75, (0x68, 0x69), "AD0")
# WHO_AM_I is register 0x0F and the address 0b110101x with x = SA0 (the I2C and register
# sections of LSM6DS3 DocID026899, LSM6DS3TR-C DS12011 and LSM6DSOX DS12814).
ST = ChipFamily("st", 0x0F, (0x6A, 0x6B), "SA0")
FAMILIES = (INVENSENSE, ST)

# Each WHO_AM_I value with the document that defines it and how it was checked here.
CHIPS = (
    # RM-MPU-6000A-00 rev 4.2, 4.32 "Register 117 - Who Am I": "default value ... 0x68" (read).
    ChipModel(INVENSENSE, "MPU-6050", 0x68),
    # RM-MPU-6500A-00 rev 2.1, register 117: 0x70 (as InvenSense's own support forum quotes it).
    ChipModel(INVENSENSE, "MPU-6500", 0x70),
    # RM-MPU-9250A-00 rev 1.4, 4.38 "Register 117 - Who Am I": "default value ... 0x71" (read).
    ChipModel(INVENSENSE, "MPU-9250", 0x71),
    # No InvenSense document for the 9255 was found: 0x73 is the id MPU-9250 driver register
    # headers accept for it ("identity of MPU9255 is 0x73").
    ChipModel(INVENSENSE, "MPU-9255", 0x73),
    # LSM6DS3 datasheet DocID026899, WHO_AM_I (0Fh) = 69h (as ST's community quotes it).
    ChipModel(ST, "LSM6DS3", 0x69),
    # LSM6DS3TR-C datasheet DS12011, WHO_AM_I (0Fh) = 6Ah (the value drivers for the part check;
    # the datasheet text itself was not at hand).
    ChipModel(ST, "LSM6DS3TR-C", 0x6A),
    # LSM6DSOX datasheet DS12814, WHO_AM_I (0Fh) = 6Ch (as ST's community quotes it).
    ChipModel(ST, "LSM6DSOX", 0x6C),
)

#: Every address a supported IMU can have, ascending.
IMU_ADDRESSES: tuple[int, ...] = tuple(sorted(a for f in FAMILIES for a in f.addresses))


def models(family: ChipFamily) -> dict[int, str]:
    """WHO_AM_I value -> model name for one family."""
    return {c.who_am_i: c.model for c in CHIPS if c.family == family}


def family_at(address: int) -> ChipFamily | None:
    """The family whose address pin can select `address`, or None."""
    return next((f for f in FAMILIES if address in f.addresses), None)


def by_model(model: str) -> ChipModel:
    """The row for a model name ("MPU-6500"); KeyError for an unknown one."""
    for chip in CHIPS:
        if chip.model == model:
            return chip
    raise KeyError(model)


def addresses_text(addresses: tuple[int, ...] = IMU_ADDRESSES, last: str = "or") -> str:
    """"0x68, 0x69, 0x6A or 0x6B": addresses for a message."""
    names = [f"0x{a:02X}" for a in addresses]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"
