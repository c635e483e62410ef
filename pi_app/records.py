"""The words and records the layers hand each other: analysis -> cues -> store -> UI.

Every layer above the analysis speaks these (the cue engine decides `CueEvent`s, the session
store writes and reads them, the dashboard shows them; a coach key press becomes a
`CoachCommand`), so they live here, below all of them, and import nothing of pi_app.

The enums are `StrEnum`s whose values are the exact strings stored in the session database,
the recording CSVs and the event log: a member *is* that string (it compares, hashes, formats
and is stored as it), so sessions written before these enums existed read back unchanged.
The values are storage codes, never to be edited; what a person reads is `label`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SensorRole(StrEnum):
    """Where an IMU is worn."""

    PELVIS = "pelvis"
    THORAX = "thorax"


class QualityFlag(StrEnum):
    """Why a stride's timing or phase may be unreliable (StrideMetrics.quality)."""

    GAP = "gap"                    # one sensor's samples are missing inside the stride
    MISSED_STEP = "missed_step"    # far longer than recent strides: a contact was missed
    SENSOR_FAULT = "sensor_fault"  # a sensor was absent or faulty
    NO_SIDE = "no_side"            # left/right could not be told


#: Strides with any of these flags are neither judged for drift nor cued on.
UNRELIABLE_QUALITY = frozenset({QualityFlag.GAP, QualityFlag.MISSED_STEP,
                                QualityFlag.SENSOR_FAULT})


class DriftState(StrEnum):
    """Where the drift detector is with a runner (DriftVerdict.state)."""

    WARMUP = "warmup"
    BUILDING_BASELINE = "building_baseline"
    IN_BAND = "in_band"
    DRIFTING = "drifting"
    SUPPRESSED = "suppressed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class DriftDirection(StrEnum):
    """Which way a drifting metric left its band (DriftVerdict.direction).

    The values are what sessions have always stored; they read as prose for historical
    reasons only: code looks members up, and people read `label`."""

    COUNTER_ROTATION_LOST = "counter-rotation lost"   # rel_phase toward in-phase
    MORE_ANTI_PHASE = "more anti-phase"               # rel_phase further from in-phase
    THORAX_EARLY = "thorax early"
    THORAX_LATE = "thorax late"
    PELVIS_EARLY = "pelvis early"
    PELVIS_LATE = "pelvis late"
    CADENCE_LOW = "low"
    CADENCE_HIGH = "high"

    @property
    def label(self) -> str:
        """The direction as the coach reads it."""
        return _DIRECTION_LABEL[self]


_DIRECTION_LABEL = {
    DriftDirection.COUNTER_ROTATION_LOST: "counter-rotation lost",
    DriftDirection.MORE_ANTI_PHASE: "more anti-phase",
    DriftDirection.THORAX_EARLY: "thorax early",
    DriftDirection.THORAX_LATE: "thorax late",
    DriftDirection.PELVIS_EARLY: "pelvis early",
    DriftDirection.PELVIS_LATE: "pelvis late",
    DriftDirection.CADENCE_LOW: "cadence low",
    DriftDirection.CADENCE_HIGH: "cadence high",
}


class CueKind(StrEnum):
    """What a cue says (CueEvent.kind): one pattern each (pi_app.cues.patterns)."""

    COUNTER_ROTATION_LOST = "counter_rotation_lost"
    MORE_ANTI_PHASE = "more_anti_phase"
    THORAX_EARLY = "thorax_early"
    THORAX_LATE = "thorax_late"
    PELVIS_EARLY = "pelvis_early"
    PELVIS_LATE = "pelvis_late"
    CADENCE_LOW = "cadence_low"
    CADENCE_HIGH = "cadence_high"
    METRONOME = "metronome"


class CueMode(StrEnum):
    """How the cue policy cues (science.md, "Feedback")."""

    BANDWIDTH = "bandwidth"   # every eligible drifting stride
    FADED = "faded"           # a fading fraction of them
    OFF = "off"               # never (decisions are still logged as withheld)

    def next(self) -> CueMode:
        """The coach's cycle: bandwidth -> faded -> off -> bandwidth."""
        modes = list(CueMode)
        return modes[(modes.index(self) + 1) % len(modes)]


@dataclass(frozen=True)
class CueEvent:
    """One cue decision (played or deliberately withheld).

    t_s: sample-clock time of the decision (s). kind: what the cue says (`CueKind`).
    intensity: 0..1 (error-scaled). played: False when the policy withheld it (faded
    schedule, minimum interval, muted, mode off). reason: short text for the cue log (e.g.
    "faded: 1 of 2", "muted"). latency_ms: from the sample that closed the stride to the cue
    starting, when played.
    """

    t_s: float
    kind: CueKind
    intensity: float
    played: bool
    reason: str = ""
    latency_ms: float | None = None


#: Coach commands (CoachCommand.kind) and the value each takes.
COACH_COMMANDS = {
    "restart_baseline": "none",
    "band_from_current": "none",
    "cycle_cue_mode": "none",            # bandwidth -> faded -> off -> bandwidth
    "toggle_mute": "none",
    "toggle_metronome": "none",
    "metronome_target_delta_spm": "float (e.g. +2 / -2)",
    "toggle_recording": "none",
    "target_step": "float: steps of [coaching] target_step_deg (+1 toward anti-phase)",
    "quit": "none",
}


#: Requests that come from the display's event loop, not from a key, and what they mean.
DEVICE_NOTICES = {
    "audio_device_lost": "SDL reported the sound output removed (AUDIODEVICEREMOVED)",
    "display_lost": "no connector of the KMS/DRM devices reports a screen connected",
    "display_back": "a connector of the KMS/DRM devices reports a screen connected again",
}


@dataclass(frozen=True)
class CoachCommand:
    """A coach key press turned into a request for the analysis thread, or a device notice
    from the display's event loop (DEVICE_NOTICES)."""

    kind: str
    value: float | None = None

    def __post_init__(self):
        if self.kind not in COACH_COMMANDS and self.kind not in DEVICE_NOTICES:
            raise ValueError(f"unknown coach command {self.kind!r}")


@dataclass(frozen=True)
class CueSettings:
    """The cue settings the coach controls, as the cue engine holds them: the policy's mode,
    mute, whether the metronome runs and its target cadence (steps/min; None = not set)."""

    mode: CueMode = CueMode.BANDWIDTH
    muted: bool = False
    metronome_on: bool = False
    metronome_target_spm: float | None = None
