"""`pi-app calibrate --simulate`: the real drivers and sensor reader on the simulated bus."""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.acquisition.setup import open_reader
from pi_app.calibration_profile import load_profile
from pi_app.cli import main
from pi_app.commands.calibrate import calibrate
from pi_app.sim import ManualClock, open_simulated_bus


def _angle_deg(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


@pytest.mark.parametrize("chips", ["mpu6050", "lsm6dsox"])
def test_calibrate_recovers_simulated_truth(chips):
    clock = ManualClock()
    bus = open_simulated_bus(scenario="steady", seed=3, chips=chips, clock=clock)
    reader = open_reader(bus, clock, bus_number=1)
    lines = []
    results = calibrate(reader, clock, 30.0, simulate=True, progress=lines.append)
    truth = bus.scenario.truth
    assert set(results) == {"pelvis", "thorax"}
    for role, cal in results.items():
        assert cal is not None and 2.0 <= cal.still_duration_s <= 5.0
        # The bias wanders slowly; compare with its value mid-way through the still period.
        true_bias = truth.gyro_bias_dps(role, 2.5)
        np.testing.assert_allclose(cal.gyro_bias_dps, true_bias, atol=0.05)
        ideal = truth.sensors[role].ideal_copy()
        acc, _ = ideal.sample(np.linspace(1.0, 4.0, 50))
        # A still accelerometer cannot tell its own offset from gravity: the truth to match
        # is the specific force it reads, offset included (up to ~1 deg off true vertical).
        measured = acc.mean(axis=0) + truth.sensors[role].acc_bias_g
        assert _angle_deg(cal.gravity_unit, measured) < 0.3
        assert _angle_deg(cal.gravity_unit, acc.mean(axis=0)) < 3.0
        assert cal.acc_norm_ok
    # Stopped soon after the runner started (stand 5 s), not at the 30 s time-out.
    assert clock.now_s() < 7.0
    assert any("still" in line for line in lines)


def test_cli_saves_profile_and_reports(tmp_path, capsys):
    path = tmp_path / "state" / "cal.toml"
    assert main(["calibrate", "--simulate", "--seed", "1", "--profile", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Stand still" in out and "start running" in out and str(path) in out
    profile = load_profile(path)
    assert set(profile.sensors) == {"pelvis", "thorax"}
    assert profile.source == "simulated steady seed 1 chips mpu6050"
    assert profile.sensors["pelvis"].device == "MPU-6050 at 0x68"


def test_cli_without_stillness_fails_with_one_sentence(tmp_path, capsys):
    path = tmp_path / "cal.toml"
    # 1 s of waiting cannot give 2 s of stillness.
    code = main(["calibrate", "--simulate", "--seconds", "1", "--profile", str(path)])
    err = capsys.readouterr().err
    assert code != 0 and not path.exists()
    assert "still period" in err and "pi-app calibrate" in err and "Traceback" not in err
    assert main(["calibrate", "--simulate", "--seconds", "-3"]) != 0
