"""The analysis result does not depend on how the samples are chunked, and the vectorised
filters equal their sample-by-sample definitions.

Offline analysis feeds 1 s chunks where the live thread feeds 15 ms drains; both must give the
same steps, sides, strides, verdicts and rotation traces (to rounding)."""

import dataclasses
import math

import numpy as np
import pytest

from pi_app.analysis.orientation import OrientationEstimator
from pi_app.analysis.pipeline import Analyzer
from pi_app.analysis.recurrence import linear_scan
from pi_app.analysis.rotation import AxialRotation
from pi_app.frames import FrameChunk
from pi_app.sim.scenarios import make_scenario

RATE_HZ = 500.0


@pytest.fixture(scope="module")
def recording():
    """32 s of the simulated 'steady' runner at 500 Hz with a thorax gap (NaN rows), a long and
    a short (bridged) pelvis gap and a 0.3 s hole in the time base (missing rows)."""
    world = make_scenario("steady", seed=3)
    t = np.arange(int(32.0 * RATE_HZ)) / RATE_HZ
    t = np.concatenate([t[:12000], t[12150:]])
    p_acc, p_gyro = world.sensor_source("pelvis").sample(t)
    t_acc, t_gyro = world.sensor_source("thorax").sample(t)
    t_acc[9000:9200] = np.nan
    t_gyro[9000:9200] = np.nan
    p_gyro[15000:15040] = np.nan      # 80 ms: stays a gap
    p_acc[5000:5010] = np.nan         # 20 ms: bridged by the gap filler
    return FrameChunk(t, p_acc, p_gyro, t_acc, t_gyro)


def run(frames: FrameChunk, chunk_n: int):
    analyzer = Analyzer(RATE_HZ)
    updates = [analyzer.update(frames.slice(k, k + chunk_n))
               for k in range(0, len(frames), chunk_n)]
    updates.append(analyzer.finish())
    steps = [s for u in updates for s in u.steps]
    strides = [s for u in updates for s in u.strides]
    verdicts = [v for u in updates for v in u.verdicts]
    trace_t = np.concatenate([u.trace_t_s for u in updates])
    traces = {seg: np.concatenate([u.trace_theta_live_deg[seg] for u in updates
                                   if seg in u.trace_theta_live_deg])
              for seg in ("pelvis", "thorax")}
    return steps, strides, verdicts, trace_t, traces


def assert_close_fields(a, b, what):
    for (name, x), y in zip(dataclasses.asdict(a).items(), dataclasses.asdict(b).values()):
        if isinstance(x, float) and isinstance(y, float):
            assert math.isclose(x, y, rel_tol=0.0, abs_tol=1e-9) or (
                math.isnan(x) and math.isnan(y)), f"{what} {name}: {x} != {y}"
        else:
            assert x == y, f"{what} {name}: {x!r} != {y!r}"


@pytest.mark.slow
def test_15ms_and_1s_chunks_give_the_same_analysis(recording):
    steps_a, strides_a, verdicts_a, t_a, traces_a = run(recording, int(0.015 * RATE_HZ))
    steps_b, strides_b, verdicts_b, t_b, traces_b = run(recording, int(1.0 * RATE_HZ))
    assert len(steps_a) > 60 and len(strides_a) > 25
    assert [s.side for s in steps_a] == [s.side for s in steps_b]
    np.testing.assert_allclose([s.t_s for s in steps_a], [s.t_s for s in steps_b],
                               rtol=0, atol=1e-9)
    assert len(strides_a) == len(strides_b)
    for a, b in zip(strides_a, strides_b):
        assert_close_fields(a, b, f"stride {a.index}")
    assert any(s.quality for s in strides_a)     # the gaps were seen
    for a, b in zip(verdicts_a, verdicts_b):
        assert_close_fields(a, b, "verdict")
    np.testing.assert_array_equal(t_a, t_b)
    for seg in ("pelvis", "thorax"):
        np.testing.assert_allclose(traces_a[seg], traces_b[seg], rtol=0, atol=1e-9)
        assert np.isnan(traces_a[seg]).any() and np.isfinite(traces_a[seg]).sum() > 12000


def test_linear_scan_equals_the_sequential_recurrence():
    rng = np.random.default_rng(7)
    n = 3000
    c = 1.0 - rng.uniform(0.0, 0.02, n)
    c[700] = 0.0                       # restart (the first step of a running mean)
    c[701:760] = 0.25                  # fast decay: the block product underflows
    c[1500:1700] = 1.0                 # held state (gap)
    d = rng.normal(size=(n, 3))
    d[1500:1700] = 0.0
    y0 = np.array([1.0, -2.0, 3.0])
    expected = np.empty_like(d)
    y = y0.copy()
    for k in range(n):
        y = c[k] * y + d[k]
        expected[k] = y
    np.testing.assert_allclose(linear_scan(c, d, y0), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(linear_scan(c, d[:, 1], -2.0, block=7), expected[:, 1],
                               rtol=0, atol=1e-12)
    assert linear_scan(c[:0], d[:0], y0).shape == (0, 3)
    for n_short in (1, 15, 40):        # short inputs (live drains) take a plain loop
        np.testing.assert_allclose(linear_scan(c[:n_short], d[:n_short], y0),
                                   expected[:n_short], rtol=0, atol=1e-12)
        np.testing.assert_allclose(linear_scan(c[:n_short], d[:n_short, 0], 1.0),
                                   expected[:n_short, 0], rtol=0, atol=1e-12)


def reference_orientation_rotation(t, acc, gyro, bias, up0, tau_s=4.0, gap_s=0.1,
                                   highpass_hz=0.05, bias_tau_s=20.0):
    """The per-sample definitions of OrientationEstimator (with a calibrated vertical) and
    AxialRotation, written as plain loops."""
    mean = np.asarray(up0, float) / np.linalg.norm(up0)
    last_t = None
    rate = np.full(t.size, np.nan)
    for k in range(t.size):
        if not (np.isfinite(acc[k]).all() and np.isfinite(gyro[k]).all()):
            last_t = None
            continue
        if last_t is not None and 0.0 < t[k] - last_t <= gap_s:
            mean = mean + (acc[k] - mean) * min(1.0, (t[k] - last_t) / tau_s)
        last_t = t[k]
        rate[k] = (gyro[k] - bias) @ (mean / np.linalg.norm(mean))
    theta = np.full(t.size, np.nan)
    live = np.full(t.size, np.nan)
    th = lv = m = 0.0
    n_rate = 0
    last_t = last_r = None
    for k in range(t.size):
        if not np.isfinite(rate[k]):
            last_t = last_r = None
            continue
        if last_t is not None and 0.0 < t[k] - last_t <= gap_s:
            dt = t[k] - last_t
            mr = 0.5 * (rate[k] + last_r)
            th += mr * dt
            n_rate += 1
            m += max(1.0 / n_rate, dt / bias_tau_s) * (mr - m)
            lv += (mr - m) * dt
            lv -= 2.0 * np.pi * highpass_hz * dt * lv
        last_t, last_r = t[k], rate[k]
        theta[k], live[k] = th, lv
    return rate, theta, live


@pytest.mark.parametrize("chunk_n", [1, 7, 4000])
def test_orientation_and_rotation_equal_their_per_sample_definition(chunk_n):
    rng = np.random.default_rng(11)
    n = 4000
    t = np.arange(n) / 1000.0 + rng.normal(0.0, 2e-5, n)    # jittered time stamps
    t[2500:] += 0.4                                          # a hole in the time base
    acc = rng.normal(0.0, 0.5, (n, 3)) + [0.2, 0.1, 1.0]
    gyro = rng.normal(0.0, 60.0, (n, 3))
    acc[1000:1050] = np.nan
    gyro[3000] = np.nan
    bias, up0 = np.array([0.5, -0.3, 1.0]), np.array([0.1, 0.0, 1.0])

    class Cal:
        gyro_bias_dps = bias
        gravity_unit = up0

    orientation, rotation = OrientationEstimator(calibration=Cal()), AxialRotation()
    rates, thetas, lives = [], [], []
    for k in range(0, n, chunk_n):
        o = orientation.update(t[k:k + chunk_n], acc[k:k + chunk_n], gyro[k:k + chunk_n])
        r = rotation.update(o.t_s, o.axial_rate_dps)
        rates.append(o.axial_rate_dps)
        thetas.append(r.theta_deg)
        lives.append(r.theta_live_deg)
    rate, theta, live = reference_orientation_rotation(t, acc, gyro, bias, up0)
    for got, want in ((rates, rate), (thetas, theta), (lives, live)):
        got = np.concatenate(got)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, equal_nan=True)


def test_initial_vertical_uses_exactly_the_first_init_window():
    rng = np.random.default_rng(5)
    t = np.arange(3000) / 1000.0
    acc = rng.normal(0.0, 0.3, (3000, 3)) + [0.0, 0.0, 1.0]
    gyro = np.zeros((3000, 3))
    ups = []
    for chunk_n in (15, 1000, 3000):
        est = OrientationEstimator(init_s=1.0)
        out = [est.update(t[k:k + chunk_n], acc[k:k + chunk_n], gyro[k:k + chunk_n])
               for k in range(0, 3000, chunk_n)]
        ups.append(np.concatenate([o.up for o in out]))
    expected = acc[:1001].mean(axis=0)
    np.testing.assert_allclose(ups[0][0], expected / np.linalg.norm(expected), atol=1e-12)
    for other in ups[1:]:
        np.testing.assert_allclose(other, ups[0], rtol=0, atol=1e-12)
