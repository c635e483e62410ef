"""The README scoring rules on hand-made cases."""

import pytest

from pi_app.analysis.types import Step
from pi_app.validation.step_scoring import match_steps, score_steps, window_cadence_spm


def test_match_is_one_to_one_closest_first():
    # Detection 1.03 is within tolerance of both truths; it is closest to 1.05 (0.02),
    # so 1.00 takes the other candidate 0.96 (0.04).
    truth = [1.00, 1.05]
    det = [0.96, 1.03]
    assert match_steps(truth, det, tol_s=0.05) == [(0, 0), (1, 1)]
    assert match_steps([1.0], [1.06], tol_s=0.05) == []
    assert match_steps([1.0, 2.0], [1.01, 1.02], tol_s=0.05) == [(0, 0)]


def test_score_counts_misses_false_and_timing():
    truth = [Step(t) for t in (1.0, 1.4, 1.8, 2.2)]
    det = [Step(1.01), Step(1.42), Step(2.0), Step(2.19)]
    r = score_steps(truth, det, t_first_s=0.0, t_last_s=3.0)
    assert r["n_matched"] == 3
    assert r["precision"] == pytest.approx(0.75)
    assert r["recall"] == pytest.approx(0.75)
    assert r["f1"] == pytest.approx(0.75)
    assert r["bias_ms"] == pytest.approx((10 + 20 - 10) / 3)
    assert r["median_abs_error_ms"] == pytest.approx(10)
    assert r["side_accuracy"] is None


def test_score_ignores_edges_and_gaps_and_scores_sides():
    truth = [Step(0.05, "R"), Step(1.0, "L"), Step(1.5, "R"), Step(2.0, "L"), Step(2.95, "R")]
    det = [Step(1.0, "L"), Step(2.0, "R"), Step(2.92, "")]
    # 0.05 and 2.95 are within 0.1 s of the ends; 1.5 is inside a gap.
    r = score_steps(truth, det, t_first_s=0.0, t_last_s=3.0, gaps=[(1.45, 1.6)])
    assert r["n_truth"] == 2
    assert r["recall"] == 1.0 and r["precision"] == 1.0
    assert r["side_accuracy"] == pytest.approx(0.5)
    # Without the gap the step at 1.5 is a miss.
    assert score_steps(truth, det, 0.0, 3.0)["recall"] == pytest.approx(2 / 3)


def test_window_cadence_rule():
    steps = [0.0, 0.4, 0.8, 1.2, 1.6]
    assert window_cadence_spm(steps, 0.0, 2.0) == pytest.approx(150.0)
    # A missed step (0.8 s interval) is outside 0.24-0.60; an extra step splits an interval
    # into 0.25 + 0.15: 0.15 is too short and 0.25 is > 25 % from the median 0.4.
    steps = [0.0, 0.4, 0.8, 1.6, 2.0, 2.25, 2.4, 2.8, 3.2]
    assert window_cadence_spm(steps, 0.0, 4.0) == pytest.approx(150.0)
    # Window bounds: only steps with t0 <= t < t1.
    assert window_cadence_spm([0.0, 0.5, 1.0, 1.3, 1.6], 0.9, 2.0) == pytest.approx(200.0)
    assert window_cadence_spm([0.0, 1.0], 0.0, 2.0) is None
