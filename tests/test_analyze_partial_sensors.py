"""`pi-app analyze` on accelerometer-only and pelvis-only recordings reports what those
sensors do measure (steps, cadence) and says what they cannot (sides, thorax), instead of
"0 R / 0 L" and no cadence (issue 12 §3)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pi_app.cli import main
from test_analyze_cli import simulated_recording


def analyze_json(capsys, path) -> dict:
    assert main(["analyze", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("thorax,gyro,why", [(False, True, "no thorax gyroscope"),
                                             (False, False, "no gyroscope")])
def test_partial_sensors_report_cadence_and_why_sides_are_unknown(tmp_path, capsys, thorax,
                                                                  gyro, why):
    full = tmp_path / "full.csv"
    part = tmp_path / "part.csv"
    truth = simulated_recording(full, 200.0, 0.0, 30.0)
    simulated_recording(part, 200.0, 0.0, 30.0, thorax=thorax, gyro=gyro)
    whole = analyze_json(capsys, full)
    s = analyze_json(capsys, part)
    assert s["sides_unknown"] == why and whole["sides_unknown"] is None
    t_right = np.array([st.t_s for st in truth if st.side == "R"])
    truth_spm = float(np.mean(120.0 / np.diff(t_right)))
    assert s["cadence_spm_mean"] is not None
    assert abs(s["cadence_spm_mean"] - truth_spm) < 1.0
    assert abs(s["cadence_spm_mean"] - whole["cadence_spm_mean"]) < 0.5
    assert s["quality_flags"] == {"no_side": s["strides"]}

    assert main(["analyze", str(part)]) == 0
    line = capsys.readouterr().out
    assert f"sides unknown: {why}" in line and "0 R / 0 L" not in line
    assert "cadence" in line and "no thorax sensor" in line
