"""Drift detector on synthetic stride sequences with known truth (seeded).

Natural variability model: stride time CV ~2.2 % (2 % white + 1 % 1/f wander), pelvis and
thorax phase 6 deg white + 3 deg 1/f wander per stride (rel phase ~9 deg).
"""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.analysis.drift import DriftDetector, circular_mean_sd_deg
from pi_app.analysis.types import StrideMetrics

CADENCE_SPM = 170.0
PELVIS_DEG = 200.0
THORAX_DEG = 155.0          # baseline rel phase 315 deg (thorax - pelvis)


def pink(rng, n):
    """Unit-SD noise with a 1/f power spectrum (long-range correlated wander)."""
    f = np.fft.rfftfreq(n)
    amp = np.zeros_like(f)
    amp[1:] = f[1:] ** -0.5
    x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
    return (x - x.mean()) / x.std()


def make_strides(seed, minutes, thorax_shift_deg=None, cadence_factor=None):
    """Strides with natural variability; thorax_shift_deg(i) / cadence_factor(i) (arrays of
    stride index) add a true change."""
    rng = np.random.default_rng(seed)
    n = int(minutes * CADENCE_SPM / 2)
    i = np.arange(n)
    period_s = 120 / CADENCE_SPM * (1 + 0.02 * rng.standard_normal(n) + 0.01 * pink(rng, n))
    if cadence_factor is not None:
        period_s = period_s / cadence_factor(i)
    pelvis = PELVIS_DEG + 6 * rng.standard_normal(n) + 3 * pink(rng, n)
    thorax = THORAX_DEG + 6 * rng.standard_normal(n) + 3 * pink(rng, n)
    if thorax_shift_deg is not None:
        thorax = thorax + thorax_shift_deg(i)
    t = np.concatenate([[0.0], np.cumsum(period_s)])
    return [StrideMetrics(k, t[k], t[k + 1], 120 / period_s[k],
                          pelvis_phase_deg=pelvis[k] % 360, thorax_phase_deg=thorax[k] % 360,
                          rel_phase_deg=(thorax[k] - pelvis[k]) % 360) for k in range(n)]


def run(detector, strides):
    return [detector.update(s) for s in strides]


def episodes(verdicts):
    flags = [v.drift for v in verdicts]
    return sum(1 for a, b in zip([False] + flags, flags) if b and not a)


def test_states_warmup_then_baseline_then_in_band():
    det = DriftDetector(warmup_s=30, baseline_strides=60)
    strides = make_strides(0, 3)
    verdicts = run(det, strides)
    states = [v.state for v in verdicts]
    n_warm = states.index("building_baseline")
    assert 30 <= strides[n_warm].t_end_s < 32            # warm-up is time based
    building = [v for v in verdicts if v.state == "building_baseline"]
    assert len(building) == 59
    progress = [v.progress for v in building]
    assert progress == sorted(progress) and 0 < progress[0] < 0.05 and progress[-1] < 1
    assert states[n_warm + 60] == "in_band" and verdicts[n_warm + 60].progress == 1.0
    assert set(states[n_warm + 60:]) <= {"in_band", "drifting"}
    base = det.baseline
    assert base["rel_phase"].center == pytest.approx(315, abs=6)
    assert base["cadence"].center == pytest.approx(CADENCE_SPM, abs=3)
    assert 5.0 <= base["pelvis_phase"].sd < 10


@pytest.mark.parametrize("seed", [0, 1])
def test_steady_hour_has_at_most_one_false_episode_per_10_min(seed):
    verdicts = run(DriftDetector(), make_strides(seed, 60))
    assert episodes(verdicts) <= 6
    assert sum(v.drift for v in verdicts) < 0.02 * len(verdicts)


def _latencies(shift, n_seeds=10, start=200):
    """Strides from the true rel phase leaving the detector's band (its center +- half width
    at that stride) to the first drift verdict (any metric; negative = flagged before)."""
    out = []
    for seed in range(n_seeds):
        det = DriftDetector()
        strides = make_strides(seed, 4, thorax_shift_deg=lambda i: np.where(
            i >= start, shift(i - start), 0.0))
        left = flagged = None
        for s in strides:
            band = det.baseline.get("rel_phase")
            v = det.update(s)
            if s.index < start:
                assert not v.drift
                continue
            true_dev = (315 + shift(s.index - start) - band.center + 180) % 360 - 180
            if left is None and abs(true_dev) > band.half_width:
                left = s.index
            if v.drift and flagged is None:
                flagged = s.index
                assert v.metric in ("rel_phase", "thorax_phase")
                if v.metric == "rel_phase":
                    assert v.direction == "counter-rotation lost"
                else:
                    assert v.direction == "thorax late"
                assert v.deviation_sd > 2 and v.beyond_band >= 0
        out.append(None if flagged is None or left is None else flagged - left)
    return out


def test_step_change_flagged_within_3_strides():
    # Thorax later: rel phase 315 -> 365 = 5 deg, toward in-phase (0 deg). The band's half
    # width is ~24 deg (2.5 x 9.4 deg SD), so a 50 deg step ends ~3 SD outside it.
    lat = _latencies(lambda k: 50.0 + 0 * k)
    assert all(x is not None and x <= 3 for x in lat), lat
    # A 40 deg step ends only ~1.5 SD outside: usually fast, sometimes the wander delays it.
    lat = _latencies(lambda k: 40.0 + 0 * k)
    assert all(x is not None for x in lat) and sum(x <= 3 for x in lat) >= 8, lat


@pytest.mark.parametrize("rate_deg", [1.5, 3.0])
def test_ramp_flagged_within_3_strides_of_leaving_the_band(rate_deg):
    # The trend path sees the ramp as it crosses the band edge (the medians alone lagged it
    # by 0-8 strides); a flag before the true value leaves the band (negative) is a correct
    # early warning, the change has started.
    lat = _latencies(lambda k: rate_deg * k)
    assert all(x is not None and x <= 3 for x in lat), (rate_deg, lat)


def test_direction_labels_and_episode_ends():
    det = DriftDetector()
    start, stop = 200, 260
    strides = make_strides(3, 4, thorax_shift_deg=lambda i: np.where(
        (i >= start) & (i < stop), -40.0, 0.0))
    verdicts = run(det, strides)
    drifting = [v for v in verdicts[start:stop] if v.drift]
    assert len(drifting) > 50
    # Thorax earlier: rel phase 315 -> 275, away from 0 deg (more anti-phase), thorax early.
    assert {v.metric for v in drifting} == {"rel_phase"}
    assert {v.direction for v in drifting} == {"more anti-phase"}
    assert "thorax_phase" in drifting[-1].drifting_metrics
    assert drifting[-1].judgements["thorax_phase"].deviation < -25
    assert not any(v.drift for v in verdicts[stop + 15:])


def test_cadence_jump_suppresses_then_rebuilds_baseline():
    start = 200
    det = DriftDetector(suppress_s=20)
    strides = make_strides(4, 6, cadence_factor=lambda i: np.where(i >= start, 1.10, 1.0),
                           thorax_shift_deg=lambda i: np.where(i >= start, -30.0, 0.0))
    verdicts = run(det, strides)
    states = [v.state for v in verdicts]
    first_sup = states.index("suppressed", start)
    assert first_sup - start <= 6         # the window median confirms after 6 of 10 strides
    # The thorax shift that came with the new speed may be cued during the transition, but
    # not once the jump is seen: the new speed is the new normal.
    assert not any(v.drift for v in verdicts[first_sup:])
    sup = [i for i, s in enumerate(states) if s == "suppressed"]
    assert 19.5 <= strides[sup[-1]].t_end_s - strides[sup[0]].t_end_s <= 21
    assert states[sup[-1] + 1] == "building_baseline"
    assert states[-1] == "in_band"
    assert det.baseline["cadence"].center == pytest.approx(CADENCE_SPM * 1.10, rel=0.02)
    assert verdicts[sup[0]].suppressed_for_s == pytest.approx(20, abs=0.01)


def test_coach_band_and_set_band_from_current():
    det = DriftDetector(warmup_s=0)
    strides = make_strides(5, 3)
    run(det, strides[:100])
    bands = det.set_band_from_current()
    assert set(bands) == {"rel_phase", "thorax_phase", "pelvis_phase", "cadence"}
    assert bands["rel_phase"].source == "coach"
    # A band that wraps through 0 deg and excludes the runner's 315 deg: drifting at once.
    det.set_band("rel_phase", 330, 20)
    v = [det.update(s) for s in strides[100:105]]
    assert v[-1].drift and v[-1].metric == "rel_phase"
    assert v[-1].direction == "more anti-phase"      # 315 is farther from 0 than the band
    det.clear_band("rel_phase")
    v = [det.update(s) for s in strides[105:130]]
    assert not v[-1].drift
    det.set_band("cadence", 175, 185)
    v = [det.update(s) for s in strides[130:135]]
    assert v[-1].drift and v[-1].metric == "cadence" and v[-1].direction == "low"


def test_missing_metrics_and_bad_strides_are_skipped():
    det = DriftDetector(warmup_s=0)
    strides = make_strides(6, 2)
    for s in strides:
        s.thorax_phase_deg = s.rel_phase_deg = None       # pelvis-only
    strides[120].quality = frozenset({"missed_step"})
    strides[120].cadence_spm = 85.0                        # would look like a speed change
    verdicts = run(det, strides)
    assert set(det.baseline) == {"pelvis_phase", "cadence"}
    assert "suppressed" not in {v.state for v in verdicts}
    assert all(set(v.judgements) <= {"pelvis_phase", "cadence"} for v in verdicts)


def test_circular_mean_sd():
    mean, sd = circular_mean_sd_deg([350, 10, 0])
    assert mean == pytest.approx(0, abs=1e-9) or mean == pytest.approx(360)
    assert 7 < sd < 9


def test_reset_is_a_fresh_detector_and_the_verdict_carries_its_band():
    # Drifting strides (thorax 40 deg late after 4 min), so episodes, a learnt SD and a coach
    # band are all forgotten by reset.
    strides = make_strides(11, 12, thorax_shift_deg=lambda i: np.where(i > 4 * 85, 40.0, 0.0))
    used = DriftDetector()
    run(used, strides[:500])
    used.set_band("cadence", 160.0, 180.0)
    assert used.episodes >= 1
    used.reset(skip_warmup=True)
    settled = DriftDetector(warmup_s=0.0)
    again, fresh = run(used, strides[500:]), run(settled, strides[500:])
    assert again == fresh
    assert again[0].state == "warmup" and again[1].state == "building_baseline"
    used.reset()
    assert run(used, strides) == run(DriftDetector(), strides)
    # The band each verdict was judged against is in it (a coach's band wins).
    last = fresh[-1]
    assert last.bands["rel_phase"] == settled.baseline["rel_phase"]
    band = settled.set_band("rel_phase", 300.0, 330.0)
    assert settled.update(strides[-1]).bands["rel_phase"] == band
