"""Driver for the InvenSense MPU-6050, MPU-6500, MPU-9250 and MPU-9255 (accel + gyro).

Register addresses and bits: RM-MPU-6000A-00 rev 4.2 (MPU-6000/6050), RM-MPU-6500A-00 rev 2.1,
RM-MPU-9250A-00 rev 1.4. FIFO sizes: PS-MPU-6000A (1024 bytes), PS-MPU-9250A 4.17 and
PS-MPU-6500A (512 bytes).

The FIFO holds, per sample, accel x/y/z then gyro x/y/z as big-endian int16 (12 bytes; data
is written "in order of register number", RM-MPU-6000A 4.31). `drain()` reads whole frames
only, in `i2c_rdwr` bursts, and leaves a partial frame in the FIFO.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from smbus2 import i2c_msg

from pi_app.errors import BusError
from pi_app.hw.chips import INVENSENSE, models
from pi_app.hw.i2c import I2cBus
from pi_app.hw.imu import FifoBatch, ImuDriver, ImuSettings

WHO_AM_I_REGISTER = INVENSENSE.who_am_i_register
#: WHO_AM_I value -> model (the chip table, pi_app.hw.chips, says which document gave each).
MODELS = models(INVENSENSE)
#: 7-bit addresses selected by the AD0 pin.
ADDRESSES = INVENSENSE.addresses

# Registers.
SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
ACCEL_CONFIG2 = 0x1D            # MPU-6500/9250 only
FIFO_EN = 0x23
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
FIFO_COUNTH = 0x72
FIFO_R_W = 0x74

# Bits.
PWR_DEVICE_RESET = 0x80         # PWR_MGMT_1 bit 7 (H_RESET on the 6500/9250)
PWR_CLKSEL_PLL = 0x01           # CLKSEL 1: PLL on X gyro (6050) / auto best clock (6500/9250)
FIFO_EN_ACCEL_GYRO = 0x78       # XG_FIFO_EN | YG_FIFO_EN | ZG_FIFO_EN | ACCEL_FIFO_EN; no temp
USER_FIFO_EN = 0x40             # USER_CTRL bit 6
USER_FIFO_RESET = 0x04          # USER_CTRL bit 2 (FIFO_RST on the 6500/9250)
INT_FIFO_OFLOW = 0x10           # INT_ENABLE FIFO_OFLOW_EN / INT_STATUS FIFO_OFLOW_INT, bit 4
CONFIG_FIFO_MODE = 0x40         # 6500/9250 CONFIG bit 6: 1 = stop when full; we stream (0)
ACCEL_FCHOICE_B = 0x08          # 6500/9250 ACCEL_CONFIG2 bit 3: 1 = bypass the accel DLPF

# Full scales by FS_SEL / AFS_SEL (bits 4:3) and their nominal sensitivities
# (PS-MPU-6000A tables 6.1/6.2, PS-MPU-6500A 3.1/3.2).
GYRO_RANGES_DPS = (250, 500, 1000, 2000)
GYRO_LSB_PER_DPS = (131.0, 65.5, 32.8, 16.4)
ACC_RANGES_G = (2, 4, 8, 16)
ACC_LSB_PER_G = (16384.0, 8192.0, 4096.0, 2048.0)

# DLPF_CFG 1..6 gyro bandwidths, Hz (RM-MPU-6000A 4.3; the 6500 is within a few Hz).
DLPF_BANDWIDTH_HZ = {1: 188.0, 2: 98.0, 3: 42.0, 4: 20.0, 5: 10.0, 6: 5.0}

FIFO_BYTES = {0x68: 1024, 0x70: 512, 0x71: 512, 0x73: 512}
FRAME_BYTES = 12
#: Largest FIFO read in one combined transaction: 32 frames, ~10 ms at 400 kHz, so the other
#: IMU on the bus is not starved and a failed transfer loses little.
MAX_BURST_BYTES = 32 * FRAME_BYTES

# The product specifications give 100 ms "start-up time for register read/write"; after a
# DEVICE_RESET we wait that long before touching registers again.
RESET_WAIT_S = 0.1


def _nearest(options: tuple[int, ...], wanted: float) -> int:
    """Index of the option nearest `wanted`; ties go to the larger (no extra clipping)."""
    return min(range(len(options)), key=lambda i: (abs(options[i] - wanted), -options[i]))


class MpuDriver(ImuDriver):
    """MPU-6050 / 6500 / 9250 / 9255 on `bus` at `address`.

    `sleep_s(seconds)` waits after the device reset (default `time.sleep`; on the simulated
    runner, its clock's `sleep_s`). It is the public attribute `wait_s`, which the sensor
    reader replaces so other chips keep being drained meanwhile.
    """

    frame_bytes = FRAME_BYTES

    def __init__(self, bus: I2cBus, address: int, who_am_i: int, model: str,
                 sleep_s: Callable[[float], None] = time.sleep):
        super().__init__(bus, address, who_am_i, model, sleep_s)
        self.fifo_capacity_bytes = FIFO_BYTES.get(who_am_i, 512)
        self._gen6500 = who_am_i != 0x68
        self._fifo_suspect = False
        self._rate_hz = 0.0
        self._acc_index = _nearest(ACC_RANGES_G, self.settings.acc_range_g)
        self._gyro_index = _nearest(GYRO_RANGES_DPS, self.settings.gyro_range_dps)
        self._dlpf_cfg = 1
        self._smplrt_div = 0

    # -- configuration -----------------------------------------------------------------------
    def configure(self, settings: ImuSettings = ImuSettings()) -> None:
        self.settings = settings
        self._plan(settings)
        write = self._write
        write(PWR_MGMT_1, PWR_DEVICE_RESET)
        self.wait_s(RESET_WAIT_S)
        write(PWR_MGMT_1, PWR_CLKSEL_PLL)       # wake (SLEEP = 0), gyro-referenced clock
        write(SMPLRT_DIV, self._smplrt_div)
        write(CONFIG, self._dlpf_cfg)            # FIFO_MODE = 0: stream, overwrite when full
        write(GYRO_CONFIG, self._gyro_index << 3)   # FCHOICE_B = 0 on the 6500/9250
        write(ACCEL_CONFIG, self._acc_index << 3)
        if self._gen6500:
            accel_cfg2 = self._dlpf_cfg if settings.dlpf else ACCEL_FCHOICE_B
            write(ACCEL_CONFIG2, accel_cfg2)
        write(INT_ENABLE, INT_FIFO_OFLOW)
        write(FIFO_EN, FIFO_EN_ACCEL_GYRO)
        self._verify({SMPLRT_DIV: self._smplrt_div, CONFIG: self._dlpf_cfg,
                      GYRO_CONFIG: self._gyro_index << 3, ACCEL_CONFIG: self._acc_index << 3,
                      FIFO_EN: FIFO_EN_ACCEL_GYRO})
        self.reset_fifo()

    def _plan(self, settings: ImuSettings) -> None:
        """Choose register values for `settings` and the rate/ranges they give."""
        self._acc_index = _nearest(ACC_RANGES_G, settings.acc_range_g)
        self._gyro_index = _nearest(GYRO_RANGES_DPS, settings.gyro_range_dps)
        if settings.dlpf:
            gyro_rate_hz = 1000.0
            div = int(np.clip(round(gyro_rate_hz / max(settings.rate_hz, 1e-9)) - 1, 0, 255))
            rate_hz = gyro_rate_hz / (1 + div)
            # Widest DLPF whose bandwidth stays below Nyquist of the output rate (anti-alias).
            fitting = [cfg for cfg, bw in DLPF_BANDWIDTH_HZ.items() if bw < rate_hz / 2]
            self._dlpf_cfg = min(fitting) if fitting else 6
        else:
            gyro_rate_hz = 8000.0
            self._dlpf_cfg = 0
            if self._gen6500:
                # SMPLRT_DIV only applies with the DLPF on (RM-MPU-6500A 4.4).
                div = 0
            else:
                div = int(np.clip(round(gyro_rate_hz / max(settings.rate_hz, 1e-9)) - 1,
                                  0, 255))
            rate_hz = gyro_rate_hz / (1 + div)
        self._smplrt_div = div
        self._rate_hz = rate_hz

    def _verify(self, expected: dict[int, int]) -> None:
        for register, value in expected.items():
            got = self.bus.read_byte_data(self.address, register)
            if got != value:
                raise BusError(
                    f"{self.describe()} did not keep its configuration: register "
                    f"0x{register:02X} reads 0x{got:02X} after writing 0x{value:02X}; the chip "
                    "may be a counterfeit or the wiring is marginal (check the cable, or use a "
                    "genuine part)")

    @property
    def output_rate_hz(self) -> float:
        return self._rate_hz

    @property
    def acc_range_g(self) -> int:
        return ACC_RANGES_G[self._acc_index]

    @property
    def gyro_range_dps(self) -> int:
        return GYRO_RANGES_DPS[self._gyro_index]

    # -- FIFO --------------------------------------------------------------------------------
    def reset_fifo(self) -> None:
        # FIFO_RESET acts while USER_CTRL FIFO_EN = 0 (RM-MPU-6000A 4.29), so: stop, reset,
        # clear a stale overflow flag, restart.
        self._write(USER_CTRL, 0x00)
        self._write(USER_CTRL, USER_FIFO_RESET)
        self.bus.read_byte_data(self.address, INT_STATUS)
        self._write(USER_CTRL, USER_FIFO_EN)
        self.stats.partial_frame_bytes_left = 0
        self._fifo_suspect = False

    def fifo_count(self) -> int:
        """Bytes now in the FIFO (one 2-byte read: reading COUNTH latches COUNTL)."""
        high, low = self.bus.read_i2c_block_data(self.address, FIFO_COUNTH, 2)
        if self._gen6500:
            high &= 0x1F        # FIFO_CNT[12:8]; bits 7:5 are reserved (RM-MPU-9250A 4.36)
        return (high << 8) | low

    def drain(self) -> FifoBatch:
        if self._fifo_suspect:
            # The last drain failed mid-burst: bytes may have left the FIFO unaccounted for,
            # so its frame alignment and timing cannot be trusted. Restart it, report a gap.
            self._fifo_suspect = False
            self.reset_fifo()
            self.stats.restarts_after_error += 1
            return FifoBatch.after_read_error()
        status = self.bus.read_byte_data(self.address, INT_STATUS)
        count = self.fifo_count()
        # A FIFO within one frame of full has lost, or is about to lose, its oldest bytes while
        # we read; either way the byte stream can no longer be trusted to be frame-aligned.
        if status & INT_FIFO_OFLOW or count >= self.fifo_capacity_bytes - self.frame_bytes:
            self.reset_fifo()
            self.stats.overflows += 1
            batch = FifoBatch.empty(overflowed=True)
            batch.frames_lost_estimate = min(count, self.fifo_capacity_bytes) // self.frame_bytes
            return batch
        n_bytes = count - count % self.frame_bytes
        try:
            raw = self._read_fifo(n_bytes)
        except OSError:
            self._fifo_suspect = True
            raise
        counts = np.frombuffer(raw, dtype=">i2").reshape(-1, 6).astype(np.float64)
        acc_g = counts[:, 0:3] / ACC_LSB_PER_G[self._acc_index]
        gyro_dps = counts[:, 3:6] / GYRO_LSB_PER_DPS[self._gyro_index]
        self.stats.frames_read += counts.shape[0]
        self.stats.bytes_read += n_bytes
        self.stats.partial_frame_bytes_left = count - n_bytes
        return FifoBatch(acc_g, gyro_dps)

    def _read_fifo(self, n_bytes: int) -> bytes:
        chunks = []
        remaining = n_bytes
        while remaining > 0:
            size = min(remaining, MAX_BURST_BYTES)
            select = i2c_msg.write(self.address, [FIFO_R_W])
            read = i2c_msg.read(self.address, size)
            self.bus.i2c_rdwr(select, read)
            chunks.append(bytes(read))
            remaining -= size
        return b"".join(chunks)

    # -- data registers ----------------------------------------------------------------------
    def read_latest(self) -> tuple[np.ndarray, np.ndarray]:
        raw = bytes(self.bus.read_i2c_block_data(self.address, ACCEL_XOUT_H, 14))
        counts = np.frombuffer(raw, dtype=">i2").astype(np.float64)
        acc_g = counts[0:3] / ACC_LSB_PER_G[self._acc_index]
        gyro_dps = counts[4:7] / GYRO_LSB_PER_DPS[self._gyro_index]
        return acc_g, gyro_dps

    def _write(self, register: int, value: int) -> None:
        self.bus.write_byte_data(self.address, register, value)
