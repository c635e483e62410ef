"""Orientation, rotation, side and stride metrics on synthetic running of known truth.

The synthetic body turns about the vertical with theta(t) = A cos(2 pi (t - t_R) / T - phi)
(yaw outermost, so theta is exactly the yaw of the forward axis), tilts a few degrees at the
step frequency, bounces vertically, and carries each sensor at a random mounting with a
constant gyro bias and white noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.analysis.orientation import OrientationEstimator
from pi_app.analysis.rotation import AxialRotation
from pi_app.analysis.side import SideDetector
from pi_app.analysis.strides import StrideAnalyzer, stride_phase_deg
from pi_app.analysis.types import Step
from pi_app.validation.stride_scoring import circular_abs_diff_deg

STRIDE_S = 0.72            # 166.7 steps/min
T0_S = 0.2                 # first right strike


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    return q if np.linalg.det(q) > 0 else -q


def _segment_angles(t, rom_deg, phase_deg):
    """Yaw (+ = counter-clockwise from above), roll and pitch in rad of a segment."""
    w = 2 * np.pi / STRIDE_S
    yaw = np.radians(rom_deg / 2) * np.cos(w * (t - T0_S) - np.radians(phase_deg))
    roll = np.radians(3.0) * np.sin(w * (t - T0_S) + 0.4)
    pitch = np.radians(2.0) * np.sin(2 * w * (t - T0_S) + 1.1)
    return yaw, roll, pitch


def _sensor_rotation(t, rom_deg, phase_deg, mount):
    yaw, roll, pitch = _segment_angles(np.atleast_1d(t), rom_deg, phase_deg)
    # Lab axes x forward, y left, z up; yaw outermost.
    return np.array([_rot_z(a) @ _rot_y(p) @ _rot_x(r) @ mount for a, r, p in zip(yaw, roll, pitch)])


def make_segment(rng, t, rom_deg, phase_deg, bias_dps, gyro_noise_dps=0.3, acc_noise_g=0.01):
    """Gyro (deg/s) and specific force (g) in sensor axes, and the true vertical rate (deg/s)."""
    mount = _random_rotation(rng)
    h = 1e-5
    r0 = _sensor_rotation(t, rom_deg, phase_deg, mount)
    dr = (_sensor_rotation(t + h, rom_deg, phase_deg, mount)
          - _sensor_rotation(t - h, rom_deg, phase_deg, mount)) / (2 * h)
    skew = np.einsum("nji,njk->nik", r0, dr)
    gyro = np.degrees(np.stack([skew[:, 2, 1], skew[:, 0, 2], skew[:, 1, 0]], axis=1))
    w = 2 * np.pi / STRIDE_S
    acc_lab = np.zeros((t.size, 3))
    acc_lab[:, 2] = 1.0 + 0.9 * np.cos(2 * w * (t - T0_S))      # vertical bounce, g
    acc_lab[:, 0] = 0.3 * np.sin(2 * w * (t - T0_S) + 0.5)      # braking / propulsion
    acc_lab[:, 1] = 0.15 * np.sin(w * (t - T0_S))               # side to side
    acc = np.einsum("nji,nj->ni", r0, acc_lab)
    up_sensor = r0[:, 2, :]
    true_rate = np.einsum("ni,ni->n", gyro, up_sensor)
    gyro = gyro + bias_dps + rng.normal(0, gyro_noise_dps, gyro.shape)
    acc = acc + rng.normal(0, acc_noise_g, acc.shape)
    return gyro, acc, true_rate


def strike_times(t_end_s):
    times, sides, k = [], [], 0
    while T0_S + k * STRIDE_S / 2 < t_end_s:
        times.append(T0_S + k * STRIDE_S / 2)
        sides.append("R" if k % 2 == 0 else "L")
        k += 1
    return np.array(times), sides


def run_chain(t, segments, strikes, chunk=13, with_thorax=True):
    """Stream `segments` {name: (gyro, acc)} through the whole chain in chunks of samples."""
    names = [s for s in ("pelvis", "thorax") if s in segments and (with_thorax or s == "pelvis")]
    ori = {s: OrientationEstimator() for s in names}
    rot = {s: AxialRotation() for s in names}
    side_detector, analyzer = SideDetector(), StrideAnalyzer()
    steps, strides = [], []
    queue = list(strikes)
    for i in range(0, t.size, chunk):
        sl = slice(i, i + chunk)
        theta = {}
        for s in names:
            gyro, acc = segments[s]
            o = ori[s].update(t[sl], acc[sl], gyro[sl])
            theta[s] = rot[s].update(o.t_s, o.axial_rate_dps)
        t_out = theta["pelvis"].t_s
        new = [x for x in queue if x <= t[sl][-1]]
        queue = queue[len(new):]
        thorax = theta["thorax"].theta_deg if "thorax" in names else None
        decided = side_detector.update(t_out, thorax, new)
        steps += decided
        strides += analyzer.update(t_out, theta["pelvis"].theta_deg, thorax, decided)
    last = side_detector.finish()
    steps += last
    strides += analyzer.update(np.empty(0), np.empty(0), np.empty(0) if thorax is not None else None,
                               last)
    return steps, strides


PELVIS = dict(rom_deg=12.0, phase_deg=215.0)
THORAX = dict(rom_deg=22.0, phase_deg=152.0)


def make_run(seed, duration_s=12.0, rate_hz=100.0):
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / rate_hz)
    segments = {}
    for name, spec in (("pelvis", PELVIS), ("thorax", THORAX)):
        gyro, acc, _ = make_segment(rng, t, bias_dps=rng.normal(0, 1.0, 3), **spec)
        segments[name] = (gyro, acc)
    return t, segments


def test_axial_rate_follows_true_vertical_rate_at_any_mounting():
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 8.0, 0.005)
    bias = np.array([1.5, -1.0, 0.8])
    gyro, acc, true_rate = make_segment(rng, t, bias_dps=bias, gyro_noise_dps=0.0, **THORAX)

    class Cal:
        gyro_bias_dps = bias
        gravity_unit = None

    est = OrientationEstimator(calibration=Cal())
    out = [est.update(t[i:i + 20], acc[i:i + 20], gyro[i:i + 20]) for i in range(0, t.size, 20)]
    rate = np.concatenate([o.axial_rate_dps for o in out])
    assert rate.size == t.size
    peak = np.max(np.abs(true_rate))
    assert peak > 40.0
    assert np.sqrt(np.mean((rate - true_rate) ** 2)) < 0.05 * peak


def test_chain_recovers_phases_rom_cadence_and_sides():
    t, segments = make_run(seed=11)
    strikes, truth_sides = strike_times(t[-1])
    steps, strides = run_chain(t, segments, strikes)
    assert [s.t_s for s in steps] == pytest.approx(list(strikes))
    assert [s.side for s in steps] == truth_sides
    assert len(strides) == sum(1 for s in truth_sides if s == "R") - 1
    for st in strides:
        assert st.quality == frozenset()
        assert st.cadence_spm == pytest.approx(120.0 / STRIDE_S, abs=1e-6)
        assert st.pelvis_rom_deg == pytest.approx(PELVIS["rom_deg"], abs=0.6)
        assert st.thorax_rom_deg == pytest.approx(THORAX["rom_deg"], abs=0.6)
        assert circular_abs_diff_deg(st.pelvis_phase_deg, PELVIS["phase_deg"]) < 2.5
        assert circular_abs_diff_deg(st.thorax_phase_deg, THORAX["phase_deg"]) < 2.5
        rel_truth = (THORAX["phase_deg"] - PELVIS["phase_deg"]) % 360
        assert circular_abs_diff_deg(st.rel_phase_deg, rel_truth) < 3.0
        # A pure sinusoid turns as far left as right.
        assert abs(st.rotation_symmetry_pct) < 5.0


def test_sides_come_from_the_thorax_whatever_the_pelvis_does():
    # Pelvis turning the other way round must not change the sides.
    rng = np.random.default_rng(5)
    t = np.arange(0.0, 8.0, 0.01)
    segments = {}
    for name, spec in (("pelvis", dict(rom_deg=12.0, phase_deg=30.0)), ("thorax", THORAX)):
        gyro, acc, _ = make_segment(rng, t, bias_dps=rng.normal(0, 1.0, 3), **spec)
        segments[name] = (gyro, acc)
    strikes, truth_sides = strike_times(t[-1])
    steps, strides = run_chain(t, segments, strikes)
    assert [s.side for s in steps] == truth_sides
    assert all(circular_abs_diff_deg(s.pelvis_phase_deg, 30.0) < 5.0 for s in strides)


def test_without_thorax_sides_are_empty_and_strides_flagged():
    t, segments = make_run(seed=2, duration_s=8.0)
    strikes, _ = strike_times(t[-1])
    steps, strides = run_chain(t, segments, strikes, with_thorax=False)
    assert steps and all(s.side == "" for s in steps)
    assert strides
    for st in strides:
        assert "no_side" in st.quality
        assert st.thorax_rom_deg is None and st.thorax_phase_deg is None and st.rel_phase_deg is None
        assert st.pelvis_rom_deg == pytest.approx(PELVIS["rom_deg"], abs=1.0)
        assert st.rotation_symmetry_pct is not None


def test_gap_flags_only_the_stride_it_falls_in():
    t, segments = make_run(seed=7)
    gap = (t > 5.0) & (t < 5.15)
    for gyro, acc in segments.values():
        gyro[gap] = np.nan
        acc[gap] = np.nan
    strikes, truth_sides = strike_times(t[-1])
    steps, strides = run_chain(t, segments, strikes)
    assert [s.side for s in steps] == truth_sides
    hit = [s for s in strides if s.t_start_s < 5.15 and s.t_end_s > 5.0]
    assert len(hit) == 1
    assert "gap" in hit[0].quality and hit[0].pelvis_rom_deg is None and hit[0].rel_phase_deg is None
    later = [s for s in strides if s.t_start_s > 5.15]
    assert later and all(not s.quality for s in later)
    for st in later:
        assert circular_abs_diff_deg(st.thorax_phase_deg, THORAX["phase_deg"]) < 5.0


def test_missed_right_strike_is_flagged():
    t, segments = make_run(seed=9)
    strikes, _ = strike_times(t[-1])
    # Drop the 6th right strike (index 10): two strides merge into one twice as long.
    kept = np.delete(strikes, 10)
    steps, strides = run_chain(t, segments, kept)
    long = [s for s in strides if s.t_end_s - s.t_start_s > 1.5 * STRIDE_S]
    assert len(long) == 1 and "missed_step" in long[0].quality
    assert all("missed_step" not in s.quality for s in strides if s is not long[0])


def test_theta_ramps_with_bias_but_live_trace_stays_bounded():
    t = np.arange(0.0, 120.0, 0.01)
    rate = 2.0 + 60.0 * np.sin(2 * np.pi * 1.4 * t)
    rot = AxialRotation()
    out = [rot.update(t[i:i + 50], rate[i:i + 50]) for i in range(0, t.size, 50)]
    theta = np.concatenate([o.theta_deg for o in out])
    live = np.concatenate([o.theta_live_deg for o in out])
    assert theta[-1] == pytest.approx(2.0 * t[-1], abs=2.0)
    amplitude = 60.0 / (2 * np.pi * 1.4)
    assert np.max(np.abs(live[t > 60.0])) < amplitude + 1.0


def test_stride_phase_formula_matches_cosine_peak():
    t = np.arange(1.0, 1.8, 0.001)
    for phi in (0.0, 90.0, 152.0, 300.0):
        x = np.cos(2 * np.pi * (t - 1.0) / 0.8 - np.radians(phi))
        assert circular_abs_diff_deg(stride_phase_deg(t, x - x.mean(), 1.0, 1.8), phi) < 0.5


def test_side_detector_without_enough_data_leaves_side_empty():
    sd = SideDetector()
    assert sd.update(np.array([0.0, 0.01]), np.array([0.0, 0.1]), [0.005]) == []
    assert sd.finish() == [Step(0.005, "")]


def test_first_strike_after_standing_takes_its_side_from_the_strikes_after_it():
    # Standing turned a little to the right (theta -8 deg), then running: the rotation ramps
    # up over the first stride. The stride before the first strike is standing, which says
    # nothing about the running stride; the following strikes do, by alternation.
    rate_hz, t_run_s = 200.0, 4.0
    t = np.arange(0.0, 12.0, 1.0 / rate_hz)
    w = 2 * np.pi / STRIDE_S
    ramp = np.clip((t - t_run_s) / STRIDE_S, 0.0, 1.0)
    theta = np.where(t < t_run_s, -8.0,
                     10.0 * ramp * np.cos(w * (t - t_run_s) - np.radians(155.0)))
    strikes = t_run_s + np.arange(0.0, 7.5, STRIDE_S / 2)
    truth = ["R" if k % 2 == 0 else "L" for k in range(strikes.size)]
    sd = SideDetector()
    decided, delay_s, known = [], 0.6, 0              # a strike is known ~0.6 s after it
    for i in range(0, t.size, 3):                    # 15 ms drains
        now = t[min(i + 2, t.size - 1)]
        n_known = int(np.searchsorted(strikes, now - delay_s, side="right"))
        new, known = list(strikes[known:n_known]), n_known
        for step in sd.update(t[i:i + 3], theta[i:i + 3], new):
            decided.append((step, now))
    decided += [(step, None) for step in sd.finish()]
    assert [s.side for s, _ in decided] == truth[:len(decided)]
    assert len(decided) == strikes.size
    # The first strike's side is known once the strike closing its stride is.
    first_known_s = decided[0][1]
    assert first_known_s <= strikes[2] + delay_s + 0.02
