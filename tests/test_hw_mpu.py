"""MpuDriver against the InvenSense emulator on a SimulatedBus (virtual clock)."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from pi_app.clock import ManualClock
from pi_app.hw import mpu
from pi_app.hw.imu import ImuSettings
from pi_app.hw.mpu import MpuDriver
from pi_app.sim.bus import SimulatedBus
from pi_app.sim.chips.invensense import InvenSenseChip
from conftest import ConstantSource

ACC_G = np.array([0.1, -0.5, 1.0])
GYRO_DPS = np.array([10.0, -20.0, 30.0])
ADDR = 0x68
WHO = {"MPU-6050": 0x68, "MPU-6500": 0x70, "MPU-9250": 0x71}


class FailEverything:
    """FaultPlan: present, but every transaction fails with EIO."""

    def absent(self, address, now_s):
        return False

    def transaction_fails(self, address, now_s):
        return True


def make(model="MPU-6050", clock_error=0.0, settings=ImuSettings()):
    clock = ManualClock()
    chip = InvenSenseChip(model, ADDR, ConstantSource(ACC_G, GYRO_DPS), clock,
                          clock_error=clock_error)
    bus = SimulatedBus([chip], clock=clock)
    driver = MpuDriver(bus, ADDR, WHO[model], model, sleep_s=clock.sleep_s)
    driver.configure(settings)
    return driver, chip, bus, clock


@pytest.mark.parametrize("model", ["MPU-6050", "MPU-6500"])
def test_configure_sets_registers_for_defaults(model):
    driver, chip, bus, clock = make(model)
    regs = chip.regs
    assert regs[mpu.PWR_MGMT_1] == 0x01            # awake, PLL clock
    assert regs[mpu.SMPLRT_DIV] == 0
    assert regs[mpu.CONFIG] == 0x01                # DLPF_CFG 1, FIFO_MODE 0
    assert regs[mpu.GYRO_CONFIG] == 2 << 3         # +-1000 dps
    assert regs[mpu.ACCEL_CONFIG] == 2 << 3        # +-8 g
    assert regs[mpu.FIFO_EN] == 0x78               # accel + gyro xyz, no temperature
    assert regs[mpu.USER_CTRL] == 0x40             # FIFO enabled
    assert regs[mpu.INT_ENABLE] == 0x10            # FIFO overflow flag latched
    if model == "MPU-6500":
        assert regs[mpu.ACCEL_CONFIG2] == 0x01
    assert (driver.output_rate_hz, driver.acc_range_g, driver.gyro_range_dps) == (1000.0, 8, 1000)
    assert chip.output_rate_hz == driver.output_rate_hz


@pytest.mark.parametrize("model,settings,rate_hz,acc_g,gyro_dps,config", [
    ("MPU-6050", ImuSettings(rate_hz=100, acc_range_g=6, gyro_range_dps=300), 100.0, 8, 250, 3),
    ("MPU-6050", ImuSettings(rate_hz=1000, dlpf=False), 1000.0, 8, 1000, 0),
    ("MPU-6050", ImuSettings(rate_hz=5000), 1000.0, 8, 1000, 1),
    ("MPU-6500", ImuSettings(rate_hz=1000, dlpf=False), 8000.0, 8, 1000, 0),
    ("MPU-6500", ImuSettings(rate_hz=333, acc_range_g=16, gyro_range_dps=2000), 1000 / 3, 16,
     2000, 2),                   # DLPF 98 Hz: widest below Nyquist (167 Hz)
])
def test_reports_the_values_actually_set(model, settings, rate_hz, acc_g, gyro_dps, config):
    driver, chip, bus, clock = make(model, settings=settings)
    assert driver.output_rate_hz == pytest.approx(rate_hz)
    assert chip.output_rate_hz == pytest.approx(rate_hz)
    assert (driver.acc_range_g, driver.gyro_range_dps) == (acc_g, gyro_dps)
    assert chip.regs[mpu.CONFIG] & 0x07 == config


@pytest.mark.parametrize("acc_range_g", [2, 4, 8, 16])
@pytest.mark.parametrize("gyro_range_dps", [250, 500, 1000, 2000])
def test_scaling_to_g_and_dps(acc_range_g, gyro_range_dps):
    driver, chip, bus, clock = make(
        "MPU-6050", settings=ImuSettings(acc_range_g=acc_range_g, gyro_range_dps=gyro_range_dps))
    clock.advance(0.01)
    batch = driver.drain()
    assert batch.n_frames == 10
    acc_lsb = mpu.ACC_LSB_PER_G[mpu.ACC_RANGES_G.index(acc_range_g)]
    gyro_lsb = mpu.GYRO_LSB_PER_DPS[mpu.GYRO_RANGES_DPS.index(gyro_range_dps)]
    np.testing.assert_allclose(batch.acc_g, np.tile(ACC_G, (10, 1)), atol=0.5 / acc_lsb + 1e-12)
    np.testing.assert_allclose(batch.gyro_dps, np.tile(GYRO_DPS, (10, 1)),
                               atol=0.5 / gyro_lsb + 1e-12)
    acc_latest, gyro_latest = driver.read_latest()
    np.testing.assert_allclose(acc_latest, ACC_G, atol=0.5 / acc_lsb + 1e-12)
    np.testing.assert_allclose(gyro_latest, GYRO_DPS, atol=0.5 / gyro_lsb + 1e-12)


def test_whole_frames_in_bursts_and_partial_frame_left_behind():
    driver, chip, bus, clock = make("MPU-6050")
    reads = []
    real_rdwr = bus.i2c_rdwr

    def spy(*msgs):
        assert bytes(msgs[0]) == bytes([mpu.FIFO_R_W])
        reads.append(msgs[1].len)
        real_rdwr(*msgs)
    bus.i2c_rdwr = spy
    clock.advance(0.07)                             # 70 frames = 840 bytes
    # A frame the chip is still writing: its first 5 bytes are already in the FIFO.
    assert chip.fifo_count == 840
    next_frame = bytes(chip.fifo[:12])
    chip.fifo += next_frame[:5]
    batch = driver.drain()
    assert batch.n_frames == 70 and not batch.overflowed
    assert all(n % 12 == 0 and n <= mpu.MAX_BURST_BYTES for n in reads) and sum(reads) == 840
    assert len(reads) == 3
    assert driver.stats.partial_frame_bytes_left == 5
    assert chip.fifo_count == 5
    np.testing.assert_allclose(batch.gyro_dps[-1], GYRO_DPS, atol=0.05)


@pytest.mark.parametrize("model", ["MPU-6050", "MPU-6500"])
def test_overflow_resets_fifo_flags_batch_and_never_returns_misaligned_frames(model):
    driver, chip, bus, clock = make(model)
    clock.advance(0.3)
    batch = driver.drain()
    assert batch.overflowed and batch.n_frames == 0
    assert batch.frames_lost_estimate >= chip.fifo_capacity_bytes // 12
    assert driver.stats.overflows == 1
    assert chip.fifo_count == 0
    clock.advance(0.02)
    batch = driver.drain()
    assert not batch.overflowed and batch.n_frames == 20
    np.testing.assert_allclose(batch.acc_g, np.tile(ACC_G, (20, 1)), atol=1e-3)
    np.testing.assert_allclose(batch.gyro_dps, np.tile(GYRO_DPS, (20, 1)), atol=0.05)


def test_overflow_flag_alone_triggers_reset():
    driver, chip, bus, clock = make("MPU-6050")
    clock.advance(0.2)
    # Someone took bytes out after the overflow: the count looks fine, the stream is not.
    chip.read(mpu.FIFO_R_W, 600)
    assert chip.fifo_count < 1024 - 12
    batch = driver.drain()
    assert batch.overflowed and batch.n_frames == 0


def test_nearly_full_fifo_is_treated_as_overflow():
    # 85 frames = 1020 bytes: the next sample would overwrite bytes while we read them.
    driver, chip, bus, clock = make("MPU-6050")
    clock.advance(0.085)
    assert chip.fifo_count == 1020
    assert driver.drain().overflowed


@pytest.mark.parametrize("model,capacity", [("MPU-6050", 1024), ("MPU-6500", 512),
                                            ("MPU-9250", 512)])
def test_fifo_capacity_per_model(model, capacity):
    driver, chip, bus, clock = make(model)
    assert driver.fifo_capacity_bytes == capacity
    clock.advance(1.0)
    assert driver.fifo_count() == capacity


@pytest.mark.parametrize("clock_error", [0.004, -0.003])
def test_frame_count_matches_rate_times_elapsed(clock_error):
    driver, chip, bus, clock = make("MPU-6500", clock_error=clock_error)
    total = 0
    for _ in range(400):
        clock.advance(0.015)
        batch = driver.drain()
        assert not batch.overflowed
        total += batch.n_frames
    expected = 6.0 * 1000.0 * (1 + clock_error)
    assert abs(total - expected) <= 1
    assert driver.stats.frames_read == total


def test_transient_bus_error_propagates_from_drain():
    driver, chip, bus, clock = make("MPU-6050")
    bus.faults = FailEverything()
    clock.advance(0.01)
    with pytest.raises(OSError) as info:
        driver.drain()
    assert info.value.errno == errno.EIO


def test_configuration_that_does_not_stick_is_reported():
    clock = ManualClock()
    chip = InvenSenseChip("MPU-6050", ADDR, ConstantSource(ACC_G, GYRO_DPS), clock)
    bus = SimulatedBus([chip], clock=clock)
    real_write = chip.write

    def drop_fifo_en(register, data):   # a counterfeit that ignores FIFO_EN
        if register != mpu.FIFO_EN:
            real_write(register, data)
    chip.write = drop_fifo_en
    driver = MpuDriver(bus, ADDR, 0x68, "MPU-6050", sleep_s=clock.sleep_s)
    from pi_app.errors import BusError
    with pytest.raises(BusError, match=r"0x23.*0x68|MPU-6050 at 0x68.*0x23"):
        driver.configure()
