"""The analysis chain, wired once and used both live and offline.

    FrameChunk ─▶ ShortGapFiller (bridges gaps <= 50 ms) ─▶
              ─▶ StepDetector (pelvis acc) ──────────────▶ contact times
              ─▶ OrientationEstimator ▸ AxialRotation ──▶ theta per segment
                 (per segment with a gyro)                    │
    contacts + thorax theta ─▶ SideDetector ─▶ steps with side
    steps + theta ─▶ StrideAnalyzer ─▶ StrideMetrics ─▶ DriftDetector ─▶ verdict per stride
    steps ─▶ CadenceTracker (live cadence); axial rates ─▶ LivePhaseEstimator (live dial)

`Analyzer.update(chunk)` takes consecutive `FrameChunk`s (any size: the result does not depend
on how the samples are chunked) and returns what became known. The live analysis thread and
`pi-app analyze` both call exactly this; the offline path calls `finish()` at the end of the
recording to flush what the causal detectors still hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pi_app.analysis.drift import DriftDetector, DriftVerdict
from pi_app.analysis.gap_fill import ShortGapFiller
from pi_app.analysis.live_phase import LivePhaseEstimator
from pi_app.analysis.orientation import OrientationEstimator
from pi_app.analysis.rotation import AxialRotation
from pi_app.analysis.side import SideDetector
from pi_app.analysis.steps import CadenceTracker, StepDetector
from pi_app.analysis.strides import StrideAnalyzer
from pi_app.analysis.types import Step, StrideMetrics
from pi_app.frames import SEGMENTS, FrameChunk


@dataclass
class LiveState:
    """The newest continuous values, for the dashboard (updated every chunk).

    t_s: time of the newest analysed sample (s); cadence_spm: from recent steps, None when not
    running; theta_live_deg: per segment, the drift-free rotation trace (deg) of the newest
    sample; phase_deg / rel_phase_deg: the continuous phase estimate (deg, [0, 360)) or None
    while it has not settled.
    """

    t_s: float | None = None
    cadence_spm: float | None = None
    theta_live_deg: dict[str, float] = field(default_factory=dict)
    phase_deg: dict[str, float | None] = field(default_factory=dict)
    rel_phase_deg: float | None = None
    phase_confidence: float | None = None


@dataclass
class AnalysisUpdate:
    """What one `Analyzer.update` (or `finish`) made known.

    steps: newly decided initial contacts, with side ("" when it could not be told).
    strides: newly completed strides, each with `drift` set from its verdict.
    verdicts: the drift verdict of each new stride (same order as `strides`).
    trace_t_s / trace_theta_live_deg: the live rotation trace of the newly analysed samples
    (per segment with a gyro), for the dashboard's traces.
    live: the newest continuous values.
    """

    steps: list[Step] = field(default_factory=list)
    strides: list[StrideMetrics] = field(default_factory=list)
    verdicts: list[DriftVerdict] = field(default_factory=list)
    trace_t_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    trace_theta_live_deg: dict[str, np.ndarray] = field(default_factory=dict)
    live: LiveState = field(default_factory=LiveState)


class Analyzer:
    """The whole estimation chain for one session or recording.

    rate_hz: nominal sample rate (Hz) of the frames.
    gyro_segments: the segments whose gyroscope is present ("pelvis", "thorax"); rotation,
        side and phase need the thorax gyro, rotation metrics need the segment's gyro.
    calibration: a `CalibrationProfile` (or None): per-sensor gyro bias and standing vertical.
    drift: a configured `DriftDetector` (a default one is made).
    live_phase: run the continuous phase estimate for the dashboard (`live.phase_deg`,
        `live.rel_phase_deg`, `live.phase_confidence`). Offline analysis turns it off: steps,
        strides and verdicts do not depend on it, and it costs as much as the rest together.
    """

    def __init__(self, rate_hz: float, gyro_segments: tuple[str, ...] = SEGMENTS,
                 calibration=None, drift: DriftDetector | None = None,
                 live_phase: bool = True):
        self.rate_hz = float(rate_hz)
        self.gyro_segments = tuple(s for s in SEGMENTS if s in gyro_segments)
        self.gap_filler = ShortGapFiller()
        self.steps = StepDetector(self.rate_hz)
        self.cadence = CadenceTracker()
        self.orientation = {
            s: OrientationEstimator(calibration=None if calibration is None else calibration.get(s))
            for s in self.gyro_segments}
        self.rotation = {s: AxialRotation() for s in self.gyro_segments}
        self.side = SideDetector()
        self.strides = StrideAnalyzer()
        self.drift = drift if drift is not None else DriftDetector()
        self.live_phase = LivePhaseEstimator(self.rate_hz) if live_phase else None
        # theta samples finished per segment but not yet passed on (segments may finish
        # their start-up at different samples; all outputs share the input time base).
        self._theta_t: dict[str, list[np.ndarray]] = {s: [] for s in self.gyro_segments}
        self._theta: dict[str, list[np.ndarray]] = {s: [] for s in self.gyro_segments}
        self._theta_live: dict[str, list[np.ndarray]] = {s: [] for s in self.gyro_segments}
        self._rate: dict[str, list[np.ndarray]] = {s: [] for s in self.gyro_segments}
        self._plain_t: list[np.ndarray] = []
        # Per input sample: does the step sensor (pelvis accelerometer) have data? Strides
        # across a longer step-sensor gap are skipped (their strikes are unknown).
        self._step_valid: list[np.ndarray] = []
        self.live = LiveState()
        self.n_strides = 0

    # -- streaming ---------------------------------------------------------------------------
    def update(self, chunk: FrameChunk) -> AnalysisUpdate:
        """Analyse the next consecutive samples; returns what became known."""
        return self._analyse(self.gap_filler.update(chunk))

    def _analyse(self, chunk: FrameChunk, out: AnalysisUpdate | None = None) -> AnalysisUpdate:
        out = out if out is not None else AnalysisUpdate()
        if len(chunk) == 0:
            out.live = self.live
            return out
        contacts = []
        if chunk.pelvis_acc_g is not None:
            contacts = self.steps.update(chunk.t_s, chunk.pelvis_acc_g)
        if chunk.pelvis_acc_g is not None:
            self._step_valid.append(np.all(np.isfinite(chunk.pelvis_acc_g), axis=1))
        else:
            self._step_valid.append(np.zeros(len(chunk), dtype=bool))
        if not self.gyro_segments:
            self._plain_t.append(chunk.t_s)
        for s in self.gyro_segments:
            acc, gyro = chunk.acc_g(s), chunk.gyro_dps(s)
            if acc is None or gyro is None:
                acc = np.full((len(chunk), 3), np.nan)
                gyro = np.full((len(chunk), 3), np.nan)
            o = self.orientation[s].update(chunk.t_s, acc, gyro)
            r = self.rotation[s].update(o.t_s, o.axial_rate_dps)
            self._theta_t[s].append(r.t_s)
            self._theta[s].append(r.theta_deg)
            self._theta_live[s].append(r.theta_live_deg)
            self._rate[s].append(o.axial_rate_dps)
        self._advance(out, contacts, final=False)
        self.live.t_s = float(chunk.t_s[-1])
        out.live = self.live
        return out

    def finish(self) -> AnalysisUpdate:
        """End of a recording: flush the causal detectors' last contacts and strides."""
        out = self._analyse(self.gap_filler.flush())
        contacts = self.steps.flush()
        self._advance(out, contacts, final=True)
        out.live = self.live
        return out

    # -- internals ---------------------------------------------------------------------------
    def _take_theta(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray],
                                   dict[str, np.ndarray], np.ndarray]:
        """The samples every segment has finished (a common prefix of the time base):
        t_s, theta_deg, theta_live_deg and axial rate (deg/s) per segment, and whether the
        step sensor had data at each."""
        if not self.gyro_segments:
            # Accelerometer only: strides still need the time base (cadence, quality).
            t_out = np.concatenate(self._plain_t) if self._plain_t else np.empty(0)
            self._plain_t = []
            return t_out, {}, {}, {}, self._take_step_valid(t_out.shape[0])
        buffers = (self._theta_t, self._theta, self._theta_live, self._rate)
        joined = [{s: np.concatenate(b[s]) if b[s] else np.empty(0) for s in self.gyro_segments}
                  for b in buffers]
        n = min(v.shape[0] for v in joined[0].values())
        taken = []
        for buffer, values in zip(buffers, joined):
            taken.append({s: v[:n] for s, v in values.items()})
            for s, v in values.items():
                buffer[s] = [v[n:]]
        t_out = taken[0][self.gyro_segments[0]]
        return t_out, taken[1], taken[2], taken[3], self._take_step_valid(n)

    def _take_step_valid(self, n: int) -> np.ndarray:
        """The step-sensor validity of the next n samples (outputs follow the input samples
        one to one, from the first)."""
        joined = np.concatenate(self._step_valid) if self._step_valid else np.empty(0, bool)
        self._step_valid = [joined[n:]]
        return joined[:n]

    def _advance(self, out: AnalysisUpdate, contacts: list[float], final: bool) -> None:
        t, theta, theta_live, rate, step_valid = self._take_theta()
        thorax = theta.get("thorax")
        side_t = t if thorax is not None else np.empty(0)
        steps = self.side.update(side_t, thorax, contacts)
        if final:
            steps += self.side.finish()
        out.steps.extend(steps)
        self.live.cadence_spm = self.cadence.update(
            [s.t_s for s in steps], now_s=float(t[-1]) if t.size else None)
        strides = self.strides.update(t, theta.get("pelvis"), thorax, steps,
                                      step_data_valid=step_valid)
        for stride in strides:
            verdict = self.drift.update(stride)
            stride.drift = verdict.drift
            out.strides.append(stride)
            out.verdicts.append(verdict)
        self.n_strides += len(strides)
        if t.size:
            out.trace_t_s = t
            out.trace_theta_live_deg = theta_live
            for s, v in theta_live.items():
                self.live.theta_live_deg[s] = float(v[-1])
            if "pelvis" in rate and self.live_phase is not None:
                stride_hz = (None if self.live.cadence_spm is None
                             else self.live.cadence_spm / 120.0)
                phases = self.live_phase.update(rate["pelvis"], rate.get("thorax"), stride_hz)
                self.live.phase_deg = {"pelvis": _last_finite(phases.pelvis_phase_deg),
                                       "thorax": _last_finite(phases.thorax_phase_deg)}
                self.live.rel_phase_deg = _last_finite(phases.rel_phase_deg)
                self.live.phase_confidence = _last_finite(phases.confidence)


def _last_finite(values: np.ndarray) -> float | None:
    """The newest finite value of an array, or None."""
    finite = np.flatnonzero(np.isfinite(values))
    return float(values[finite[-1]]) if finite.size else None
