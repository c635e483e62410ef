"""Property-based tests (hypothesis) for the two readers of user files: the recording CSV reader
and the config loader. Any input gives a result or a `PiAppError` whose message is one line
naming the file, never another exception (a traceback for the user). Bounded: <= 200 examples
each, no deadline."""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pi_app.config import TABLES, Config, loads_config
from pi_app.errors import PiAppError
from pi_app.recording.csv_reader import RecordingReader

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# -- the recording CSV reader ---------------------------------------------------------------
AXES = [f"{seg}_{kind}_{ax}_{unit}" for seg in ("pelvis", "thorax")
        for kind, unit in (("acc", "g"), ("gyr", "dps")) for ax in "xyz"]
COLUMN = st.sampled_from(["time_s", *AXES, "extra", "", "time_s "]) | st.text(
    alphabet="abcdefgxyz_", max_size=8)
FIELD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-20, 20, allow_nan=False).map(lambda x: f"{x:.4f}"),
    st.integers(-10**20, 10**20).map(str),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-", ".", "1e", "1e999", "0x10", "1,5",
                     '"1.0"', "1.0.0", "--1", "+.5", "\t2"]),
    st.text(max_size=6))


@st.composite
def recording_texts(draw):
    """Recording-like CSV text: maybe comments, a header of (mostly) known columns, rows of
    numbers with gaps, junk, ragged lengths, unordered times."""
    lines = draw(st.lists(st.text(max_size=20).map(lambda t: "#" + t), max_size=2))
    header = draw(st.lists(COLUMN, min_size=0, max_size=8))
    if draw(st.booleans()):
        header = ["time_s", "pelvis_acc_x_g", "pelvis_acc_y_g", "pelvis_acc_z_g"] + header
    lines.append(",".join(header))
    n_rows = draw(st.integers(0, 40))
    regular = draw(st.booleans())
    rate_hz = draw(st.sampled_from([50.0, 100.0, 1000.0, 2000.0, 10.0, 5000.0]))
    for i in range(n_rows):
        if regular:
            fields = [f"{i / rate_hz:.6f}"] + [
                draw(st.sampled_from(["0.1", "-0.98", "", "1.0", "250.5"]))
                for _ in header[1:]]
            if draw(st.integers(0, 9)) == 0:
                fields[draw(st.integers(0, len(fields) - 1))] = draw(FIELD)
        else:
            fields = draw(st.lists(FIELD, max_size=len(header) + 2))
        lines.append(",".join(fields))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline]))


def check_recording(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.csv"
        path.write_bytes(data)
        try:
            reader = RecordingReader(path, chunk_rows=7, block_bytes=64)
            n = 0
            for chunk in reader:
                assert chunk.t_s.ndim == 1 and chunk.pelvis_acc_g.shape == (len(chunk), 3)
                # Times come out strictly increasing (the spec's rule), whatever came in.
                assert np.all(np.diff(chunk.t_s) > 0)
                n += len(chunk)
            assert n >= 1
        except PiAppError as err:
            message = str(err)
            assert message and "\n" not in message, repr(message)
            assert "rec.csv" in message, message


@pytest.mark.slow
@SETTINGS
@given(recording_texts())
def test_recording_reader_any_csv_text(text):
    check_recording(text.encode("utf-8"))


@SETTINGS
@given(st.binary(max_size=300))
def test_recording_reader_any_bytes(data):
    check_recording(data)


# -- the config loader ------------------------------------------------------------------------
FIELD_NAMES = {name: [f.name for f in dataclasses.fields(cls)] for name, cls in TABLES.items()}
VALUES = st.sampled_from([
    "1", "-1", "0", "1000", "1.5", "-0.0", "1e400", "nan", "inf", "-inf", "0x68", "0x6B",
    "true", "false", '"x"', '""', '"bandwidth"', '"faded"', '"off"', '"active"', "[]",
    "[1, 2]", "[[0, 1]]", "[[0, 1], [60, 0.5], [120, 0.25]]", "[[0, 0.3]]", "[[5, 1]]",
    "[[0, 1, 2]]", "{a = 1}", "1979-05-27", '"/tmp/x.toml"', "12_000", "0.015", "200"])


@st.composite
def config_texts(draw):
    """TOML-ish config text: real tables and keys (mostly), values of every kind, sometimes
    a broken line."""
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        table = draw(st.sampled_from(sorted(TABLES)) | st.text(alphabet="abcs_", max_size=6))
        lines.append(f"[{table}]")
        keys = FIELD_NAMES.get(table, ["x"])
        for _ in range(draw(st.integers(0, 4))):
            key = draw(st.sampled_from(keys) | st.text(alphabet="abcdefz_", min_size=1,
                                                          max_size=6))
            lines.append(f"{key} = {draw(VALUES)}")
    if draw(st.integers(0, 4)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=12)))
    return "\n".join(lines) + "\n"


def check_config(text: str) -> None:
    try:
        cfg = loads_config(text, source="test.toml")
    except PiAppError as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        assert "test.toml" in message, message
        return
    assert isinstance(cfg, Config)
    # What was accepted is usable: finite numbers in their documented ranges.
    for table in dataclasses.fields(Config):
        if table.name == "source":
            continue
        for f in dataclasses.fields(getattr(cfg, table.name)):
            value = getattr(getattr(cfg, table.name), f.name)
            if isinstance(value, float):
                assert math.isfinite(value), (table.name, f.name, value)
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            if lo is not None and isinstance(value, (int, float)):
                assert lo <= value <= hi, (table.name, f.name, value)


@SETTINGS
@given(config_texts())
def test_config_loader_any_config_like_text(text):
    check_config(text)


@SETTINGS
@given(st.text(max_size=200))
def test_config_loader_any_text(text):
    check_config(text)
