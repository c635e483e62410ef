"""Stillness detection, standing calibration, the profile file and the state directory."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pi_app.analysis.calibration import CalibrationProfile, Calibrator, SensorCalibration
from pi_app.analysis.stillness import StillnessDetector
from pi_app.calibration_profile import dumps_profile, load_profile, save_profile
from pi_app.errors import InputFileError
from pi_app.paths import default_profile_path, state_dir

RATE_HZ = 500.0


def _standing_then_running(rng, still_s=4.0, run_s=3.0, bias=(2.5, -1.2, 0.7),
                           up=(0.2, -0.95, 0.1), acc_scale=1.0):
    """Still (gravity along `up`, sway) then running (1-3 g bounces, 100 deg/s turns)."""
    up = np.asarray(up) / np.linalg.norm(up)
    n_still = int(still_s * RATE_HZ)
    n_run = int(run_s * RATE_HZ)
    t = np.arange(n_still + n_run) / RATE_HZ
    acc = np.tile(up * acc_scale, (t.size, 1)) + rng.normal(0, 0.006, (t.size, 3))
    gyro = np.tile(np.asarray(bias, float), (t.size, 1)) + rng.normal(0, 0.1, (t.size, 3))
    # Postural sway while standing: ~0.3 deg/s at 0.3 Hz.
    gyro[:n_still] += 0.3 * np.sin(2 * np.pi * 0.3 * t[:n_still])[:, None]
    r = slice(n_still, None)
    acc[r] += 0.8 * np.sin(2 * np.pi * 2.8 * t[r])[:, None] * up
    acc[r, 0] += 0.3 * np.sin(2 * np.pi * 1.4 * t[r])
    gyro[r, 1] += 100 * np.sin(2 * np.pi * 1.4 * t[r])
    return acc, gyro, n_still


def test_stillness_flags_standing_not_running():
    acc, gyro, n_still = _standing_then_running(np.random.default_rng(1))
    det = StillnessDetector(RATE_HZ, window_s=0.5)
    flags = np.concatenate([det.update(acc[i:i + 7], gyro[i:i + 7])
                            for i in range(0, len(acc), 7)])
    w = det.window_n
    assert not flags[:w - 1].any()                  # not enough history yet
    assert flags[w:n_still].mean() > 0.99
    assert not flags[n_still + 10:].any()


def test_stillness_chunking_does_not_change_flags():
    acc, gyro, _ = _standing_then_running(np.random.default_rng(2))
    whole = StillnessDetector(RATE_HZ).update(acc, gyro)
    det = StillnessDetector(RATE_HZ)
    parts = np.concatenate([det.update(acc[i:i + 13], gyro[i:i + 13])
                            for i in range(0, len(acc), 13)])
    np.testing.assert_array_equal(whole, parts)


def test_stillness_gap_breaks_window():
    acc, gyro, n_still = _standing_then_running(np.random.default_rng(3))
    acc[1000] = np.nan
    det = StillnessDetector(RATE_HZ)
    flags = det.update(acc[:n_still], gyro[:n_still])
    assert not flags[1000:1000 + det.window_n].any()
    assert flags[1000 + det.window_n:].all()


@pytest.mark.parametrize("chunk", [5, 17, 400])
def test_calibrator_recovers_bias_and_gravity(chunk):
    bias = (2.5, -1.2, 0.7)
    up = np.array([0.2, -0.95, 0.1]) / np.linalg.norm([0.2, -0.95, 0.1])
    acc, gyro, _ = _standing_then_running(np.random.default_rng(4), still_s=6.0, bias=bias,
                                          up=up)
    cal = Calibrator(RATE_HZ, min_still_s=2.0, max_still_s=5.0, device="X at 0x68")
    result = None
    for i in range(0, len(acc), chunk):
        result = cal.update(acc[i:i + chunk], gyro[i:i + chunk]) or result
    assert cal.done and result is cal.result
    assert result.still_duration_s == pytest.approx(5.0)
    # The sway (0.3 deg/s at 0.3 Hz) does not average out over 5 s: ~0.1 deg/s is the limit.
    np.testing.assert_allclose(result.gyro_bias_dps, bias, atol=0.1)
    assert np.degrees(np.arccos(np.clip(np.dot(result.gravity_unit, up), -1, 1))) < 0.5
    assert result.acc_norm_ok and result.acc_norm_g == pytest.approx(1.0, abs=0.01)
    assert 0.05 < result.gyro_noise_dps < 0.5
    assert result.device == "X at 0x68"
    np.testing.assert_allclose(result.correct_gyro(np.array(bias)), 0.0, atol=0.1)


def test_calibrator_short_still_uses_best_run_or_none():
    rng = np.random.default_rng(5)
    acc, gyro, n_still = _standing_then_running(rng, still_s=3.0, bias=(1, 2, 3))
    cal = Calibrator(RATE_HZ, min_still_s=2.0, max_still_s=5.0)
    assert cal.update(acc, gyro) is None and not cal.done
    assert 2.9 < cal.best_still_s <= 3.0
    result = cal.finish()
    np.testing.assert_allclose(result.gyro_bias_dps, (1, 2, 3), atol=0.1)
    # Only 1.5 s still: not enough.
    acc, gyro, _ = _standing_then_running(rng, still_s=1.5)
    cal = Calibrator(RATE_HZ, min_still_s=2.0)
    cal.update(acc, gyro)
    assert cal.finish() is None


def test_calibrator_reports_wrong_accelerometer_scale():
    # An accelerometer configured at the wrong range reads e.g. 0.5 g at rest.
    acc, gyro, _ = _standing_then_running(np.random.default_rng(6), still_s=6.0,
                                          acc_scale=0.5)
    cal = Calibrator(RATE_HZ, acc_norm_tol_g=0.6)
    result = cal.update(acc, gyro)
    assert result is not None and not result.acc_norm_ok
    assert result.acc_norm_g == pytest.approx(0.5, abs=0.01)


def _profile():
    return CalibrationProfile(
        sensors={"pelvis": SensorCalibration((1.5, -0.25, 0.125), (0.0, -1.0, 0.0), 5.0, 1.01,
                                             0.1, 0.005, 'MPU-6050 at 0x68 "lower"'),
                 "thorax": SensorCalibration((0.0, 2.0, -3.0), (0.6, 0.0, 0.8), 4.2, 0.99)},
        created_utc="2025-05-01T08:30:00Z", source="simulated steady seed 0 mpu6050")


def test_profile_round_trip(tmp_path):
    path = tmp_path / "sub" / "cal.toml"
    assert save_profile(_profile(), path) == path
    back = load_profile(path)
    assert back == _profile()


def test_example_profile_loads():
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "calibration" / "example-profile.toml"
    profile = load_profile(path)
    assert set(profile.sensors) == {"pelvis", "thorax"}
    for cal in profile.sensors.values():
        assert math.isclose(np.linalg.norm(cal.gravity_unit), 1.0)


@pytest.mark.parametrize("edit, key", [
    (lambda s: s.replace("version = 1", "version = 7"), "'version'"),
    (lambda s: s.replace("gyro_bias_dps = [1.5, -0.25, 0.125]", "gyro_bias_dps = [1.5]"),
     "'pelvis.gyro_bias_dps'"),
    (lambda s: s.replace("still_duration_s = 4.2\n", ""), "'thorax.still_duration_s'"),
    (lambda s: s.replace("acc_norm_g = 0.99", 'acc_norm_g = "one"'), "'thorax.acc_norm_g'"),
    (lambda s: s.replace("gravity_unit = [0.6, 0.0, 0.8]", "gravity_unit = [3.0, 0.0, 0.0]"),
     "'thorax.gravity_unit'"),
    (lambda s: s.replace("[thorax]", "[torso]"), "[torso]"),
    (lambda s: s.replace("[pelvis]", "[pelvis"), "not valid TOML"),
    (lambda s: s[:s.index("[pelvis]")], "no [pelvis] or [thorax]"),
])
def test_profile_errors_name_file_and_key(tmp_path, edit, key):
    path = tmp_path / "cal.toml"
    path.write_text(edit(dumps_profile(_profile())))
    with pytest.raises(InputFileError) as info:
        load_profile(path)
    msg = str(info.value)
    assert str(path) in msg and key in msg and "pi-app calibrate" in msg
    assert info.value.path == str(path)


def test_profile_missing_file_says_how_to_create(tmp_path):
    with pytest.raises(InputFileError, match="pi-app calibrate"):
        load_profile(tmp_path / "nope.toml")


def test_state_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("PI_APP_STATE_DIR", raising=False)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "pi-app"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_dir() == tmp_path / "home" / ".local" / "state" / "pi-app"
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "sd"))
    assert state_dir() == tmp_path / "sd"
    monkeypatch.setenv("PI_APP_STATE_DIR", str(tmp_path / "env"))
    assert default_profile_path() == tmp_path / "env" / "calibration.toml"
    assert state_dir(tmp_path / "arg") == tmp_path / "arg"
