"""Register-level emulator of the ST LSM6DS3, LSM6DS3TR-C and LSM6DSOX (accelerometer +
gyroscope; embedded functions, sensor hub, OIS and interrupts are not emulated).

Register addresses, bits and reset values follow the datasheets DocID026899 (LSM6DS3),
DS12011 (LSM6DS3TR-C, register-compatible with the LSM6DSL) and DS12814 (LSM6DSOX). This
module keeps its own copy of the register map on purpose: it plays the chip, so a mistake in
the driver's constants is caught by the tests instead of being mirrored here.

What is emulated:

- WHO_AM_I (0x0F): 0x69 LSM6DS3, 0x6A LSM6DS3TR-C, 0x6C LSM6DSOX. CTRL3_C resets to 0x04
  (IF_INC = 1); everything else resets to 0, i.e. both sensors powered down, FIFO bypass.
- CTRL3_C SW_RESET (bit 0) returns all user registers to reset values and empties the FIFO;
  BOOT (bit 7) reloads trimming only (no visible effect). Both bits self-clear.
- CTRL1_XL ODR_XL (bits 7:4) and FS_XL (3:2: 00 = 2 g, 01 = 16 g, 10 = 4 g, 11 = 8 g; on the
  DSOX CTRL8_XL XL_FS_MODE = 1 turns 01 into 2 g as well), CTRL2_G ODR_G (7:4), FS_G (3:2:
  245/500/1000/2000 dps) and FS_125 (bit 1). ODR code 0 powers a sensor down. Samples are
  quantised with the datasheet sensitivities (0.061/0.122/0.244/0.488 mg/LSB,
  4.375/8.75/17.5/35/70 mdps/LSB), i.e. full scale = 32768 x sensitivity.
- One oscillator: the chip's `SampleClock` runs at the faster of the two ODRs; the slower
  sensor updates on every 2^k-th tick (the ODR codes are successive doublings).
- Output registers OUT_TEMP (0x20), OUTX_L_G..OUTZ_H_G (0x22..0x27), OUTX_L_XL..OUTZ_H_XL
  (0x28..0x2D), little-endian, holding the latest sample; STATUS_REG (0x1E) XLDA/GDA/TDA set
  by a new sample, cleared by reading the corresponding output registers. Die temperature is
  a constant 30 degC (16 LSB/degC on the DS3, 256 LSB/degC on the others, 0 LSB = 25 degC).
- CTRL3_C IF_INC: multi-byte accesses auto-increment the register address; on the FIFO output
  window (DS3/TR-C: FIFO_DATA_OUT_L/H 0x3E..0x3F, one 16-bit word; DSOX: FIFO_DATA_OUT_TAG +
  X/Y/Z 0x78..0x7E, one 7-byte word) the address rolls back to the window start after its
  last byte, which pops the word, so a FIFO can be read in one long burst.
- LSM6DS3 / LSM6DS3TR-C FIFO: FIFO_CTRL3 DEC_FIFO_GYRO (5:3) and DEC_FIFO_XL (2:0) choose the
  data sets (0 = not stored; any other factor is emulated as 1, no decimation), FIFO_CTRL5
  ODR_FIFO (6:3) and FIFO_MODE (2:0). Each FIFO tick stores gyro x/y/z then accel x/y/z
  (16-bit words). FIFO_STATUS1/2: DIFF_FIFO (12 bits DS3, 11 bits TR-C), FTH (7), OVER_RUN
  (6), FIFO_FULL (5, "full at the next ODR"), FIFO_EMPTY (4); FIFO_STATUS3/4: FIFO_PATTERN,
  the index in the data-set pattern of the next word to be read. Capacity 8 kbyte (4096
  words) on the DS3, 4 kbyte (2048 words) on the TR-C: neither is a whole number of 6-word
  frames, so after an overrun the head of the FIFO can be mid-pattern, as FIFO_PATTERN says.
- LSM6DSOX FIFO: FIFO_CTRL3 BDR_GY (7:4) / BDR_XL (3:0), FIFO_CTRL4 FIFO_MODE (2:0). Each word
  is a tag byte (TAG_SENSOR 7:3 = 0x01 gyro / 0x02 accel, TAG_CNT 2:1 counting time slots,
  TAG_PARITY 0 = odd parity of bits 7:1) and 6 data bytes; per time slot the gyro word comes
  before the accel word. FIFO_STATUS1/2: DIFF_FIFO (10 bits), FIFO_WTM_IA (7), FIFO_OVR_IA
  (6), FIFO_FULL_IA (5), FIFO_OVR_LATCHED (3, cleared on reading FIFO_STATUS2). Capacity 512
  words (3 kbyte of data; the datasheet's "9 kbyte" assumes 3:1 compression, not emulated).
- FIFO modes: bypass (0, empties the FIFO), FIFO (1, stops when full), continuous (6; also 3,
  continuous-to-FIFO without a trigger): when full the oldest words are overwritten and the
  overrun flag set (until the FIFO is read or reset). Bypass-to-continuous (4) and the DSOX
  bypass-to-FIFO (7) wait for a trigger that is not emulated, so they behave as bypass.

Every bus access first catches the chip up to `clock.now_s()`, sampling all due ticks in one
vectorised `source.sample` call, and only the ticks whose words can still be in the FIFO.
"""

from __future__ import annotations

import numpy as np

from pi_app.clock import Clock
from pi_app.sim.chips.base import MotionSource, SampleClock, to_int16_counts

# -- register addresses (user bank) ----------------------------------------------------------
_DS3_FIFO_CTRL1 = 0x06      # DS3/TR-C: FTH[7:0]
_DS3_FIFO_CTRL2 = 0x07      # DS3/TR-C: FTH[11:8] / FTH[10:8]
_DS3_FIFO_CTRL3 = 0x08      # DS3/TR-C: DEC_FIFO_GYRO 5:3, DEC_FIFO_XL 2:0
_DS3_FIFO_CTRL5 = 0x0A      # DS3/TR-C: ODR_FIFO 6:3, FIFO_MODE 2:0
_OX_FIFO_CTRL1 = 0x07       # DSOX: WTM[7:0]
_OX_FIFO_CTRL2 = 0x08       # DSOX: WTM8 = bit 0
_OX_FIFO_CTRL3 = 0x09       # DSOX: BDR_GY 7:4, BDR_XL 3:0
_OX_FIFO_CTRL4 = 0x0A       # DSOX: FIFO_MODE 2:0
WHO_AM_I = 0x0F
CTRL1_XL = 0x10
CTRL2_G = 0x11
CTRL3_C = 0x12
CTRL8_XL = 0x17
STATUS_REG = 0x1E
OUT_TEMP_L = 0x20
OUTX_L_G = 0x22
OUTX_L_XL = 0x28
FIFO_STATUS1 = 0x3A
FIFO_STATUS2 = 0x3B
FIFO_STATUS3 = 0x3C
FIFO_STATUS4 = 0x3D
_DS3_FIFO_DATA_OUT_L = 0x3E
_OX_FIFO_DATA_OUT_TAG = 0x78

_CTRL3_RESET = 0x04          # IF_INC = 1
_CTRL3_BOOT = 0x80
_CTRL3_IF_INC = 0x04
_CTRL3_SW_RESET = 0x01

_TAG_GYRO = 0x01
_TAG_ACCEL = 0x02

# model -> (WHO_AM_I, tagged FIFO (DSOX), FIFO capacity in words, DIFF_FIFO bits,
#           max gyro ODR code, temperature LSB per degC)
MODEL_FACTS = {
    "LSM6DS3": (0x69, False, 4096, 12, 8, 16.0),
    "LSM6DS3TR-C": (0x6A, False, 2048, 11, 10, 256.0),
    "LSM6DSOX": (0x6C, True, 512, 10, 10, 256.0),
}

# Nominal ODR per 4-bit code (code 0 = power-down). The DSOX datasheet rounds differently.
ODR_HZ = (0.0, 12.5, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0, 3333.0, 6666.0)
ODR_HZ_DSOX = (0.0, 12.5, 26.0, 52.0, 104.0, 208.0, 417.0, 833.0, 1667.0, 3333.0, 6667.0)

# Sensitivities per FS code (datasheet table 3 of each part; identical on the three parts).
_ACC_G_PER_LSB = {0b00: 0.061e-3, 0b01: 0.488e-3, 0b10: 0.122e-3, 0b11: 0.244e-3}
_GYRO_DPS_PER_LSB = {0b00: 8.75e-3, 0b01: 17.5e-3, 0b10: 35e-3, 0b11: 70e-3}
_GYRO_125_DPS_PER_LSB = 4.375e-3

_DIE_TEMPERATURE_C = 30.0

_READ_ONLY = frozenset({WHO_AM_I, STATUS_REG, FIFO_STATUS1, FIFO_STATUS2, FIFO_STATUS3,
                        FIFO_STATUS4} | set(range(OUT_TEMP_L, OUTX_L_XL + 6)))


def _odd_parity_tag(tag_sensor: np.ndarray, tag_cnt: np.ndarray) -> np.ndarray:
    """Tag bytes with bit 0 making the byte's bit count odd (the datasheet only says 'parity
    of the tag content'; the driver does not rely on it)."""
    upper = ((tag_sensor << 3) | (tag_cnt << 1)).astype(np.uint8)
    ones = np.unpackbits(upper[:, None], axis=1).sum(axis=1)
    return (upper | ((ones + 1) & 1)).astype(np.uint8)


class StChip:
    """One emulated LSM6DS3 / LSM6DS3TR-C / LSM6DSOX at `address` (7-bit), sampling `source`
    on its own clock that runs `clock_error` (fraction, e.g. 0.002 = 0.2 % fast) off the bus
    `clock`."""

    def __init__(self, model: str, address: int, source: MotionSource, clock: Clock,
                 clock_error: float = 0.0):
        if model not in MODEL_FACTS:
            raise ValueError(f"unknown ST model {model!r}; use one of {', '.join(MODEL_FACTS)}")
        self.model = model
        self.address = int(address)
        self.source = source
        self.clock = clock
        (self.who_am_i, self.tagged_fifo, self.fifo_capacity_words, diff_bits,
         self._max_gyro_code, self._temp_lsb_per_c) = MODEL_FACTS[model]
        self._diff_max = (1 << diff_bits) - 1
        self.word_bytes = 7 if self.tagged_fifo else 2
        self._window = _OX_FIFO_DATA_OUT_TAG if self.tagged_fifo else _DS3_FIFO_DATA_OUT_L
        self._odr_table = ODR_HZ_DSOX if self.tagged_fifo else ODR_HZ
        self.sample_clock = SampleClock(clock_error)
        self.samples_generated = 0
        self.power_on_reset()

    # -- EmulatedChip protocol ---------------------------------------------------------------
    def power_on_reset(self) -> None:
        """Every register to its power-on value, FIFO empty, output registers zero."""
        self._now_s = self.clock.now_s()
        self._reset_registers()

    def read(self, register: int, length: int) -> bytes:
        self._catch_up()
        out = bytearray()
        reg = register & 0x7F
        inc = bool(self.regs[CTRL3_C] & _CTRL3_IF_INC)
        while len(out) < length:
            if inc and reg == self._window and len(out) + self.word_bytes <= length:
                # Fast path: whole FIFO words from the start of the output window.
                out += self._pop_words((length - len(out)) // self.word_bytes)
                continue
            out.append(self._read_register(reg))
            reg = self._next_address(reg, inc)
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        self._catch_up()
        reg = register & 0x7F
        inc = bool(self.regs[CTRL3_C] & _CTRL3_IF_INC)
        for value in data:
            self._write_register(reg, value)
            reg = self._next_address(reg, inc)

    # -- introspection for tests -------------------------------------------------------------
    @property
    def fifo_words(self) -> int:
        """Unread words in the FIFO now (16-bit words on the DS3/TR-C, 7-byte words on the
        DSOX)."""
        self._catch_up()
        return self._level()

    def _level(self) -> int:
        return len(self.fifo) // self.word_bytes

    @property
    def acc_rate_hz(self) -> float:
        return self._odr_table[self._acc_code()]

    @property
    def gyro_rate_hz(self) -> float:
        return self._odr_table[self._gyro_code()]

    @property
    def acc_g_per_lsb(self) -> float:
        fs = (self.regs[CTRL1_XL] >> 2) & 0x03
        if self.tagged_fifo and fs == 0b01 and self.regs[CTRL8_XL] & 0x02:
            fs = 0b00    # DSOX XL_FS_MODE = 1: the old 16 g code means 2 g
        return _ACC_G_PER_LSB[fs]

    @property
    def gyro_dps_per_lsb(self) -> float:
        if self.regs[CTRL2_G] & 0x02:
            return _GYRO_125_DPS_PER_LSB
        return _GYRO_DPS_PER_LSB[(self.regs[CTRL2_G] >> 2) & 0x03]

    # -- registers ---------------------------------------------------------------------------
    def _reset_registers(self) -> None:
        self.regs = bytearray(128)
        self.regs[WHO_AM_I] = self.who_am_i
        self.regs[CTRL3_C] = _CTRL3_RESET
        self._latest = np.zeros(7, dtype=np.int16)     # temp, gyro xyz, accel xyz
        self._latest[0] = round((_DIE_TEMPERATURE_C - 25.0) * self._temp_lsb_per_c)
        self._new_xl = self._new_g = self._new_t = False
        self._held_gyro = np.zeros(3, dtype=np.int16)
        self._held_acc = np.zeros(3, dtype=np.int16)
        self._empty_fifo()
        self._restart_sampling()

    def _empty_fifo(self) -> None:
        self.fifo = bytearray()
        self._words_out = 0          # words that left the FIFO since the last reset (pattern)
        self._slot_count = 0         # DSOX TAG_CNT source
        self._overrun = False
        self._overrun_latched = False

    def _next_address(self, reg: int, inc: bool) -> int:
        if not inc:
            return reg
        if reg == self._window + self.word_bytes - 1:
            return self._window         # the FIFO output window rolls back
        return (reg + 1) & 0x7F

    def _read_register(self, reg: int) -> int:
        if self._window <= reg < self._window + self.word_bytes:
            offset = reg - self._window
            value = self.fifo[offset] if len(self.fifo) >= self.word_bytes else 0
            if offset == self.word_bytes - 1:
                self._pop_words(1)
            return value
        if OUT_TEMP_L <= reg < OUTX_L_XL + 6:
            return self._read_output(reg)
        if reg == STATUS_REG:
            return int(self._new_xl) | int(self._new_g) << 1 | int(self._new_t) << 2
        if FIFO_STATUS1 <= reg <= FIFO_STATUS4:
            return self._fifo_status(reg)
        return self.regs[reg]

    def _read_output(self, reg: int) -> int:
        raw = self._latest.astype("<i2").tobytes()
        if reg < OUTX_L_G:
            self._new_t = False
        elif reg < OUTX_L_XL:
            self._new_g = False
        else:
            self._new_xl = False
        return raw[reg - OUT_TEMP_L]

    def _fifo_status(self, reg: int) -> int:
        level = self._level()
        diff = min(level, self._diff_max)
        per_tick = max(self._words_per_tick(), 1)
        will_be_full = level + per_tick > self.fifo_capacity_words
        threshold = self._fifo_threshold()
        if reg == FIFO_STATUS1:
            return diff & 0xFF
        if reg == FIFO_STATUS2:
            value = (diff >> 8) | (threshold > 0 and level >= threshold) << 7 \
                | self._overrun << 6 | will_be_full << 5
            if self.tagged_fifo:
                value |= self._overrun_latched << 3
                self._overrun_latched = False    # FIFO_OVR_LATCHED clears on read
            else:
                value |= (level == 0) << 4
            return value
        if self.tagged_fifo:
            return 0                           # 0x3C/0x3D are reserved on the DSOX
        pattern_len = 3 * len(self._ds3_sets())
        pattern = self._words_out % pattern_len if pattern_len else 0
        return pattern & 0xFF if reg == FIFO_STATUS3 else (pattern >> 8) & 0x03

    def _write_register(self, reg: int, value: int) -> None:
        if reg in _READ_ONLY or self._window <= reg < self._window + self.word_bytes:
            return
        if reg == CTRL3_C:
            if value & _CTRL3_SW_RESET:
                self._reset_registers()
                return
            self.regs[CTRL3_C] = value & ~(_CTRL3_BOOT | _CTRL3_SW_RESET) & 0xFF
            return
        old_base = self._base_code()
        self.regs[reg] = value
        if reg == self._fifo_mode_register() and self._fifo_mode() == 0:
            self._empty_fifo()
        if reg in (CTRL1_XL, CTRL2_G) and self._base_code() != old_base:
            self._restart_sampling()

    # -- configuration decoded from registers --------------------------------------------------
    def _acc_code(self) -> int:
        code = self.regs[CTRL1_XL] >> 4
        return code if code <= 10 else 0     # DSOX 1.6 Hz low-power code not emulated

    def _gyro_code(self) -> int:
        code = self.regs[CTRL2_G] >> 4
        return min(code, self._max_gyro_code) if code <= 10 else 0

    def _base_code(self) -> int:
        return max(self._acc_code(), self._gyro_code())

    def _fifo_mode_register(self) -> int:
        return _OX_FIFO_CTRL4 if self.tagged_fifo else _DS3_FIFO_CTRL5

    def _fifo_mode(self) -> int:
        """0 bypass, 1 FIFO (stop when full), 6 continuous; others mapped as documented."""
        mode = self.regs[self._fifo_mode_register()] & 0x07
        if mode == 3:
            return 6
        if mode in (1, 6):
            return mode
        return 0

    def _fifo_threshold(self) -> int:
        if self.tagged_fifo:
            return self.regs[_OX_FIFO_CTRL1] | (self.regs[_OX_FIFO_CTRL2] & 0x01) << 8
        return self.regs[_DS3_FIFO_CTRL1] | (self.regs[_DS3_FIFO_CTRL2] & 0x0F) << 8

    def _ds3_sets(self) -> list[str]:
        """Data sets stored per FIFO tick (DS3/TR-C), in FIFO order."""
        ctrl3 = self.regs[_DS3_FIFO_CTRL3]
        sets = []
        if (ctrl3 >> 3) & 0x07 and self._gyro_code():
            sets.append("gyro")
        if ctrl3 & 0x07 and self._acc_code():
            sets.append("acc")
        return sets

    def _fifo_divisors(self) -> tuple[int, int]:
        """FIFO write period in base ticks for (gyro, accel); 0 = not written."""
        base = self._base_code()
        g_code, a_code = self._gyro_code(), self._acc_code()
        if self.tagged_fifo:
            ctrl3 = self.regs[_OX_FIFO_CTRL3]
            g_bdr, a_bdr = ctrl3 >> 4, ctrl3 & 0x0F
            g_eff = min(g_bdr, g_code) if 0 < g_bdr <= 10 else 0
            a_eff = min(a_bdr, a_code) if 0 < a_bdr <= 10 else 0
            return ((1 << (base - g_eff)) if g_eff else 0,
                    (1 << (base - a_eff)) if a_eff else 0)
        odr_fifo = (self.regs[_DS3_FIFO_CTRL5] >> 3) & 0x0F
        if not 0 < odr_fifo <= 10 or not base:
            return 0, 0
        div = 1 << (base - min(odr_fifo, base))
        sets = self._ds3_sets()
        return (div if "gyro" in sets else 0, div if "acc" in sets else 0)

    def _words_per_tick(self) -> int:
        g_div, a_div = self._fifo_divisors()
        if self.tagged_fifo:
            return int(bool(g_div)) + int(bool(a_div))
        return 3 * (int(bool(g_div)) + int(bool(a_div)))

    def _restart_sampling(self) -> None:
        base = self._base_code()
        self._tick = 0
        if base:
            self.sample_clock.start(self._odr_table[base], self._now_s)
        else:
            self.sample_clock.stop()

    # -- sampling ----------------------------------------------------------------------------
    def _catch_up(self) -> None:
        self._now_s = max(self._now_s, self.clock.now_s())
        t_s = self.sample_clock.due(self._now_s)
        n = t_s.shape[0]
        if n == 0:
            return
        base = self._base_code()
        ticks = self._tick + 1 + np.arange(n)
        self._tick += n
        self.samples_generated += n
        g_period = 1 << (base - self._gyro_code()) if self._gyro_code() else 0
        a_period = 1 << (base - self._acc_code()) if self._acc_code() else 0
        g_div, a_div = self._fifo_divisors()
        mode = self._fifo_mode()
        writes = np.zeros(n, dtype=bool)
        for div in (g_div, a_div):
            if div and mode:
                writes |= ticks % div == 0
        write_idx = np.flatnonzero(writes)
        per_tick = self._words_per_tick()
        if self.tagged_fifo:
            total_words = sum(int(np.count_nonzero(ticks % d == 0)) for d in (g_div, a_div) if d)
            min_words = 1
        else:
            total_words = write_idx.size * per_tick
            min_words = per_tick
        # Ticks whose FIFO words will be overwritten within this catch-up need no sampling.
        first = 0
        if write_idx.size and mode == 6 and per_tick:
            keep = -(-self.fifo_capacity_words // min_words) + 1
            if write_idx.size > keep:
                first = int(write_idx[-keep])
        elif mode == 1 and write_idx.size and per_tick:
            room_ticks = -(-(self.fifo_capacity_words - self._level()) // per_tick) + 1
            write_idx = write_idx[:max(room_ticks, 0)]
        first = max(first - max(g_period, a_period, 1), 0)
        acc_g, gyro_dps = self.source.sample(t_s[first:])
        acc = to_int16_counts(acc_g, 32768.0 * self.acc_g_per_lsb)
        gyro = to_int16_counts(gyro_dps, 32768.0 * self.gyro_dps_per_lsb)
        k = ticks[first:]
        gyro_held = self._hold(gyro, k, g_period, self._held_gyro)
        acc_held = self._hold(acc, k, a_period, self._held_acc)
        if g_period:
            self._held_gyro = gyro_held[-1].copy()
            self._latest[1:4] = self._held_gyro
            self._new_g = True
        if a_period:
            self._held_acc = acc_held[-1].copy()
            self._latest[4:7] = self._held_acc
            self._new_xl = True
        self._new_t = True
        if mode and per_tick:
            stored = write_idx[write_idx >= first] - first
            words = self._encode_words(gyro_held[stored], acc_held[stored], ticks[first:][stored],
                                       g_div, a_div)
            self._push_fifo(words, total_words, mode)

    @staticmethod
    def _hold(values: np.ndarray, ticks: np.ndarray, period: int,
              held: np.ndarray) -> np.ndarray:
        """Per tick, the sensor's value from its own most recent update (it updates on ticks
        that are multiples of `period`); `held` is the value before these ticks."""
        if period <= 1:
            return values if period == 1 else np.repeat(held[None, :], len(ticks), axis=0)
        own = np.flatnonzero(ticks % period == 0)
        idx = np.searchsorted(own, np.arange(len(ticks)), side="right") - 1
        out = np.repeat(held[None, :], len(ticks), axis=0)
        has = idx >= 0
        out[has] = values[own[idx[has]]]
        return out

    def _encode_words(self, gyro: np.ndarray, acc: np.ndarray, ticks: np.ndarray,
                      g_div: int, a_div: int) -> bytes:
        """FIFO bytes for the FIFO ticks `ticks` with held sensor values."""
        m = len(ticks)
        if m == 0:
            return b""
        g_due = (ticks % g_div == 0) if g_div else np.zeros(m, dtype=bool)
        a_due = (ticks % a_div == 0) if a_div else np.zeros(m, dtype=bool)
        if not self.tagged_fifo:
            # DS3/TR-C: all enabled data sets at every FIFO tick (one ODR_FIFO for both).
            parts = ([gyro] if g_div else []) + ([acc] if a_div else [])
            return np.concatenate(parts, axis=1).astype("<i2").tobytes()
        slot = g_due | a_due
        cnt = (self._slot_count + np.cumsum(slot) - 1) & 0x03
        self._slot_count += int(np.count_nonzero(slot))
        words = np.zeros((m, 2, 7), dtype=np.uint8)
        words[:, 0, 0] = _odd_parity_tag(np.full(m, _TAG_GYRO), cnt)
        words[:, 1, 0] = _odd_parity_tag(np.full(m, _TAG_ACCEL), cnt)
        words[:, 0, 1:] = gyro.astype("<i2").view(np.uint8).reshape(m, 6)
        words[:, 1, 1:] = acc.astype("<i2").view(np.uint8).reshape(m, 6)
        return words[np.stack([g_due, a_due], axis=1)].tobytes()

    def _push_fifo(self, data: bytes, total_words: int, mode: int) -> None:
        """Store `data` (whole words). In continuous mode `total_words` is how many words all
        due ticks wrote, more than `data` holds when older ticks were skipped as overwritten."""
        cap_bytes = self.fifo_capacity_words * self.word_bytes
        if mode == 1:
            room = cap_bytes - len(self.fifo)
            self.fifo += data[:max(room - room % self.word_bytes, 0)]
            return
        overflow_words = self._level() + total_words - self.fifo_capacity_words
        self.fifo += data
        if len(self.fifo) > cap_bytes:
            del self.fifo[:len(self.fifo) - cap_bytes]
        if overflow_words > 0:
            self._overrun = self._overrun_latched = True
            self._words_out += overflow_words

    def _pop_words(self, n_words: int) -> bytes:
        n_bytes = min(n_words * self.word_bytes, len(self.fifo))
        out = bytes(self.fifo[:n_bytes])
        del self.fifo[:n_bytes]
        popped = n_bytes // self.word_bytes
        if popped:
            self._words_out += popped
            self._overrun = False          # no longer completely filled
        return out + bytes(n_words * self.word_bytes - n_bytes)
