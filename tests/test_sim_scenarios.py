"""Named scenarios and their ground truth."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from pi_app.errors import ConfigError
from pi_app.sim.body import Gait, SegmentMotion
from pi_app.sim.faults import Dropout, RandomTransactionFailures
from pi_app.sim.scenarios import SCENARIOS, make_scenario
from pi_app.sim.truth import Truth


def _circ_mean_deg(a) -> float:
    a = np.radians(np.asarray(a, dtype=float))
    return math.degrees(math.atan2(np.sin(a).mean(), np.cos(a).mean())) % 360.0


def _circ_diff_deg(a, b) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_unknown_scenario_names_the_choices():
    with pytest.raises(ConfigError) as err:
        make_scenario("marathon")
    for name in SCENARIOS:
        assert name in str(err.value)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_builds_and_samples(name):
    world = make_scenario(name, seed=1, start_s=100.0)
    assert world.name == name and world.description == SCENARIOS[name]
    for role in ("pelvis", "thorax"):
        acc, gyro = world.sensor_source(role).sample(100.0 + np.arange(50) / 1000.0)
        assert acc.shape == gyro.shape == (50, 3)
        assert np.allclose(np.linalg.norm(acc, axis=1), 1.0, atol=0.08)  # standing at start
    steps = world.truth.steps_between(100.0, 130.0)
    if name == "stand":
        assert steps == [] and world.truth.strides_between(0, 1e4) == []
    else:
        assert steps[0].t_s == pytest.approx(105.0) and steps[0].side == "R"
        assert [s.side for s in steps[:6]] == ["R", "L"] * 3
        assert world.truth.events_of("running_start")[0][0] == pytest.approx(105.0)


def test_truth_strides_follow_the_spec_formula():
    """Recompute phase/ROM/cadence independently from theta sampled at 2 kHz."""
    world = make_scenario("steady", seed=5)
    strides = world.truth.strides_between(20.0, 40.0)
    assert len(strides) > 20
    for m in strides:
        t = np.arange(m.t_start_s, m.t_end_s, 0.0005)
        T = m.t_end_s - m.t_start_s
        phases = {}
        for role in ("pelvis", "thorax"):
            th = world.truth.theta_deg(role, t)
            th = th - th.mean()
            z = np.sum(th * np.exp(1j * 2 * np.pi * (t - m.t_start_s) / T))
            phases[role] = np.degrees(np.angle(z)) % 360
            assert np.ptp(world.truth.theta_deg(role, t)) == pytest.approx(
                getattr(m, f"{role}_rom_deg"), abs=0.05)
        assert _circ_diff_deg(phases["pelvis"], m.pelvis_phase_deg) < 0.5
        assert _circ_diff_deg(phases["thorax"], m.thorax_phase_deg) < 0.5
        assert m.rel_phase_deg == pytest.approx((m.thorax_phase_deg - m.pelvis_phase_deg) % 360)
        assert m.cadence_spm == pytest.approx(120.0 / T)
        assert not m.drift


def test_truth_phase_equals_configured_phase_without_jitter():
    gait = Gait(cadence_spm=172.0, seed=2)
    segs = {
        "pelvis": SegmentMotion(gait, rom_deg=12.0, phase_deg=205.0, harmonic2_ratio=0.15,
                                harmonic2_phase_deg=40.0, rom_jitter_frac=0.0,
                                phase_jitter_deg=0.0, phase_wander_deg=0.0),
        "thorax": SegmentMotion(gait, rom_deg=22.0, phase_deg=150.0, rom_jitter_frac=0.0,
                                phase_jitter_deg=0.0, phase_wander_deg=0.0),
    }
    truth = Truth(gait, segs, {}, [])
    strides = truth.strides_between(10.0, 60.0)
    # Strides are unequal (2 % CV), so the stride phase is piecewise linear in time; the
    # fundamental's phase still lands within a few degrees.
    for m in strides:
        assert _circ_diff_deg(m.pelvis_phase_deg, 205.0) < 4.0
        assert _circ_diff_deg(m.thorax_phase_deg, 150.0) < 4.0
    assert _circ_diff_deg(_circ_mean_deg([m.pelvis_phase_deg for m in strides]), 205.0) < 1.0
    assert _circ_diff_deg(_circ_mean_deg([m.thorax_phase_deg for m in strides]), 150.0) < 1.0
    assert np.mean([m.thorax_rom_deg for m in strides]) == pytest.approx(22.0, rel=0.03)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scenario_runner_looks_like_real_runners(seed):
    world = make_scenario("steady", seed=seed)
    strides = world.truth.strides_between(15.0, 135.0)
    r = world.runner
    pel = _circ_mean_deg([m.pelvis_phase_deg for m in strides])
    tho = _circ_mean_deg([m.thorax_phase_deg for m in strides])
    rel = _circ_mean_deg([m.rel_phase_deg for m in strides])
    assert _circ_diff_deg(pel, r.pelvis_phase_deg) < 8.0
    assert _circ_diff_deg(tho, r.thorax_phase_deg) < 4.0
    assert 142.0 <= tho <= 167.0 and 117.0 <= pel <= 316.0
    assert 250.0 <= rel <= 350.0
    assert 4.0 <= np.mean([m.pelvis_rom_deg for m in strides]) <= 19.0
    assert 15.0 <= np.mean([m.thorax_rom_deg for m in strides]) <= 37.0
    assert 148.0 <= np.mean([m.cadence_spm for m in strides]) <= 210.0


def test_drift_changes_relative_phase_after_drift_start_only():
    world = make_scenario("drift", seed=3)
    t_drift = world.truth.events_of("drift_start")[0][0]
    t_end = world.truth.events_of("drift_end")[0][0]
    assert t_drift == pytest.approx(5.0 + 150.0)
    before = world.truth.strides_between(15.0, t_drift)
    after = world.truth.strides_between(t_end, t_end + 60.0)
    base = _circ_mean_deg([m.rel_phase_deg for m in before])
    assert _circ_diff_deg(base, world.runner.thorax_phase_deg - world.runner.pelvis_phase_deg) < 6
    # Before: the first and second halves of the baseline agree (no drift yet).
    half = len(before) // 2
    assert _circ_diff_deg(_circ_mean_deg([m.rel_phase_deg for m in before[:half]]),
                          _circ_mean_deg([m.rel_phase_deg for m in before[half:]])) < 6
    assert not any(m.drift for m in before)
    # After: in phase (~0 deg), and it stays.
    assert _circ_diff_deg(_circ_mean_deg([m.rel_phase_deg for m in after]), 0.0) < 8
    assert all(m.drift for m in after)
    assert _circ_diff_deg(base, 0.0) > 20
    # Gradual: the drift takes ~30 strides.
    n_during = len(world.truth.strides_between(t_drift, t_end))
    assert 25 <= n_during <= 32


def test_scripted_relative_phase_is_the_truth_without_its_jitter():
    world = make_scenario("drift", seed=3)
    t_drift = world.truth.events_of("drift_start")[0][0]
    t_end = world.truth.events_of("drift_end")[0][0]
    runner = world.runner
    assert world.truth.scripted_rel_phase_deg(t_drift - 10.0) == pytest.approx(
        (runner.thorax_phase_deg - runner.pelvis_phase_deg) % 360.0)
    assert _circ_diff_deg(world.truth.scripted_rel_phase_deg(t_end + 5.0), 0.0) < 1e-6
    # Stride by stride through the ramp, the truth scatters about the scripted value (per-
    # stride jitter and a slow wander; the same 6 deg as the baseline check above).
    strides = world.truth.strides_between(t_drift - 30.0, t_end + 30.0)
    diffs = [((m.rel_phase_deg - world.truth.scripted_rel_phase_deg(
        0.5 * (m.t_start_s + m.t_end_s))) + 180.0) % 360.0 - 180.0 for m in strides]
    assert abs(np.mean(diffs)) < 6.0 and np.max(np.abs(diffs)) < 30.0


def test_cadence_change_scenario():
    world = make_scenario("cadence-change", seed=0)
    (t_change, kind, detail), = world.truth.events_of("cadence_change")
    assert t_change == pytest.approx(125.0) and "165->180" in detail
    before = world.truth.strides_between(t_change - 60.0, t_change)
    after = world.truth.strides_between(t_change + 10.0, t_change + 70.0)
    c_before = np.mean([m.cadence_spm for m in before])
    c_after = np.mean([m.cadence_spm for m in after])
    # Natural slow wander moves a minute's mean by a few steps/min; the change is 15.
    assert c_before == pytest.approx(165.0, abs=5.0)
    assert c_after == pytest.approx(180.0, abs=5.0)
    assert c_after - c_before == pytest.approx(15.0, abs=3.0)
    # Rotation grows with speed.
    assert np.mean([m.thorax_rom_deg for m in after]) > np.mean(
        [m.thorax_rom_deg for m in before])


def test_dropout_scenario_fault_plan_matches_both_families():
    world = make_scenario("dropout", seed=0, start_s=10.0)
    (t0, _, role), = world.truth.events_of("dropout_start")
    (t1, _, _), = world.truth.events_of("dropout_end")
    assert role == "thorax" and t1 - t0 == pytest.approx(5.0)
    plan = world.faults
    for addr in (0x69, 0x6B):
        assert not plan.absent(addr, t0 - 0.01)
        assert plan.absent(addr, t0) and plan.absent(addr, t1 - 0.01)
        assert not plan.absent(addr, t1)
    for addr in (0x68, 0x6A):
        assert not plan.absent(addr, t0 + 1.0)
    assert not plan.transaction_fails(0x69, t0 + 1.0)


def test_i2c_noise_fails_about_one_percent_deterministically():
    def run(seed):
        plan = make_scenario("i2c-noise", seed=seed).faults
        return np.array([plan.transaction_fails(0x68 + (k % 2), 10.0) for k in range(20000)])
    a, b = run(7), run(7)
    assert np.array_equal(a, b)
    assert 0.007 < a.mean() < 0.013
    assert not np.array_equal(a, run(8))
    assert not any(RandomTransactionFailures(0.5, roles=("pelvis",)).transaction_fails(0x6B, 0)
                   for _ in range(50))
    assert not Dropout("pelvis", 0, 1).absent(0x50, 0.5)


def test_scenarios_are_deterministic_per_seed():
    t = 5.0 + np.arange(0, 2000) / 1000.0
    a = make_scenario("steady", seed=12)
    b = make_scenario("steady", seed=12)
    c = make_scenario("steady", seed=13)
    for role in ("pelvis", "thorax"):
        assert np.array_equal(a.sensor_source(role).sample(t)[0], b.sensor_source(role).sample(t)[0])
        assert np.array_equal(a.truth.mounting(role), b.truth.mounting(role))
        assert not np.array_equal(a.truth.mounting(role), c.truth.mounting(role))
    assert a.truth.steps_between(0, 60) == b.truth.steps_between(0, 60)
    assert a.truth.steps_between(0, 60) != c.truth.steps_between(0, 60)


def test_world_is_unbounded():
    world = make_scenario("slow-wander", seed=0)
    late = world.truth.strides_between(3 * 3600.0, 3 * 3600.0 + 10.0)
    assert len(late) >= 5
    acc, _ = world.sensor_source("pelvis").sample(np.array([3 * 3600.0 + 1.0]))
    assert np.all(np.isfinite(acc))


def test_sample_cost_report():
    """Measured, printed (run with -s), never asserted."""
    world = make_scenario("steady", seed=0)
    src = world.sensor_source("pelvis")
    t = 5.0 + np.arange(20000) / 1000.0
    t_start = time.perf_counter()
    for i in range(0, t.shape[0], 20):
        src.sample(t[i:i + 20])
    per_sample_us = (time.perf_counter() - t_start) / t.shape[0] * 1e6
    print(f"\nsample(): {per_sample_us:.2f} us/sample in 20-sample chunks")
