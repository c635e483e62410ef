"""Streaming reader for the recording CSV (interchange format, ../shared/spec/recording-csv.md),
plus small readers for the steps and strides CSVs.

    reader = RecordingReader("run.csv", chunk_rows=10_000)
    reader.rate_hz, reader.has_thorax, reader.has_gyro      # known after the header
    for chunk in reader:                                     # pi_app.frames.FrameChunk, in order
        ...

The file is never loaded whole: it is parsed in blocks of lines. A block of plain decimals
(empty fields allowed) is parsed by a vectorised numpy parser; another clean block (no
comments, no empty fields, the right number of fields everywhere) goes through numpy's C
parser; any other block is parsed line by line, which is also what produces the exact error
messages.
Every problem is one `InputFileError` sentence naming the file, the line and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import islice, repeat
from pathlib import Path
from typing import Iterator

import numpy as np

from pi_app.analysis.types import Step, StrideMetrics
from pi_app.errors import InputFileError
from pi_app.frames import SEGMENTS, FrameChunk

TIME_COLUMN = "time_s"
AXES = ("x", "y", "z")
MIN_RATE_HZ = 50.0
MAX_RATE_HZ = 2000.0
# A chip's oscillator is off by up to ~1-2 % (datasheets: MPU-6050 +-1 %, LSM6DSOX +-1.5 %
# typical), so a "2000 Hz" recording stamped with the chip's own clock may read a bit faster.
RATE_TOLERANCE = 0.03

# Uniformity check over fixed windows of consecutive intervals (independent of chunking):
# an interval is "irregular" if it is shorter than 0.75 periods, or between 1.25 and 1.75
# periods (neither one sample step nor a missing sample). Longer intervals are gaps.
_UNIFORMITY_WINDOW = 500
_MAX_IRREGULAR_PER_WINDOW = 50      # 10 %
_MAX_GAPS_PER_WINDOW = 250          # 50 %: more than that is a different rate, not a gap

_UTF8_BOM = b"\xef\xbb\xbf"

# Physical limits (absolute values) beyond which a value cannot be a measurement: the widest
# MEMS accelerometer range is +-400 g (ST H3LIS331DL), the widest gyroscope range +-4000 dps
# (ST LSM6DSV); time stamps beyond 1e10 s (year 2286 as Unix time) are corrupt.
MAX_ABS_ACC_G = 400.0
MAX_ABS_GYRO_DPS = 4000.0
MAX_ABS_TIME_S = 1e10
_POW10 = np.array([float(10 ** k) for k in range(16)])


def acc_columns(segment: str) -> tuple[str, str, str]:
    """Spec column names of a segment's accelerometer, x, y, z (g)."""
    x, y, z = (f"{segment}_acc_{a}_g" for a in AXES)
    return x, y, z


def gyro_columns(segment: str) -> tuple[str, str, str]:
    """Spec column names of a segment's gyroscope, x, y, z (deg/s)."""
    x, y, z = (f"{segment}_gyr_{a}_dps" for a in AXES)
    return x, y, z


def _display(path: Path) -> str:
    return str(path)


@dataclass
class _Block:
    """Parsed rows of one block of lines: values in `used` column order, time first."""

    values: np.ndarray          # (n, n_used) float64
    lines: np.ndarray           # (n,) int64, 1-based line number of each row


@dataclass
class _TimeState:
    """What the time checks carry from one block to the next."""

    last_t_s: float | None = None
    last_line: int | None = None
    n_intervals: int = 0
    window_irregular: int = 0
    window_gaps: int = 0


class RecordingReader:
    """Streams a recording CSV as `FrameChunk`s of `chunk_rows` rows (the last may be shorter).

    After construction (which reads the header and the first block) these are known:
    `columns` (header names in file order), `comments` (text of the `#` lines above the
    header), `has_thorax`, `has_gyro` (pelvis gyroscope present), `has_thorax_gyro`,
    `rate_hz` (sample rate estimated from the median time step, Hz), `header_line`.
    Iterating opens the file afresh each time, so a reader can be iterated more than once.
    Raises `InputFileError` (with `.path` and `.line`) for every malformed input.
    """

    def __init__(self, path, chunk_rows: int = 10_000, *, block_bytes: int = 1 << 20):
        self.path = Path(path)
        if chunk_rows < 1 or block_bytes < 1:
            raise ValueError("chunk_rows and block_bytes must be >= 1")
        self.chunk_rows = int(chunk_rows)
        self.block_bytes = int(block_bytes)
        self.comments: list[str] = []
        self.columns: tuple[str, ...] = ()
        self.header_line = 0
        self.has_thorax = self.has_gyro = self.has_thorax_gyro = False
        self.rate_hz = float("nan")
        #: Line number of a last line cut short (the file ends mid-row), skipped; else None.
        self.cut_line: int | None = None
        with self._open() as f:
            self._read_header(f)
            self._estimate_rate(f)

    # -- metadata ---------------------------------------------------------------------------
    @property
    def segments(self) -> tuple[str, ...]:
        """Segments present: ("pelvis",) or ("pelvis", "thorax")."""
        return ("pelvis", "thorax") if self.has_thorax else ("pelvis",)

    @property
    def used_columns(self) -> tuple[str, ...]:
        """The spec columns this reader returns, time first."""
        return tuple(name for name, _ in self._used)

    def _error(self, message: str, line: int | None = None) -> InputFileError:
        where = f"{_display(self.path)}" + (f", line {line}" if line is not None else "")
        return InputFileError(f"{where}: {message}", path=str(self.path), line=line)

    def _open(self):
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            raise InputFileError(
                f"{_display(self.path)} does not exist; check the path and the file name.",
                path=str(self.path)) from None
        except IsADirectoryError:
            raise InputFileError(
                f"{_display(self.path)} is a directory; give the path of a recording CSV file.",
                path=str(self.path)) from None
        except PermissionError:
            raise InputFileError(
                f"{_display(self.path)} cannot be read (permission denied); check its "
                "permissions.", path=str(self.path)) from None
        except OSError as err:
            raise InputFileError(
                f"{_display(self.path)} cannot be opened ({err.strerror}); check the path.",
                path=str(self.path)) from None
        return f

    def _read_header(self, f) -> None:
        line_no = 0
        header = None
        for raw in f:
            line_no += 1
            if line_no == 1 and raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM):]
            text = self._decode(raw, line_no)[0].rstrip("\r")
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                self.comments.append(stripped[1:].strip())
                continue
            header = text
            break
        if header is None:
            if line_no == 0:
                raise self._error("the file is empty; record or export a recording into it.")
            raise self._error("the file has no header row (only comments or blank lines); "
                              f"add a header such as '{TIME_COLUMN},"
                              f"{','.join(acc_columns('pelvis'))}' followed by data rows.")
        self.header_line = line_no
        names = [n.strip().strip('"').strip("'").strip() for n in header.split(",")]
        self.columns = tuple(names)
        self._n_fields = len(names)
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            if name and name in index:
                raise self._error(f"column '{name}' appears twice in the header; "
                                  "remove one of them.", line_no)
            index[name] = i
        if TIME_COLUMN not in index:
            _explain_spreadsheet_header(header, self._error, line_no)
            if all(_is_number(n) for n in names):
                raise self._error("the first non-comment line is data, not a header; add a "
                                  f"header row such as '{TIME_COLUMN},"
                                  f"{','.join(acc_columns('pelvis'))}'.", line_no)
            raise self._error(f"the header has no '{TIME_COLUMN}' column; add a time column "
                              "in seconds named time_s.", line_no)

        def group(cols: tuple[str, ...], what: str) -> bool:
            present = [c for c in cols if c in index]
            if present and len(present) < 3:
                missing = [c for c in cols if c not in index]
                raise self._error(f"the {what} has column(s) {', '.join(present)} but not "
                                  f"{', '.join(missing)}; give all three axes or none.",
                                  line_no)
            return bool(present)

        if not group(acc_columns("pelvis"), "pelvis accelerometer"):
            raise self._error("the header has no pelvis accelerometer columns; add "
                              f"{', '.join(acc_columns('pelvis'))} (in g).", line_no)
        self.has_gyro = group(gyro_columns("pelvis"), "pelvis gyroscope")
        self.has_thorax = group(acc_columns("thorax"), "thorax accelerometer")
        self.has_thorax_gyro = group(gyro_columns("thorax"), "thorax gyroscope")
        if self.has_thorax_gyro and not self.has_thorax:
            raise self._error("the header has thorax gyroscope columns but no thorax "
                              f"accelerometer; add {', '.join(acc_columns('thorax'))} or "
                              "remove the thorax columns.", line_no)
        used = [TIME_COLUMN, *acc_columns("pelvis")]
        if self.has_gyro:
            used += gyro_columns("pelvis")
        if self.has_thorax:
            used += acc_columns("thorax")
        if self.has_thorax_gyro:
            used += gyro_columns("thorax")
        self._used = [(name, index[name]) for name in used]
        self._limits = np.array([MAX_ABS_TIME_S if n == TIME_COLUMN else
                                 MAX_ABS_ACC_G if n.endswith("_g") else MAX_ABS_GYRO_DPS
                                 for n in used])

    # -- parsing ----------------------------------------------------------------------------
    def _blocks(self, f, first_line: int) -> Iterator[_Block]:
        """Parse the data lines after the header in blocks of about `block_bytes` bytes
        (always whole lines)."""
        line_no = first_line
        while True:
            raw = f.read(self.block_bytes)
            if not raw:
                return
            if not raw.endswith(b"\n"):
                raw += f.readline()
            if not raw.endswith(b"\n"):
                raw = self._drop_cut_last_line(raw, line_no)
                if not raw:
                    return
            block = None
            if b"#" not in raw and raw.count(b",") == raw.count(b"\n") * (self._n_fields - 1):
                block = self._parse_decimal(raw, line_no)
                if block is not None:
                    line_no += raw.count(b"\n")
                    if block.values.shape[0]:
                        self._check_range(block)
                        yield block
                    continue
            lines = self._decode(raw, line_no)
            if b"#" not in raw and raw.count(b",") == len(lines) * (self._n_fields - 1):
                block = self._parse_fast(lines, line_no)
            if block is None:
                block = self._parse_slow(lines, line_no)
            line_no += len(lines)
            if block.values.shape[0]:
                self._check_range(block)
                yield block

    def _drop_cut_last_line(self, raw: bytes, first_line: int) -> bytes:
        """`raw` ends the file without a newline. A last line with fewer fields than the
        header was cut (an interrupted write): drop it and remember its line number in
        `cut_line`; a complete last line without a newline is kept."""
        start = raw.rfind(b"\n") + 1
        last = raw[start:]
        text = last.decode("utf-8", errors="replace").strip()
        if not text or text.startswith("#") or text.count(",") == self._n_fields - 1:
            return raw + b"\n"
        self.cut_line = first_line + raw.count(b"\n", 0, start)
        return raw[:start]

    def _check_range(self, block: _Block) -> None:
        """A value beyond what any IMU can measure (e.g. 1e20) is corruption: name it."""
        over = np.abs(block.values) > self._limits
        if not over.any():
            return
        row, col = np.argwhere(over)[0]
        name = self._used[col][0]
        unit = "s" if name == TIME_COLUMN else name.rsplit("_", 1)[1]
        raise self._error(
            f"column '{name}' is {block.values[row, col]:.6g}, beyond any real sensor "
            f"(|value| <= {self._limits[col]:g} {unit}); fix the value or empty the field "
            "to mark a gap.", int(block.lines[row]))

    def _decode(self, raw: bytes, first_line: int) -> list[str]:
        """Lines of `raw` (split on \\n only, without it), decoded as UTF-8."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            for i, line in enumerate(raw.split(b"\n")):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    raise self._error("the file is not UTF-8 text; save it as UTF-8 "
                                      "(comma separated).", first_line + i) from None
            raise
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        return lines

    def _parse_decimal(self, raw: bytes, first_line: int) -> _Block | None:
        """Vectorised parser for the common case, ~3x faster than numpy's loadtxt: every line
        ends in \\n and holds exactly the header's number of fields, each a plain decimal
        (-?digits.digits, at most 15 digits) or empty (a gap). None for anything else, which
        the other parsers then handle (and explain). Each value is mantissa / 10**decimals
        with both exact in float64, so it is the correctly rounded number, as strtod gives."""
        b = np.frombuffer(raw, dtype=np.uint8)
        if b.size == 0 or b[-1] != 10:
            return None
        is_digit = (b - 48).astype(np.uint8) < 10
        is_sep = (b == 44) | (b == 10)
        is_dot = b == 46
        is_minus = b == 45
        n_sep = int(np.count_nonzero(is_sep))
        if (int(np.count_nonzero(is_digit)) + n_sep + int(np.count_nonzero(is_dot))
                + int(np.count_nonzero(is_minus))) != b.size:
            return None
        n_fields = self._n_fields
        sep = np.flatnonzero(is_sep)
        if n_sep % n_fields or not np.all(b[sep[n_fields - 1::n_fields]] == 10):
            return None
        n_lines = n_sep // n_fields
        if int(np.count_nonzero(b == 10)) != n_lines:
            return None
        starts = np.empty_like(sep)
        starts[0] = 0
        starts[1:] = sep[:-1] + 1
        # Per field (its characters and its separator): decimal points and minus signs.
        n_dots = np.add.reduceat(is_dot.view(np.uint8), starts, dtype=np.int64)
        n_minus = np.add.reduceat(is_minus.view(np.uint8), starts, dtype=np.int64)
        if n_sep and (n_dots.max() > 1 or n_minus.max() > 1):
            return None
        n_digits = (sep - starts) - n_dots - n_minus
        empty = sep == starts
        if np.any((n_digits == 0) != empty) or np.any(n_digits > 15):
            return None
        minus_field = np.flatnonzero(n_minus)
        if not np.array_equal(np.flatnonzero(is_minus), starts[minus_field]):
            return None   # a minus sign that does not open its field
        dot_field = np.flatnonzero(n_dots)
        pos = np.flatnonzero(is_digit)
        f = np.repeat(np.arange(n_sep), n_digits)
        # Digit weight: 10 ** (digits after it in its field); the sum stays below 2**53.
        weight = _POW10[np.cumsum(n_digits)[f] - np.arange(1, pos.size + 1)]
        mantissa = np.bincount(f, weights=(b[pos] - 48) * weight, minlength=n_sep)
        decimals = np.zeros(n_sep, dtype=np.int64)
        # Only digits follow a decimal point within its field.
        decimals[dot_field] = sep[dot_field] - np.flatnonzero(is_dot) - 1
        values = mantissa / _POW10[decimals]
        values[minus_field] *= -1.0
        values[empty] = np.nan
        values = values.reshape(n_lines, n_fields)[:, [i for _, i in self._used]]
        lines = np.arange(first_line, first_line + n_lines, dtype=np.int64)
        if np.isnan(values[:, 0]).any():
            present = ~np.isnan(values).all(axis=1)
            if np.isnan(values[present, 0]).any():
                return None   # a row with data but no time: the slow path says where
            values, lines = values[present], lines[present]
        return _Block(values, lines)

    def _parse_fast(self, lines: list[str], first_line: int) -> _Block | None:
        """numpy's C parser for a clean block; None when the block needs the careful path
        (blank lines, empty fields, bad values: the slow path explains them). The caller has
        checked that the block has no '#' and the right total number of commas."""
        n = len(lines)
        all_used = len(self._used) == self._n_fields
        if not all_used and set(map(str.count, lines, repeat(",", n))) != {self._n_fields - 1}:
            return None
        try:
            # Without usecols numpy also checks that every row has the same field count.
            values = np.loadtxt(lines, delimiter=",", comments=None, ndmin=2, dtype=np.float64,
                                usecols=None if all_used else [i for _, i in self._used])
        except ValueError:
            return None
        if values.shape[0] != n or values.shape[1] != (self._n_fields if all_used
                                                        else len(self._used)):
            return None
        if all_used:
            order = [i for _, i in self._used]
            if order != list(range(self._n_fields)):
                values = values[:, order]
        if not np.isfinite(values).all():
            return None
        return _Block(values, np.arange(first_line, first_line + n, dtype=np.int64))

    def _parse_slow(self, lines: list[str], first_line: int) -> _Block:
        """Line by line: comments, blank lines, empty fields (gaps) and exact errors."""
        rows: list[list[float]] = []
        row_lines: list[int] = []
        used = self._used
        n_fields = self._n_fields
        for i, line in enumerate(lines):
            line_no = first_line + i
            text = line.rstrip("\r")
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            fields = text.split(",")
            if len(fields) != n_fields:
                raise self._error(
                    f"this row has {len(fields)} fields but the header (line "
                    f"{self.header_line}) has {n_fields}; give one value per header column "
                    "(leave a field empty for a gap).", line_no)
            row = []
            n_present = 0
            for name, idx in used:
                value = fields[idx].strip()
                if not value:
                    row.append(math.nan)
                    continue
                number = _parse_number(value)
                if number is None:
                    shown = value if len(value) <= 20 else value[:17] + "..."
                    raise self._error(f"column '{name}' has {shown!r}, which is not a number; "
                                      "use plain decimal numbers (an empty field marks a gap).",
                                      line_no)
                if math.isinf(number):
                    raise self._error(f"column '{name}' is infinite; use a finite number or "
                                      "leave the field empty for a gap.", line_no)
                n_present += 1
                row.append(number)
            if n_present == 0:
                continue  # an entirely empty row: the time step over it shows the gap
            if math.isnan(row[0]):
                raise self._error(f"'{TIME_COLUMN}' is empty but the row has values; every "
                                  "row with data needs its time in seconds.", line_no)
            rows.append(row)
            row_lines.append(line_no)
        values = (np.asarray(rows, dtype=np.float64) if rows
                  else np.zeros((0, len(used)), dtype=np.float64))
        return _Block(values, np.asarray(row_lines, dtype=np.int64))

    # -- time checks ------------------------------------------------------------------------
    def _estimate_rate(self, f) -> None:
        """Sample rate from the median time step of the first rows (at least 2000 of them,
        whatever the block size, so the estimate does not depend on how the file is read)."""
        blocks = []
        n_rows = 0
        for block in self._blocks(f, self.header_line + 1):
            blocks.append(block)
            n_rows += block.values.shape[0]
            if n_rows >= 2000:
                break
        if not blocks:
            raise self._error("the file has a header but no data rows; it needs at least two "
                              "rows of samples.", self.header_line)
        first = _Block(np.concatenate([b.values for b in blocks])[:2000],
                       np.concatenate([b.lines for b in blocks])[:2000])
        t_s = first.values[:, 0]
        if t_s.shape[0] < 2:
            raise self._error("the file has only one data row; it needs at least two rows of "
                              "samples to know the sample rate.", int(first.lines[0]))
        dt_s = np.diff(t_s)
        bad = np.flatnonzero(dt_s <= 0)
        if bad.size:
            self._raise_not_increasing(t_s[bad[0]], int(first.lines[bad[0]]),
                                       t_s[bad[0] + 1], int(first.lines[bad[0] + 1]))
        period_s = float(np.median(dt_s))
        rate_hz = 1.0 / period_s
        if not (MIN_RATE_HZ * (1 - RATE_TOLERANCE) <= rate_hz
                <= MAX_RATE_HZ * (1 + RATE_TOLERANCE)):
            hint = " (is time_s in milliseconds?)" if rate_hz < MIN_RATE_HZ else ""
            raise self._error(
                f"the median time step is {period_s:.6g} s, i.e. a sample rate of "
                f"{rate_hz:.4g} Hz, outside the supported {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz; "
                f"give time_s in seconds and resample to that range{hint}.",
                int(first.lines[0]))
        self.rate_hz = rate_hz
        self._period_s = period_s

    def _raise_not_increasing(self, t0: float, line0: int, t1: float, line1: int):
        raise self._error(
            f"time_s goes from {t0:.9g} (line {line0}) to {t1:.9g} (line {line1}); time must "
            "be strictly increasing, so sort the rows and remove duplicate times.", line1)

    def _check_times(self, block: _Block, state: _TimeState) -> None:
        t_s = block.values[:, 0]
        lines = block.lines
        if state.last_t_s is None:
            t_prev, prev_lines, t_cur, lines = t_s[:-1], lines[:-1], t_s[1:], lines[1:]
        else:
            t_prev = np.concatenate(([state.last_t_s], t_s[:-1]))
            prev_lines = np.concatenate((np.asarray([state.last_line]), lines[:-1]))
            t_cur = t_s
        dt_s = t_cur - t_prev
        bad = np.flatnonzero(dt_s <= 0)
        if bad.size:
            k = bad[0]
            self._raise_not_increasing(t_prev[k], int(prev_lines[k]), t_cur[k], int(lines[k]))
        ratio = dt_s / self._period_s
        irregular = (ratio < 0.75) | ((ratio > 1.25) & (ratio < 1.75))
        gap = ratio >= 1.75
        # Walk the fixed windows this block's intervals fall into.
        start = 0
        n = ratio.shape[0]
        while start < n:
            in_window = state.n_intervals % _UNIFORMITY_WINDOW
            take = min(n - start, _UNIFORMITY_WINDOW - in_window)
            irr = irregular[start:start + take]
            gp = gap[start:start + take]
            irr_cum = state.window_irregular + np.cumsum(irr)
            gap_cum = state.window_gaps + np.cumsum(gp)
            over = np.flatnonzero((irr_cum > _MAX_IRREGULAR_PER_WINDOW)
                                  | (gap_cum > _MAX_GAPS_PER_WINDOW))
            if over.size:
                k = start + over[0]
                raise self._error(
                    f"the time steps around this line are wildly non-uniform (e.g. "
                    f"{dt_s[k]:.6g} s here, against a typical {self._period_s:.6g} s); a "
                    "recording must be sampled at one near-constant rate (a few missing rows "
                    "are fine), so resample it to a uniform rate.", int(lines[k]))
            state.window_irregular = int(irr_cum[-1]) if take else state.window_irregular
            state.window_gaps = int(gap_cum[-1]) if take else state.window_gaps
            state.n_intervals += take
            if state.n_intervals % _UNIFORMITY_WINDOW == 0:
                state.window_irregular = 0
                state.window_gaps = 0
            start += take
        state.last_t_s = float(t_s[-1])
        state.last_line = int(block.lines[-1])

    # -- iteration --------------------------------------------------------------------------
    def _checked_blocks(self) -> Iterator[_Block]:
        state = _TimeState()
        with self._open() as f:
            for _ in islice(f, self.header_line):
                pass
            for block in self._blocks(f, self.header_line + 1):
                self._check_times(block, state)
                yield block

    def _chunk(self, values: np.ndarray) -> FrameChunk:
        def cols(start: int) -> np.ndarray:
            return np.ascontiguousarray(values[:, start:start + 3])

        k = 1
        parts: dict[str, np.ndarray | None] = {}
        for segment in SEGMENTS:
            has_acc = segment == "pelvis" or self.has_thorax
            has_gyro = self.has_gyro if segment == "pelvis" else self.has_thorax_gyro
            parts[f"{segment}_acc_g"] = cols(k) if has_acc else None
            k += 3 if has_acc else 0
            parts[f"{segment}_gyro_dps"] = cols(k) if has_gyro else None
            k += 3 if has_gyro else 0
        return FrameChunk(t_s=np.ascontiguousarray(values[:, 0]), **parts)

    def __iter__(self) -> Iterator[FrameChunk]:
        pending: list[np.ndarray] = []
        n_pending = 0
        for block in self._checked_blocks():
            values = block.values
            while values.shape[0]:
                take = min(self.chunk_rows - n_pending, values.shape[0])
                pending.append(values[:take])
                n_pending += take
                values = values[take:]
                if n_pending == self.chunk_rows:
                    yield self._chunk(pending[0] if len(pending) == 1
                                      else np.concatenate(pending))
                    pending, n_pending = [], 0
        if n_pending:
            yield self._chunk(np.concatenate(pending))

    def read_all(self) -> FrameChunk:
        """The whole recording as one chunk (for short files and tests; long files should be
        iterated)."""
        values = list(self)

        def cat(name: str):
            arrays = [getattr(c, name) for c in values]
            return None if arrays[0] is None else np.concatenate(arrays)

        return FrameChunk(t_s=np.concatenate([c.t_s for c in values]),
                          pelvis_acc_g=cat("pelvis_acc_g"),
                          pelvis_gyro_dps=cat("pelvis_gyro_dps"),
                          thorax_acc_g=cat("thorax_acc_g"),
                          thorax_gyro_dps=cat("thorax_gyro_dps"))


def _explain_spreadsheet_header(header: str, error, line_no: int) -> None:
    """A header that names time_s but is not split by commas comes from a spreadsheet saved
    with ';' or tab separators (and usually comma decimals): say that, not 'no time_s'."""
    for sep, what in ((";", "semicolons"), ("\t", "tabs")):
        names = [n.strip().strip('"').strip("'").strip() for n in header.split(sep)]
        if sep in header and TIME_COLUMN in names:
            raise error(f"the columns are separated by {what}, not commas (a spreadsheet "
                        "export?); save it as CSV with comma separators and a dot as the "
                        "decimal point (in LibreOffice: Save As, Text CSV, field delimiter ','; "
                        "in Excel: an English-locale 'CSV (Comma delimited)').", line_no)


def _is_number(text: str) -> bool:
    return _parse_number(text.strip()) is not None


def _parse_number(text: str) -> float | None:
    """A plain ASCII decimal number (as numpy's parser accepts), else None. Python's float()
    also takes '1_000' and non-ASCII digits, which a CSV number never is."""
    if not text.isascii() or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


# -- steps and strides CSVs -------------------------------------------------------------------
STEPS_COLUMNS = ("t_s", "side")
STRIDES_COLUMNS = ("stride", "t_start_s", "t_end_s", "cadence_spm", "pelvis_rom_deg",
                   "thorax_rom_deg", "pelvis_phase_deg", "thorax_phase_deg", "rel_phase_deg",
                   "drift")


def _read_table(path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a small CSV with a header as (line number, {column: text}); `#` lines and blank
    lines are skipped; columns by name."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{p} does not exist; check the path and the file name.",
                             path=str(p)) from None
    except OSError as err:
        raise InputFileError(f"{p} cannot be read ({err.strerror}); check the path.",
                             path=str(p)) from None
    if text.startswith(_UTF8_BOM):
        text = text[len(_UTF8_BOM):]
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise InputFileError(f"{p} is not UTF-8 text; save it as UTF-8.", path=str(p)) from None
    header = None
    rows: list[tuple[int, dict[str, str]]] = []
    for i, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [x.strip() for x in line.split(",")]
        if header is None:
            header = fields
            missing = [c for c in required if c not in header]
            if missing:
                raise InputFileError(f"{p}, line {i}: the header lacks column(s) "
                                     f"{', '.join(missing)}; the header must name "
                                     f"{','.join(required)}.", path=str(p), line=i)
            continue
        if len(fields) != len(header):
            raise InputFileError(f"{p}, line {i}: this row has {len(fields)} fields but the "
                                 f"header has {len(header)}; give one value per column.",
                                 path=str(p), line=i)
        rows.append((i, dict(zip(header, fields))))
    if header is None:
        raise InputFileError(f"{p} is empty; it needs the header {','.join(required)}.",
                             path=str(p))
    return rows


def _number(p, line: int, column: str, text: str, optional: bool) -> float | None:
    if text == "" and optional:
        return None
    value = _parse_number(text)
    if value is None or not math.isfinite(value):
        raise InputFileError(f"{p}, line {line}: column '{column}' has {text!r}, which is not "
                             "a finite number; fix or empty that field.", path=str(p), line=line)
    return value


def _required_number(p, line: int, column: str, text: str) -> float:
    value = _number(p, line, column, text, optional=False)
    assert value is not None            # _number raises for an empty required field
    return value


def read_steps_csv(path) -> list[Step]:
    """Steps CSV (`t_s,side`) -> list of Step, in file order."""
    steps = []
    for line, row in _read_table(path, STEPS_COLUMNS):
        side = row["side"].upper()
        if side not in ("R", "L", ""):
            raise InputFileError(f"{path}, line {line}: side is {row['side']!r}; use R, L or "
                                 "leave it empty.", path=str(path), line=line)
        steps.append(Step(t_s=_required_number(path, line, "t_s", row["t_s"]), side=side))
    return steps


def read_strides_csv(path) -> list[StrideMetrics]:
    """Strides CSV (spec columns) -> list of StrideMetrics; empty fields become None and an
    empty `drift` becomes False."""
    strides = []
    for line, row in _read_table(path, STRIDES_COLUMNS):
        def num(col: str, optional: bool = True):
            return _number(path, line, col, row[col], optional)
        drift_text = row["drift"]
        if drift_text not in ("", "0", "1"):
            raise InputFileError(f"{path}, line {line}: drift is {drift_text!r}; use 0, 1 or "
                                 "leave it empty.", path=str(path), line=line)
        index = num("stride", False)
        if index != int(index):
            raise InputFileError(f"{path}, line {line}: stride is {row['stride']!r}; use a "
                                 "whole number.", path=str(path), line=line)
        strides.append(StrideMetrics(
            index=int(index), t_start_s=num("t_start_s", False), t_end_s=num("t_end_s", False),
            cadence_spm=num("cadence_spm", False), pelvis_rom_deg=num("pelvis_rom_deg"),
            thorax_rom_deg=num("thorax_rom_deg"), pelvis_phase_deg=num("pelvis_phase_deg"),
            thorax_phase_deg=num("thorax_phase_deg"), rel_phase_deg=num("rel_phase_deg"),
            drift=drift_text == "1"))
    return strides
