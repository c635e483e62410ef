"""The running-body model: gyro consistent with orientation, physical specific force, gait
statistics, chunk-independent sensor noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pi_app.sim.body import Gait, SegmentMotion, SimulatedImu, random_rotation
from pi_app.sim.scenarios import make_scenario


def _skew_exp(w_rad: np.ndarray) -> np.ndarray:
    """Rotation matrix exp(skew(w)) (Rodrigues)."""
    angle = np.linalg.norm(w_rad)
    if angle < 1e-15:
        return np.eye(3)
    k = w_rad / angle
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def _yaw_deg(v_lab: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(v_lab[..., 1], v_lab[..., 0]))


@pytest.fixture(scope="module")
def world():
    return make_scenario("steady", seed=4)


@pytest.mark.parametrize("role", ["pelvis", "thorax"])
def test_integrated_gyro_reproduces_orientation_and_theta(world, role):
    """Integrating the noise-free gyro from the true start orientation reproduces the model's
    orientation, hence theta, through standing, the fade-in and 10 s of running."""
    seg = world.segments[role]
    M = world.truth.mounting(role)
    dt = 0.001
    t = np.arange(3.0, 18.0, dt / 2)  # even indices: integration points, odd: midpoints
    _, gyro = world.sensor_source(role, ideal=True).sample(t)
    R = seg.orientation(t[:1])[0] @ M
    worst = 0.0
    v_seg = seg.forward_axis_seg
    theta_true = seg.theta_deg(t[0::2])
    for k in range(1, theta_true.shape[0]):
        R = R @ _skew_exp(np.radians(gyro[2 * k - 1]) * dt)
        yaw = _yaw_deg(R @ M.T @ v_seg)
        worst = max(worst, abs((yaw - theta_true[k] + 180) % 360 - 180))
    assert worst < 0.2
    assert np.ptp(theta_true) > 5.0  # the test is not vacuous: the segment does rotate


@pytest.mark.parametrize("role", ["pelvis", "thorax"])
def test_vertical_gyro_of_real_sensor_integrates_to_theta(world, role):
    """The brief's check: the simulated (biased, noisy) gyro, bias removed with the true
    value, projected on the vertical with the true mounting, integrates to theta within 1 deg."""
    seg = world.segments[role]
    M = world.truth.mounting(role)
    t = np.arange(20.0, 30.0, 0.001)
    _, gyro = world.sensor_source(role).sample(t)
    gyro = gyro - world.sensor_source(role).gyro_bias_at_dps(t)
    R = seg.orientation(t)
    w_lab_z = np.einsum("nij,jk,nk->ni", R, M, gyro)[:, 2]
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (w_lab_z[1:] + w_lab_z[:-1]) * 0.001)])
    theta = seg.theta_deg(t)
    assert np.max(np.abs(theta[0] + integral - theta)) < 1.0
    # Without removing the bias it would not match (this seed's bias drifts it by > 5 deg).
    raw = world.sensor_source(role).sample(t)[1]
    w_raw = np.einsum("nij,jk,nk->ni", R, M, raw)[:, 2]
    assert abs(np.sum(w_raw - w_lab_z) * 0.001) > 5.0


def test_theta_is_yaw_of_mean_posture_forward_axis(world):
    seg = world.segments["thorax"]
    t = np.linspace(10.0, 14.0, 500)
    R = seg.orientation(t)
    yaw = _yaw_deg(R @ seg.forward_axis_seg)
    assert np.allclose(yaw, seg.theta_deg(t), atol=1e-9)


@pytest.mark.parametrize("role", ["pelvis", "thorax"])
def test_specific_force_is_physical(world, role):
    seg = world.segments[role]
    M = world.truth.mounting(role)
    strides = world.truth.strides_between(10.0, 40.0)
    t = np.arange(strides[0].t_start_s, strides[-1].t_end_s, 0.0005)
    acc, _ = world.sensor_source(role, ideal=True).sample(t)
    f_lab = np.einsum("nij,jk,nk->ni", seg.orientation(t), M, acc)
    # Over whole strides the sensor point does not accelerate: mean specific force = +1 g up.
    assert np.allclose(f_lab.mean(axis=0), [0.0, 0.0, 1.0], atol=0.003)
    gs = world.gait.locate(t)
    flight = gs.tau_s > gs.contact_s
    assert np.abs(f_lab[flight, 2]).max() < 1e-9  # free fall
    mid = (np.abs(gs.tau_s / gs.contact_s - 0.5) < 0.02)
    assert 1.8 < np.median(f_lab[mid, 2]) < 2.8  # ~2-2.5 g at mid-stance
    # Standing: the accelerometer reads gravity only.
    acc_still, gyro_still = world.sensor_source(role, ideal=True).sample(np.linspace(0, 4.9, 50))
    assert np.allclose(np.linalg.norm(acc_still, axis=1), 1.0)
    assert np.allclose(gyro_still, 0.0)


def test_impact_larger_at_sacrum_than_upper_back(world):
    t = np.arange(10.0, 30.0, 0.0005)
    peaks = {}
    for role in ("pelvis", "thorax"):
        acc, _ = world.sensor_source(role, ideal=True).sample(t)
        peaks[role] = np.percentile(np.linalg.norm(acc, axis=1), 99.9)
    assert peaks["pelvis"] > peaks["thorax"] + 0.5
    assert 2.5 < peaks["pelvis"] < 5.0


def test_sample_is_chunk_independent(world):
    rng = np.random.default_rng(1)
    t = 7.0 + np.arange(3000) / 1001.7
    fresh = make_scenario("steady", seed=4)
    acc_all, gyro_all = fresh.sensor_source("pelvis").sample(t)
    other = make_scenario("steady", seed=4).sensor_source("pelvis")
    parts, i = [], 0
    while i < t.shape[0]:
        n = int(rng.integers(0, 40))
        parts.append(other.sample(t[i:i + n]))
        i += n
    acc = np.concatenate([p[0] for p in parts])
    gyro = np.concatenate([p[1] for p in parts])
    assert np.allclose(acc, acc_all, atol=1e-9, rtol=0)
    assert np.allclose(gyro, gyro_all, atol=1e-9, rtol=0)


def test_sensor_errors_have_configured_size():
    gait = Gait(stand_s=math.inf)
    seg = SegmentMotion(gait, rom_deg=10, phase_deg=180)
    bias = np.array([0.5, -1.0, 2.0])
    imu = SimulatedImu(seg, random_rotation(np.random.default_rng(2)), bias,
                       bias_drift_dps=0.0, gyro_noise_dps=0.2, acc_noise_g=0.01, seed=9)
    t = np.arange(0.0, 20.0, 0.001)
    acc, gyro = imu.sample(t)
    assert np.allclose(gyro.mean(axis=0), bias, atol=0.01)
    assert np.allclose(gyro.std(axis=0), 0.2, rtol=0.05)
    assert np.allclose((np.linalg.norm(acc, axis=1) - 1.0).std(), 0.01, rtol=0.1)
    # Noise is white: no correlation between consecutive samples.
    g = gyro[:, 0] - gyro[:, 0].mean()
    assert abs(np.corrcoef(g[1:], g[:-1])[0, 1]) < 0.03


def test_gait_variability_is_natural():
    gait = Gait(cadence_spm=170.0, seed=11)
    times, idx = gait.strikes_between(0.0, 1200.0)
    assert times[0] == pytest.approx(5.0)
    strides = np.diff(times[0::2])
    cv = strides.std() / strides.mean()
    assert 0.015 < cv < 0.035
    assert 120.0 / strides.mean() == pytest.approx(170.0, rel=0.02)
    # Long-range correlation: 30-stride means wander more than white noise would allow.
    n = strides.shape[0] // 30 * 30
    block_sd = strides[:n].reshape(-1, 30).mean(axis=1).std()
    assert block_sd > 2.0 * strides.std() / math.sqrt(30)


def test_gait_is_lazy_and_query_order_free():
    a = Gait(seed=3)
    b = Gait(seed=3)
    late, _ = a.strikes_between(3000.0, 3010.0)
    b.strikes_between(0.0, 100.0)
    late_b, _ = b.strikes_between(3000.0, 3010.0)
    assert np.array_equal(late, late_b) and late.shape[0] > 20
