"""Opening the coach's screen.

- Pi console (no desktop): SDL's KMS/DRM driver, full screen at the display's own resolution.
  The app must own DRM, so no desktop may run, and the user needs the video, render and input
  groups (DESIGN.md, "On the Pi"). The driver SDL really chose is checked at start.
- Desktop (DISPLAY or WAYLAND_DISPLAY set): a resizable window (or full screen on request).
- Screenshots and tests: SDL_VIDEODRIVER=dummy, no window at all.

SDL spells its driver names its own way ("KMSDRM", "x11", "offscreen") and matches
SDL_VIDEODRIVER=kmsdrm to "KMSDRM" regardless of case, so names are compared case-insensitively
here (`same_driver`). SDL falls
back to its invisible "offscreen" driver when a desktop is unreachable (a stale DISPLAY): that
is accepted only when SDL_VIDEODRIVER asked for it.

`open_live_ui(display_cfg, simulated=..., fullscreen=...)` returns a `LiveUI` with
`draw(snapshot)`, `poll_commands()` and `close()` for the live app's main loop.
"""

from __future__ import annotations

import glob
import os

from pi_app.errors import PiAppError

DEFAULT_WINDOW_PX = (1280, 720)
#: Smallest surface the layout is designed for (px).
MIN_PX = (640, 360)
#: SDL video drivers that draw to memory only: nobody sees the dashboard.
INVISIBLE_DRIVERS = ("offscreen", "dummy")
#: The driver that asks SDL for KMS/DRM; SDL itself reports it as "KMSDRM".
KMSDRM = "kmsdrm"


def same_driver(a: str | None, b: str | None) -> bool:
    """True when two SDL video driver names are the same driver (SDL ignores case)."""
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def is_invisible(driver: str | None) -> bool:
    """True for SDL drivers that show nothing on a screen (offscreen, dummy)."""
    return any(same_driver(driver, d) for d in INVISIBLE_DRIVERS)


def display_reachable(environ=None) -> bool:
    """True when the environment names a display SDL may open: DISPLAY/WAYLAND_DISPLAY, or
    SDL_VIDEODRIVER set to KMS/DRM or to an invisible driver on purpose."""
    env = os.environ if environ is None else environ
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return True
    want = env.get("SDL_VIDEODRIVER")
    return same_driver(want, KMSDRM) or is_invisible(want)


class DisplayError(PiAppError):
    """The dashboard's display could not be opened; the message says what to fix."""

    def __init__(self, message: str, *, driver: str | None = None):
        super().__init__(message)
        self.driver = driver


def choose_driver(environ=None, dri_cards=None) -> str | None:
    """The SDL video driver to ask for: SDL_VIDEODRIVER if set; none (SDL's own choice of
    x11/wayland) on a desktop; "kmsdrm" on a console with a DRM device (/dev/dri/card*);
    otherwise None."""
    env = os.environ if environ is None else environ
    if env.get("SDL_VIDEODRIVER"):
        return env["SDL_VIDEODRIVER"]
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    cards = glob.glob("/dev/dri/card*") if dri_cards is None else dri_cards
    return KMSDRM if cards else None


def _fix_for(driver: str | None) -> str:
    if same_driver(driver, KMSDRM):
        return ("make sure no desktop is running (e.g. `sudo systemctl stop lightdm`) so the app "
                "can own the display, that the user is in the video, render and input groups "
                "(`sudo usermod -aG video,render,input $USER`, then log in again), and that "
                "the HDMI screen is connected before start; or run with --headless")
    return ("set DISPLAY for a desktop session, SDL_VIDEODRIVER=kmsdrm on a Pi console, "
            "or run with --headless")


def open_display(size_px: tuple[int, int] | None = None, *, fullscreen: bool = False,
                 driver: str | None = None, caption: str = "pi-app coach dashboard"):
    """Initialise pygame's display and return the screen surface.

    size_px: (w, h) or None/(0, 0) for the display's resolution (full screen) or the default
    window size. driver: the SDL video driver to require (default `choose_driver()`).
    Raises DisplayError naming the driver and the fix."""
    import pygame

    want = choose_driver() if driver is None else driver
    if want:
        os.environ["SDL_VIDEODRIVER"] = want
    try:
        pygame.display.init()
    except pygame.error as err:
        raise DisplayError(f"the display could not be opened with SDL video driver "
                           f"{want or '(auto)'} ({err}); {_fix_for(want)}.", driver=want) from None
    got = pygame.display.get_driver()
    if want and not same_driver(got, want):
        pygame.display.quit()
        raise DisplayError(f"SDL chose video driver {got!r} instead of {want!r}; "
                           f"{_fix_for(want)}.", driver=got)
    if not want and is_invisible(got):
        # SDL found no usable display (e.g. DISPLAY names an X server that is gone) and fell
        # back to drawing into memory: a dashboard nobody sees must not pass for one.
        pygame.display.quit()
        named = [f"{k}={os.environ[k]}" for k in ("DISPLAY", "WAYLAND_DISPLAY")
                 if os.environ.get(k)]
        where = (f"{' and '.join(named)} names no reachable display" if named
                 else "there is no DISPLAY, WAYLAND_DISPLAY or DRM device")
        raise DisplayError(f"no screen to show the dashboard on: {where}, and SDL fell back "
                           f"to its invisible {got!r} driver; {_fix_for(None)}.", driver=got)
    size = tuple(size_px) if size_px and size_px[0] > 0 and size_px[1] > 0 else None
    if same_driver(got, KMSDRM):
        fullscreen = True  # the console has no windows: the app is the screen
    try:
        if fullscreen:
            screen = pygame.display.set_mode(size or (0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            screen = pygame.display.set_mode(size or DEFAULT_WINDOW_PX, pygame.RESIZABLE)
    except pygame.error as err:
        pygame.display.quit()
        raise DisplayError(f"SDL video driver {got!r} could not set a "
                           f"{'full-screen' if fullscreen else 'window'} mode ({err}); "
                           f"{_fix_for(got)}.", driver=got) from None
    w, h = screen.get_size()
    if w < MIN_PX[0] or h < MIN_PX[1]:
        pygame.display.quit()
        raise DisplayError(f"the display is only {w}x{h} px; the dashboard needs at least "
                           f"{MIN_PX[0]}x{MIN_PX[1]} (1280x720 or more to read it from 3 m): "
                           "set display.width_px/height_px or use a larger screen.", driver=got)
    pygame.display.set_caption(caption)
    return screen


class LiveUI:
    """The dashboard on the real screen, for the live app's main-thread loop."""

    def __init__(self, screen, *, simulated: bool = False):
        from pi_app.ui.dashboard import Dashboard
        self.screen = screen
        self.simulated = simulated
        self.dashboard = Dashboard(screen.get_size())
        self.closed = False
        self._exposed = False

    def draw(self, snapshot) -> None:
        """Draw `snapshot` and show it."""
        import dataclasses

        import pygame
        if self.closed:
            return
        screen = pygame.display.get_surface() or self.screen
        if self.simulated and not snapshot.simulated:
            # The demo's world is simulated whatever the snapshot says: never hide that.
            snapshot = dataclasses.replace(snapshot, simulated=True)
        self.dashboard.draw(snapshot, screen)
        if self._exposed:
            # The window system lost what was shown (uncovered window): show all of it.
            self._exposed = False
            pygame.display.flip()
        elif self.dashboard.dirty_rects:
            # Only the panels that changed reach the screen (all of it on the first frame).
            pygame.display.update(self.dashboard.dirty_rects)

    def poll_commands(self) -> list:
        """Coach commands from the pending key presses (and the window's close button)."""
        import pygame

        from pi_app.ui.keys import commands_from_events
        if self.closed:
            return []
        events = pygame.event.get()
        if any(e.type in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE) for e in events):
            self._exposed = True
        return commands_from_events(events)

    def close(self) -> None:
        import pygame
        if not self.closed:
            self.closed = True
            pygame.display.quit()


def open_live_ui(display_cfg=None, *, simulated: bool = False,
                 fullscreen: bool | None = None) -> LiveUI:
    """Open the dashboard as the [display] config says (width_px/height_px 0 = the display's
    resolution; fullscreen defaults to the config's). Raises DisplayError."""
    w = getattr(display_cfg, "width_px", 0) or 0
    h = getattr(display_cfg, "height_px", 0) or 0
    if fullscreen is None:
        fullscreen = bool(getattr(display_cfg, "fullscreen", False))
    screen = open_display((w, h), fullscreen=fullscreen)
    return LiveUI(screen, simulated=simulated)


def open_headless(size_px: tuple[int, int] = (1920, 1080)):
    """(pygame surface, Dashboard) drawn off screen (no display is opened): for screenshots,
    tests and the render benchmark."""
    import pygame

    from pi_app.ui.dashboard import Dashboard
    surface = pygame.Surface(size_px)
    return surface, Dashboard(size_px)
