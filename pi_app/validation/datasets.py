"""Discover validation recordings and their truth files (layout of ../shared/data/README.md).

For every recording `DATASET/NAME.csv` the truth lives in `DATASET/truth/`:
`NAME.steps.csv` (t_s,side), `NAME.strides.csv` (strides CSV columns) and `NAME.cadence.csv`
(t_start_s,t_end_s,cadence_spm,n_intervals). Any of them may be absent.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pi_app.analysis.types import Step, StrideMetrics
from pi_app.errors import InputFileError
from pi_app.recording.csv_reader import read_steps_csv, read_strides_csv


@dataclass
class CadenceWindow:
    """A reference cadence over a time window (steps/min over [t_start_s, t_end_s))."""

    t_start_s: float
    t_end_s: float
    cadence_spm: float


@dataclass
class ValidationCase:
    """One recording with whatever truth exists for it."""

    dataset: str
    name: str
    recording: Path
    truth_steps: list[Step] | None = None
    truth_strides: list[StrideMetrics] | None = None
    truth_windows: list[CadenceWindow] = field(default_factory=list)


def read_cadence_csv(path: Path) -> list[CadenceWindow]:
    """Read a cadence-window truth CSV."""
    with open(path, newline="", encoding="utf-8") as f:
        return [CadenceWindow(float(r["t_start_s"]), float(r["t_end_s"]), float(r["cadence_spm"]))
                for r in csv.DictReader(f)]


def discover(data_dir: str | Path) -> list[ValidationCase]:
    """All recordings under `data_dir` (one folder per dataset), sorted by dataset and name."""
    root = Path(data_dir)
    if not root.is_dir():
        raise InputFileError(
            f"validation data folder {root} not found: pass the folder that holds the datasets, "
            "e.g. ../shared/data", path=str(root))
    cases = []
    for dataset_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        truth_dir = dataset_dir / "truth"
        for rec in sorted(dataset_dir.glob("*.csv")):
            case = ValidationCase(dataset_dir.name, rec.stem, rec)
            steps = truth_dir / f"{rec.stem}.steps.csv"
            strides = truth_dir / f"{rec.stem}.strides.csv"
            cadence = truth_dir / f"{rec.stem}.cadence.csv"
            if steps.exists():
                case.truth_steps = read_steps_csv(steps)
            if strides.exists():
                case.truth_strides = read_strides_csv(strides)
            if cadence.exists():
                case.truth_windows = read_cadence_csv(cadence)
            cases.append(case)
    if not cases:
        raise InputFileError(
            f"no recordings (*.csv) found in the dataset folders of {root}: pass the folder that "
            "holds the datasets, e.g. ../shared/data", path=str(root))
    return cases
