"""Recording CSVs as careless hands and interrupted programs leave them (issue 12 §3):
spreadsheet exports, a last line cut short, absurd values."""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.errors import InputFileError
from pi_app.recording.csv_reader import RecordingReader
from pi_app.recording.csv_writer import write_recording
from test_recording_csv import make_chunk


def recording_text(tmp_path, n=300) -> str:
    path = tmp_path / "src.csv"
    write_recording(path, [make_chunk(n=n, thorax=False, gyro=False)])
    return path.read_text()


@pytest.mark.parametrize("sep,decimal,what", [(";", ",", "semicolons"), ("\t", ".", "tabs"),
                                              ("\t", ",", "tabs")])
def test_spreadsheet_export_is_named_as_such(tmp_path, sep, decimal, what):
    rows = [ln for ln in recording_text(tmp_path).splitlines() if not ln.startswith("#")]
    text = "\r\n".join(r.replace(",", "\0").replace(".", decimal).replace("\0", sep)
                       for r in rows) + "\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with pytest.raises(InputFileError) as err:
        RecordingReader(path)
    msg = str(err.value)
    assert err.value.line == 1 and f"separated by {what}" in msg
    assert "no 'time_s' column" not in msg and "comma separators" in msg


def test_bom_and_crlf_with_commas_are_read(tmp_path):
    text = recording_text(tmp_path)
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    got = RecordingReader(path).read_all()
    want = RecordingReader(tmp_path / "src.csv").read_all()
    np.testing.assert_array_equal(got.pelvis_acc_g, want.pelvis_acc_g)


@pytest.mark.parametrize("block_bytes", [1 << 20, 257])
def test_last_line_cut_short_keeps_the_whole_rows(tmp_path, block_bytes):
    text = recording_text(tmp_path)
    lines = text.splitlines()
    whole = tmp_path / "src.csv"
    cut = tmp_path / "cut.csv"
    cut.write_text(text[:-20])          # the last row loses its end and its newline
    reader = RecordingReader(cut, block_bytes=block_bytes)
    got = reader.read_all()
    want = RecordingReader(whole).read_all()
    assert len(got) == len(want) - 1
    np.testing.assert_array_equal(got.t_s, want.t_s[:-1])
    assert reader.cut_line == len(lines)


def test_complete_last_line_without_newline_is_kept(tmp_path):
    text = recording_text(tmp_path)
    path = tmp_path / "nonl.csv"
    path.write_text(text.rstrip("\n"))
    reader = RecordingReader(path)
    assert len(reader.read_all()) == 300 and reader.cut_line is None


@pytest.mark.parametrize("value,column", [("1e20", 2), ("1e308", 1), ("-1e308", 3),
                                          ("123456789012.5", 2), ("500.0", 1)])
def test_values_beyond_any_sensor_are_rejected_with_the_line(tmp_path, value, column):
    lines = recording_text(tmp_path).splitlines()
    header_line = next(i for i, ln in enumerate(lines) if ln.startswith("time_s"))
    k = header_line + 100
    fields = lines[k].split(",")
    fields[column] = value
    lines[k] = ",".join(fields)
    path = tmp_path / "absurd.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as err:
        RecordingReader(path).read_all()
    assert err.value.line == k + 1 and "beyond any real sensor" in str(err.value)


def test_analyze_says_the_last_line_was_cut(tmp_path, capsys):
    from pi_app.cli import main
    text = recording_text(tmp_path, n=1500)
    cut = tmp_path / "cut.csv"
    cut.write_text(text[:-20])
    assert main(["analyze", str(cut)]) == 0
    err = capsys.readouterr().err
    assert f"line {len(text.splitlines())}" in err and "skipped" in err


def test_writing_over_a_folder_is_one_error_and_leaves_no_tmp(tmp_path):
    from pi_app.recording.csv_writer import write_steps_csv
    folder = tmp_path / "steps.csv"
    folder.mkdir()
    with pytest.raises(InputFileError) as err:
        write_steps_csv(folder, [])
    assert "is a folder" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.csv"]
