"""StepDetector, VerticalEstimator and CadenceTracker on synthetic signals of known truth."""

import numpy as np
import pytest

from pi_app.analysis.steps import CadenceTracker, StepDetector
from pi_app.analysis.vertical import VerticalEstimator
from pi_app.validation.step_scoring import match_steps


def random_rotation(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def running(rate_hz, cadence_spm, duration_s, rng, t0_s=0.0, contact_s=0.22):
    """Body-frame specific force (forward, up, left) in g of a runner: half-sine vertical
    force during stance, free fall (0 g) in flight, mean 1 g; braking then propulsion
    fore-aft. Returns t_s, acc (n, 3), contact times."""
    t = t0_s + np.arange(int(duration_s * rate_hz)) / rate_hz
    step_s = 60.0 / cadence_spm
    contacts = t0_s + 0.13 + np.arange(0, duration_s, step_s)
    contacts = contacts[contacts < t[-1] - 0.3]
    peak_g = np.pi * step_s / (2 * contact_s)
    acc = np.zeros((t.size, 3))
    for k, c in enumerate(contacts):
        ph = (t - c) / contact_s
        st = (ph >= 0) & (ph < 1)
        acc[st, 1] = peak_g * np.sin(np.pi * ph[st])
        acc[st, 0] = -0.4 * np.sin(2 * np.pi * ph[st])
        acc[st, 2] = 0.15 * (-1) ** k * np.sin(np.pi * ph[st])
    acc += rng.normal(0, 0.03, acc.shape)
    return t, acc, contacts


def standing(rate_hz, duration_s, rng, t0_s=0.0):
    t = t0_s + np.arange(int(duration_s * rate_hz)) / rate_hz
    acc = np.tile([0.0, 1.0, 0.0], (t.size, 1)) + rng.normal(0, 0.01, (t.size, 3))
    return t, acc


def feed(det, t, acc, chunk_s=0.015, rate_hz=100.0):
    n = max(1, int(round(chunk_s * rate_hz)))
    out = []
    for i in range(0, t.size, n):
        out += det.update(t[i:i + n], acc[i:i + n])
    return out + det.flush()


@pytest.mark.parametrize("rate_hz,cadence_spm,seed", [
    (50, 160, 1), (100, 150, 2), (120, 185, 3), (500, 175, 4), (1000, 200, 5), (2000, 228, 6)])
def test_detects_every_contact_at_any_rate_and_mounting(rate_hz, cadence_spm, seed):
    rng = np.random.default_rng(seed)
    t, acc, truth = running(rate_hz, cadence_spm, 8.0, rng)
    acc = acc @ random_rotation(rng)          # rows: body vector expressed in sensor axes
    det = feed(StepDetector(rate_hz), t, acc, rate_hz=rate_hz)
    m = match_steps(truth, det, tol_s=0.05)
    assert len(m) == len(truth) == len(det)
    err_s = np.array([det[j] - truth[i] for i, j in m])
    assert np.median(np.abs(err_s)) < 0.012
    assert np.all(np.diff(det) > 0)


def test_chunking_does_not_change_results():
    rng = np.random.default_rng(7)
    t, acc, _ = running(500, 180, 6.0, rng)
    a = feed(StepDetector(500), t, acc, chunk_s=0.010, rate_hz=500)
    b = feed(StepDetector(500), t, acc, chunk_s=0.100, rate_hz=500)
    assert a == pytest.approx(b, abs=1e-9)


def test_standing_gives_no_steps_and_running_after_it_does():
    rng = np.random.default_rng(8)
    ts, accs = standing(200, 10.0, rng)
    det = StepDetector(200)
    assert feed(det, ts, accs, rate_hz=200) == []
    tr, accr, truth = running(200, 170, 6.0, rng, t0_s=10.0)
    det = StepDetector(200)
    out = feed(det, np.concatenate([ts, tr]), np.vstack([accs, accr]), rate_hz=200)
    assert min(out) > 10.0
    assert len(match_steps(truth, out)) >= len(truth) - 1


def test_gap_resets_safely():
    rng = np.random.default_rng(9)
    t, acc, truth = running(100, 170, 12.0, rng)
    gap = (t >= 5.0) & (t < 6.0)
    acc[gap] = np.nan
    det = feed(StepDetector(100), t, acc)
    assert not any(4.9 < d < 6.1 for d in det)
    scored = truth[(truth < 4.8) | (truth > 6.5)]
    assert len(match_steps(scored, det)) >= len(scored) - 1
    # A time jump (dropped samples, no NaN row) is a gap too.
    keep = ~gap
    det2 = feed(StepDetector(100), t[keep], np.nan_to_num(acc[keep]))
    assert not any(4.9 < d < 6.1 for d in det2)


def test_walking_like_signal_does_not_explode():
    # Walking: vertical force between ~0.7 and 1.3 g at ~110 steps/min, no flight.
    rng = np.random.default_rng(10)
    t = np.arange(0, 20, 0.01)
    acc = np.zeros((t.size, 3))
    acc[:, 1] = 1 + 0.3 * np.sin(2 * np.pi * 110 / 60 * t) + rng.normal(0, 0.02, t.size)
    assert len(feed(StepDetector(100), t, acc)) <= 2


def test_vertical_estimator_finds_up_in_any_mounting():
    rng = np.random.default_rng(11)
    R = random_rotation(rng)
    t, acc, _ = running(100, 170, 6.0, rng)
    est = VerticalEstimator()
    tv, v = est.update(t, acc @ R)
    assert tv.size == t.size                  # whole chunk > bootstrap: all emitted at once
    assert np.degrees(np.arccos(np.clip(est.up @ R[1], -1, 1))) < 5.0
    assert abs(np.nanmean(v) - 1.0) < 0.1
    # Held samples are emitted by flush when the stream is shorter than the bootstrap.
    est2 = VerticalEstimator()
    assert est2.update(t[:50], acc[:50] @ R)[0].size == 0
    assert est2.flush()[0].size == 50


def test_cadence_tracker_robust_to_missed_and_extra_steps():
    steps = list(np.arange(0, 10, 0.35))
    del steps[10]                      # a missed step
    steps.insert(15, steps[14] + 0.12)  # an extra one
    ct = CadenceTracker()
    assert ct.update(steps) == pytest.approx(60 / 0.35, abs=0.5)
    assert ct.update([], now_s=30.0) is None  # runner stopped
