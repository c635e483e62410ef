"""Accuracy against known truth: the validation datasets (../shared/data) and simulator
scenarios, scored with the data README's rules and pooled per dataset.

Every recording goes through `pi_app.app.offline_analysis` with the built-in default config,
i.e. the live analysis code.
A recording whose analysis fails is scored as if nothing had been detected (README rule).
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pi_app.errors import PiAppError
from pi_app.offline import RecordingAnalysis
from pi_app.validation.datasets import ValidationCase, discover
from pi_app.validation.step_scoring import score_steps, window_cadence_spm
from pi_app.validation.stride_scoring import SCORED_METRICS, score_strides

#: The issue's thresholds, for the report's pass/fail column.
TARGETS = {
    "step_f1": (">=", 0.99),
    "step_median_abs_error_ms": ("<=", 15.0),
    "side_accuracy": (">=", 0.98),
    "cadence_mae_spm": ("<=", 1.0),
    "window_cadence_mae_spm": ("<=", 1.0),
    "rel_phase_cmae_deg": ("<=", 5.0),
    "pelvis_phase_cmae_deg": ("<=", 8.0),
    "thorax_phase_cmae_deg": ("<=", 8.0),
    "pelvis_rom_mae_deg": ("<=", 2.0),
    "thorax_rom_mae_deg": ("<=", 2.0),
}
# The motion-capture data's truth axis and a gyro's vertical differ slightly (issue 3).
MOCAP_TARGETS = {"step_median_abs_error_ms": ("<=", 20.0), "rel_phase_cmae_deg": ("<=", 8.0)}
MOCAP_DATASETS = ("hamner2013",)


@dataclass
class DatasetScore:
    """Pooled scores of one dataset (or simulator scenario group)."""

    name: str
    recordings: int = 0
    failures: list[str] = field(default_factory=list)
    seconds_of_data: float = 0.0
    cpu_s: float = 0.0
    n_truth_steps: int = 0
    n_matched_steps: int = 0
    n_false_steps: int = 0
    n_missed_steps: int = 0
    timing_errors_ms: list[float] = field(default_factory=list)
    sides_compared: int = 0
    sides_correct: int = 0
    n_truth_strides: int = 0
    n_matched_strides: int = 0
    # matched strides whose truth has a relative phase, and how many of ours have one too
    n_matched_with_truth_rel: int = 0
    stride_errors: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in SCORED_METRICS})
    window_errors_spm: list[float] = field(default_factory=list)
    windows_missing: int = 0

    def metrics(self) -> dict:
        """The headline numbers (None where the dataset has no such truth)."""
        m: dict = {"recordings": self.recordings, "failures": len(self.failures)}
        if self.n_truth_steps:
            tp, fp, fn = self.n_matched_steps, self.n_false_steps, self.n_missed_steps
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            m["step_f1"] = 2 * p * r / (p + r) if p + r else 0.0
            m["step_precision"], m["step_recall"] = p, r
            errs = np.asarray(self.timing_errors_ms)
            m["step_bias_ms"] = float(errs.mean()) if errs.size else None
            m["step_median_abs_error_ms"] = float(np.median(np.abs(errs))) if errs.size else None
            m["side_accuracy"] = (self.sides_correct / self.sides_compared
                                  if self.sides_compared else None)
        if self.n_truth_strides:
            m["stride_recall"] = self.n_matched_strides / self.n_truth_strides
            if self.n_matched_with_truth_rel:
                m["rotation_coverage"] = (len(self.stride_errors["rel_phase_cmae_deg"])
                                          / self.n_matched_with_truth_rel)
            for key, stride_errs in self.stride_errors.items():
                m[key] = float(np.mean(stride_errs)) if stride_errs else None
        if self.window_errors_spm or self.windows_missing:
            m["window_cadence_mae_spm"] = (float(np.mean(self.window_errors_spm))
                                           if self.window_errors_spm else None)
            m["windows_without_cadence"] = self.windows_missing
        m["realtime_factor"] = (self.seconds_of_data / self.cpu_s) if self.cpu_s > 0 else None
        return m

    def verdicts(self) -> dict[str, bool]:
        """metric -> target met? (for the metrics this dataset has)."""
        targets = dict(TARGETS)
        if self.name in MOCAP_DATASETS:
            targets.update(MOCAP_TARGETS)
        out = {}
        for key, value in self.metrics().items():
            if key in targets and value is not None:
                op, limit = targets[key]
                out[key] = value >= limit if op == ">=" else value <= limit
        return out


def _gaps(analysis: RecordingAnalysis) -> list[tuple[float, float]]:
    return list(getattr(analysis, "gaps", []))


def default_analysis(path: Path) -> RecordingAnalysis:
    """The recording analysed as `pi-app analyze` does with the built-in defaults."""
    from pi_app.app import offline_analysis
    from pi_app.config import Config
    return offline_analysis(Config(), path)


def score_case(case: ValidationCase, score: DatasetScore,
               analyze: Callable[[Path], RecordingAnalysis] = default_analysis) -> None:
    """Analyse one recording and add its scores to `score`."""
    score.recordings += 1
    t0 = time.process_time()
    try:
        analysis = analyze(case.recording)
    except (PiAppError, Exception) as err:  # a crash is scored, not raised (README rule)
        score.failures.append(f"{case.name}: {err}")
        analysis = None
    score.cpu_s += time.process_time() - t0
    if analysis is not None:
        score.seconds_of_data += analysis.duration_s
    if case.truth_steps is not None:
        if analysis is None:
            score.n_truth_steps += len(case.truth_steps)
            score.n_missed_steps += len(case.truth_steps)
        else:
            s = score_steps(case.truth_steps, analysis.steps, analysis.t_first_s,
                            analysis.t_last_s, gaps=_gaps(analysis))
            score.n_truth_steps += s["n_truth"]
            score.n_matched_steps += s["n_matched"]
            score.n_false_steps += s["n_false"]
            score.n_missed_steps += s["n_missed"]
            score.timing_errors_ms.extend(s["timing_errors_ms"])
            score.sides_compared += s["sides_compared"]
            score.sides_correct += s["sides_correct"]
    if case.truth_strides is not None:
        score.n_truth_strides += len(case.truth_strides)
        if analysis is not None:
            st = score_strides(case.truth_strides, analysis.strides)
            score.n_matched_strides += st["n_matched"]
            score.n_matched_with_truth_rel += st["n_matched_with_truth"]["rel_phase_cmae_deg"]
            for key, errs in st["abs_errors"].items():
                score.stride_errors[key].extend(errs)
    for window in case.truth_windows:
        spm = None
        if analysis is not None:
            spm = window_cadence_spm([s.t_s for s in analysis.steps], window.t_start_s,
                                     window.t_end_s)
        if spm is None:
            score.windows_missing += 1
        else:
            score.window_errors_spm.append(abs(spm - window.cadence_spm))


def validate_data_dir(data_dir: str | Path,
                      progress: Callable[[str], None] | None = None) -> list[DatasetScore]:
    """Score every recording under `data_dir`, pooled per dataset folder."""
    scores: dict[str, DatasetScore] = {}
    for case in discover(data_dir):
        if progress:
            progress(f"{case.dataset}/{case.name}")
        score = scores.setdefault(case.dataset, DatasetScore(case.dataset))
        score_case(case, score)
    return list(scores.values())


#: Simulated scenarios scored by `validate --simulated`: (scenario, seconds, seeds).
SIM_CASES = (("steady", 60.0, (0, 1, 2)), ("cadence-change", 180.0, (0,)),
             ("dropout", 60.0, (0,)), ("i2c-noise", 60.0, (0,)))


def validate_simulated(record: Callable[[list[str]], int], cases=SIM_CASES,
                       chips: str = "mpu6050",
                       progress: Callable[[str], None] | None = None) -> list[DatasetScore]:
    """Record each simulated scenario through the real drivers and sensor path (virtual
    clock), then analyse and score it against the simulator's truth. record(argv): runs
    `pi-app record` with these arguments and returns its exit code (the command layer passes
    it in: validation sits below the commands)."""
    from pi_app.recording.csv_reader import read_steps_csv, read_strides_csv

    scores = []
    with tempfile.TemporaryDirectory(prefix="pi-app-validate-") as tmp:
        for scenario, seconds, seeds in cases:
            score = DatasetScore(f"sim:{scenario}")
            for seed in seeds:
                if progress:
                    progress(f"sim:{scenario} seed {seed}")
                rec = Path(tmp) / f"{scenario}-{seed}.csv"
                code = record(["--simulate", "--scenario", scenario, "--seed",
                                 str(seed), "--chips", chips, "--seconds", str(seconds),
                                 "-o", str(rec), "--quiet"])
                if code != 0:
                    score.recordings += 1
                    score.failures.append(f"{scenario} seed {seed}: record failed")
                    continue
                case = ValidationCase(score.name, f"{scenario}-{seed}", rec,
                                      truth_steps=read_steps_csv(rec.with_suffix(".steps.csv")),
                                      truth_strides=read_strides_csv(
                                          rec.with_suffix(".strides.csv")))
                score_case(case, score)
            scores.append(score)
    return scores


def _fmt(value, key: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if key in ("step_f1", "step_precision", "step_recall", "side_accuracy", "stride_recall",
               "rotation_coverage"):
        return f"{value:.3f}"
    if key == "realtime_factor":
        return f"{value:.0f}×"
    return f"{value:.2f}" if math.isfinite(value) else "–"


ROWS = (
    ("recordings", "recordings"),
    ("failures", "failures (scored as nothing detected)"),
    ("step_f1", "step F1 (±50 ms)"),
    ("step_bias_ms", "step timing bias, ms"),
    ("step_median_abs_error_ms", "step median abs timing error, ms"),
    ("side_accuracy", "side (L/R) accuracy"),
    ("stride_recall", "stride recall (±60 ms)"),
    ("rotation_coverage", "matched strides with rotation metrics"),
    ("cadence_mae_spm", "cadence per stride MAE, spm"),
    ("window_cadence_mae_spm", "window cadence MAE, spm"),
    ("pelvis_rom_mae_deg", "pelvis ROM MAE, deg"),
    ("thorax_rom_mae_deg", "thorax ROM MAE, deg"),
    ("pelvis_phase_cmae_deg", "pelvis phase circular MAE, deg"),
    ("thorax_phase_cmae_deg", "thorax phase circular MAE, deg"),
    ("rel_phase_cmae_deg", "relative phase circular MAE, deg"),
    ("realtime_factor", "analysis speed (data s / CPU s)"),
)


def markdown_table(scores: list[DatasetScore]) -> str:
    """One column per dataset; a metric's cell is marked ✗ when it misses its target."""
    header = "| metric | " + " | ".join(s.name for s in scores) + " |"
    lines = [header, "|---" * (len(scores) + 1) + "|"]
    metrics = [s.metrics() for s in scores]
    verdicts = [s.verdicts() for s in scores]
    for key, label in ROWS:
        if all(m.get(key) is None for m in metrics):
            continue
        cells = []
        for m, v in zip(metrics, verdicts):
            cell = _fmt(m.get(key), key)
            if v.get(key) is False:
                cell += " ✗"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
