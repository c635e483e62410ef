"""`pi-app cues [--play [KIND]]`: the cue patterns, listed or played.

    pi-app cues                            # every pattern: meaning, rhythm, pitch
    pi-app cues --play                     # play them all, one after another
    pi-app cues --play counter_rotation_lost

Played through the sound device with the same synthesis the live app uses
(pi_app.cues.audio), so the coach and the athlete can learn the patterns before a session.
`[audio] device` / `buffer_frames` / `volume` from --config choose the device and its level;
SDL_AUDIODRIVER picks the SDL driver as everywhere else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pi_app.errors import ConfigError

#: Silence between two patterns when all are played (s): long enough to hear them apart.
PAUSE_S = 0.8
#: Longest wait for one pattern to finish sounding (s): the longest is under 2 s.
PATTERN_TIMEOUT_S = 5.0


def register(subparsers) -> argparse.ArgumentParser:
    from pi_app.cues.patterns import PATTERNS
    p = subparsers.add_parser(
        "cues", help="list the cue patterns, or play them (--play) to learn them",
        description="List the cue patterns (what each means, its rhythm and pitch), or play "
                    "them through the sound device. Kinds: " + ", ".join(PATTERNS) + ".")
    p.add_argument("--play", nargs="?", const="all", default=None, metavar="KIND",
                   help="play every pattern (or only KIND) through the sound device")
    p.add_argument("--intensity", type=float, default=0.0, metavar="X",
                   help="error-scaled intensity 0..1 (0.5 and up repeats the pattern, "
                        "louder; default 0)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML whose [audio] device and buffer to use")
    p.set_defaults(func=run)
    return p


def _describe(pattern, intensity: float) -> str:
    from pi_app.live.printer import buzzer_rhythm
    return (f"{pattern.kind:<22} {buzzer_rhythm(pattern.kind, intensity, 'passive')}  "
            f"({pattern.meaning})")


def run(args) -> int:
    from pi_app.config import load_config
    from pi_app.cues.patterns import PATTERNS, render

    if not 0.0 <= args.intensity <= 1.0:
        raise ConfigError(f"--intensity is {args.intensity:g}; give a value from 0 to 1.",
                          key="intensity")
    if args.play not in (None, "all") and args.play not in PATTERNS:
        raise ConfigError(f"unknown cue kind {args.play!r}; use one of "
                          f"{', '.join(PATTERNS)} (or --play alone for all).", key="play")
    if args.play is None:
        for pattern in PATTERNS.values():
            print(_describe(pattern, args.intensity))
        print("Play them with: pi-app cues --play [KIND]")
        return 0

    from pi_app.clock import WallClock
    from pi_app.cues.audio import SilentAudio, open_audio
    from pi_app.cues.buzzer import CueDeviceError

    cfg = load_config(args.config)
    clock = WallClock()
    audio = open_audio(clock, device=cfg.audio.device or None,
                       buffer_frames=cfg.audio.buffer_frames, volume=cfg.audio.volume,
                       fallback="connect headphones or a speaker (on the Pi: HDMI, USB or "
                                "I2S audio), or name the device in [audio] device")
    if isinstance(audio, SilentAudio):
        raise CueDeviceError((audio.warning or "no sound").removeprefix("no sound: ") + ".")
    kinds = list(PATTERNS) if args.play == "all" else [args.play]
    volume = 0.4 + 0.6 * args.intensity        # as the cue engine scales it
    try:
        print(f"playing through SDL audio driver {audio.driver} at {audio.rate_hz} Hz",
              file=sys.stderr, flush=True)
        for i, kind in enumerate(kinds):
            if i:
                clock.sleep_s(PAUSE_S)
            pattern = PATTERNS[kind]
            print(_describe(pattern, args.intensity), flush=True)
            audio.play(render(pattern, args.intensity), volume=volume, channel="cue")
            _wait_until_quiet(audio, clock)
    finally:
        audio.close()
    return 0


def _wait_until_quiet(audio, clock) -> None:
    """Return when the pattern has finished sounding (plus the device's own buffer)."""
    waited_s = 0.0
    while audio.busy() and waited_s < PATTERN_TIMEOUT_S:
        clock.sleep_s(0.01)
        waited_s += 0.01
    # The mixer reports done when it has handed the last samples to the device buffer.
    clock.sleep_s(2 * audio.output_latency_ms / 1000.0)
