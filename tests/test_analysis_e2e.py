"""End to end on the simulator: each scenario is recorded through the chip emulators, the real
drivers and the sensor reader (`pi-app record --simulate`), analysed by the live analysis chain
(`pi_app.app.offline_analysis`), and scored against the simulator's truth with the shared scoring rules.

Recordings are made once per module (tmp_path_factory) and analysed in 0.5 s chunks: the
Analyzer's results do not depend on chunking, and it halves the CPU of the 15 ms live chunks.
"""

from __future__ import annotations


import pytest

from pi_app.analysis.drift import DriftDetector
from pi_app.cli import main
from pi_app.app import offline_analysis
from pi_app.config import Config
from pi_app.offline import drift_episodes
from pi_app.recording.csv_reader import read_steps_csv, read_strides_csv
from pi_app.sim.scenarios import DRIFT_AFTER_RUN_S, STAND_S, make_scenario
from pi_app.validation.step_scoring import score_steps
from pi_app.validation.stride_scoring import match_strides, score_strides

# Every test reads the module's simulated recordings (~80 s of CPU to make and analyse).
pytestmark = pytest.mark.slow

CHUNK_S = 0.5
# Scenario -> seconds recorded (long enough for its event plus a judged stretch after it).
SECONDS = {"steady": 300.0, "cadence-change": 170.0, "dropout": 70.0, "i2c-noise": 60.0,
           "drift": 240.0}


class Run:
    """One recorded and analysed scenario with its truth."""

    def __init__(self, scenario: str, directory, seed: int = 0):
        path = directory / f"{scenario}.csv"
        assert main(["record", "--simulate", "--scenario", scenario, "--seed", str(seed),
                     "--seconds", str(SECONDS[scenario]), "-o", str(path), "--quiet"]) == 0
        self.path = path
        self.truth_steps = read_steps_csv(directory / f"{scenario}.steps.csv")
        self.truth_strides = read_strides_csv(directory / f"{scenario}.strides.csv")
        self.analysis = offline_analysis(Config(), path, chunk_s=CHUNK_S)

    def steps_score(self) -> dict:
        a = self.analysis
        return score_steps(self.truth_steps, a.steps, a.t_first_s, a.t_last_s, a.gaps)

    def strides_score(self) -> dict:
        return score_strides(self.truth_strides, self.analysis.strides)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache: dict[str, Run] = {}

    def get(scenario: str) -> Run:
        if scenario not in cache:
            cache[scenario] = Run(scenario, tmp_path_factory.mktemp(scenario))
        return cache[scenario]
    return get


@pytest.mark.parametrize("scenario", list(SECONDS))
def test_steps_and_strides_match_truth(runs, scenario):
    run = runs(scenario)
    steps = run.steps_score()
    assert steps["f1"] >= 0.99, steps
    assert steps["median_abs_error_ms"] <= 15.0, steps
    assert steps["side_accuracy"] >= 0.98, steps
    strides = run.strides_score()
    assert strides["recall"] >= 0.95, {k: v for k, v in strides.items() if k != "abs_errors"}
    assert strides["cadence_mae_spm"] <= 1.0
    assert strides["rel_phase_cmae_deg"] <= 5.0
    assert strides["pelvis_phase_cmae_deg"] <= 8.0
    assert strides["thorax_phase_cmae_deg"] <= 8.0
    assert strides["pelvis_rom_mae_deg"] <= 2.0
    assert strides["thorax_rom_mae_deg"] <= 2.0


# Fraction of matched strides that carry a relative phase. Measured (seed 0): 1.0 steady,
# drift, cadence-change, i2c-noise (the ~15 ms gaps of failed FIFO reads are bridged);
# 0.91 dropout (the 5 s without thorax).
MIN_ROTATION_COVERAGE = {"steady": 0.99, "cadence-change": 0.99, "drift": 0.99,
                         "dropout": 0.85, "i2c-noise": 0.99}


@pytest.mark.parametrize("scenario", list(SECONDS))
def test_strides_carry_rotation_metrics(runs, scenario):
    strides = runs(scenario).analysis.strides
    with_rel = sum(1 for s in strides if s.rel_phase_deg is not None)
    assert with_rel / len(strides) >= MIN_ROTATION_COVERAGE[scenario], (with_rel, len(strides))


def _wrap180(x: float) -> float:
    return (x + 180.0) % 360.0 - 180.0


def test_drift_flagged_after_the_change_within_3_strides_of_leaving_the_band(runs):
    run = runs("drift")
    drift_start_s = STAND_S + DRIFT_AFTER_RUN_S
    # Re-run the strides through a detector we can inspect stride by stride (same defaults
    # as the Analyzer's): the band it had learned at each stride defines "leaving the band".
    detector = DriftDetector()
    truth = run.truth_strides
    pairs = dict((j, i) for i, j in match_strides([s.t_start_s for s in truth],
                                                  [s.t_start_s for s in run.analysis.strides]))
    scripted = make_scenario("drift", seed=0).truth.scripted_rel_phase_deg
    first_flag = first_out = leave_for_good = crossing = None
    for j, stride in enumerate(run.analysis.strides):
        band = detector.baseline.get("rel_phase")
        verdict = detector.update(stride)
        assert verdict.drift == run.analysis.verdicts[j].drift
        if stride.t_start_s < drift_start_s:
            assert not verdict.drift, stride          # never before the true change
            continue
        mid_s = 0.5 * (stride.t_start_s + stride.t_end_s)
        if crossing is None and abs(_wrap180(scripted(mid_s) - band.center)) > band.half_width:
            crossing = j
        i = pairs[j]
        out = abs(_wrap180(truth[i].rel_phase_deg - band.center)) > band.half_width
        if out and first_out is None:
            first_out = j
        if out and leave_for_good is None:
            leave_for_good = j
        elif not out:
            leave_for_good = None
        if verdict.drift and first_flag is None:
            first_flag = j
    assert first_flag is not None and first_out is not None
    # The truth's stride-to-stride jitter can poke out of the band once at the start of the
    # ramp (seed 0: 2 strides in, 8 strides before the flag), so the goal is judged from the
    # stride after which the true rel phase stays outside the band.
    assert abs(first_flag - leave_for_good) <= 3, (first_out, leave_for_good, first_flag)
    # And from the scripted change itself (no jitter) crossing the band edge: 3 strides here
    # (bench/drift_false_alarms.py: 3, 0, 2, -2, -2 strides for seeds 0-4).
    assert crossing is not None and abs(first_flag - crossing) <= 3, (crossing, first_flag)
    episodes = drift_episodes(run.analysis)
    assert len(episodes) == 1 and episodes[0]["t_start_s"] > drift_start_s
    assert episodes[0]["metric"] == "rel_phase"


def test_steady_run_false_alarms(runs):
    run = runs("steady")
    episodes = drift_episodes(run.analysis)
    # Seed 0, 300 s (about 3.5 min judged after warm-up and baseline). Judging pelvis phase
    # and cadence on their own gave 2 short false episodes here; with the default judged
    # metrics (relative and thorax phase) there are none.
    assert episodes == [], episodes
