"""Register-level behaviour of the InvenSense chip emulator (no driver involved)."""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.clock import ManualClock
from pi_app.sim.bus import SimulatedBus
from pi_app.sim.chips import invensense as inv
from pi_app.sim.chips.invensense import InvenSenseChip
from conftest import ConstantSource

ACC_G = (0.25, -0.5, 1.0)
GYRO_DPS = (10.0, -20.0, 30.0)
ADDR = 0x68


def make(model="MPU-6050", clock_error=0.0, source=None):
    clock = ManualClock()
    source = source or ConstantSource(ACC_G, GYRO_DPS)
    chip = InvenSenseChip(model, ADDR, source, clock, clock_error=clock_error)
    return chip, SimulatedBus([chip], clock=clock), clock, source


def wake(bus):
    bus.write_byte_data(ADDR, inv.PWR_MGMT_1, 0x01)


def start_fifo(bus, int_enable=0x10):
    bus.write_byte_data(ADDR, inv.INT_ENABLE, int_enable)
    bus.write_byte_data(ADDR, inv.FIFO_EN, 0x78)
    bus.write_byte_data(ADDR, inv.USER_CTRL, 0x44)   # FIFO_EN + FIFO_RESET


def fifo_count(bus):
    high, low = bus.read_i2c_block_data(ADDR, inv.FIFO_COUNTH, 2)
    return (high << 8) | low


def expected_frame(acc_lsb=16384.0, gyro_lsb=131.0):
    counts = np.round(np.concatenate([np.array(ACC_G) * acc_lsb, np.array(GYRO_DPS) * gyro_lsb]))
    return counts.astype(">i2").tobytes()


@pytest.mark.parametrize("model,who,pwr1", [("MPU-6050", 0x68, 0x40), ("MPU-6500", 0x70, 0x01),
                                            ("MPU-9250", 0x71, 0x01), ("MPU-9255", 0x73, 0x01)])
def test_who_am_i_and_power_on_reset_values(model, who, pwr1):
    chip, bus, clock, _ = make(model)
    assert bus.read_byte_data(ADDR, inv.WHO_AM_I) == who
    assert bus.read_byte_data(ADDR, inv.PWR_MGMT_1) == pwr1
    bus.write_byte_data(ADDR, inv.SMPLRT_DIV, 9)
    bus.write_byte_data(ADDR, inv.PWR_MGMT_1, 0x80)      # DEVICE_RESET
    assert bus.read_byte_data(ADDR, inv.SMPLRT_DIV) == 0
    assert bus.read_byte_data(ADDR, inv.PWR_MGMT_1) == pwr1


def test_mpu6050_sleeps_until_woken():
    chip, bus, clock, source = make("MPU-6050")
    clock.advance(0.1)
    assert bus.read_i2c_block_data(ADDR, inv.ACCEL_XOUT_H, 14) == [0] * 14
    assert source.calls == []
    wake(bus)
    clock.advance(0.01)
    raw = bytes(bus.read_i2c_block_data(ADDR, inv.ACCEL_XOUT_H, 14))
    assert raw[0:6] + raw[8:14] == expected_frame()


def test_polling_third_party_style_reads_scaled_data_and_temperature():
    chip, bus, clock, _ = make("MPU-6050")
    wake(bus)
    bus.write_byte_data(ADDR, inv.ACCEL_CONFIG, 2 << 3)   # +-8 g
    bus.write_byte_data(ADDR, inv.GYRO_CONFIG, 3 << 3)    # +-2000 dps
    clock.advance(0.005)
    raw = bytes(bus.read_i2c_block_data(ADDR, inv.ACCEL_XOUT_H, 14))
    values = np.frombuffer(raw, dtype=">i2").astype(float)
    np.testing.assert_allclose(values[0:3] / 4096.0, ACC_G, atol=0.5 / 4096)
    np.testing.assert_allclose(values[4:7] / 16.4, GYRO_DPS, atol=0.5 / 16.4)
    assert 20.0 < values[3] / 340.0 + 36.53 < 40.0     # RM-MPU-6000A 4.18 formula


@pytest.mark.parametrize("model,dlpf_cfg,div,rate_hz", [
    ("MPU-6050", 0, 0, 8000.0), ("MPU-6050", 0, 7, 1000.0), ("MPU-6050", 1, 0, 1000.0),
    ("MPU-6050", 3, 9, 100.0), ("MPU-6500", 1, 4, 200.0),
    ("MPU-6500", 0, 7, 8000.0),    # 6500: SMPLRT_DIV ignored with the DLPF off
])
def test_output_rate_from_dlpf_and_divider(model, dlpf_cfg, div, rate_hz):
    chip, bus, clock, _ = make(model)
    wake(bus)
    bus.write_byte_data(ADDR, inv.CONFIG, dlpf_cfg)
    bus.write_byte_data(ADDR, inv.SMPLRT_DIV, div)
    assert chip.output_rate_hz == rate_hz
    start_fifo(bus)
    clock.advance(0.05)
    assert fifo_count(bus) == min(int(round(0.05 * rate_hz)) * 12,
                                  chip.fifo_capacity_bytes)


def test_sample_times_follow_the_chip_clock_error():
    chip, bus, clock, source = make("MPU-6050", clock_error=0.004)
    wake(bus)
    bus.write_byte_data(ADDR, inv.CONFIG, 1)
    start_fifo(bus)
    t_wake = clock.now_s()
    total = 0
    for _ in range(200):
        clock.advance(0.02)
        count = fifo_count(bus)
        total += count // 12
        data = chip.read(inv.FIFO_R_W, count)
        assert len(data) == count
    assert total == int(np.floor(4.0 * 1000.0 * 1.004 + 1e-9))
    times = np.concatenate(source.calls)
    np.testing.assert_allclose(np.diff(times), 1.0 / 1004.0, rtol=1e-9)
    assert times[0] == pytest.approx(t_wake + 1.0 / 1004.0)


def test_fifo_pops_pointer_stays_and_empty_read_repeats_last_byte():
    chip, bus, clock, _ = make("MPU-6050")
    wake(bus)
    bus.write_byte_data(ADDR, inv.CONFIG, 1)
    start_fifo(bus)
    clock.advance(0.003)
    # A burst from COUNTH: count bytes, then the pointer stops on FIFO_R_W.
    raw = bytes(chip.read(inv.FIFO_COUNTH, 2 + 36))
    assert (raw[0] << 8 | raw[1]) == 36
    assert raw[2:] == expected_frame() * 3
    assert fifo_count(bus) == 0
    assert chip.read(inv.FIFO_R_W, 3) == bytes([raw[-1]]) * 3


def test_fifo_reset_clears_and_fifo_en_bits_select_content():
    chip, bus, clock, _ = make("MPU-6050")
    wake(bus)
    bus.write_byte_data(ADDR, inv.CONFIG, 1)
    start_fifo(bus)
    clock.advance(0.01)
    assert fifo_count(bus) == 120
    bus.write_byte_data(ADDR, inv.USER_CTRL, 0x04)
    assert fifo_count(bus) == 0
    bus.write_byte_data(ADDR, inv.USER_CTRL, 0x40)
    bus.write_byte_data(ADDR, inv.FIFO_EN, 0x08 | 0x80)   # accel + temperature: 8 bytes
    clock.advance(0.002)
    assert fifo_count(bus) == 16
    data = chip.read(inv.FIFO_R_W, 8)
    assert data[:6] == expected_frame()[:6]


def test_mpu6050_overflow_overwrites_oldest_and_misaligns_until_reset():
    chip, bus, clock, _ = make("MPU-6050")
    wake(bus)
    bus.write_byte_data(ADDR, inv.CONFIG, 1)
    start_fifo(bus)
    clock.advance(0.2)
    assert fifo_count(bus) == 1024
    status = bus.read_byte_data(ADDR, inv.INT_STATUS)
    assert status & 0x10
    assert not bus.read_byte_data(ADDR, inv.INT_STATUS) & 0x10     # cleared on read
    data = chip.read(inv.FIFO_R_W, 36)
    frame = expected_frame()
    # 200 frames * 12 B, newest 1024 kept: the FIFO starts 8 bytes into a frame (1024 % 12 = 4).
    assert data[:12] != frame
    assert data[4:16] == frame


def test_overflow_flag_needs_int_enable():
    chip, bus, clock, _ = make("MPU-6050")
    wake(bus)
    start_fifo(bus, int_enable=0x00)
    clock.advance(0.2)
    assert not bus.read_byte_data(ADDR, inv.INT_STATUS) & 0x10


@pytest.mark.parametrize("fifo_mode,first_frame_aligned", [(1, True), (0, False)])
def test_mpu6500_fifo_mode_stop_or_overwrite(fifo_mode, first_frame_aligned):
    chip, bus, clock, source = make("MPU-6500")
    bus.write_byte_data(ADDR, inv.CONFIG, 0x01 | (fifo_mode << 6))
    start_fifo(bus)
    clock.advance(0.1)
    assert fifo_count(bus) == 512
    assert bus.read_byte_data(ADDR, inv.INT_STATUS) & 0x10
    data = chip.read(inv.FIFO_R_W, 12)
    assert (data == expected_frame()) is first_frame_aligned


def test_long_unread_interval_samples_only_what_can_survive():
    chip, bus, clock, source = make("MPU-6050")
    wake(bus)                      # DLPF off: 8 kHz
    start_fifo(bus)
    clock.advance(10.0)
    assert fifo_count(bus) == 1024
    assert chip.samples_generated == 80000
    assert sum(c.shape[0] for c in source.calls) <= 1024 // 12 + 2
