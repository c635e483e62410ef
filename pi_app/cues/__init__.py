"""Athlete cues: when to cue (policy), what it sounds like (patterns), how it is played
(GPIO buzzer, audio, their simulated twins), the step-locked metronome, and the engine the
analysis thread calls.

    engine = CueEngine(CuePolicy("bandwidth"), SimulatedBuzzer(clock), open_audio(clock), clock)
    event = engine.on_stride(stride, verdict, closing_sample_t_s)
"""

from pi_app.cues.audio import PygameAudio, SilentAudio, open_audio, synthesize
from pi_app.cues.buzzer import CueDeviceError, GpioBuzzer, SimulatedBuzzer
from pi_app.cues.engine import CueEngine
from pi_app.cues.metronome import Metronome
from pi_app.cues.patterns import PATTERNS, cue_kind, patterns_markdown, render
from pi_app.cues.policy import MODES, CuePolicy

__all__ = ["CueEngine", "CuePolicy", "MODES", "SimulatedBuzzer", "GpioBuzzer", "CueDeviceError",
           "PygameAudio", "SilentAudio", "open_audio", "synthesize", "Metronome", "PATTERNS",
           "cue_kind", "patterns_markdown", "render"]
