"""Stride scoring rules (../shared/data/README.md, "How results are scored")."""

from __future__ import annotations

import pytest

from pi_app.analysis.types import StrideMetrics
from pi_app.validation.stride_scoring import circular_abs_diff_deg, match_strides, score_strides


def test_circular_difference_wraps():
    assert float(circular_abs_diff_deg(359.0, 1.0)) == pytest.approx(2.0)
    assert float(circular_abs_diff_deg(10.0, 190.0)) == pytest.approx(180.0)
    assert float(circular_abs_diff_deg(100.0, 70.0)) == pytest.approx(30.0)


def test_matching_is_one_to_one_closest_first_within_60_ms():
    truth = [1.00, 1.70, 2.40]
    detected = [1.05, 1.02, 1.75, 2.47]
    # 1.02 is closer to 1.00 than 1.05; 1.05 is left over; 2.47 is 70 ms off: no match.
    assert match_strides(truth, detected) == [(0, 1), (1, 2)]
    assert match_strides([], detected) == []


def test_score_reports_mae_circular_mae_and_recall():
    truth = [StrideMetrics(0, 1.0, 1.7, 171.4, 10.0, 20.0, 355.0, 150.0, 155.0),
             StrideMetrics(1, 1.7, 2.4, 171.4, 12.0, 22.0, 200.0, 160.0, 320.0)]
    detected = [StrideMetrics(0, 1.01, 1.72, 169.0, 11.0, 18.0, 5.0, 150.0, 145.0),
                StrideMetrics(1, 2.5, 3.2, 171.0, None, None, None, None, None)]
    score = score_strides(truth, detected)
    assert score["n_matched"] == 1 and score["recall"] == pytest.approx(0.5)
    assert score["cadence_mae_spm"] == pytest.approx(2.4)
    assert score["pelvis_rom_mae_deg"] == pytest.approx(1.0)
    assert score["thorax_rom_mae_deg"] == pytest.approx(2.0)
    assert score["pelvis_phase_cmae_deg"] == pytest.approx(10.0)
    assert score["thorax_phase_cmae_deg"] == pytest.approx(0.0)
    assert score["rel_phase_cmae_deg"] == pytest.approx(10.0)


def test_missing_values_give_none_not_zero():
    truth = [StrideMetrics(0, 1.0, 1.7, 171.4, 10.0, None, 20.0, None, None)]
    detected = [StrideMetrics(0, 1.0, 1.7, 171.4, 10.5, 30.0, 25.0, 150.0, 130.0)]
    score = score_strides(truth, detected)
    assert score["thorax_rom_mae_deg"] is None and score["rel_phase_cmae_deg"] is None
    assert score["pelvis_phase_cmae_deg"] == pytest.approx(5.0)
