"""Results of the analysis, shared by the estimators, the CSV writers, the cue engine and
the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field

from pi_app.records import QualityFlag


@dataclass(frozen=True)
class Step:
    """One detected initial contact (foot strike)."""

    t_s: float
    side: str = ""          # "R", "L", or "" when it could not be told


@dataclass
class StrideMetrics:
    """One stride, right initial contact to the next, with the strides-CSV columns
    (../shared/spec/recording-csv.md). None = could not be computed (e.g. no thorax sensor)."""

    index: int
    t_start_s: float
    t_end_s: float
    cadence_spm: float
    pelvis_rom_deg: float | None = None
    thorax_rom_deg: float | None = None
    pelvis_phase_deg: float | None = None
    thorax_phase_deg: float | None = None
    rel_phase_deg: float | None = None
    # Left/right symmetry of axial rotation: (left excursion - right excursion) / mean excursion,
    # in percent; 0 = symmetric. None without gyro.
    rotation_symmetry_pct: float | None = None
    # Quality flags (pi_app.records.QualityFlag). Empty = good.
    quality: frozenset[QualityFlag] = field(default_factory=frozenset)
    drift: bool = False
