"""The ST LSM6DS3 / LSM6DS3TR-C / LSM6DSOX emulator at register level, as a simple polling
driver or a FIFO reader sees it through the simulated bus (virtual clock, no sleeping)."""

import numpy as np
import pytest
from smbus2 import i2c_msg

from pi_app.clock import ManualClock
from pi_app.sim.bus import SimulatedBus
from pi_app.sim.chips.st import StChip

ADDR = 0x6B
ACC_G = np.array([0.5, -0.25, 1.0])
GYRO_DPS = np.array([10.0, -20.0, 30.0])


class RecordingSource:
    """Constant motion; records the times it was asked for (must never go backwards)."""

    def __init__(self):
        self.calls = []

    def sample(self, t_s):
        t_s = np.asarray(t_s)
        if self.calls and len(t_s):
            assert t_s[0] >= self.calls[-1][-1]
        assert np.all(np.diff(t_s) > 0)
        if len(t_s):
            self.calls.append(t_s.copy())
        n = len(t_s)
        return np.tile(ACC_G, (n, 1)), np.tile(GYRO_DPS, (n, 1))

    @property
    def rows(self):
        return sum(len(c) for c in self.calls)


def make(model, clock_error=0.0):
    clock = ManualClock(start_s=5.0)
    source = RecordingSource()
    chip = StChip(model, ADDR, source, clock, clock_error)
    return clock, chip, SimulatedBus([chip], clock=clock), source


def rd(bus, reg, n=1):
    """One byte as int, or `n` bytes in one combined write-register/read transaction."""
    if n == 1:
        return bus.read_byte_data(ADDR, reg)
    read = i2c_msg.read(ADDR, n)
    bus.i2c_rdwr(i2c_msg.write(ADDR, [reg]), read)
    return bytes(read)


def wr(bus, reg, value):
    bus.write_byte_data(ADDR, reg, value)


def start_833hz_8g_1000dps(bus, model):
    wr(bus, 0x10, 0x7C)          # CTRL1_XL: 833 Hz, 8 g
    wr(bus, 0x11, 0x78)          # CTRL2_G: 833 Hz, 1000 dps
    if model == "LSM6DSOX":
        wr(bus, 0x09, 0x77)      # BDR_GY = BDR_XL = 833 Hz
        wr(bus, 0x0A, 0x06)      # continuous
    else:
        wr(bus, 0x08, 0x09)      # gyro + accel, no decimation
        wr(bus, 0x0A, 0x3E)      # ODR_FIFO 833 Hz, continuous


@pytest.mark.parametrize("model,who", [("LSM6DS3", 0x69), ("LSM6DS3TR-C", 0x6A),
                                       ("LSM6DSOX", 0x6C)])
def test_power_on_state(model, who):
    clock, chip, bus, source = make(model)
    assert rd(bus, 0x0F) == who
    assert rd(bus, 0x12) == 0x04                 # CTRL3_C: IF_INC
    assert rd(bus, 0x10) == rd(bus, 0x11) == 0   # both sensors powered down
    clock.advance(1.0)
    assert chip.samples_generated == 0 and source.rows == 0
    assert rd(bus, 0x3A) == 0


def test_if_inc_off_repeats_the_same_register():
    _, _, bus, _ = make("LSM6DS3")
    assert rd(bus, 0x0F, 2) == bytes([0x69, 0x00])     # 0x0F then CTRL1_XL
    wr(bus, 0x12, 0x00)
    assert rd(bus, 0x0F, 2) == bytes([0x69, 0x69])


@pytest.mark.parametrize("model", ["LSM6DS3", "LSM6DSOX"])
def test_sw_reset_restores_defaults_and_boot_self_clears(model):
    clock, chip, bus, _ = make(model)
    start_833hz_8g_1000dps(bus, model)
    wr(bus, 0x12, 0x84)                          # BOOT | IF_INC
    assert rd(bus, 0x12) == 0x04 and rd(bus, 0x10) == 0x7C
    clock.advance(0.01)
    assert chip.fifo_words > 0
    wr(bus, 0x12, 0x05)                          # SW_RESET
    assert rd(bus, 0x12) == 0x04 and rd(bus, 0x10) == 0 and rd(bus, 0x0A) == 0
    assert chip.fifo_words == 0
    generated = chip.samples_generated
    clock.advance(0.1)
    assert chip.samples_generated == generated


@pytest.mark.parametrize("ctrl1,rate_hz", [(0x40, 104.0), (0x70, 833.0), (0x80, 1666.0)])
def test_odr_sets_the_sample_rate_with_the_chip_clock_error(ctrl1, rate_hz):
    clock, chip, bus, _ = make("LSM6DS3TR-C", clock_error=0.004)
    wr(bus, 0x10, ctrl1)
    clock.advance(2.0)
    rd(bus, 0x1E)
    assert abs(chip.samples_generated - rate_hz * 1.004 * 2.0) <= 1


@pytest.mark.parametrize("model,temp_counts", [("LSM6DS3", 80), ("LSM6DS3TR-C", 1280),
                                               ("LSM6DSOX", 1280)])
def test_output_registers_hold_the_latest_sample(model, temp_counts):
    clock, _, bus, _ = make(model)
    start_833hz_8g_1000dps(bus, model)
    assert rd(bus, 0x1E) == 0
    clock.advance(0.01)
    assert rd(bus, 0x1E) == 0x07                 # XLDA | GDA | TDA
    raw = np.frombuffer(rd(bus, 0x20, 14), dtype="<i2")
    assert raw[0] == temp_counts                 # 30 degC
    np.testing.assert_array_equal(raw[1:4], np.round(GYRO_DPS / 0.035))
    np.testing.assert_array_equal(raw[4:7], np.round(ACC_G / 0.000244))
    assert rd(bus, 0x1E) == 0


@pytest.mark.parametrize("fs_bits,g_per_lsb", [(0b00, 0.061e-3), (0b01, 0.488e-3),
                                               (0b10, 0.122e-3), (0b11, 0.244e-3)])
def test_accel_full_scale_codes(fs_bits, g_per_lsb):
    clock, _, bus, _ = make("LSM6DSOX")
    wr(bus, 0x10, 0x70 | fs_bits << 2)
    clock.advance(0.01)
    raw = np.frombuffer(rd(bus, 0x28, 6), dtype="<i2")
    np.testing.assert_array_equal(raw, np.round(ACC_G / g_per_lsb))


@pytest.mark.parametrize("ctrl2_low,dps_per_lsb", [(0x00, 8.75e-3), (0x02, 4.375e-3),
                                                   (0x04, 17.5e-3), (0x08, 35e-3),
                                                   (0x0C, 70e-3)])
def test_gyro_full_scale_codes(ctrl2_low, dps_per_lsb):
    clock, _, bus, _ = make("LSM6DS3")
    wr(bus, 0x11, 0x70 | ctrl2_low)
    clock.advance(0.01)
    raw = np.frombuffer(rd(bus, 0x22, 6), dtype="<i2")
    np.testing.assert_array_equal(raw, np.round(GYRO_DPS / dps_per_lsb))


@pytest.mark.parametrize("model", ["LSM6DS3", "LSM6DS3TR-C"])
def test_ds3_fifo_pattern_and_rollback(model):
    clock, chip, bus, _ = make(model)
    start_833hz_8g_1000dps(bus, model)
    clock.advance(0.0121)                        # 10 ticks at 833 Hz
    status = rd(bus, 0x3A, 4)
    assert status[0] | (status[1] & 0x0F) << 8 == 60
    assert status[1] & 0x10 == 0 and status[1] & 0x40 == 0
    assert status[2] == 0                        # next word: gyro x
    frames = np.frombuffer(rd(bus, 0x3E, 24), dtype="<i2").reshape(2, 6)
    expected = np.concatenate([np.round(GYRO_DPS / 0.035), np.round(ACC_G / 0.000244)])
    np.testing.assert_array_equal(frames, np.tile(expected, (2, 1)))
    rd(bus, 0x3E, 4)                             # two more words
    status = rd(bus, 0x3A, 4)
    assert status[0] == 46 and status[2] == 2    # 14 words read; next is gyro z
    bus.write_byte_data(ADDR, 0x0A, 0x38)        # bypass empties the FIFO
    assert rd(bus, 0x3A, 4) == bytes([0, 0x10, 0, 0])


@pytest.mark.parametrize("model,capacity_words,diff_max", [("LSM6DS3", 4096, 4095),
                                                           ("LSM6DS3TR-C", 2048, 2047)])
def test_ds3_overrun_overwrites_the_oldest_words(model, capacity_words, diff_max):
    clock, chip, bus, source = make(model)
    start_833hz_8g_1000dps(bus, model)
    clock.advance(5.0)
    status = rd(bus, 0x3A, 4)
    assert status[0] | (status[1] & 0x0F) << 8 == diff_max
    assert status[1] & 0x40 and status[1] & 0x20      # OVER_RUN, FIFO_FULL
    assert chip.fifo_words == capacity_words
    written = chip.samples_generated * 6
    assert status[2] | (status[3] & 3) << 8 == (written - capacity_words) % 6
    # A long unread stretch samples only what can survive in the FIFO.
    assert source.rows < capacity_words // 6 + 10
    rd(bus, 0x3E, 2)
    assert rd(bus, 0x3B) & 0x40 == 0             # no longer completely filled


def test_dsox_tagged_words():
    clock, chip, bus, _ = make("LSM6DSOX")
    start_833hz_8g_1000dps(bus, "LSM6DSOX")
    clock.advance(0.0061)                        # 5 time slots
    status = rd(bus, 0x3A, 2)
    assert status[0] == 10 and status[1] == 0
    words = np.frombuffer(rd(bus, 0x78, 70), dtype=np.uint8).reshape(10, 7)
    assert list(words[:, 0] >> 3) == [0x01, 0x02] * 5          # gyro, accel per slot
    assert list((words[:, 0] >> 1) & 3) == [0, 0, 1, 1, 2, 2, 3, 3, 0, 0]
    assert all(bin(b).count("1") % 2 == 1 for b in words[:, 0])
    data = words[:, 1:].copy().view("<i2")
    np.testing.assert_array_equal(data[0], np.round(GYRO_DPS / 0.035))
    np.testing.assert_array_equal(data[1], np.round(ACC_G / 0.000244))
    assert chip.fifo_words == 0


def test_dsox_reading_x_l_directly_gives_the_current_word_data():
    clock, _, bus, _ = make("LSM6DSOX")
    start_833hz_8g_1000dps(bus, "LSM6DSOX")
    clock.advance(0.0025)
    raw = np.frombuffer(rd(bus, 0x79, 6), dtype="<i2")   # X_L..Z_H pops the word
    np.testing.assert_array_equal(raw, np.round(GYRO_DPS / 0.035))
    assert rd(bus, 0x78) >> 3 == 0x02


def test_dsox_overrun_flags():
    clock, chip, bus, source = make("LSM6DSOX")
    start_833hz_8g_1000dps(bus, "LSM6DSOX")
    clock.advance(3.0)
    status = rd(bus, 0x3A, 2)
    assert status[0] | (status[1] & 0x03) << 8 == 512
    assert status[1] & 0x40 and status[1] & 0x20 and status[1] & 0x08
    assert rd(bus, 0x3B) & 0x08 == 0             # FIFO_OVR_LATCHED cleared by reading
    assert source.rows < 512 + 10


def test_fifo_mode_stops_when_full():
    clock, chip, bus, _ = make("LSM6DS3TR-C")
    start_833hz_8g_1000dps(bus, "LSM6DS3TR-C")
    wr(bus, 0x0A, 0x39)                          # FIFO mode (stop when full)
    clock.advance(3.0)
    assert chip.fifo_words <= 2048 and chip.fifo_words > 2048 - 6
    assert rd(bus, 0x3B) & 0x40 == 0             # nothing was overwritten


def test_dsox_different_rates_per_sensor():
    clock, chip, bus, _ = make("LSM6DSOX")
    wr(bus, 0x10, 0x4C)                          # accel 104 Hz
    wr(bus, 0x11, 0x78)                          # gyro 833 Hz
    wr(bus, 0x09, 0x77)                          # batch both at up to 833 Hz
    wr(bus, 0x0A, 0x06)
    clock.advance(0.25)
    n = rd(bus, 0x3A)
    tags = np.frombuffer(rd(bus, 0x78, 7 * n), dtype=np.uint8).reshape(n, 7)[:, 0] >> 3
    n_gyro, n_acc = np.count_nonzero(tags == 1), np.count_nonzero(tags == 2)
    assert abs(n_gyro - 0.25 * 833) <= 1
    assert n_gyro // 8 <= n_acc <= n_gyro // 8 + 1


def test_long_gap_catch_up_is_bounded():
    clock, chip, bus, source = make("LSM6DS3TR-C")
    wr(bus, 0x10, 0xA0)                          # 6.66 kHz
    wr(bus, 0x11, 0xA0)
    wr(bus, 0x08, 0x09)
    wr(bus, 0x0A, 0x56)                          # ODR_FIFO 6.66 kHz, continuous
    clock.advance(60.0)
    rd(bus, 0x3A)
    assert abs(chip.samples_generated - 6666 * 60) <= 1
    assert source.rows < 2048 // 6 + 10
