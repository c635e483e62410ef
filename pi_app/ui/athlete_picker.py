"""Choosing the athlete on the dashboard before a run, with the coach's keyboard.

    name = choose_athlete(ui, ["Ana Silva", "Ben Ode"], timeout_s=30.0, clock=clock)

The screen lists the athletes in the store (the most recent first) and a last row "no
athlete". Up/Down (or the row's number 1-9) and Enter choose; typing narrows the list by
name, and Enter on a typed name nobody has adds that athlete; Esc starts without one. The
athlete never touches the keyboard and a service must not wait forever: when no key is
pressed for `timeout_s` seconds the run starts without an athlete (the countdown is on
screen and starts again at each key press). `AthletePicker` is the logic (no pygame);
`draw_picker` draws it; `choose_athlete` runs both on the live screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

#: Rows shown at once (the rest are reached by typing part of the name).
MAX_ROWS = 9
#: The picker's frame period (s): a countdown and key echo need no more.
FRAME_S = 0.1


@dataclass(frozen=True)
class PickerResult:
    """name: the chosen athlete (None: none); why: how the choice was made, for the log."""

    name: str | None
    why: str


class AthletePicker:
    """The choice being made. names: the athletes (most recent first); timeout_s: seconds
    without a key press after which no athlete is chosen; now_s: the clock's time now."""

    def __init__(self, names: list[str], timeout_s: float, now_s: float):
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.names = list(names)
        self.timeout_s = float(timeout_s)
        self.typed = ""
        self.index = 0
        self.result: PickerResult | None = None
        self._last_key_s = now_s

    # -- what is shown ----------------------------------------------------------------------
    def rows(self) -> list[str | None]:
        """The rows shown: athletes matching what was typed, then None ("no athlete")."""
        key = " ".join(self.typed.split()).casefold()
        shown = [n for n in self.names if key in " ".join(n.split()).casefold()]
        return shown[:MAX_ROWS] + [None]

    def new_name(self) -> str | None:
        """The typed name when Enter would add it as a new athlete (nobody has it)."""
        typed = " ".join(self.typed.split())
        if not typed:
            return None
        if any(" ".join(n.split()).casefold() == typed.casefold() for n in self.names):
            return None
        return typed

    def remaining_s(self, now_s: float) -> float:
        return max(0.0, self._last_key_s + self.timeout_s - now_s)

    # -- input ------------------------------------------------------------------------------
    def tick(self, now_s: float) -> PickerResult | None:
        """The result once made; no athlete when the countdown ran out."""
        if self.result is None and self.remaining_s(now_s) <= 0:
            self.result = PickerResult(None, f"no key pressed for {self.timeout_s:g} s: "
                                             "running without an athlete")
        return self.result

    def key(self, name: str, now_s: float) -> PickerResult | None:
        """A key by role: "up", "down", "enter", "escape", "backspace" or a digit "1".."9"."""
        if self.result is not None:
            return self.result
        self._last_key_s = now_s
        rows = self.rows()
        if name == "up":
            self.index = (self.index - 1) % len(rows)
        elif name == "down":
            self.index = (self.index + 1) % len(rows)
        elif name == "backspace":
            self.typed = self.typed[:-1]
            self.index = 0
        elif name == "escape":
            self.result = PickerResult(None, "the coach chose no athlete")
        elif name == "enter":
            new = self.new_name()
            if new is not None and len(rows) == 1:
                self.result = PickerResult(new, "the coach added a new athlete")
            else:
                chosen = rows[min(self.index, len(rows) - 1)]
                self.result = PickerResult(chosen, "chosen by the coach" if chosen
                                           else "the coach chose no athlete")
        elif name.isdigit() and 1 <= int(name) <= len(rows) - 1 and not self.typed:
            self.result = PickerResult(rows[int(name) - 1], "chosen by the coach")
        return self.result

    def text(self, text: str, now_s: float) -> None:
        """Typed characters (narrow the list / a new name)."""
        if self.result is not None:
            return
        self._last_key_s = now_s
        if text.isdigit() and not self.typed:
            return                      # digits pick a row (key), they do not start a name
        self.typed = (self.typed + text)[:60]
        self.index = 0


def draw_picker(surface, picker: AthletePicker, now_s: float, text=None) -> None:
    """Draw the picker on `surface` (any size; sized like the dashboard's text)."""
    import pygame

    from pi_app.ui import widgets as W
    t = text if text is not None else W.TextCache()
    w, h = surface.get_size()
    u = min(w / 1920.0, h / 1080.0)

    def px(v: float) -> int:
        return max(1, int(round(v * u)))

    surface.fill(W.BG)
    t.blit(surface, "WHO IS RUNNING?", px(72), (px(80), px(60)), W.TEXT)
    left = picker.remaining_s(now_s)
    t.blit(surface, f"starts without an athlete in {left:.0f} s (a key press restarts the "
                    "countdown)", px(36), (px(80), px(160)), W.DIM)
    typed = picker.typed
    t.blit(surface, f"name: {typed}_" if typed else "type to search or add a name",
           px(40), (px(80), px(230)), W.TEXT if typed else W.DIM)
    y = px(310)
    rows = picker.rows()
    new = picker.new_name()
    for i, name in enumerate(rows):
        selected = i == min(picker.index, len(rows) - 1)
        if name is None:
            label = (f"Enter: add \"{new}\"" if new is not None and len(rows) == 1
                     else "no athlete (Esc)")
        else:
            label = (f"{i + 1}  " if not typed else "") + name
        rect = pygame.Rect(px(70), y - px(6), w - px(140), px(64))
        if selected:
            pygame.draw.rect(surface, W.OK_DARK, rect, border_radius=px(10))
        t.blit(surface, label, px(48), (px(90), y), W.TEXT if name or selected else W.DIM)
        y += px(72)
    t.blit(surface, "Up/Down + Enter or a number: choose   type: search or add   "
                    "Esc: no athlete", px(32),
           (px(80), h - px(70)), W.DIM)


_KEYS = {"K_UP": "up", "K_DOWN": "down", "K_RETURN": "enter", "K_KP_ENTER": "enter",
         "K_ESCAPE": "escape", "K_BACKSPACE": "backspace"}


def key_name(key: int) -> str | None:
    """The picker's name for pygame key code `key` (digits included), or None."""
    import pygame
    for attr, name in _KEYS.items():
        if key == getattr(pygame, attr):
            return name
    if pygame.K_1 <= key <= pygame.K_9:
        return str(key - pygame.K_0)
    if pygame.K_KP1 <= key <= pygame.K_KP9:
        return str(key - pygame.K_KP1 + 1)
    return None


def choose_athlete(ui, names: list[str], timeout_s: float, clock,
                   on_frame: Callable[[float], None] | None = None) -> PickerResult:
    """Show the picker on `ui` (pi_app.ui.display.LiveUI) until the coach chooses or
    `timeout_s` passes without a key; `on_frame(seconds left)` after each frame (the
    service's status). The window's close button chooses no athlete and is passed on, so
    the app then quits as it would have."""
    import pygame

    from pi_app.ui.widgets import TextCache
    picker = AthletePicker(names, timeout_s, clock.now_s())
    cache = TextCache()
    pygame.key.start_text_input()
    try:
        while True:
            now_s = clock.now_s()
            quit_event = None
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    quit_event = event
                elif event.type == pygame.KEYDOWN:
                    name = key_name(event.key)
                    if name is not None:
                        picker.key(name, now_s)
                elif event.type == pygame.TEXTINPUT:
                    picker.text(event.text, now_s)
            if quit_event is not None and picker.result is None:
                picker.result = PickerResult(None, "the window was closed")
                pygame.event.post(quit_event)
            result = picker.tick(now_s)
            if result is not None:
                return result
            draw_picker(ui.screen.surface, picker, now_s, cache)
            ui.screen.show()
            if on_frame is not None:
                on_frame(picker.remaining_s(now_s))
            clock.sleep_s(FRAME_S)
    finally:
        pygame.key.stop_text_input()
