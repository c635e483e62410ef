"""Run the live analysis over a recording file (`pi-app analyze`, `pi-app validate`).

The recording is streamed in chunks the size of a live sensor drain and fed to exactly the
`Analyzer` the live analysis thread uses, so offline and live results are the same by
construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pi_app.analysis.drift import DriftVerdict, circular_mean_sd_deg
from pi_app.analysis.pipeline import Analyzer
from pi_app.analysis.types import Step, StrideMetrics
from pi_app.recording.csv_reader import RecordingReader

#: Chunk length (s) for offline analysis. The analysis result does not depend on the chunking
#: (tests/test_pipeline_chunking.py), and per-chunk overhead dominates at the live 15 ms.
OFFLINE_CHUNK_S = 1.0


@dataclass
class RecordingAnalysis:
    """Everything `analyze_recording` found in one recording."""

    path: Path
    rate_hz: float
    segments: tuple[str, ...]
    gyro_segments: tuple[str, ...]
    t_first_s: float = math.nan
    t_last_s: float = math.nan
    n_samples: int = 0
    steps: list[Step] = field(default_factory=list)
    strides: list[StrideMetrics] = field(default_factory=list)
    verdicts: list[DriftVerdict] = field(default_factory=list)
    # Spans (start_s, end_s) with no pelvis data: missing rows (a time step over 1.5 sample
    # periods) or empty fields.
    gaps: list[tuple[float, float]] = field(default_factory=list)
    # Line number of a last line cut short (the file ends mid-row), which was skipped.
    cut_line: int | None = None

    @property
    def duration_s(self) -> float:
        return self.t_last_s - self.t_first_s if self.n_samples else 0.0


def analyze_recording(path: str | Path,
                      analyzer_for: Callable[[float, tuple[str, ...]], Analyzer],
                      chunk_s: float = OFFLINE_CHUNK_S) -> RecordingAnalysis:
    """Analyse a recording CSV (spec format) in chunks of `chunk_s` seconds (the steps, strides
    and verdicts are the same for any chunk length, e.g. the live
    `pi_app.drain.DRAIN_INTERVAL_S`) with `analyzer_for(rate_hz, gyro_segments)`, the
    analysis built from the config (`pi_app.app.offline_analysis`).

    Raises `InputFileError` for a malformed file (one sentence with the line number)."""
    reader = RecordingReader(path)
    reader.chunk_rows = max(1, int(round(reader.rate_hz * chunk_s)))
    gyro_segments = tuple(s for s, has in (("pelvis", reader.has_gyro),
                                           ("thorax", reader.has_thorax_gyro)) if has)
    analyzer = analyzer_for(reader.rate_hz, gyro_segments)
    result = RecordingAnalysis(Path(path), reader.rate_hz, reader.segments, gyro_segments)
    last_good_t_s = None
    for chunk in reader:
        if result.n_samples == 0:
            result.t_first_s = float(chunk.t_s[0])
        last_good_t_s = _find_gaps(chunk, 1.5 / reader.rate_hz, last_good_t_s, result.gaps)
        result.n_samples += len(chunk)
        result.t_last_s = float(chunk.t_s[-1])
        _collect(result, analyzer.update(chunk))
    _collect(result, analyzer.finish())
    result.cut_line = reader.cut_line
    return result


def _find_gaps(chunk, max_step_s: float, last_good_t_s: float | None,
               gaps: list[tuple[float, float]]) -> float | None:
    """Append the gaps in this chunk's pelvis data to `gaps`; returns the time of the last
    good sample (carried to the next chunk)."""
    good = np.all(np.isfinite(chunk.pelvis_acc_g), axis=1)
    t_good = chunk.t_s[good]
    if t_good.size == 0:
        return last_good_t_s
    if last_good_t_s is not None:
        t_good = np.concatenate([[last_good_t_s], t_good])
    steps = np.diff(t_good)
    for k in np.flatnonzero(steps > max_step_s):
        gaps.append((float(t_good[k]), float(t_good[k + 1])))
    return float(t_good[-1])


def _collect(result: RecordingAnalysis, update) -> None:
    result.steps.extend(update.steps)
    result.strides.extend(update.strides)
    result.verdicts.extend(update.verdicts)


def drift_episodes(result: RecordingAnalysis) -> list[dict]:
    """Consecutive drifting strides as episodes: start/end time (s), strides, metric, direction."""
    episodes: list[dict] = []
    current: dict | None = None
    for stride, verdict in zip(result.strides, result.verdicts):
        if verdict.drift:
            if current is None:
                current = {"t_start_s": stride.t_start_s, "t_end_s": stride.t_end_s,
                           "strides": 0, "metric": verdict.metric,
                           "direction": verdict.direction}
                episodes.append(current)
            current["t_end_s"] = stride.t_end_s
            current["strides"] += 1
        else:
            current = None
    return episodes


# Quality flags that make a stride's duration (so its cadence) wrong. "no_side" does not: a
# stride is two steps whichever foot started it, which is all an accelerometer-only
# recording can tell.
_CADENCE_BAD_QUALITY = frozenset({"missed_step", "gap", "sensor_fault"})


def _sides_unknown(result: RecordingAnalysis, sides: list[str]) -> str | None:
    if "R" in sides or "L" in sides or not sides:
        return None
    if not result.gyro_segments:
        return "no gyroscope"
    if "thorax" not in result.gyro_segments:
        return "no thorax gyroscope"
    return "not told"


def summarize(result: RecordingAnalysis) -> dict:
    """The `--json` summary: counts, cadence, relative phase mean and circular SD, drift.
    `sides_unknown` says why no step has a side (left and right are told from the thorax's
    rotation, so it needs the thorax gyroscope), None when sides are known;
    `quality_flags` counts the strides per flag."""
    cadences = [s.cadence_spm for s in result.strides
                if not (s.quality & _CADENCE_BAD_QUALITY)]
    rel = [s.rel_phase_deg for s in result.strides if s.rel_phase_deg is not None]
    rel_mean, rel_sd = circular_mean_sd_deg(rel) if rel else (None, None)
    sides = [s.side for s in result.steps]

    def rounded(x, nd=2):
        return None if x is None else round(float(x), nd)

    def mean_of(name):
        vals = [getattr(s, name) for s in result.strides if getattr(s, name) is not None]
        return rounded(np.mean(vals)) if vals else None

    flags: dict[str, int] = {}
    for s in result.strides:
        for flag in s.quality:
            flags[flag] = flags.get(flag, 0) + 1
    return {
        "file": str(result.path),
        "cut_line": result.cut_line,
        "rate_hz": rounded(result.rate_hz, 3),
        "duration_s": rounded(result.duration_s, 3),
        "segments": list(result.segments),
        "gyro_segments": list(result.gyro_segments),
        "steps": len(result.steps),
        "steps_right": sides.count("R"),
        "steps_left": sides.count("L"),
        "sides_unknown": _sides_unknown(result, sides),
        "strides": len(result.strides),
        "cadence_spm_mean": rounded(np.mean(cadences)) if cadences else None,
        "cadence_spm_sd": rounded(np.std(cadences)) if cadences else None,
        "pelvis_rom_deg_mean": mean_of("pelvis_rom_deg"),
        "thorax_rom_deg_mean": mean_of("thorax_rom_deg"),
        "rel_phase_deg_mean": rounded(rel_mean, 1),
        "rel_phase_deg_circular_sd": rounded(rel_sd, 1),
        "strides_flagged_quality": sum(1 for s in result.strides if s.quality),
        "quality_flags": dict(sorted(flags.items())),
        "drift_strides": sum(1 for s in result.strides if s.drift),
        "drift_episodes": drift_episodes(result),
    }
