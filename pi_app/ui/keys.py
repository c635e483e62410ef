"""The coach's USB keyboard: key bindings -> `CoachCommand`s, and the legend shown on screen.

`KEY_BINDINGS` is the one table both the event handling and the on-screen legend read, so
what the screen says is what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from pi_app.records import CoachCommand

#: Target cadence step for the +/- keys (steps/min).
METRONOME_STEP_SPM = 2.0


@dataclass(frozen=True)
class KeyBinding:
    """keys: pygame key codes; label: how the legend names the keys; action: what it does."""

    keys: tuple[int, ...]
    label: str
    command: CoachCommand
    action: str


KEY_BINDINGS: tuple[KeyBinding, ...] = (
    KeyBinding((pygame.K_b,), "B", CoachCommand("restart_baseline"), "restart baseline"),
    KeyBinding((pygame.K_n,), "N", CoachCommand("band_from_current"), "band = now"),
    KeyBinding((pygame.K_c,), "C", CoachCommand("cycle_cue_mode"), "cue mode"),
    KeyBinding((pygame.K_m,), "M", CoachCommand("toggle_mute"), "mute"),
    KeyBinding((pygame.K_t,), "T", CoachCommand("toggle_metronome"), "metronome"),
    KeyBinding((pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS, pygame.K_UP), "+",
               CoachCommand("metronome_target_delta_spm", METRONOME_STEP_SPM), "target up"),
    KeyBinding((pygame.K_MINUS, pygame.K_KP_MINUS, pygame.K_DOWN), "-",
               CoachCommand("metronome_target_delta_spm", -METRONOME_STEP_SPM), "target down"),
    KeyBinding((pygame.K_RIGHTBRACKET, pygame.K_PAGEUP), "]", CoachCommand("target_step", 1.0),
               "phase target more anti-phase"),
    KeyBinding((pygame.K_LEFTBRACKET, pygame.K_PAGEDOWN), "[", CoachCommand("target_step", -1.0),
               "phase target less anti-phase"),
    KeyBinding((pygame.K_r,), "R", CoachCommand("toggle_recording"), "record"),
    KeyBinding((pygame.K_q, pygame.K_ESCAPE), "Q", CoachCommand("quit"), "quit"),
)

_BY_KEY = {key: b.command for b in KEY_BINDINGS for key in b.keys}


def command_for_key(key: int) -> CoachCommand | None:
    """The coach command bound to pygame key code `key`, or None."""
    return _BY_KEY.get(key)


def commands_from_events(events) -> list[CoachCommand]:
    """Coach commands from a batch of pygame events (KEYDOWN and the window's close button),
    and "audio_device_lost" when SDL reports the sound output removed (a card unplugged or
    its driver unloaded)."""
    out = []
    for event in events:
        if event.type == pygame.QUIT:
            out.append(CoachCommand("quit"))
        elif event.type == pygame.AUDIODEVICEREMOVED and not getattr(event, "iscapture", 0):
            out.append(CoachCommand("audio_device_lost"))
        elif event.type == pygame.KEYDOWN:
            command = command_for_key(event.key)
            if command is not None:
                out.append(command)
    return out
