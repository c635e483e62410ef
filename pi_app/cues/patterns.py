"""Cue patterns: what the athlete hears or feels for each kind of drift.

A pattern is a short list of tone segments `(start_ms, duration_ms, freq_hz)`. The audio player
synthesises each segment as a sine at `freq_hz`; a passive buzzer plays it as a PWM tone at
`freq_hz`; an active buzzer (fixed pitch) only switches on and off. So every pattern differs
from every other in its on/off rhythm as well as in pitch: an athlete with an active buzzer
can still tell them apart.

Mnemonics: "counter-rotation lost" is an alarm-like double beep; thorax/pelvis early rises in
pitch (short-long), late falls (long-short); pelvis patterns are an octave lower than thorax
ones; cadence low is three slow low ticks, cadence high three fast high ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

from pi_app.analysis.drift import DriftVerdict
from pi_app.records import CueKind, DriftDirection


@dataclass(frozen=True)
class Segment:
    """One tone: starts `start_ms` after the pattern starts, lasts `duration_ms`, at `freq_hz`."""

    start_ms: float
    duration_ms: float
    freq_hz: float

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms


@dataclass(frozen=True)
class CuePattern:
    """A named pattern: `kind` (as in CueEvent.kind), what it means, and its segments."""

    kind: CueKind
    meaning: str
    segments: tuple[Segment, ...]

    @property
    def duration_ms(self) -> float:
        return max(s.end_ms for s in self.segments)

    def rhythm_ms(self) -> tuple[tuple[float, float], ...]:
        """(start_ms, duration_ms) of each segment: what an active buzzer can express."""
        return tuple((s.start_ms, s.duration_ms) for s in self.segments)


def _p(kind: CueKind, meaning: str, *segments: tuple[float, float, float]) -> CuePattern:
    return CuePattern(kind, meaning, tuple(Segment(*s) for s in segments))


#: Every pattern, by kind. Frequencies sit in the 0.5-3 kHz range where small piezo buzzers
#: are loud (their resonance is typically 2-4 kHz) and the ear is most sensitive.
PATTERNS: dict[CueKind, CuePattern] = {p.kind: p for p in (
    _p(CueKind.COUNTER_ROTATION_LOST, "relative phase moved toward in-phase (thorax and pelvis "
       "turn together)", (0, 70, 2800), (140, 70, 2800)),
    _p(CueKind.MORE_ANTI_PHASE, "relative phase moved further from in-phase than the band",
       (0, 350, 1400)),
    _p(CueKind.THORAX_EARLY, "thorax rotation peaks earlier in the stride (rising)",
       (0, 80, 1200), (160, 240, 2400)),
    _p(CueKind.THORAX_LATE, "thorax rotation peaks later in the stride (falling)",
       (0, 240, 2400), (320, 80, 1200)),
    _p(CueKind.PELVIS_EARLY, "pelvis rotation peaks earlier in the stride (rising, low)",
       (0, 60, 600), (120, 60, 600), (240, 240, 1200)),
    _p(CueKind.PELVIS_LATE, "pelvis rotation peaks later in the stride (falling, low)",
       (0, 240, 1200), (320, 60, 600), (440, 60, 600)),
    _p(CueKind.CADENCE_LOW, "cadence below the band: step quicker (three slow low ticks)",
       (0, 40, 500), (200, 40, 500), (400, 40, 500)),
    _p(CueKind.CADENCE_HIGH, "cadence above the band: step slower (three fast high ticks)",
       (0, 40, 2600), (90, 40, 2600), (180, 40, 2600)),
    _p(CueKind.METRONOME, "one metronome beat (step-locked)", (0, 30, 1800)),
)}

#: The cue each drift direction plays (every `DriftDirection` has one; a test holds it so).
CUE_FOR_DIRECTION: dict[DriftDirection, CueKind] = {
    DriftDirection.COUNTER_ROTATION_LOST: CueKind.COUNTER_ROTATION_LOST,
    DriftDirection.MORE_ANTI_PHASE: CueKind.MORE_ANTI_PHASE,
    DriftDirection.THORAX_EARLY: CueKind.THORAX_EARLY,
    DriftDirection.THORAX_LATE: CueKind.THORAX_LATE,
    DriftDirection.PELVIS_EARLY: CueKind.PELVIS_EARLY,
    DriftDirection.PELVIS_LATE: CueKind.PELVIS_LATE,
    DriftDirection.CADENCE_LOW: CueKind.CADENCE_LOW,
    DriftDirection.CADENCE_HIGH: CueKind.CADENCE_HIGH,
}

#: Silence between repetitions of a pattern when a larger error repeats it (ms).
REPEAT_GAP_MS = 200.0


def cue_kind(verdict: DriftVerdict) -> CueKind | None:
    """The cue for a drifting verdict, None when it is not drifting."""
    if not verdict.drift or verdict.direction is None:
        return None
    return CUE_FOR_DIRECTION[DriftDirection(verdict.direction)]


def repetitions(intensity: float) -> int:
    """How many times a pattern is played at an error-scaled intensity 0..1: 1, 2 or 3."""
    return 1 + int(intensity >= 0.5) + int(intensity >= 0.85)


def render(pattern: CuePattern, intensity: float = 0.0) -> tuple[Segment, ...]:
    """The segments to play for `pattern` at `intensity` (0..1): repeated per `repetitions`,
    separated by REPEAT_GAP_MS."""
    out: list[Segment] = []
    offset_ms = 0.0
    for _ in range(repetitions(intensity)):
        out.extend(Segment(s.start_ms + offset_ms, s.duration_ms, s.freq_hz)
                   for s in pattern.segments)
        offset_ms += pattern.duration_ms + REPEAT_GAP_MS
    return tuple(out)


def patterns_markdown() -> str:
    """The pattern table for the README (Markdown)."""
    lines = ["| cue | meaning | rhythm (ms on/off) | pitch (Hz) |",
             "| --- | --- | --- | --- |"]
    for p in PATTERNS.values():
        parts = []
        previous_end_ms = 0.0
        for s in p.segments:
            if s.start_ms > previous_end_ms:
                parts.append(f"off {s.start_ms - previous_end_ms:g}")
            parts.append(f"on {s.duration_ms:g}")
            previous_end_ms = s.end_ms
        pitches = " → ".join(f"{s.freq_hz:g}" for s in p.segments)
        lines.append(f"| `{p.kind}` | {p.meaning} | {', '.join(parts)} | {pitches} |")
    lines.append("")
    lines.append("A larger error repeats the pattern (twice from intensity 0.5, three times "
                 f"from 0.85, {REPEAT_GAP_MS:g} ms apart) and plays it louder on audio. An "
                 "active buzzer plays the rhythm at its own pitch; a passive buzzer and the "
                 "speaker play the pitches.")
    return "\n".join(lines) + "\n"
