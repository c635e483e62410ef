"""Coach key bindings -> CoachCommands."""

import pygame
import pytest

from pi_app.records import COACH_COMMANDS, CoachCommand
from pi_app.ui.keys import KEY_BINDINGS, command_for_key, commands_from_events


@pytest.mark.parametrize("key,kind,value", [
    (pygame.K_b, "restart_baseline", None),
    (pygame.K_n, "band_from_current", None),
    (pygame.K_c, "cycle_cue_mode", None),
    (pygame.K_m, "toggle_mute", None),
    (pygame.K_t, "toggle_metronome", None),
    (pygame.K_PLUS, "metronome_target_delta_spm", 2.0),
    (pygame.K_EQUALS, "metronome_target_delta_spm", 2.0),
    (pygame.K_KP_PLUS, "metronome_target_delta_spm", 2.0),
    (pygame.K_MINUS, "metronome_target_delta_spm", -2.0),
    (pygame.K_KP_MINUS, "metronome_target_delta_spm", -2.0),
    (pygame.K_RIGHTBRACKET, "target_step", 1.0),
    (pygame.K_PAGEUP, "target_step", 1.0),
    (pygame.K_LEFTBRACKET, "target_step", -1.0),
    (pygame.K_PAGEDOWN, "target_step", -1.0),
    (pygame.K_r, "toggle_recording", None),
    (pygame.K_q, "quit", None),
    (pygame.K_ESCAPE, "quit", None),
])
def test_key_map(key, kind, value):
    assert command_for_key(key) == CoachCommand(kind, value)


def test_every_coach_command_has_a_key():
    assert {b.command.kind for b in KEY_BINDINGS} == set(COACH_COMMANDS)


def test_no_key_bound_twice():
    keys = [k for b in KEY_BINDINGS for k in b.keys]
    assert len(keys) == len(set(keys))


def test_events_to_commands():
    events = [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_m, mod=0, unicode="m"),
              pygame.event.Event(pygame.KEYUP, key=pygame.K_m, mod=0),
              pygame.event.Event(pygame.KEYDOWN, key=pygame.K_x, mod=0, unicode="x"),
              pygame.event.Event(pygame.MOUSEMOTION, pos=(1, 1), rel=(1, 1), buttons=(0, 0, 0)),
              pygame.event.Event(pygame.KEYDOWN, key=pygame.K_MINUS, mod=0, unicode="-"),
              pygame.event.Event(pygame.QUIT)]
    assert commands_from_events(events) == [CoachCommand("toggle_mute"),
                                            CoachCommand("metronome_target_delta_spm", -2.0),
                                            CoachCommand("quit")]
