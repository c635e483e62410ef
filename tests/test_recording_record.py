"""`pi-app record` on the simulated runner (virtual clock) and CLI error reporting."""

from __future__ import annotations

import numpy as np
import pytest

from pi_app import cli
from pi_app.commands import record
from pi_app.recording.csv_reader import RecordingReader, read_steps_csv, read_strides_csv


def run_cli(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_simulated_record_writes_recording_and_truth(tmp_path, capsys):
    out = tmp_path / "run.csv"
    code, stdout, stderr = run_cli(["record", "--simulate", "--scenario", "steady", "--seed",
                                    "2", "--seconds", "8", "-o", str(out)], capsys)
    assert code == 0, stderr
    assert "recorded 8.0 s" in stdout
    reader = RecordingReader(out)
    assert reader.has_thorax and reader.has_gyro
    assert reader.rate_hz == pytest.approx(1000.0, rel=0.01)
    c = reader.read_all()
    assert c.t_s[-1] - c.t_s[0] == pytest.approx(8.0, abs=0.01)
    assert np.isfinite(c.pelvis_acc_g).all() and np.isfinite(c.thorax_gyro_dps).all()
    # Gravity is in there: the mean specific force is about 1 g whatever the mounting.
    assert np.linalg.norm(c.pelvis_acc_g.mean(axis=0)) == pytest.approx(1.0, abs=0.15)
    steps = read_steps_csv(tmp_path / "run.steps.csv")
    strides = read_strides_csv(tmp_path / "run.strides.csv")
    assert steps and all(c.t_s[0] <= s.t_s <= c.t_s[-1] for s in steps)
    assert {s.side for s in steps} == {"R", "L"}
    assert [s.index for s in strides] == list(range(len(strides)))
    assert all(c.t_s[0] <= s.t_start_s < s.t_end_s <= c.t_s[-1] for s in strides)


def test_simulated_record_is_deterministic(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        code, _, err = run_cli(["record", "--simulate", "--seed", "5", "--chips",
                                "mpu6050+lsm6dsox", "--seconds", "2", "-o", str(path)], capsys)
        assert code == 0, err
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a.steps.csv").read_bytes() == (tmp_path / "b.steps.csv").read_bytes()


def test_ctrl_c_keeps_what_was_recorded(tmp_path, capsys, monkeypatch):
    real_poll = record._Recorder.poll
    calls = {"n": 0}

    def poll(self, until_t_s):
        calls["n"] += 1
        if calls["n"] > 150:           # ~2.2 s of virtual time
            raise KeyboardInterrupt
        real_poll(self, until_t_s)

    monkeypatch.setattr(record._Recorder, "poll", poll)
    out = tmp_path / "cut.csv"
    code, _, stderr = run_cli(["record", "--simulate", "--seconds", "60", "-o", str(out)], capsys)
    assert code == 0
    assert "stopped; kept" in stderr and "Traceback" not in stderr
    c = RecordingReader(out).read_all()
    assert 1.0 < c.t_s[-1] - c.t_s[0] < 3.0


@pytest.mark.parametrize("argv,words", [
    (["record", "--simulate", "-o", "X"], ["--seconds"]),
    (["record", "--simulate", "--seconds", "-1", "-o", "X"], ["positive"]),
    (["record", "--simulate", "--seconds", "1", "--scenario", "nope", "-o", "X"], ["nope"]),
    (["record", "--simulate", "--seconds", "1", "--chips", "bmi160", "-o", "X"], ["bmi160"]),
    (["record", "--simulate", "--seconds", "1", "-o", "MISSING/run.csv"], ["does not exist"]),
])
def test_cli_errors_are_one_sentence(tmp_path, capsys, argv, words):
    argv = [a.replace("X", str(tmp_path / "r.csv")).replace("MISSING", str(tmp_path / "no"))
            for a in argv]
    code, _, stderr = run_cli(argv, capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pi-app: "), stderr
    for word in words:
        assert word in stderr


def test_malformed_recording_through_cli_is_one_sentence(tmp_path, capsys):
    pytest.importorskip("pi_app.commands.analyze", reason="pi-app analyze not built yet")
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,pelvis_acc_x_g,pelvis_acc_y_g,pelvis_acc_z_g\n0,0,0,1\n0.01,0,x,1\n")
    code, _, stderr = run_cli(["analyze", str(bad)], capsys)
    assert code != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "line 3" in lines[0] and "Traceback" not in stderr


def test_truth_paths():
    from pathlib import Path
    assert record.truth_paths(Path("d/run.csv")) == (Path("d/run.steps.csv"),
                                                     Path("d/run.strides.csv"))
