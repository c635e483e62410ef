"""The I2cBus Protocol against the real smbus2.SMBus and the simulated bus (their signatures, read
with inspect, not a fake that agrees with us), and the one chip table against its users."""

import inspect

import pytest
import smbus2

from pi_app.hw import chips
from pi_app.hw.i2c import I2cBus
from pi_app.sim import CHIP_CHOICES, open_simulated_bus
from pi_app.sim.bus import SimulatedBus

PROTOCOL_METHODS = sorted(
    name for name, value in vars(I2cBus).items()
    if callable(value) and not name.startswith("_"))


def _shape(func) -> list[tuple[str, object, object]]:
    """(name, kind, default) of every parameter: what a caller of the Protocol relies on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values()]


def test_the_protocol_has_the_six_methods_the_drivers_use():
    assert PROTOCOL_METHODS == ["close", "i2c_rdwr", "read_byte", "read_byte_data",
                                "read_i2c_block_data", "write_byte_data"]


@pytest.mark.parametrize("name", PROTOCOL_METHODS)
@pytest.mark.parametrize("bus_class", [smbus2.SMBus, SimulatedBus], ids=["smbus2", "sim"])
def test_bus_method_has_the_protocol_signature(bus_class, name):
    assert _shape(getattr(bus_class, name)) == _shape(getattr(I2cBus, name))


def test_no_driver_or_reader_looks_for_a_clock_on_the_bus():
    """The simulator is chosen in acquisition.setup.open_bus; nothing above it asks the bus
    whether it is simulated (it used to read `bus.clock` to decide how to sleep)."""
    import pi_app.acquisition.sensor_thread as sensor_thread
    import pi_app.acquisition.setup as setup
    import pi_app.hw.detect as detect
    import pi_app.hw.imu as imu
    import pi_app.hw.lsm6ds as lsm6ds
    import pi_app.hw.mpu as mpu
    for module in (imu, mpu, lsm6ds, detect, sensor_thread, setup):
        source = inspect.getsource(module)
        assert '"clock"' not in source and "bus.clock" not in source, module.__name__


def test_open_imu_waits_with_the_given_sleep_not_the_bus_clock(stepped_clock):
    from pi_app.hw.detect import open_imu
    clock = stepped_clock
    bus = open_simulated_bus(chips="mpu6050", clock=clock)
    waits: list[float] = []

    def sleep_s(seconds: float) -> None:
        waits.append(seconds)
        clock.sleep_s(seconds)
    driver = open_imu(bus, 0x68, sleep_s=sleep_s)
    driver.configure()
    assert waits == [pytest.approx(0.1)]          # the device reset wait, on our sleep
    clock.advance(0.02)
    assert driver.drain().n_frames > 0


def test_chip_table_families_and_addresses():
    assert chips.IMU_ADDRESSES == (0x68, 0x69, 0x6A, 0x6B)
    assert chips.family_at(0x69) is chips.INVENSENSE and chips.family_at(0x6A) is chips.ST
    assert chips.family_at(0x50) is None
    # A WHO_AM_I value names one part within its family.
    for family in chips.FAMILIES:
        values = [c.who_am_i for c in chips.CHIPS if c.family is family]
        assert len(values) == len(set(values))


@pytest.mark.parametrize("sim_name", CHIP_CHOICES)
def test_every_emulated_part_answers_the_who_am_i_of_the_table(sim_name, stepped_clock):
    """The emulators model the datasheets on their own; the table must agree with them at both
    addresses of the family (pelvis and thorax)."""
    bus = open_simulated_bus(chips=sim_name, clock=stepped_clock)
    chip = next(c for c in chips.CHIPS if c.sim_name == sim_name)
    for address in chip.family.addresses:
        assert bus.read_byte_data(address, chip.family.who_am_i_register) == chip.who_am_i


def test_config_and_drivers_read_the_table():
    from pi_app.acquisition.setup import IMU_ADDRESSES
    from pi_app.config import SensorsConfig
    from pi_app.hw import lsm6ds, mpu
    from pi_app.hw.detect import supported_ids
    import dataclasses
    field = {f.name: f for f in dataclasses.fields(SensorsConfig)}["pelvis_address"]
    assert field.metadata["choices"] == (0,) + chips.IMU_ADDRESSES
    assert IMU_ADDRESSES == chips.IMU_ADDRESSES
    assert supported_ids() == {c.who_am_i: c.model for c in chips.CHIPS}
    assert mpu.ADDRESSES == chips.INVENSENSE.addresses and lsm6ds.ADDRESSES == chips.ST.addresses
