"""WHO_AM_I detection (open_imu), bus scanning and opening the real I2C bus's error paths."""

from __future__ import annotations

import errno
import importlib.util

import numpy as np
import pytest
import smbus2

from pi_app.clock import ManualClock
from pi_app.errors import BusError, DeviceNotFoundError, UnknownDeviceError
from pi_app.hw.bus import open_i2c_bus, scan_bus
from pi_app.hw.detect import open_imu
from pi_app.hw.mpu import MpuDriver
from pi_app.sim.bus import SimulatedBus
from pi_app.sim.chips.invensense import InvenSenseChip


class StillSource:
    def sample(self, t_s):
        n = np.asarray(t_s).shape[0]
        return np.tile([0.0, 0.0, 1.0], (n, 1)), np.zeros((n, 3))


class RegisterChip:
    """A minimal chip: fixed register values, everything else reads 0x00."""

    def __init__(self, address, registers, fail_first=0):
        self.address = address
        self.registers = dict(registers)
        self.fail_first = fail_first

    def read(self, register, length):
        if self.fail_first:
            self.fail_first -= 1
            raise OSError(errno.EIO, "Input/output error")
        return bytes(self.registers.get(register + i, 0) for i in range(length))

    def write(self, register, data):
        pass

    def power_on_reset(self):
        pass


def sim_bus(*chips):
    return SimulatedBus(chips, clock=ManualClock(), bus_number=1)


def mpu_chip(model, address):
    return InvenSenseChip(model, address, StillSource(), ManualClock())


@pytest.mark.parametrize("model", ["MPU-6050", "MPU-6500", "MPU-9250", "MPU-9255"])
@pytest.mark.parametrize("address", [0x68, 0x69])
def test_open_imu_returns_mpu_driver_for_each_model(model, address):
    bus = sim_bus(mpu_chip(model, address))
    driver = open_imu(bus, address)
    assert isinstance(driver, MpuDriver)
    assert (driver.model, driver.address) == (model, address)
    assert driver.fifo_capacity_bytes == (1024 if model == "MPU-6050" else 512)


def test_other_family_is_tried_when_the_address_family_does_not_match():
    # An MPU strapped to 0x6A (ST's address range): ST's WHO_AM_I register reads 0x00 first.
    bus = sim_bus(RegisterChip(0x6A, {0x75: 0x68}))
    driver = open_imu(bus, 0x6A)
    assert isinstance(driver, MpuDriver) and driver.model == "MPU-6050"


def test_st_chip_is_detected_when_the_st_driver_exists():
    if importlib.util.find_spec("pi_app.hw.lsm6ds") is None:
        pytest.skip("pi_app.hw.lsm6ds (ST driver) is not in this checkout")
    from pi_app.hw.lsm6ds import Lsm6dsDriver
    bus = sim_bus(RegisterChip(0x6B, {0x0F: 0x6C}))
    driver = open_imu(bus, 0x6B)
    assert isinstance(driver, Lsm6dsDriver) and driver.model == "LSM6DSOX"


def test_transient_error_on_who_am_i_is_retried():
    bus = sim_bus(RegisterChip(0x68, {0x75: 0x70}, fail_first=1))
    assert open_imu(bus, 0x68).model == "MPU-6500"


def test_nothing_at_address_lists_what_answered():
    bus = sim_bus(mpu_chip("MPU-6050", 0x68), RegisterChip(0x3C, {}))
    with pytest.raises(DeviceNotFoundError) as info:
        open_imu(bus, 0x69)
    err = info.value
    assert err.answered == [0x3C, 0x68]
    assert (err.address, err.bus) == (0x69, 1)
    message = str(err)
    assert "0x69" in message and "bus 1" in message and "0x3C, 0x68" in message


def test_empty_bus_says_nothing_answered():
    with pytest.raises(DeviceNotFoundError, match="no device answered at any address") as info:
        open_imu(sim_bus(), 0x68, bus_number=3)
    assert info.value.answered == [] and info.value.bus == 3


def test_unknown_who_am_i_names_bus_address_expected_and_found():
    bus = sim_bus(RegisterChip(0x68, {0x75: 0x98}))
    with pytest.raises(UnknownDeviceError) as info:
        open_imu(bus, 0x68)
    err = info.value
    assert err.found == 0x98 and err.address == 0x68 and err.bus == 1
    assert {0x68, 0x70, 0x71, 0x73} <= set(err.expected)
    if importlib.util.find_spec("pi_app.hw.lsm6ds") is not None:
        assert {0x69, 0x6A, 0x6C} <= set(err.expected)
    message = str(err)
    for text in ("0x98", "0x68", "bus 1", "MPU-6050", "0x70 MPU-6500"):
        assert text in message


def test_scan_bus_lists_answering_addresses_in_order():
    bus = sim_bus(mpu_chip("MPU-6050", 0x69), mpu_chip("MPU-6500", 0x68), RegisterChip(0x77, {}))
    assert scan_bus(bus) == [0x68, 0x69, 0x77]


def test_open_i2c_bus_missing_device_says_how_to_enable_i2c(tmp_path):
    (tmp_path / "i2c-20").touch()
    (tmp_path / "i2c-21").touch()
    with pytest.raises(BusError) as info:
        open_i2c_bus(1, dev_dir=tmp_path)
    message = str(info.value)
    assert info.value.bus == 1
    assert "raspi-config nonint do_i2c 0" in message and "dtparam=i2c_arm=on" in message
    assert "reboot" in message and "i2c-20" in message and "i2c-21" in message


def test_open_i2c_bus_no_buses_at_all(tmp_path):
    with pytest.raises(BusError, match=r"there is no .*i2c-\* at all"):
        open_i2c_bus(1, dev_dir=tmp_path)


def test_open_i2c_bus_permission_denied_says_to_join_group_i2c(tmp_path, monkeypatch):
    (tmp_path / "i2c-1").touch()

    def denied(self, bus):
        raise PermissionError(errno.EACCES, "Permission denied", bus)
    monkeypatch.setattr(smbus2.SMBus, "open", denied)
    with pytest.raises(BusError) as info:
        open_i2c_bus(1, dev_dir=tmp_path)
    message = str(info.value)
    assert "sudo usermod -aG i2c $USER" in message and "log out" in message
    assert "i2c-1" in message


def test_open_i2c_bus_on_a_file_that_is_not_an_adapter(tmp_path):
    (tmp_path / "i2c-1").touch()        # a plain file: the I2C_FUNCS ioctl fails
    with pytest.raises(BusError, match="cannot use .*i2c-1 as an I2C bus"):
        open_i2c_bus(1, dev_dir=tmp_path)


def test_open_i2c_bus_returns_smbus_when_open_succeeds(tmp_path, monkeypatch):
    (tmp_path / "i2c-1").touch()
    opened = []
    monkeypatch.setattr(smbus2.SMBus, "open", lambda self, bus: opened.append(bus))
    bus = open_i2c_bus(1, dev_dir=tmp_path)
    assert isinstance(bus, smbus2.SMBus)
    assert opened == [str(tmp_path / "i2c-1")]
