"""Register-level emulator of the InvenSense MPU-6050, MPU-6500, MPU-9250 and MPU-9255
(accelerometer + gyroscope part; the MPU-9250's AK8963 magnetometer is not emulated).

Register addresses, bits and reset values follow the register maps RM-MPU-6000A-00 rev 4.2
(MPU-6000/6050), RM-MPU-6500A-00 rev 2.1 and RM-MPU-9250A-00 rev 1.4. What is emulated:

- WHO_AM_I (0x75) per model; power-on reset values (PWR_MGMT_1 = 0x40 on the 6050, i.e.
  asleep; 0x01 on the 6500/9250, i.e. awake on the auto-selected clock).
- PWR_MGMT_1: DEVICE_RESET (bit 7, self-clearing), SLEEP (bit 6), CLKSEL (bits 2:0; 7 stops
  the clock, so no samples).
- Output data rate = gyro output rate / (1 + SMPLRT_DIV), the gyro output rate being 8 kHz
  with the DLPF off (DLPF_CFG 0 or 7) and 1 kHz with it on (DLPF_CFG 1..6). On the 6500/9250
  SMPLRT_DIV only applies while the DLPF is on, and GYRO_CONFIG FCHOICE_B != 0 bypasses the
  DLPF at 32 kHz.
- GYRO_CONFIG FS_SEL and ACCEL_CONFIG AFS_SEL (bits 4:3), quantised with the datasheet's
  nominal sensitivities (131 / 65.5 / 32.8 / 16.4 LSB per deg/s; 16384 / 8192 / 4096 / 2048
  LSB per g).
- Data output registers 0x3B..0x48 (accel, temperature, gyro; big-endian) holding the latest
  sample; INT_STATUS (0x3A) DATA_RDY_INT (bit 0) and FIFO_OFLOW_INT (bit 4), cleared on read.
- FIFO: FIFO_EN (0x23) chooses what each sample writes, in register order (accel, temp, gyro
  x/y/z); USER_CTRL (0x6A) FIFO_EN (bit 6) and FIFO_RESET (bit 2); FIFO_COUNTH/L (0x72/0x73,
  reading COUNTH latches the count); FIFO_R_W (0x74) pops bytes. Reading an empty FIFO
  returns the last byte previously read (as the register maps say). Capacity 1024 bytes on the
  6050, 512 on the 6500/9250. On overflow the oldest bytes are overwritten, so the byte
  stream read afterwards is misaligned until the FIFO is reset; on the 6500/9250 CONFIG
  FIFO_MODE (bit 6) = 1 instead stops writing when full. FIFO_OFLOW_INT is latched when
  INT_ENABLE FIFO_OFLOW_EN (bit 4) is set.
- The register pointer auto-increments on multi-byte access, except on FIFO_R_W.

Samples come from the chip's own `SampleClock` (with its oscillator error) and
`source.sample(t_s)`. Every bus access first catches the chip up to `clock.now_s()`, sampling
all due ticks at once (numpy), and only the ticks whose bytes can still be in the FIFO.
"""

from __future__ import annotations

import numpy as np

from pi_app.clock import Clock
from pi_app.sim.chips.base import MotionSource, SampleClock, to_int16_counts

# Register addresses (same on all models unless noted).
SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
ACCEL_CONFIG2 = 0x1D          # 6500/9250 only
FIFO_EN = 0x23
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
TEMP_OUT_H = 0x41
GYRO_XOUT_H = 0x43
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
FIFO_COUNTH = 0x72
FIFO_COUNTL = 0x73
FIFO_R_W = 0x74
WHO_AM_I = 0x75

# model -> (WHO_AM_I, FIFO bytes, PWR_MGMT_1 reset value, is 6500 generation)
MODEL_FACTS = {
    "MPU-6050": (0x68, 1024, 0x40, False),
    "MPU-6500": (0x70, 512, 0x01, True),
    "MPU-9250": (0x71, 512, 0x01, True),
    "MPU-9255": (0x73, 512, 0x01, True),
}

# Nominal sensitivities (PS-MPU-6000A 6.1/6.2, PS-MPU-6500A 3.1/3.2), index = FS_SEL/AFS_SEL.
GYRO_RANGES_DPS = (250, 500, 1000, 2000)
GYRO_LSB_PER_DPS = (131.0, 65.5, 32.8, 16.4)
ACC_RANGES_G = (2, 4, 8, 16)
ACC_LSB_PER_G = (16384.0, 8192.0, 4096.0, 2048.0)

_READ_ONLY = frozenset(range(ACCEL_XOUT_H, GYRO_XOUT_H + 6)) | {INT_STATUS, FIFO_COUNTH,
                                                                FIFO_COUNTL, WHO_AM_I}
_BIT_FIFO_OFLOW = 0x10
_BIT_DATA_RDY = 0x01
_USER_FIFO_EN = 0x40
_USER_FIFO_RESET = 0x04
_PWR_DEVICE_RESET = 0x80
_PWR_SLEEP = 0x40
_CONFIG_FIFO_MODE = 0x40

# A constant die temperature, deg C (the emulator has no thermal model).
_DIE_TEMPERATURE_C = 30.0


class InvenSenseChip:
    """One emulated MPU-6050/6500/9250/9255 at `address` (7-bit), sampling `source` on its own
    clock that runs `clock_error` (fraction, e.g. 0.002 = 0.2 % fast) off the bus `clock`."""

    def __init__(self, model: str, address: int, source: MotionSource, clock: Clock,
                 clock_error: float = 0.0):
        if model not in MODEL_FACTS:
            raise ValueError(f"unknown InvenSense model {model!r}; use one of "
                             f"{', '.join(MODEL_FACTS)}")
        self.model = model
        self.address = int(address)
        self.source = source
        self.clock = clock
        self.who_am_i, self.fifo_capacity_bytes, self._pwr1_reset, self._gen6500 = \
            MODEL_FACTS[model]
        self.sample_clock = SampleClock(clock_error)
        self.samples_generated = 0
        self.power_on_reset()

    # -- EmulatedChip protocol ---------------------------------------------------------------
    def power_on_reset(self) -> None:
        """Every register to its power-on value, FIFO empty, data registers zero."""
        self.regs = bytearray(128)
        self.regs[PWR_MGMT_1] = self._pwr1_reset
        self.regs[WHO_AM_I] = self.who_am_i
        self.fifo = bytearray()
        self._last_fifo_byte = 0
        self._latched_count = 0
        self._now_s = self.clock.now_s()
        self._restart_sampling()

    def read(self, register: int, length: int) -> bytes:
        self._catch_up()
        if register == FIFO_R_W:
            return self._pop_fifo(length)
        out = bytearray()
        reg = register & 0x7F
        while len(out) < length:
            if reg == FIFO_R_W:
                # The pointer stops on FIFO_R_W: the rest of the burst drains the FIFO.
                out += self._pop_fifo(length - len(out))
                break
            out.append(self._read_register(reg))
            reg = (reg + 1) & 0x7F
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        self._catch_up()
        reg = register & 0x7F
        for value in data:
            self._write_register(reg, value)
            if reg != FIFO_R_W:
                reg = (reg + 1) & 0x7F

    # -- introspection for tests -------------------------------------------------------------
    @property
    def output_rate_hz(self) -> float:
        """Nominal output data rate the registers currently select, Hz (0 when not sampling)."""
        if self.regs[PWR_MGMT_1] & _PWR_SLEEP or (self.regs[PWR_MGMT_1] & 0x07) == 7:
            return 0.0
        dlpf_cfg = self.regs[CONFIG] & 0x07
        if self._gen6500:
            if self.regs[GYRO_CONFIG] & 0x03:
                return 32000.0
            if dlpf_cfg in (0, 7):
                return 8000.0
            return 1000.0 / (1 + self.regs[SMPLRT_DIV])
        gyro_rate_hz = 8000.0 if dlpf_cfg in (0, 7) else 1000.0
        return gyro_rate_hz / (1 + self.regs[SMPLRT_DIV])

    @property
    def fifo_count(self) -> int:
        """Bytes in the FIFO now (catches up to the clock first)."""
        self._catch_up()
        return len(self.fifo)

    # -- registers ---------------------------------------------------------------------------
    def _read_register(self, reg: int) -> int:
        if reg == INT_STATUS:
            value = self.regs[INT_STATUS]
            self.regs[INT_STATUS] = 0   # cleared on read (INT_PIN_CFG INT_RD_CLEAR = 0)
            return value
        if reg == FIFO_COUNTH:
            # Reading COUNTH latches both count bytes (RM-MPU-9250A 4.36).
            self._latched_count = len(self.fifo)
            mask = 0x1F if self._gen6500 else 0xFF
            return (self._latched_count >> 8) & mask
        if reg == FIFO_COUNTL:
            return self._latched_count & 0xFF
        return self.regs[reg]

    def _write_register(self, reg: int, value: int) -> None:
        if reg in _READ_ONLY:
            return
        if reg == FIFO_R_W:
            return  # host writes into the FIFO are not emulated (DMP loading only)
        if reg == PWR_MGMT_1 and value & _PWR_DEVICE_RESET:
            self.power_on_reset()
            return
        if reg == USER_CTRL:
            if value & _USER_FIFO_RESET:
                self.fifo.clear()
            self.regs[USER_CTRL] = value & ~_USER_FIFO_RESET & 0xFF   # reset bit self-clears
            return
        old_rate_hz = self.output_rate_hz
        self.regs[reg] = value
        if reg in (PWR_MGMT_1, SMPLRT_DIV, CONFIG, GYRO_CONFIG) and \
                self.output_rate_hz != old_rate_hz:
            self._restart_sampling()

    def _restart_sampling(self) -> None:
        rate_hz = self.output_rate_hz
        if rate_hz > 0:
            self.sample_clock.start(rate_hz, self._now_s)
        else:
            self.sample_clock.stop()

    # -- sampling ----------------------------------------------------------------------------
    def _fifo_layout(self) -> list[int]:
        """Indices into [ax, ay, az, temp, gx, gy, gz] written per sample, register order."""
        fifo_en = self.regs[FIFO_EN]
        cols: list[int] = []
        if fifo_en & 0x08:
            cols += [0, 1, 2]
        if fifo_en & 0x80:
            cols.append(3)
        for bit, col in ((0x40, 4), (0x20, 5), (0x10, 6)):
            if fifo_en & bit:
                cols.append(col)
        return cols

    def _catch_up(self) -> None:
        self._now_s = max(self._now_s, self.clock.now_s())
        t_s = self.sample_clock.due(self._now_s)
        n = t_s.shape[0]
        if n == 0:
            return
        cols = self._fifo_layout() if self.regs[USER_CTRL] & _USER_FIFO_EN else []
        frame_bytes = 2 * len(cols)
        stop_mode = self._gen6500 and bool(self.regs[CONFIG] & _CONFIG_FIFO_MODE)
        if not frame_bytes:
            fifo_idx = np.zeros(0, dtype=np.int64)
        elif stop_mode:
            # Stop-when-full: only the first ticks that still fit can be stored.
            room = max(self.fifo_capacity_bytes - len(self.fifo), 0)
            fifo_idx = np.arange(min(n, -(-room // frame_bytes)))
        else:
            # Overwrite: only the newest `capacity` bytes can survive, so older ticks are
            # never sampled (keeps a long unread interval cheap).
            k = min(n, -(-self.fifo_capacity_bytes // frame_bytes))
            fifo_idx = np.arange(n - k, n)
        if fifo_idx.size and fifo_idx[-1] == n - 1:
            sample_idx = fifo_idx
        else:
            sample_idx = np.append(fifo_idx, n - 1)   # the data registers need the newest
        counts = self._counts(t_s[sample_idx])
        self.samples_generated += n
        if frame_bytes:
            self._push_fifo(counts[:fifo_idx.size][:, cols].astype(">i2").tobytes(),
                            total_bytes=n * frame_bytes, stop_mode=stop_mode)
        latest = counts[-1]
        self.regs[ACCEL_XOUT_H:GYRO_XOUT_H + 6] = latest.astype(">i2").tobytes()
        self.regs[INT_STATUS] |= _BIT_DATA_RDY

    def _counts(self, t_s: np.ndarray) -> np.ndarray:
        """int16 counts (m, 7): accel xyz, temperature, gyro xyz at the true times `t_s`."""
        acc_g, gyro_dps = self.source.sample(t_s)
        afs = (self.regs[ACCEL_CONFIG] >> 3) & 0x03
        gfs = (self.regs[GYRO_CONFIG] >> 3) & 0x03
        # Quantise with the nominal sensitivity: full scale = 32768 / (LSB per unit).
        acc = to_int16_counts(acc_g, 32768.0 / ACC_LSB_PER_G[afs])
        gyro = to_int16_counts(gyro_dps, 32768.0 / GYRO_LSB_PER_DPS[gfs])
        if self._gen6500:
            temp = round((_DIE_TEMPERATURE_C - 21.0) * 333.87)     # RM-MPU-6500A 4.19
        else:
            temp = round((_DIE_TEMPERATURE_C - 36.53) * 340.0)     # RM-MPU-6000A 4.18
        temp_col = np.full((t_s.shape[0], 1), temp, dtype=np.int16)
        return np.concatenate([acc, temp_col, gyro], axis=1)

    def _push_fifo(self, data: bytes, total_bytes: int, stop_mode: bool) -> None:
        """Append the bytes of the stored ticks; `total_bytes` is what all due ticks would
        have written (more than `data` when older ticks were skipped as already overwritten)."""
        capacity = self.fifo_capacity_bytes
        if stop_mode:
            room = capacity - len(self.fifo)
            self.fifo += data[:max(room, 0)]
            overflowed = total_bytes > room
        else:
            overflowed = len(self.fifo) + total_bytes > capacity
            self.fifo += data
            if len(self.fifo) > capacity:
                del self.fifo[:len(self.fifo) - capacity]
        if overflowed and self.regs[INT_ENABLE] & _BIT_FIFO_OFLOW:
            self.regs[INT_STATUS] |= _BIT_FIFO_OFLOW

    def _pop_fifo(self, length: int) -> bytes:
        n = min(length, len(self.fifo))
        out = bytes(self.fifo[:n])
        del self.fifo[:n]
        if n:
            self._last_fifo_byte = out[-1]
        return out + bytes([self._last_fifo_byte]) * (length - n)
