"""Recording / steps / strides CSV reader and writer (../shared/spec/recording-csv.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pi_app.analysis.types import Step, StrideMetrics
from pi_app.errors import InputFileError
from pi_app.frames import FrameChunk
from pi_app.recording.csv_reader import (STRIDES_COLUMNS, RecordingReader, read_steps_csv,
                                         read_strides_csv)
from pi_app.recording.csv_writer import (RecordingWriter, format_strides_csv, write_recording,
                                         write_steps_csv, write_strides_csv)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HEADER = "time_s,pelvis_acc_x_g,pelvis_acc_y_g,pelvis_acc_z_g"


def make_chunk(n=500, rate_hz=100.0, thorax=True, gyro=True, seed=0, t0_s=0.0) -> FrameChunk:
    rng = np.random.default_rng(seed)
    t_s = t0_s + np.arange(n) / rate_hz

    def arr(scale):
        return rng.normal(0.0, scale, (n, 3))

    return FrameChunk(t_s, arr(1.0), arr(200.0) if gyro else None,
                      arr(1.0) if thorax else None, arr(200.0) if thorax and gyro else None)


def write_text(tmp_path, text: str, name="rec.csv", encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def rows(n, rate_hz=100.0, start_line_t=0.0):
    return "".join(f"{start_line_t + i / rate_hz:.6f},{0.1 * i:.3f},0.5,1.0\n" for i in range(n))


def assert_chunks_close(a: FrameChunk, b: FrameChunk):
    np.testing.assert_allclose(a.t_s, b.t_s, atol=5e-7, rtol=0)
    for name, tol in (("pelvis_acc_g", 5e-6), ("pelvis_gyro_dps", 5e-4),
                      ("thorax_acc_g", 5e-6), ("thorax_gyro_dps", 5e-4)):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_allclose(x, y, atol=tol, rtol=0, err_msg=name)


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("thorax,gyro", [(True, True), (False, True), (False, False),
                                         (True, False)])
def test_round_trip_within_format_precision(tmp_path, thorax, gyro):
    chunk = make_chunk(thorax=thorax, gyro=gyro)
    p = tmp_path / "run.csv"
    assert write_recording(p, [chunk.slice(0, 200), chunk.slice(200, 500)], has_thorax=thorax,
                           has_gyro=gyro, comments=["seed: 0", "two\nlines"]) == 500
    reader = RecordingReader(p)
    assert reader.has_thorax == thorax and reader.has_gyro == gyro
    assert reader.rate_hz == pytest.approx(100.0, rel=1e-6)
    assert reader.comments[1:] == ["seed: 0", "two", "lines"]
    assert_chunks_close(reader.read_all(), chunk)


def test_writer_gaps_become_empty_fields_and_read_back_as_nan(tmp_path):
    chunk = make_chunk(n=300)
    chunk.pelvis_acc_g[10:20] = np.nan
    chunk.thorax_gyro_dps[50] = np.inf
    p = tmp_path / "gap.csv"
    with RecordingWriter(p) as out:
        out.write(chunk)
        out.write(FrameChunk(chunk.t_s[-1] + 0.01 + np.arange(5) / 100.0,
                             np.ones((5, 3))))       # thorax and gyro missing in this chunk
    text = p.read_text()
    assert "nan" not in text and "inf" not in text
    back = RecordingReader(p).read_all()
    assert np.isnan(back.pelvis_acc_g[10:20]).all()
    assert np.isnan(back.thorax_gyro_dps[50]).all()
    assert np.isnan(back.thorax_acc_g[300:]).all() and np.isnan(back.pelvis_gyro_dps[300:]).all()
    assert np.isfinite(back.pelvis_acc_g[300:]).all()


def test_interrupted_writer_keeps_flushed_rows(tmp_path):
    p = tmp_path / "cut.csv"
    out = RecordingWriter(p, has_thorax=False, has_gyro=False)
    out.write(make_chunk(n=100, thorax=False, gyro=False))
    # Not closed (as after a crash): what was written is already a valid recording.
    assert len(RecordingReader(p).read_all()) == 100
    out.close()


@pytest.mark.slow
def test_chunking_gives_same_data_as_one_chunk(tmp_path):
    chunk = make_chunk(n=2500, rate_hz=500.0, seed=3)
    chunk.pelvis_acc_g[700:705] = np.nan
    p = tmp_path / "c.csv"
    write_recording(p, [chunk])
    text = p.read_text().splitlines(keepends=True)
    text.insert(900, "# a comment in the middle\n")
    text.insert(1500, "\n")
    p.write_text("".join(text))
    whole = RecordingReader(p, chunk_rows=10**6).read_all()
    for chunk_rows, block_bytes in ((1, 10**9), (7, 333), (1000, 4096), (2500, 50)):
        reader = RecordingReader(p, chunk_rows=chunk_rows, block_bytes=block_bytes)
        chunks = list(reader)
        assert all(len(c) == chunk_rows for c in chunks[:-1])
        assert reader.rate_hz == pytest.approx(500.0)
        got = reader.read_all()
        np.testing.assert_array_equal(got.t_s, whole.t_s)
        np.testing.assert_array_equal(got.pelvis_acc_g, whole.pelvis_acc_g)
        np.testing.assert_array_equal(got.thorax_gyro_dps, whole.thorax_gyro_dps)
    assert_chunks_close(whole, chunk)


# -- input flexibility --------------------------------------------------------------------------
def test_columns_any_order_extra_columns_comments_bom_crlf(tmp_path):
    text = ("# provenance\r\n"
            "note,pelvis_acc_z_g,time_s,extra,pelvis_acc_x_g,pelvis_acc_y_g\r\n"
            "# comment between\r\n"
            "a,1.0,0.00,x,0.1,0.2\r\n"
            "b,1.1,0.01,y,0.3,0.4\r\n"
            "\r\n"
            "c,1.2,0.02,z,0.5,0.6\r\n")
    p = write_text(tmp_path, "\ufeff" + text)
    reader = RecordingReader(p)
    assert reader.columns[0] == "note" and reader.comments == ["provenance"]
    assert not reader.has_thorax and not reader.has_gyro
    c = reader.read_all()
    np.testing.assert_allclose(c.t_s, [0.0, 0.01, 0.02])
    np.testing.assert_allclose(c.pelvis_acc_g, [[0.1, 0.2, 1.0], [0.3, 0.4, 1.1],
                                                [0.5, 0.6, 1.2]])
    assert c.pelvis_gyro_dps is None and c.thorax_acc_g is None


def test_empty_fields_and_empty_rows_are_gaps(tmp_path):
    body = ("0.00,0.1,0.2,1.0\n"
            "0.01,,,\n"          # all sensor fields empty: NaN row
            "0.02,0.1,,1.0\n"    # one empty field
            ",,,\n"              # everything empty: skipped, the time step shows the gap
            "0.04,0.1,0.2,1.0\n")
    c = RecordingReader(write_text(tmp_path, HEADER + "\n" + body)).read_all()
    np.testing.assert_allclose(c.t_s, [0.0, 0.01, 0.02, 0.04])
    assert np.isnan(c.pelvis_acc_g[1]).all()
    assert np.isnan(c.pelvis_acc_g[2, 1]) and c.pelvis_acc_g[2, 2] == 1.0


def test_few_missing_rows_are_a_gap_not_an_error(tmp_path):
    lines = [f"{i / 100:.6f},0,0,1\n" for i in range(400) if i not in (50, 51, 52, 200)]
    c = RecordingReader(write_text(tmp_path, HEADER + "\n" + "".join(lines))).read_all()
    assert len(c) == 396


# -- malformed input: one sentence, right line ------------------------------------------------
BAD_CASES = [
    # (name, text, line, words that must appear)
    ("empty", "", None, ["empty"]),
    ("only comments", "# a\n# b\n\n", None, ["no header"]),
    ("no header", "0.0,0.1,0.2,1.0\n0.01,0.1,0.2,1.0\n", 1, ["header"]),
    ("no time", "# c\nt,pelvis_acc_x_g,pelvis_acc_y_g,pelvis_acc_z_g\n0,0,0,1\n", 2,
     ["time_s"]),
    ("no pelvis", "time_s,thorax_acc_x_g,thorax_acc_y_g,thorax_acc_z_g\n0,0,0,1\n", 1,
     ["pelvis", "accelerometer"]),
    ("partial axes", "time_s,pelvis_acc_x_g,pelvis_acc_y_g\n0,0,0\n", 1, ["pelvis_acc_z_g"]),
    ("partial gyro", HEADER + ",pelvis_gyr_x_dps\n0,0,0,1,0\n", 1, ["pelvis_gyr_y_dps"]),
    ("duplicate", HEADER + ",time_s\n", 1, ["twice"]),
    ("no rows", HEADER + "\n# nothing\n", 1, ["no data rows"]),
    ("one row", HEADER + "\n0,0,0,1\n", 2, ["one data row"]),
    ("non numeric", HEADER + "\n" + rows(5) + "0.05,0.1,abc,1.0\n" + rows(3, 100, 0.06),
     7, ["pelvis_acc_y_g", "abc"]),
    ("infinite", HEADER + "\n" + rows(3) + "0.03,inf,0,1\n", 5, ["pelvis_acc_x_g", "infinite"]),
    ("time empty", HEADER + "\n" + rows(3) + ",0.1,0.2,1.0\n", 5, ["time_s", "empty"]),
    ("too few fields", HEADER + "\n" + rows(4) + "0.04,0.1,0.2\n", 6, ["3 fields", "4"]),
    ("too many fields", HEADER + "\n" + rows(4) + "0.04,0.1,0.2,1,5\n", 6, ["5 fields"]),
    ("not increasing", HEADER + "\n" + rows(10) + "0.05,0,0,1\n", 12,
     ["line 11", "line 12", "increasing"]),
    ("duplicate time", HEADER + "\n# c\n" + rows(3) + "0.02,0,0,1\n", 6, ["line 5", "line 6"]),
    ("milliseconds", HEADER + "\n" + rows(50, rate_hz=0.1), 2, ["Hz", "milliseconds"]),
    ("too fast", HEADER + "\n" + rows(50, rate_hz=10000.0), 2, ["Hz", "50-2000"]),
    ("non uniform", HEADER + "\n" + "".join(
        f"{t:.6f},0,0,1\n" for t in np.cumsum(np.tile([0.004, 0.016], 100))), None,
     ["non-uniform"]),
    ("not utf8", HEADER + "\n0,0,0,1\n0.01,\xe9,0,1\n", 3, ["UTF-8"]),
]


@pytest.mark.parametrize("name,text,line,words", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_malformed_input_names_file_and_line(tmp_path, name, text, line, words):
    encoding = "latin-1" if name == "not utf8" else "utf-8"
    p = write_text(tmp_path, text, encoding=encoding)
    with pytest.raises(InputFileError) as info:
        for chunk_rows, block_bytes in ((10_000, 8 << 20), (3, 40)):
            RecordingReader(p, chunk_rows=chunk_rows, block_bytes=block_bytes).read_all()
    err = info.value
    message = str(err)
    assert str(p) in message and err.path == str(p)
    if line is not None:
        assert err.line == line and f"line {line}" in message
    else:
        assert err.line is None or err.line > 1
    for word in words:
        assert word in message, (word, message)
    assert "\n" not in message and message.rstrip().endswith((".", "?)."))


def test_malformed_line_number_is_the_same_with_small_blocks(tmp_path):
    text = HEADER + "\n" + rows(300) + "3.0,0.1,oops,1.0\n"
    p = write_text(tmp_path, text)
    for block_bytes in (64, 1000, 8 << 20):
        with pytest.raises(InputFileError) as info:
            RecordingReader(p, block_bytes=block_bytes).read_all()
        assert info.value.line == 302


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        RecordingReader(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="directory"):
        RecordingReader(tmp_path)


CSV_ALPHABET = st.sampled_from(list("0123456789.,-+e#\n\r nai_x\ufeff\u00e9") + [
    "time_s", "pelvis_acc_x_g", "pelvis_acc_y_g", "pelvis_acc_z_g", "pelvis_gyr_x_dps",
    "thorax_acc_x_g", ",", "\n", "0.01", "1.5"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300),
                 st.lists(CSV_ALPHABET, max_size=120).map("".join),
                 st.lists(CSV_ALPHABET, max_size=60).map(lambda xs: HEADER + "\n" + "".join(xs))),
       st.sampled_from([8 << 20, 16]))
def test_any_text_gives_a_result_or_input_file_error(tmp_path, text, block_bytes):
    p = tmp_path / "h.csv"
    p.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        reader = RecordingReader(p, chunk_rows=5, block_bytes=block_bytes)
        for chunk in reader:
            assert np.all(np.diff(chunk.t_s) > 0)
    except InputFileError as err:
        assert str(err) and "\n" not in str(err)


# -- steps and strides --------------------------------------------------------------------------
def test_steps_and_strides_round_trip(tmp_path):
    steps = [Step(0.2051, "R"), Step(0.5996, "L"), Step(0.91, "")]
    strides = [StrideMetrics(0, 0.2051, 0.9728, 156.32, 3.42, 14.44, 158.03, 159.3, 1.27,
                             drift=True),
               StrideMetrics(1, 0.9728, 1.7595, 152.52, None, None, 359.999, None, None)]
    write_steps_csv(tmp_path / "s.steps.csv", steps)
    write_strides_csv(tmp_path / "s.strides.csv", strides)
    assert (tmp_path / "s.steps.csv").read_text().splitlines() == [
        "t_s,side", "0.2051,R", "0.5996,L", "0.9100,"]
    lines = (tmp_path / "s.strides.csv").read_text().splitlines()
    assert lines[0] == ",".join(STRIDES_COLUMNS)
    assert lines[1] == "0,0.2051,0.9728,156.32,3.42,14.44,158.03,159.30,1.27,1"
    assert lines[2] == "1,0.9728,1.7595,152.52,,,0.00,,,0"
    assert read_steps_csv(tmp_path / "s.steps.csv") == steps
    back = read_strides_csv(tmp_path / "s.strides.csv")
    assert back[0].drift and back[1].pelvis_rom_deg is None and back[1].pelvis_phase_deg == 0.0
    assert not list(tmp_path.glob("*.tmp"))


def test_strides_csv_header_only_when_empty():
    assert format_strides_csv([]) == ",".join(STRIDES_COLUMNS) + "\n"


def test_steps_reader_errors(tmp_path):
    p = write_text(tmp_path, "t_s,side\n0.1,R\n0.2,Q\n", name="x.steps.csv")
    with pytest.raises(InputFileError) as info:
        read_steps_csv(p)
    assert info.value.line == 3
    p = write_text(tmp_path, "time,side\n", name="y.steps.csv")
    with pytest.raises(InputFileError, match="t_s"):
        read_steps_csv(p)


# -- the shared DEV data ------------------------------------------------------------------------
def _data_files():
    return sorted(DATA.glob("*/*.csv")) if DATA.is_dir() else []


@pytest.mark.shared_data
def test_every_shared_recording_reads(tmp_path):
    files = _data_files()
    if not files:
        pytest.skip(f"shared data not found at {DATA} (it sits next to the repo as ../shared)")
    for path in files:
        reader = RecordingReader(path)
        n = sum(len(c) for c in reader)
        assert n > 100, path
        assert 50 <= reader.rate_hz <= 2000
        if path.parent.name == "hamner2013":
            assert reader.has_thorax and reader.has_gyro
        else:
            assert not reader.has_thorax and not reader.has_gyro
    adept = DATA / "adeptdata" / "outdoor_run_min00-12.csv"
    if adept.exists():
        c = RecordingReader(adept).read_all()
        assert c.t_s[-1] > 700 and np.nanmean(c.pelvis_acc_g[:, 1]) < -0.5   # y points down
    for truth in sorted(DATA.glob("*/truth/*.steps.csv")):
        assert read_steps_csv(truth)
    for truth in sorted(DATA.glob("*/truth/*.strides.csv")):
        strides = read_strides_csv(truth)
        assert strides and all(s.t_end_s > s.t_start_s for s in strides)
