"""The vectorised plain-decimal parser of RecordingReader gives exactly what the careful
parsers give (bit for bit), and hands everything else to them."""

import numpy as np
import pytest

from pi_app.errors import InputFileError
from pi_app.recording import csv_reader
from pi_app.recording.csv_reader import RecordingReader

HEADER = "time_s,pelvis_acc_x_g,pelvis_acc_y_g,pelvis_acc_z_g\n"


def write(tmp_path, body: str, name="r.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def read_both(path, monkeypatch):
    """(values with the vectorised parser, values without it) as (n, 4) arrays."""
    def table(reader):
        chunk = reader.read_all()
        return np.column_stack([chunk.t_s, chunk.pelvis_acc_g])

    fast = table(RecordingReader(path, block_bytes=4096))
    with monkeypatch.context() as m:
        m.setattr(RecordingReader, "_parse_decimal", lambda self, raw, line: None)
        careful = table(RecordingReader(path, block_bytes=4096))
    return fast, careful


def test_random_decimals_are_bit_identical_to_the_careful_parsers(tmp_path, monkeypatch):
    # Digits up to 1e6 exercise every mantissa length; the physical range check (which
    # would reject them as accelerations) is not what this test is about.
    monkeypatch.setattr(csv_reader, "MAX_ABS_ACC_G", np.inf)
    rng = np.random.default_rng(3)
    n = 3000
    t = np.arange(n) / 100.0
    cols = [rng.normal(0, 1, n) * 10.0 ** rng.integers(-3, 6, n) for _ in range(3)]
    fmt = ["%.5f", "%.0f", "%.9f"]
    lines = [",".join(["%.6f" % t[k]] + [f % c[k] for f, c in zip(fmt, cols)])
             for k in range(n)]
    lines[10] = "0.100000,.5,-0,5."            # leading and trailing decimal points
    lines[11] = "0.110000,-.25,000012.50,-0.0"
    lines[500] = "5.000000,,,"                 # a gap row (time only)
    lines[501] = ",,,"                         # an empty row (dropped)
    lines[502] = "5.020000,1.5,,2"             # one missing field
    calls = []
    real = RecordingReader._parse_decimal

    def spy(self, raw, line):
        out = real(self, raw, line)
        calls.append(out is not None)
        return out

    path = write(tmp_path, "\n".join(lines) + "\n")
    monkeypatch.setattr(RecordingReader, "_parse_decimal", spy)
    fast, careful = read_both(path, monkeypatch)
    assert calls and all(calls)                # every block took the vectorised path
    assert fast.shape == (n - 1, 4)
    np.testing.assert_array_equal(fast, careful)
    assert np.array_equal(np.signbit(fast), np.signbit(careful))   # -0.0 stays -0.0
    np.testing.assert_array_equal(fast[10], [0.1, 0.5, -0.0, 5.0])
    assert np.isnan(fast[500, 1:]).all() and np.isnan(fast[501, 2])


@pytest.mark.parametrize("line", [
    "1.0,2e-3,1,1",            # exponent
    "1.0,1.2.3,1,1",           # two decimal points
    "1.0,1-2,1,1",             # minus inside
    "1.0, 2,1,1",              # space
    "1.0,1234567890.1234567,1,1",   # more than 15 digits
    "1.0,-,1,1",               # sign without digits
    "1.0,nan,1,1",
])
def test_anything_else_goes_to_the_careful_parsers(tmp_path, line):
    reader = RecordingReader(write(tmp_path, "0.0,1,1,1\n0.01,1,1,1\n"))
    raw = ("0.0,1,1,1\n" + line + "\n").encode()
    assert reader._parse_decimal(raw, 2) is None
    assert reader._parse_decimal(b"0.0,1,1,1\n1.0,1,1,1", 2) is None     # no final newline
    assert reader._parse_decimal(b"0.0,1,1\n1.0,1,1,1,1\n", 2) is None   # ragged rows


def test_careful_parser_still_explains_a_bad_value(tmp_path):
    body = "".join(f"{k / 100:.2f},1,0,0\n" for k in range(300)) + "3.00,1.2.3,0,0\n"
    with pytest.raises(InputFileError, match=r"line 302.*pelvis_acc_x_g"):
        RecordingReader(write(tmp_path, body)).read_all()


def test_exact_powers_of_ten():
    assert all(csv_reader._POW10[k] == float(10 ** k) for k in range(16))
