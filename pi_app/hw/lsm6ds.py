"""Driver for the ST LSM6DS3, LSM6DS3TR-C and LSM6DSOX accelerometer + gyroscope on I2C.

Register addresses and bits follow the datasheets DocID026899 (LSM6DS3), DS12011 (LSM6DS3TR-C,
register-compatible with the LSM6DSL) and DS12814 (LSM6DSOX). The three share the control and
output registers; their FIFOs differ:

- LSM6DS3 / LSM6DS3TR-C: untagged 16-bit words in a repeating pattern (gyro x/y/z, accel
  x/y/z, one 6-word frame per FIFO tick), read from FIFO_DATA_OUT_L/H (0x3E/0x3F, the address
  rolls back so a burst reads many words). FIFO_STATUS1..4 give the unread word count and the
  pattern index of the next word. 8 kbyte (DS3) / 4 kbyte (TR-C).
- LSM6DSOX: tagged 7-byte words (tag + x/y/z) read from FIFO_DATA_OUT_TAG (0x78..0x7E, rolls
  back); the tag says gyro or accel and which time slot, so gyro and accel words are paired
  into frames. 512 words (3 kbyte of data).

The nearest ST output data rate to the requested 1 kHz is 833 Hz (the ODR codes are doublings:
416, 833, 1666 Hz); any other ODR up to 6.66 kHz (gyro: 1.66 kHz on the DS3) can be asked for.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from smbus2 import i2c_msg

from pi_app.errors import BusError, UnknownDeviceError
from pi_app.hw.chips import ST, models
from pi_app.hw.i2c import I2cBus
from pi_app.hw.imu import FifoBatch, ImuDriver, ImuSettings

WHO_AM_I_REGISTER = ST.who_am_i_register
#: WHO_AM_I value -> model (the chip table, pi_app.hw.chips, says which document gave each).
MODELS = models(ST)
#: 7-bit addresses: SA0 low, SA0 high.
ADDRESSES = ST.addresses

# -- shared register map (DS3 9.x, TR-C 9.x, DSOX 9.x) -----------------------------------------
CTRL1_XL = 0x10      # ODR_XL 7:4, FS_XL 3:2; DS3 BW_XL 1:0; TR-C LPF1_BW_SEL 1; DSOX LPF2_XL_EN 1
CTRL2_G = 0x11       # ODR_G 7:4, FS_G 3:2, FS_125 1
CTRL3_C = 0x12       # BOOT 7, BDU 6, ..., IF_INC 2, SW_RESET 0
CTRL8_XL = 0x17      # DS3/TR-C: LPF2_XL_EN 7, HPCF_XL 6:5; DSOX: HPCF_XL 7:5, XL_FS_MODE 1
OUTX_L_G = 0x22      # gyro x/y/z then accel x/y/z (0x28..0x2D), little-endian
FIFO_STATUS1 = 0x3A

# DS3 / TR-C FIFO
DS3_FIFO_CTRL1 = 0x06    # FTH[7:0]
DS3_FIFO_CTRL2 = 0x07    # FTH high bits, pedometer/timestamp batching
DS3_FIFO_CTRL3 = 0x08    # DEC_FIFO_GYRO 5:3, DEC_FIFO_XL 2:0 (001 = no decimation)
DS3_FIFO_CTRL4 = 0x09    # data sets 3/4, ONLY_HIGH_DATA
DS3_FIFO_CTRL5 = 0x0A    # ODR_FIFO 6:3, FIFO_MODE 2:0
DS3_FIFO_DATA_OUT_L = 0x3E
# DSOX FIFO
OX_FIFO_CTRL1 = 0x07     # WTM[7:0]
OX_FIFO_CTRL2 = 0x08     # WTM8, compression, ...
OX_FIFO_CTRL3 = 0x09     # BDR_GY 7:4, BDR_XL 3:0
OX_FIFO_CTRL4 = 0x0A     # timestamp/temperature batching 7:4, FIFO_MODE 2:0
OX_FIFO_DATA_OUT_TAG = 0x78

_CTRL3_BDU = 0x40
_CTRL3_IF_INC = 0x04
_CTRL3_SW_RESET = 0x01
_FIFO_MODE_BYPASS = 0b000
_FIFO_MODE_CONTINUOUS = 0b110
_DS3_FIFO_OVER_RUN = 0x40     # FIFO_STATUS2 bit 6
_OX_FIFO_OVR_IA = 0x40        # FIFO_STATUS2 bit 6
_OX_FIFO_OVR_LATCHED = 0x08   # FIFO_STATUS2 bit 3
_TAG_GYRO = 0x01              # TAG_SENSOR "gyroscope NC"
_TAG_ACCEL = 0x02             # TAG_SENSOR "accelerometer NC"

# Sensitivity per full scale (datasheet table 3, same on all three parts).
_ACC_FS = {2: (0b00, 0.061e-3), 4: (0b10, 0.122e-3), 8: (0b11, 0.244e-3), 16: (0b01, 0.488e-3)}
# gyro range -> (CTRL2_G bits 3:1 = FS_G[1:0] FS_125, deg/s per LSB)
_GYRO_FS = {125: (0b001, 4.375e-3), 245: (0b000, 8.75e-3), 500: (0b010, 17.5e-3),
            1000: (0b100, 35e-3), 2000: (0b110, 70e-3)}
_SW_RESET_POLLS = 50


@dataclass(frozen=True)
class _Part:
    tagged_fifo: bool
    fifo_capacity_bytes: int
    diff_fifo_high_mask: int      # DIFF_FIFO bits in FIFO_STATUS2
    max_gyro_odr_code: int
    odr_hz: tuple[float, ...]     # index = ODR code


_ODR_HZ = (0.0, 12.5, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0, 3333.0, 6666.0)
_PARTS = {
    "LSM6DS3": _Part(False, 8192, 0x0F, 8, _ODR_HZ),
    "LSM6DS3TR-C": _Part(False, 4096, 0x07, 10, _ODR_HZ),
    "LSM6DSOX": _Part(True, 512 * 7, 0x03, 10,
                      (0.0, 12.5, 26.0, 52.0, 104.0, 208.0, 417.0, 833.0, 1667.0, 3333.0,
                       6667.0)),
}


class Lsm6dsDriver(ImuDriver):
    """An LSM6DS3 / LSM6DS3TR-C / LSM6DSOX at `address` on `bus` (smbus2.SMBus-like).

    `max_burst_bytes` caps one `i2c_rdwr` read (rounded down to whole FIFO words/frames).
    `sleep_s(seconds)` is how the driver waits (the public `wait_s`, see ImuDriver).
    """

    def __init__(self, bus: I2cBus, address: int, who_am_i: int, model: str | None = None,
                 max_burst_bytes: int = 1024, sleep_s: Callable[[float], None] = time.sleep):
        model = model or MODELS.get(who_am_i)
        if model is None or model not in _PARTS:
            known = ", ".join(f"{name} (0x{value:02X})" for value, name in MODELS.items())
            raise UnknownDeviceError(
                f"the device at I2C address 0x{address:02X} reports WHO_AM_I 0x{who_am_i:02X}, "
                f"not one of {known}: check the wiring and the configured sensor type",
                bus=getattr(bus, "bus_number", None), address=address, expected=dict(MODELS),
                found=who_am_i)
        super().__init__(bus, address, who_am_i, model, sleep_s)
        self._part = _PARTS[model]
        self.fifo_capacity_bytes = self._part.fifo_capacity_bytes
        self.frame_bytes = 14 if self._part.tagged_fifo else 12
        self.max_burst_bytes = int(max_burst_bytes)
        self._odr_code = 0
        self._acc_range_g = 0
        self._gyro_range_dps = 0
        self._acc_g_per_lsb = 0.0
        self._gyro_dps_per_lsb = 0.0
        self._pending: dict[int, tuple[int, np.ndarray]] = {}   # DSOX: unpaired word by tag
        self._gap = False          # words were lost outside an overrun: reset on next drain
        self._reading_fifo = False  # an error now may have taken FIFO bytes with it

    # -- ImuDriver properties ------------------------------------------------------------------
    @property
    def output_rate_hz(self) -> float:
        return self._part.odr_hz[self._odr_code]

    @property
    def acc_range_g(self) -> int:
        return self._acc_range_g

    @property
    def gyro_range_dps(self) -> int:
        return self._gyro_range_dps

    # -- configuration -------------------------------------------------------------------------
    def configure(self, settings: ImuSettings = ImuSettings()) -> None:
        self.settings = settings
        self._odr_code = self._nearest_odr_code(settings.rate_hz)
        self._acc_range_g = _smallest_at_least(_ACC_FS, settings.acc_range_g)
        self._gyro_range_dps = _smallest_at_least(_GYRO_FS, settings.gyro_range_dps)
        acc_bits, self._acc_g_per_lsb = _ACC_FS[self._acc_range_g]
        gyro_bits, self._gyro_dps_per_lsb = _GYRO_FS[self._gyro_range_dps]

        self._write(CTRL3_C, _CTRL3_SW_RESET)
        for _ in range(_SW_RESET_POLLS):
            if not self._read(CTRL3_C, 1)[0] & _CTRL3_SW_RESET:
                break
        else:
            raise BusError(f"the {self.describe()} did not finish its software reset: power-"
                           "cycle the sensor and check its supply and wiring",
                           bus=getattr(self.bus, "bus_number", None))
        # BDU: output registers are not updated between reading their low and high bytes.
        self._write(CTRL3_C, _CTRL3_BDU | _CTRL3_IF_INC)

        ctrl1 = self._odr_code << 4 | acc_bits << 2
        ctrl2 = self._odr_code << 4 | gyro_bits << 1
        if self._part.tagged_fifo:
            # DSOX: LPF2_XL_EN (CTRL1_XL bit 1) with HPCF_XL = 001: accel bandwidth ODR/10.
            ctrl8 = 0b001 << 5 if settings.dlpf else 0
            ctrl1 |= 0x02 if settings.dlpf else 0
        else:
            # DS3/TR-C: LPF2_XL_EN (bit 7) with HPCF_XL = 10: accel bandwidth ODR/9. The gyro's
            # bandwidth is set by its ODR.
            ctrl8 = (0x80 | 0b10 << 5) if settings.dlpf else 0
        self._write(CTRL1_XL, ctrl1)
        self._write(CTRL2_G, ctrl2)
        self._write(CTRL8_XL, ctrl8)
        readback = self._read(CTRL1_XL, 2)
        if readback[0] != ctrl1 or readback[1] != ctrl2:
            raise BusError(f"the {self.describe()} did not keep its configuration (wrote "
                           f"0x{ctrl1:02X} 0x{ctrl2:02X}, read 0x{readback[0]:02X} "
                           f"0x{readback[1]:02X}): check the wiring and that no other program "
                           "uses the sensor", bus=getattr(self.bus, "bus_number", None))

        if self._part.tagged_fifo:
            self._write(OX_FIFO_CTRL1, 0)
            self._write(OX_FIFO_CTRL2, 0)             # no compression, no watermark stop
            self._write(OX_FIFO_CTRL3, self._odr_code << 4 | self._odr_code)   # BDR_GY, BDR_XL
        else:
            self._write(DS3_FIFO_CTRL1, 0)
            self._write(DS3_FIFO_CTRL2, 0)            # no timestamp/pedometer/temperature
            self._write(DS3_FIFO_CTRL3, 0b001 << 3 | 0b001)   # gyro and accel, no decimation
            self._write(DS3_FIFO_CTRL4, 0)
        self.reset_fifo()

    def _nearest_odr_code(self, rate_hz: float) -> int:
        """ODR code closest to `rate_hz` on a log scale, both sensors supporting it."""
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        codes = range(1, self._part.max_gyro_odr_code + 1)
        return min(codes, key=lambda c: abs(math.log(self._part.odr_hz[c] / rate_hz)))

    def reset_fifo(self) -> None:
        """Bypass (empties the FIFO), then continuous mode: oldest data overwritten when full."""
        if self._part.tagged_fifo:
            self._write(OX_FIFO_CTRL4, _FIFO_MODE_BYPASS)
            self._write(OX_FIFO_CTRL4, _FIFO_MODE_CONTINUOUS)
        else:
            odr_fifo = self._odr_code << 3
            self._write(DS3_FIFO_CTRL5, odr_fifo | _FIFO_MODE_BYPASS)
            self._write(DS3_FIFO_CTRL5, odr_fifo | _FIFO_MODE_CONTINUOUS)
        self._pending.clear()
        self._gap = False
        self.stats.partial_frame_bytes_left = 0

    # -- reading -------------------------------------------------------------------------------
    def drain(self) -> FifoBatch:
        if not self._odr_code:
            raise RuntimeError(f"{self.describe()}: configure() must be called before drain()")
        if self._gap:
            # The last drain failed mid-burst: an I2C error, not an overflow.
            self.stats.restarts_after_error += 1
            self.reset_fifo()
            return FifoBatch.after_read_error()
        self._reading_fifo = False
        try:
            if self._part.tagged_fifo:
                return self._drain_tagged()
            return self._drain_pattern()
        except OSError:
            # A failed status read consumed nothing; a failed data burst may have taken part
            # of the FIFO with it: then the next drain restarts the FIFO and reports the gap.
            if self._reading_fifo:
                self._gap = True
            raise

    def _drain_pattern(self) -> FifoBatch:
        status = self._read(FIFO_STATUS1, 4)
        n_words = status[0] | (status[1] & self._part.diff_fifo_high_mask) << 8
        if status[1] & _DS3_FIFO_OVER_RUN:
            return self._overflow(n_words // 6)
        pattern = status[2] | (status[3] & 0x03) << 8
        if pattern != 0:
            # The next word is not a frame's gyro x: words were lost, so the timing is broken.
            return self._overflow(n_words // 6)
        n_frames = n_words // 6
        data = self._read_fifo(DS3_FIFO_DATA_OUT_L, n_frames * 12, 12)
        raw = np.frombuffer(data, dtype="<i2").reshape(n_frames, 6)
        self.stats.partial_frame_bytes_left = (n_words - 6 * n_frames) * 2
        return self._batch(raw[:, 0:3], raw[:, 3:6])

    def _drain_tagged(self) -> FifoBatch:
        status = self._read(FIFO_STATUS1, 2)
        n_words = status[0] | (status[1] & self._part.diff_fifo_high_mask) << 8
        if status[1] & (_OX_FIFO_OVR_IA | _OX_FIFO_OVR_LATCHED):
            return self._overflow(n_words // 2)
        data = self._read_fifo(OX_FIFO_DATA_OUT_TAG, n_words * 7, 7)
        words = np.frombuffer(data, dtype=np.uint8).reshape(n_words, 7)
        sensors = words[:, 0] >> 3
        slots = (words[:, 0] >> 1) & 0x03
        values = words[:, 1:].copy().view("<i2").reshape(n_words, 3)
        gyro_rows: list[np.ndarray] = []
        acc_rows: list[np.ndarray] = []
        lost = False
        for sensor, slot, value in zip(sensors.tolist(), slots.tolist(), values):
            if sensor not in (_TAG_GYRO, _TAG_ACCEL):
                continue                       # temperature, timestamp, config-change words
            other = _TAG_ACCEL if sensor == _TAG_GYRO else _TAG_GYRO
            partner = self._pending.pop(other, None)
            if partner is not None and partner[0] == slot:
                gyro, acc = (value, partner[1]) if sensor == _TAG_GYRO else (partner[1], value)
                gyro_rows.append(gyro)
                acc_rows.append(acc)
                continue
            if partner is not None or sensor in self._pending:
                lost = True                    # a word without its partner: a frame is gone
            self._pending[sensor] = (slot, value)
        self.stats.partial_frame_bytes_left = 7 * len(self._pending)
        if lost:
            return self._overflow(len(gyro_rows))
        gyro_raw = np.array(gyro_rows, dtype=np.int16).reshape(-1, 3)
        acc_raw = np.array(acc_rows, dtype=np.int16).reshape(-1, 3)
        return self._batch(gyro_raw, acc_raw)

    def _batch(self, gyro_raw: np.ndarray, acc_raw: np.ndarray) -> FifoBatch:
        batch = FifoBatch(acc_g=acc_raw.astype(np.float64) * self._acc_g_per_lsb,
                          gyro_dps=gyro_raw.astype(np.float64) * self._gyro_dps_per_lsb)
        self.stats.frames_read += batch.n_frames
        return batch

    def _overflow(self, frames_in_fifo: int) -> FifoBatch:
        """Discard the FIFO (its frames follow a gap) and restart it."""
        self.stats.overflows += 1
        self.reset_fifo()
        batch = FifoBatch.empty(overflowed=True)
        batch.frames_lost_estimate = int(frames_in_fifo)
        return batch

    def read_latest(self) -> tuple[np.ndarray, np.ndarray]:
        raw = np.frombuffer(self._read(OUTX_L_G, 12), dtype="<i2").astype(np.float64)
        return raw[3:6] * self._acc_g_per_lsb, raw[0:3] * self._gyro_dps_per_lsb

    # -- bus access ----------------------------------------------------------------------------
    def _read_fifo(self, register: int, n_bytes: int, unit_bytes: int) -> bytes:
        """`n_bytes` from the FIFO output window in bursts of whole `unit_bytes` units (the
        window's address rolls back, so each burst continues where the last one stopped)."""
        self._reading_fifo = True
        burst = max(self.max_burst_bytes // unit_bytes, 1) * unit_bytes
        chunks = []
        done = 0
        while done < n_bytes:
            size = min(burst, n_bytes - done)
            chunks.append(self._read(register, size))
            done += size
        return b"".join(chunks)

    def _read(self, register: int, length: int) -> bytes:
        write = i2c_msg.write(self.address, [register])
        read = i2c_msg.read(self.address, length)
        self.bus.i2c_rdwr(write, read)
        self.stats.bytes_read += length
        return bytes(read)

    def _write(self, register: int, value: int) -> None:
        self.bus.write_byte_data(self.address, register, value & 0xFF)


def _smallest_at_least(table: dict[int, tuple], requested: float) -> int:
    """The smallest supported range >= `requested` (so nothing clips), else the largest."""
    ranges = sorted(table)
    return next((r for r in ranges if r >= requested), ranges[-1])
