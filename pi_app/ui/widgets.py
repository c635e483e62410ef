"""Drawing helpers for the coach dashboard: colours, cached fonts and text, state icons.

Everything here draws onto a `pygame.Surface` given by the caller; sizes are in pixels.
Fonts and rendered text are cached because creating a font or rendering a string costs far
more than blitting it, and most of the screen's text is the same from frame to frame.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import pygame

# High contrast on a near-black background; the two segment colours (sky blue / orange) stay
# distinguishable with the common colour-vision deficiencies (Okabe & Ito palette).
BG = (12, 14, 18)
PANEL = (24, 28, 36)
PANEL_EDGE = (60, 68, 84)
TEXT = (240, 242, 246)
DIM = (150, 158, 172)
FAINT = (90, 98, 112)
PELVIS = (86, 180, 233)
THORAX = (230, 159, 0)
OK = (0, 200, 110)
OK_DARK = (10, 90, 50)
WARN = (255, 140, 30)
WARN_DARK = (150, 60, 0)
BUILD = (90, 150, 255)
BUILD_DARK = (20, 60, 140)
SUPP = (170, 170, 180)
SUPP_DARK = (70, 72, 80)
ALERT_BG = (255, 214, 0)
ALERT_TEXT = (0, 0, 0)
FAULT = (240, 60, 60)
BAND_FILL = (22, 84, 52)
BAND_EDGE = (0, 200, 110)
MUSCLE_OFF = (70, 46, 46)
MUSCLE_ON = (255, 80, 60)
STABILISER = (90, 150, 255)
STABILISER_OFF = (40, 52, 80)
SIM_BG = (255, 214, 0)
REC = (235, 40, 40)


def lerp_colour(a, b, f: float):
    """Colour between a (f=0) and b (f=1)."""
    f = min(1.0, max(0.0, f))
    return tuple(int(round(x + (y - x) * f)) for x, y in zip(a, b))


class TextCache:
    """Fonts by pixel size and rendered text by (text, size, colour), bounded."""

    def __init__(self, max_entries: int = 600):
        if not pygame.font.get_init():
            pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._text: OrderedDict[tuple, pygame.Surface] = OrderedDict()
        self.max_entries = int(max_entries)

    def font(self, size_px: int) -> pygame.font.Font:
        size_px = max(8, int(size_px))
        f = self._fonts.get(size_px)
        if f is None:
            # The default font (freesansbold) ships with pygame-ce: no system font lookup,
            # identical on the Pi and a laptop.
            f = self._fonts[size_px] = pygame.font.Font(None, size_px)
        return f

    def render(self, text: str, size_px: int, colour=TEXT) -> pygame.Surface:
        key = (text, int(size_px), tuple(colour))
        surf = self._text.get(key)
        if surf is not None:
            self._text.move_to_end(key)
            return surf
        surf = self.font(size_px).render(text, True, colour)
        self._text[key] = surf
        if len(self._text) > self.max_entries:
            self._text.popitem(last=False)
        return surf

    def fit(self, text: str, size_px: int, max_w: int, colour=TEXT,
            min_size_px: int | None = None) -> pygame.Surface:
        """Render `text` no wider than `max_w`: shrink down to `min_size_px` (default 75 %
        of the size), then cut with an ellipsis."""
        key = ("fit", text, int(size_px), int(max_w), tuple(colour), min_size_px)
        surf = self._text.get(key)
        if surf is None:
            surf = self._fit(text, size_px, max_w, colour, min_size_px)
            self._text[key] = surf
            if len(self._text) > self.max_entries:
                self._text.popitem(last=False)
        else:
            self._text.move_to_end(key)
        return surf

    def _fit(self, text, size_px, max_w, colour, min_size_px):
        min_size = int(min_size_px if min_size_px is not None else size_px * 0.75)
        size = int(size_px)
        while size > min_size and self.font(size).size(text)[0] > max_w:
            size = max(min_size, int(size * 0.92))
        if self.font(size).size(text)[0] <= max_w:
            return self.render(text, size, colour)
        font = self.font(size)
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if font.size(text[:mid] + "…")[0] <= max_w:
                lo = mid
            else:
                hi = mid - 1
        return self.render(text[:lo].rstrip() + "…", size, colour)

    def blit(self, target: pygame.Surface, text: str, size_px: int, pos, colour=TEXT,
             anchor: str = "topleft", max_w: int | None = None) -> pygame.Rect:
        """Draw text with its `anchor` (a pygame.Rect attribute name) at `pos`."""
        surf = (self.fit(text, size_px, max_w, colour) if max_w is not None
                else self.render(text, size_px, colour))
        rect = surf.get_rect(**{anchor: (int(pos[0]), int(pos[1]))})
        target.blit(surf, rect)
        return rect


def panel(surface: pygame.Surface, rect: pygame.Rect, text: TextCache, title: str | None,
          title_px: int) -> pygame.Rect:
    """A framed panel with a title; returns the inner rect below the title."""
    radius = max(4, rect.height // 40)
    pygame.draw.rect(surface, PANEL, rect, border_radius=radius)
    pygame.draw.rect(surface, PANEL_EDGE, rect, width=2, border_radius=radius)
    pad = max(6, int(title_px * 0.45))
    if not title:
        return rect.inflate(-2 * pad, -2 * pad)
    text.blit(surface, title, title_px, (rect.x + pad, rect.y + pad), DIM,
              max_w=rect.width - 2 * pad)
    top = rect.y + pad + int(title_px * 0.9) + pad // 2
    return pygame.Rect(rect.x + pad, top, rect.width - 2 * pad, rect.bottom - pad - top)


# -- state icons: shape carries the state as well as colour -----------------------------------
def icon_check(surface, centre, r: int, colour) -> None:
    """Filled disc with a tick: in band."""
    cx, cy = centre
    pygame.draw.circle(surface, colour, centre, r)
    w = max(3, r // 4)
    pts = [(cx - r * 0.5, cy + r * 0.02), (cx - r * 0.12, cy + r * 0.4),
           (cx + r * 0.55, cy - r * 0.4)]
    pygame.draw.lines(surface, (0, 0, 0), False, pts, w)


def icon_warning(surface, centre, r: int, colour) -> None:
    """Triangle with an exclamation mark: drifting."""
    cx, cy = centre
    pts = [(cx, cy - r), (cx + r * 1.1, cy + r * 0.85), (cx - r * 1.1, cy + r * 0.85)]
    pygame.draw.polygon(surface, colour, pts)
    w = max(3, r // 5)
    pygame.draw.line(surface, (0, 0, 0), (cx, cy - r * 0.45), (cx, cy + r * 0.3), w)
    pygame.draw.circle(surface, (0, 0, 0), (cx, cy + r * 0.58), max(2, w * 0.6))


def icon_progress(surface, centre, r: int, colour, fraction: float) -> None:
    """Ring filling clockwise from the top: baseline building."""
    cx, cy = centre
    pygame.draw.circle(surface, FAINT, centre, r, max(3, r // 5))
    fraction = min(1.0, max(0.0, fraction))
    if fraction > 0:
        n = max(2, int(48 * fraction))
        pts = [(cx, cy)] + [(cx + r * math.sin(2 * math.pi * fraction * i / n),
                             cy - r * math.cos(2 * math.pi * fraction * i / n))
                            for i in range(n + 1)]
        pygame.draw.polygon(surface, colour, pts)


def icon_pause(surface, centre, r: int, colour) -> None:
    """Disc with two bars: suppressed."""
    cx, cy = centre
    pygame.draw.circle(surface, colour, centre, r)
    w, h = max(3, r // 4), int(r * 1.0)
    for dx in (-r * 0.3, r * 0.3):
        pygame.draw.rect(surface, (0, 0, 0), pygame.Rect(int(cx + dx - w / 2), int(cy - h / 2), w, h))


def icon_wait(surface, centre, r: int, colour) -> None:
    """Hollow ring with three dots: warming up / no data."""
    cx, cy = centre
    pygame.draw.circle(surface, colour, centre, r, max(3, r // 6))
    for dx in (-r * 0.45, 0, r * 0.45):
        pygame.draw.circle(surface, colour, (cx + dx, cy), max(2, r // 8))


def icon_cross(surface, centre, r: int, colour) -> None:
    """Square with an X: sensor fault / stalled."""
    cx, cy = centre
    rect = pygame.Rect(0, 0, 2 * r, 2 * r)
    rect.center = (int(cx), int(cy))
    pygame.draw.rect(surface, colour, rect, border_radius=max(2, r // 5))
    w = max(3, r // 4)
    k = r * 0.55
    pygame.draw.line(surface, (0, 0, 0), (cx - k, cy - k), (cx + k, cy + k), w)
    pygame.draw.line(surface, (0, 0, 0), (cx - k, cy + k), (cx + k, cy - k), w)


ICONS = {"check": icon_check, "warning": icon_warning, "pause": icon_pause,
         "wait": icon_wait, "cross": icon_cross}


def draw_icon(surface, name: str, centre, r: int, colour, fraction: float = 0.0) -> None:
    """Draw the state icon `name` ("check", "warning", "progress", "pause", "wait",
    "cross") of radius `r` px."""
    if name == "progress":
        icon_progress(surface, centre, r, colour, fraction)
    else:
        ICONS[name](surface, centre, r, colour)
