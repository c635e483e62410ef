"""The cue engine: policy decisions turned into buzzer and audio output, from the analysis thread.

The analysis thread calls `on_stride` right after a stride is emitted (cues are decided there,
so a slow display never delays them), `on_steps` with new contacts and `tick` once per
analysed chunk (metronome beats are scheduled ahead from it). Nothing here blocks: outputs
only put notes on their own timelines.

The engine owns the cue settings the coach changes (mode, mute, metronome and its target):
the coach's cue commands come to `apply_command`, and `settings` is what the dashboard shows.

Latency is measured from the sample that closes the stride (sample clock, which is the
monotonic clock the engine's clock also reads) to the cue starting: the time the engine hands
the pattern to the outputs plus the slowest output's own buffering delay.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import Step, StrideMetrics
from pi_app.clock import Clock
from pi_app.cues.audio import DEVICE_LOST, AudioPlayer
from pi_app.cues.buzzer import Buzzer
from pi_app.cues.metronome import Metronome
from pi_app.cues.patterns import PATTERNS, render
from pi_app.cues.policy import CuePolicy
from pi_app.records import CoachCommand, CueEvent, CueKind, CueMode, CueSettings


class CueEngine:
    """Plays what `policy` decides on `buzzer` and/or `audio` (either may be None; with
    neither, decisions are made and logged and nothing sounds, e.g. a replay).

    clock: the clock outputs are timed on (the monotonic clock, or a virtual one).
    log_size: decisions kept in `cue_log`. min_volume: audio volume at intensity 0 (it rises
    linearly to 1 at intensity 1). metronome_target_spm: default target when the metronome
    starts without one (else the runner's current cadence). metronome_on: start with the
    metronome running. metronome_max_change_pct_per_min: the metronome's tempo moves toward
    the target by at most this % per minute of sample-clock time.
    """

    def __init__(self, policy: CuePolicy, buzzer: Buzzer | None, audio: AudioPlayer | None,
                 clock: Clock, log_size: int = 50, min_volume: float = 0.4,
                 metronome_target_spm: float | None = None, metronome_on: bool = False,
                 metronome_max_change_pct_per_min: float = 3.0):
        self.policy = policy
        self.buzzer = buzzer
        self.audio = audio
        self.clock = clock
        self.min_volume = float(min_volume)
        self._log: deque[CueEvent] = deque(maxlen=int(log_size))
        self.latencies_ms: list[float] = []
        self.metronome: Metronome | None = None
        self.metronome_target_spm = metronome_target_spm
        if metronome_max_change_pct_per_min < 0:
            raise ValueError("metronome_max_change_pct_per_min must be >= 0")
        self.metronome_max_change_pct_per_min = float(metronome_max_change_pct_per_min)
        self._recent_steps: deque[Step] = deque(maxlen=12)
        self._cue_busy_until_s = float("-inf")
        if metronome_on:
            self._metronome_on()

    # -- cues ------------------------------------------------------------------------------
    def on_stride(self, stride: StrideMetrics, verdict: DriftVerdict,
                  closing_sample_t_s: float) -> CueEvent | None:
        """Decide for one new stride and start the cue at once if it plays. closing_sample_t_s:
        sample-clock time (s) of the sample whose arrival made the stride known. Returns the
        decision (also appended to `cue_log`) or None when there is nothing to say. A played
        decision carries its latency when an output started it."""
        event = self.policy.decide(stride, verdict, closing_sample_t_s)
        if event is None:
            return None
        if event.played and (self.buzzer is not None or self.audio is not None):
            start_s = self._play(event.kind, event.intensity)
            latency_ms = (start_s - closing_sample_t_s) * 1000.0
            self.latencies_ms.append(latency_ms)
            event = dataclasses.replace(event, latency_ms=latency_ms)
        self._log.append(event)
        return event

    def _play(self, kind: CueKind, intensity: float) -> float:
        """Start the pattern now; returns when it starts sounding (clock s)."""
        segments = render(PATTERNS[kind], intensity)
        now_s = self.clock.now_s()
        start_s = now_s
        if self.buzzer is not None:
            start_s = max(start_s, self.buzzer.play(segments))
        if self.audio is not None:
            volume = self.min_volume + (1.0 - self.min_volume) * intensity
            played_s = self.audio.play(segments, volume=volume, channel="cue")
            start_s = max(start_s, played_s + self.audio.output_latency_ms / 1000.0)
        self._cue_busy_until_s = now_s + max(s.end_ms for s in segments) / 1000.0
        return start_s

    @property
    def cue_log(self) -> tuple[CueEvent, ...]:
        """The recent decisions, newest last."""
        return tuple(self._log)

    @property
    def warnings(self) -> tuple[str, ...]:
        """One-line output problems for the dashboard (e.g. no audio device, a buzzer whose
        GPIO chip went away)."""
        found = (getattr(self.audio, "warning", None), getattr(self.buzzer, "warning", None))
        return tuple(w for w in found if w)

    # -- coach controls --------------------------------------------------------------------
    @property
    def settings(self) -> CueSettings:
        """The coach's cue settings as they are now."""
        return CueSettings(mode=self.policy.mode, muted=self.policy.muted,
                           metronome_on=self.metronome is not None,
                           metronome_target_spm=self.metronome_target_spm)

    def apply_command(self, command: CoachCommand) -> bool:
        """Carry out a cue command of the coach (cycle_cue_mode, toggle_mute,
        toggle_metronome, metronome_target_delta_spm), or the display's audio_device_lost
        (the sound output is gone: cues go on on the buzzer); False for any other command."""
        if command.kind == "cycle_cue_mode":
            self.policy.set_mode(CueMode(self.policy.mode).next())
        elif command.kind == "toggle_mute":
            self._mute(not self.policy.muted)
        elif command.kind == "toggle_metronome":
            if self.metronome is None:
                self._metronome_on()
            else:
                self.metronome = None
        elif command.kind == "metronome_target_delta_spm":
            base = self.metronome_target_spm or self._runner_cadence_spm() or 170.0
            self._set_metronome_target(round(base + float(command.value or 0.0), 1))
        elif command.kind == "audio_device_lost":
            if self.audio is not None:
                self.audio.lose(DEVICE_LOST)
        else:
            return False
        return True

    def _mute(self, on: bool) -> None:
        """Mute (or unmute) cues and the metronome; a sounding cue stops."""
        self.policy.muted = bool(on)
        if on and self.buzzer is not None:
            self.buzzer.stop()

    # -- metronome -------------------------------------------------------------------------
    def _runner_cadence_spm(self) -> float | None:
        probe = Metronome(170.0)
        probe.on_steps(self._recent_steps)
        return probe.runner_cadence_spm()

    def _metronome_on(self) -> None:
        """Start the step-locked metronome toward the target (default: the runner's current
        cadence, else 170 steps/min)."""
        target = self.metronome_target_spm or self._runner_cadence_spm() or 170.0
        self.metronome_target_spm = float(target)
        self.metronome = Metronome(self.metronome_target_spm,
                                   max_nudge_pct_per_min=self.metronome_max_change_pct_per_min)
        self.metronome.on_steps(self._recent_steps)

    def _set_metronome_target(self, target_spm: float) -> None:
        target_spm = min(240.0, max(60.0, float(target_spm)))
        self.metronome_target_spm = target_spm
        if self.metronome is not None:
            self.metronome.set_target(target_spm)

    def on_steps(self, steps: Iterable[Step]) -> None:
        """New contacts from the analysis (sample-clock times)."""
        steps = list(steps)
        self._recent_steps.extend(steps)
        if self.metronome is not None:
            self.metronome.on_steps(steps)

    def tick(self, now_s: float | None = None) -> list[float]:
        """Schedule the metronome's next beats (call once per analysed chunk), and try a lost
        sound device again when due; returns the beat times (s) scheduled now. now_s
        defaults to the engine's clock."""
        now_s = self.clock.now_s() if now_s is None else float(now_s)
        if self.audio is not None and self.audio.warning == DEVICE_LOST:
            self.audio.retry(now_s)
        if self.metronome is None:
            return []
        beats = self.metronome.update(now_s)
        if self.policy.muted:
            return beats
        segments = PATTERNS[CueKind.METRONOME].segments
        for beat_s in beats:
            # A beat must not cut a cue short on the (single-voice) buzzer.
            if self.buzzer is not None and not beat_s < self._cue_busy_until_s:
                self.buzzer.play(segments, start_s=beat_s)
            if self.audio is not None:
                self.audio.play(segments, volume=self.min_volume, start_s=beat_s,
                                channel="metronome")
        return beats

    def close(self) -> None:
        for output in (self.buzzer, self.audio):
            if output is not None:
                output.close()
