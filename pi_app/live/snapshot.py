"""What the analysis thread publishes for the dashboard, and the queue the coach's commands take.

The analysis thread builds a new immutable `LiveSnapshot` after every chunk it analyses and
puts it in a `SnapshotBox`; the UI (main thread) takes the newest one each frame. The UI never
calls into the analysis: coach key presses become `CoachCommand`s (pi_app.records) on a
`CommandQueue` that the analysis thread drains between chunks. So a slow or absent display
never delays analysis or cues.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

import numpy as np

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.records import CoachCommand, CueEvent, CueMode, SensorRole


@dataclass(frozen=True)
class SensorStatus:
    """One IMU as the dashboard shows it (from acquisition health)."""

    role: SensorRole
    model: str | None
    address: int | None
    present: bool
    configured_rate_hz: float | None
    effective_rate_hz: float | None
    overflows: int = 0
    i2c_errors: int = 0
    gaps: int = 0
    reconnects: int = 0
    last_error: str | None = None
    #: "ok", "amber" or "red" (pi_app.live.health), and why when not ok.
    health: str = "ok"
    health_reason: str | None = None


@dataclass(frozen=True)
class ReplayInfo:
    """A stored session being replayed: its id, how far the replay is (0..1), the replay
    speed (times real time, 0 = as fast as possible) and the session's length (s)."""

    session_id: int
    progress: float = 0.0
    speed: float = 1.0
    duration_s: float = 0.0


@dataclass(frozen=True)
class LiveSnapshot:
    """Everything the coach's screen shows, at one instant. Angles in deg, times in s.

    t_s: sample-clock time of the newest analysed sample; session_start_s: the sample-clock
    time the session started (the dashboard shows times since then). cadence_spm: live cadence or None.
    rel_phase_deg / pelvis_phase_deg / thorax_phase_deg: continuous phases (None = unknown);
    phase_confidence 0..1. band_deg: the runner's relative-phase band (low, high) or None
    while it is being built; band_source "baseline" | "coach". recent_strides: the last
    strides (oldest first, up to ~20). trace_t_s with trace_pelvis_deg / trace_thorax_deg:
    the live rotation traces of the last ~4 s (decimated). verdict: the newest drift verdict.
    cue_log: newest last. cue_mode: the cue policy's `CueMode`. stalled_threads: names of
    threads whose heartbeat is late. warnings: one-line problems to show (no audio device,
    recording stopped, ...). recording: data is being stored now; recording_off_reason: why
    the R key cannot record in this run (None when it can). needle_deg: the dial's live
    relative phase, None when there is nothing true to show (runner not running, a sensor
    missing, not settled), needle_note then says why. replay: set while a stored session is
    replayed (never recorded again). baseline_note: whether a remembered baseline of the
    athlete is judged against (which session, how old) or why not; None when there was none
    to offer. target_offset_deg: the coaching target in force (deg toward anti-phase from
    the athlete's band; None = no target).
    """

    t_s: float = 0.0
    session_start_s: float = 0.0
    simulated: bool = False
    scenario: str | None = None
    cadence_spm: float | None = None
    rel_phase_deg: float | None = None
    pelvis_phase_deg: float | None = None
    thorax_phase_deg: float | None = None
    phase_confidence: float | None = None
    band_deg: tuple[float, float] | None = None
    band_source: str | None = None
    recent_strides: tuple[StrideMetrics, ...] = ()
    trace_t_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    trace_pelvis_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    trace_thorax_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    verdict: DriftVerdict | None = None
    cue_log: tuple[CueEvent, ...] = ()
    cue_mode: CueMode = CueMode.BANDWIDTH
    muted: bool = False
    metronome_on: bool = False
    metronome_target_spm: float | None = None
    recording: bool = False
    calibration_text: str = "not calibrated"
    sensors: tuple[SensorStatus, ...] = ()
    stalled_threads: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    recording_off_reason: str | None = None
    needle_deg: float | None = None
    needle_note: str | None = None
    replay: ReplayInfo | None = None
    baseline_note: str | None = None
    target_offset_deg: float | None = None


class SnapshotBox:
    """The newest snapshot, handed from the analysis thread to the UI without blocking either
    for longer than a pointer swap."""

    def __init__(self, initial: LiveSnapshot | None = None):
        self._lock = threading.Lock()
        self._snapshot = initial if initial is not None else LiveSnapshot()
        self._version = 0

    def put(self, snapshot: LiveSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            self._version += 1

    def get(self) -> tuple[LiveSnapshot, int]:
        """(newest snapshot, version number; increases with every put)."""
        with self._lock:
            return self._snapshot, self._version


class CommandQueue:
    """UI -> analysis thread: put never blocks, the analysis drains between chunks."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[CoachCommand] = queue.SimpleQueue()

    def put(self, command: CoachCommand) -> None:
        self._q.put(command)

    def drain(self) -> list[CoachCommand]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out
