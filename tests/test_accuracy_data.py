"""The issue's accuracy targets on the real validation data (../shared/data), through the whole
live analysis (`pi-app validate`'s code path). Skipped when the data is not beside the repo."""

from pathlib import Path

import pytest

from pi_app.validation.runner import validate_data_dir

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = pytest.mark.skipif(not DATA.is_dir(),
                                reason=f"validation data not found at {DATA} (../shared/data)")


@pytest.fixture(scope="module")
def scores():
    return {s.name: s for s in validate_data_dir(DATA)}


def test_no_recording_fails(scores):
    assert all(not s.failures for s in scores.values()), {n: s.failures for n, s in scores.items()}


def test_every_target_met(scores):
    misses = {name: [k for k, ok in s.verdicts().items() if not ok] for name, s in scores.items()}
    assert not any(misses.values()), misses


def test_motion_capture_rotation_and_sides(scores):
    m = scores["hamner2013"].metrics()
    assert m["step_f1"] >= 0.99 and m["step_median_abs_error_ms"] <= 20.0
    assert m["side_accuracy"] >= 0.98
    assert m["stride_recall"] >= 0.99 and m["rotation_coverage"] >= 0.99
    assert m["cadence_mae_spm"] <= 1.0
    assert m["rel_phase_cmae_deg"] <= 8.0
    assert m["pelvis_phase_cmae_deg"] <= 8.0 and m["thorax_phase_cmae_deg"] <= 8.0
    assert m["pelvis_rom_mae_deg"] <= 2.0 and m["thorax_rom_mae_deg"] <= 2.0


def test_real_accelerometers_steps_and_cadence(scores):
    a = scores["alcantara2021"].metrics()
    assert a["step_f1"] >= 0.99 and a["step_median_abs_error_ms"] <= 15.0
    assert a["window_cadence_mae_spm"] <= 1.0
    assert scores["adeptdata"].metrics()["window_cadence_mae_spm"] <= 1.0
