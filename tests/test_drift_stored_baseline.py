"""A remembered `Baseline` in the drift detector: judged against right after the warm-up when
the speed matches, never silently when it does not (synthetic strides of known truth)."""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.analysis.drift import Baseline, DriftDetector
from tests.test_drift_detector import CADENCE_SPM, make_strides, run

WARMUP_S = 30.0


def learnt(seed=1, minutes=4, cadence_factor=None) -> Baseline:
    det = DriftDetector(warmup_s=WARMUP_S)
    run(det, make_strides(seed, minutes, cadence_factor=cadence_factor))
    baseline = det.learnt_baseline(origin="session 1", created_unix_s=1.0)
    assert baseline is not None
    return baseline


def first_judged_index(verdicts):
    return next(i for i, v in enumerate(verdicts) if v.state not in ("warmup",))


def test_learnt_baseline_is_a_record_of_the_band():
    b = learnt()
    assert set(b.centers) == {"rel_phase", "thorax_phase", "pelvis_phase", "cadence"}
    assert abs(b.cadence_spm - CADENCE_SPM) < 3.0
    assert abs(((b.centers["rel_phase"] - 315.0) + 180) % 360 - 180) < 4.0
    assert 5.0 < b.sds["rel_phase"] < 20.0
    assert b.n_strides >= 60 and b.origin == "session 1"


def test_none_before_any_baseline():
    assert DriftDetector().learnt_baseline() is None


def test_matching_cadence_judges_right_after_warmup():
    det = DriftDetector(warmup_s=WARMUP_S)
    det.use_baseline(learnt())
    verdicts = run(det, make_strides(7, 2))
    i = first_judged_index(verdicts)
    assert verdicts[i].state == "in_band"          # no "building_baseline" at all
    assert not any(v.state == "building_baseline" for v in verdicts)
    assert det.stored_in_use is not None and "session 1" in det.stored_note
    assert "cadence" in det.stored_note


def test_fresh_detector_builds_first():
    verdicts = run(DriftDetector(warmup_s=WARMUP_S), make_strides(7, 2))
    assert verdicts[first_judged_index(verdicts)].state == "building_baseline"


def test_other_speed_never_reuses_the_band_silently():
    det = DriftDetector(warmup_s=WARMUP_S)
    det.use_baseline(learnt())
    # 6 % faster cadence: another speed.
    verdicts = run(det, make_strides(7, 2, cadence_factor=lambda i: np.full(i.shape, 1.06)))
    assert verdicts[first_judged_index(verdicts)].state == "building_baseline"
    assert det.stored_in_use is None
    assert det.stored_note.startswith("remembered baseline not used: cadence")


def test_entered_speed_decides_over_cadence():
    b = learnt()
    same = DriftDetector(warmup_s=WARMUP_S)
    same.use_baseline(b, speed_match=True)
    v = run(same, make_strides(7, 2, cadence_factor=lambda i: np.full(i.shape, 1.04)))
    assert v[first_judged_index(v)].state == "in_band"
    other = DriftDetector(warmup_s=WARMUP_S)
    other.use_baseline(b, speed_match=False)
    v = run(other, make_strides(7, 2))
    assert v[first_judged_index(v)].state == "building_baseline"
    assert other.stored_in_use is None and "not used" in other.stored_note


def test_rejected_by_caller_says_why():
    det = DriftDetector(warmup_s=WARMUP_S)
    det.use_baseline(learnt())
    det.reject_baseline("other chips (mpu6500 vs mpu6050)")
    v = run(det, make_strides(7, 2))
    assert v[first_judged_index(v)].state == "building_baseline"
    assert det.stored_note == "remembered baseline not used: other chips (mpu6500 vs mpu6050)"


def test_early_drift_flagged_within_3_strides_of_leaving_the_band():
    """A thorax ramp that starts 5 strides after the warm-up (no fresh baseline could exist
    before ~60 strides later) is flagged within 3 strides of its true value leaving the band."""
    b = learnt(seed=1)
    det = DriftDetector(warmup_s=WARMUP_S)
    det.use_baseline(b)
    n_warm = int(WARMUP_S * CADENCE_SPM / 120) + 1
    start = n_warm + 5
    ramp = lambda i: np.clip(i - start, 0, None) * 2.0        # 2 deg/stride (true change)
    strides = make_strides(7, 3, thorax_shift_deg=ramp)
    verdicts = run(det, strides)
    # The stride at which the true (noise-free) relative phase leaves the band it started
    # with (the stored center +- k_sd stored SDs; the ramp moves it 2 deg per stride).
    half_width = det.k_sd * max(b.sds["rel_phase"], det.sd_floor["rel_phase"])
    off = ((315.0 - b.centers["rel_phase"]) + 180) % 360 - 180
    leave = start + int(np.ceil((half_width - off) / 2.0))
    flagged = next(i for i, v in enumerate(verdicts) if v.drift)
    print("start", start, "leaves band", leave, "flagged", flagged)
    assert flagged <= leave + 3, (flagged, leave)
    assert flagged > start                      # not a false alarm before the change


def test_baseline_record_validates_its_parameters():
    with pytest.raises(ValueError):
        Baseline({"rel_phase": 300.0}, {}, 60)
    with pytest.raises(ValueError):
        Baseline({"spin": 1.0}, {"spin": 1.0}, 60)
    with pytest.raises(ValueError):
        Baseline({"rel_phase": 300.0}, {"rel_phase": float("nan")}, 60)



def test_todays_warmup_updates_the_remembered_band():
    """Another day sits a little elsewhere: the stored band is a prior worth one baseline of
    strides; the warm-up strides move its center by their median offset weighted by their
    number and join its SD."""
    b = Baseline({"rel_phase": 315.0, "cadence": CADENCE_SPM}, {"rel_phase": 6.0, "cadence": 2.0},
                 n_strides=240)
    det = DriftDetector(warmup_s=WARMUP_S, baseline_strides=60)
    det.use_baseline(b)
    strides = make_strides(7, 2, thorax_shift_deg=lambda i: np.full(i.shape, -6.0))
    k = 0
    while det.state == "warmup":
        det.update(strides[k])
        k += 1
    band = det.baseline["rel_phase"]
    warm = list(det._tracks["rel_phase"].values)
    offset = float(np.median([((v - 315.0) + 180) % 360 - 180 for v in warm]))
    assert offset < -3.0                                 # today really sits lower
    expected = 315.0 + offset * len(warm) / (len(warm) + 60)
    assert band.center == pytest.approx(expected, abs=1e-6)
    assert band.sd > 6.0                                 # today's spread joined the SD
