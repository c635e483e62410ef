"""Writers for the recording, steps and strides CSVs (../shared/spec/recording-csv.md).

    with RecordingWriter("run.csv", has_thorax=True, has_gyro=True,
                         comments=["source: pi-app record", "seed: 3"]) as out:
        for chunk in chunks:
            out.write(chunk)            # appended and flushed: an interrupted run keeps its rows

    write_steps_csv("run.steps.csv", steps)          # temp file, then renamed into place
    write_strides_csv("run.strides.csv", strides)

Numbers have a fixed format: time 6 decimals (1 us), acceleration 5 decimals (10 ug, below any
MEMS noise floor), angular rate 3 decimals (1 mdps). A NaN (a gap) is written as an empty field.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pi_app import __version__
from pi_app.analysis.types import Step, StrideMetrics
from pi_app.errors import InputFileError
from pi_app.frames import FrameChunk
from pi_app.recording.csv_reader import (STEPS_COLUMNS, STRIDES_COLUMNS, TIME_COLUMN,
                                         acc_columns, gyro_columns)

TIME_FORMAT = "%.6f"
ACC_FORMAT = "%.5f"
GYRO_FORMAT = "%.3f"


def recording_columns(has_thorax: bool, has_gyro: bool) -> list[str]:
    """Spec column names written for the given sensors, in the spec's order."""
    names = [TIME_COLUMN, *acc_columns("pelvis")]
    if has_gyro:
        names += gyro_columns("pelvis")
    if has_thorax:
        names += acc_columns("thorax")
        if has_gyro:
            names += gyro_columns("thorax")
    return names


def _comment_lines(comments: Iterable[str]) -> str:
    out = []
    for comment in comments:
        for line in str(comment).splitlines() or [""]:
            out.append("# " + line.lstrip("#").strip() + "\n")
    return "".join(out)


def _open_for_writing(path: Path):
    try:
        return open(path, "w", encoding="utf-8", newline="\n")
    except OSError as err:
        raise InputFileError(f"{path} cannot be written ({err.strerror}); check that the "
                             "folder exists and is writable.", path=str(path)) from None


class RecordingWriter:
    """Appends `FrameChunk`s to a recording CSV, flushing after each chunk.

    has_thorax / has_gyro choose the columns (only the sensors that exist are written; gyro
    columns are written for both segments when has_gyro). A chunk missing a sensor the writer
    has columns for gets empty fields there (a gap); sensors the writer has no columns for are
    ignored. `comments` become `#` provenance lines above the header, after one naming pi-app.
    """

    def __init__(self, path, *, has_thorax: bool = True, has_gyro: bool = True,
                 comments: Sequence[str] = ()):
        self.path = Path(path)
        self.has_thorax = bool(has_thorax)
        self.has_gyro = bool(has_gyro)
        self.columns = recording_columns(self.has_thorax, self.has_gyro)
        self.rows_written = 0
        self._parts: list[tuple[str, str]] = [("pelvis_acc_g", ACC_FORMAT)]
        if self.has_gyro:
            self._parts.append(("pelvis_gyro_dps", GYRO_FORMAT))
        if self.has_thorax:
            self._parts.append(("thorax_acc_g", ACC_FORMAT))
            if self.has_gyro:
                self._parts.append(("thorax_gyro_dps", GYRO_FORMAT))
        self._row_format = ",".join([TIME_FORMAT] + [fmt for _, fmt in self._parts
                                                     for _ in range(3)]) + "\n"
        self._file = _open_for_writing(self.path)
        self._file.write(_comment_lines([f"written by pi-app {__version__}", *comments]))
        self._file.write(",".join(self.columns) + "\n")
        self._file.flush()

    def write(self, chunk: FrameChunk) -> None:
        """Append the rows of `chunk` and flush them to the file."""
        n = len(chunk)
        if n == 0:
            return
        table = np.empty((n, 1 + 3 * len(self._parts)), dtype=np.float64)
        table[:, 0] = chunk.t_s
        for k, (name, _) in enumerate(self._parts):
            values = getattr(chunk, name)
            table[:, 1 + 3 * k:4 + 3 * k] = np.nan if values is None else values
        # A non-finite value is not a measurement: write it as a gap.
        table[:, 1:][~np.isfinite(table[:, 1:])] = np.nan
        text = (self._row_format * n) % tuple(table.ravel().tolist())
        if np.isnan(table).any():
            text = text.replace("nan", "")
        self._file.write(text)
        self._file.flush()
        self.rows_written += n

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_recording(path, chunks: Iterable[FrameChunk], *, has_thorax: bool = True,
                    has_gyro: bool = True, comments: Sequence[str] = ()) -> int:
    """Write all `chunks` to a recording CSV; returns the number of rows written."""
    with RecordingWriter(path, has_thorax=has_thorax, has_gyro=has_gyro,
                         comments=comments) as out:
        for chunk in chunks:
            out.write(chunk)
        return out.rows_written


def _write_atomically(path, text: str) -> None:
    """Write to a temp file beside `path`, then rename it over `path` (never half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with _open_for_writing(tmp) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except IsADirectoryError:
        raise InputFileError(f"{path} is a folder; give a file name to write.",
                             path=str(path)) from None
    except OSError as err:
        raise InputFileError(f"{path} cannot be written ({err.strerror}); check that the "
                             "folder exists and is writable.", path=str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _fmt(value: float | None, fmt: str) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return fmt % value


def _phase(value: float | None) -> str:
    """Phase in [0, 360) with 2 decimals (359.996 must not print as 360.00)."""
    if value is None or not math.isfinite(value):
        return ""
    return "%.2f" % (round(value % 360.0, 2) % 360.0)


def format_steps_csv(steps: Iterable[Step]) -> str:
    """Steps CSV text: `t_s,side`, time with 4 decimals (0.1 ms)."""
    rows = [",".join(STEPS_COLUMNS)]
    rows += [f"{_fmt(s.t_s, '%.4f')},{s.side or ''}" for s in steps]
    return "\n".join(rows) + "\n"


def format_strides_csv(strides: Iterable[StrideMetrics]) -> str:
    """Strides CSV text with the spec columns in spec order; empty field for None; drift 0/1."""
    rows = [",".join(STRIDES_COLUMNS)]
    for s in strides:
        rows.append(",".join([
            str(int(s.index)), _fmt(s.t_start_s, "%.4f"), _fmt(s.t_end_s, "%.4f"),
            _fmt(s.cadence_spm, "%.2f"), _fmt(s.pelvis_rom_deg, "%.2f"),
            _fmt(s.thorax_rom_deg, "%.2f"), _phase(s.pelvis_phase_deg),
            _phase(s.thorax_phase_deg), _phase(s.rel_phase_deg),
            "1" if s.drift else "0"]))
    return "\n".join(rows) + "\n"


def write_steps_csv(path, steps: Iterable[Step]) -> None:
    """Write a steps CSV (`t_s,side`) atomically."""
    _write_atomically(path, format_steps_csv(steps))


def write_strides_csv(path, strides: Iterable[StrideMetrics]) -> None:
    """Write a strides CSV (spec columns) atomically."""
    _write_atomically(path, format_strides_csv(strides))
