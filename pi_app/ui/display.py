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

How frames reach the screen (`Screen`: a `surface` to draw on, `show(rects)`, `close()`):
- On a KMS/DRM console, `GlesScreen`: the dashboard draws into an ordinary surface, and each
  frame uploads the changed rectangles into a streaming texture of SDL's OpenGL ES 2 renderer,
  which presents it (why: `pi_app/ui/gles.py`).
- Everywhere else, `WindowScreen`: pygame.display's own window surface.

`open_live_ui(display_cfg, simulated=..., fullscreen=...)` returns a `LiveUI` with
`draw(snapshot)`, `poll_commands()` and `close()` for the live app's main loop.
"""

from __future__ import annotations

import glob
import math
import os
import time
from pathlib import Path
from typing import Protocol

from pi_app.errors import PiAppError
from pi_app.records import CoachCommand
from pi_app.ui.gles import GLES2_RENDERER, SdlRenderer, SdlRenderError

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


class Screen(Protocol):
    """Where the dashboard is drawn and how it is shown. surface: the pygame surface to draw
    on (px); show(rects): put those rectangles of it on the screen (None: all of it)."""

    fullscreen: bool

    @property
    def surface(self):
        ...

    def show(self, rects=None) -> None:
        ...

    def close(self) -> None:
        ...


class WindowScreen:
    """pygame.display's window surface (desktop window, offscreen, dummy)."""

    def __init__(self, surface, *, fullscreen: bool):
        self._surface = surface
        self.fullscreen = fullscreen

    @property
    def surface(self):
        import pygame
        # A resized window gets a new surface from SDL.
        return pygame.display.get_surface() or self._surface

    def show(self, rects=None) -> None:
        import pygame
        if rects is None:
            pygame.display.flip()
        else:
            pygame.display.update(rects)

    def close(self) -> None:
        import pygame
        pygame.display.quit()


class GlesScreen:
    """A full-screen window drawn through SDL's OpenGL ES 2 renderer (the KMS/DRM console):
    `surface` is an ordinary 32-bit surface; `show` uploads the changed rectangles into a
    streaming texture and presents it, without holding the GIL (`pi_app.ui.gles`).
    size_px: (w, h), or None for the display's own mode. renderer: SDL's render driver name.
    Raises DisplayError naming the driver and the fix."""

    fullscreen = True

    def __init__(self, size_px: tuple[int, int] | None, caption: str, *,
                 renderer: str = GLES2_RENDERER):
        import pygame
        from pygame._sdl2 import video

        driver = pygame.display.get_driver()
        names = [info.name for info in video.get_drivers()]
        if renderer not in names:
            raise DisplayError(f"SDL has no {renderer!r} renderer (it has {', '.join(names)}), "
                               f"so the dashboard cannot be drawn on {driver!r}; "
                               f"{_fix_for(driver)}.", driver=driver)
        try:
            if size_px is None:
                self._window = video.Window(caption, fullscreen_desktop=True)
            else:
                self._window = video.Window(caption, size=size_px, fullscreen=True)
            size = self._window.size
            self._renderer = SdlRenderer(self._window.id, names.index(renderer), size)
        except (pygame.error, SdlRenderError) as err:
            pygame.display.quit()
            raise DisplayError(f"SDL video driver {driver!r} could not open its {renderer} "
                               f"renderer full screen ({err}); check the Mesa drivers with "
                               f"`pi-app doctor`, and {_fix_for(driver)}.",
                               driver=driver) from None
        self.renderer = renderer
        # 32-bit XRGB, the texture's format.
        self._surface = pygame.Surface(size, 0, 32)
        self._closed = False

    @property
    def surface(self):
        return self._surface

    def show(self, rects=None) -> None:
        import pygame
        if self._closed:
            return
        whole = self._surface.get_rect()
        for rect in [whole] if rects is None else rects:
            area = pygame.Rect(rect).clip(whole)
            if area.w and area.h:
                self._renderer.update(self._surface, area)
        self._renderer.present()

    def read_back(self):
        """What the renderer shows, as a new surface (tests, the lab)."""
        import pygame
        out = pygame.Surface(self._surface.get_size(), 0, 32)
        self._renderer.read_back(out)
        return out

    def close(self) -> None:
        import pygame
        if not self._closed:
            self._closed = True
            self._renderer.close()
            self._window.destroy()
            pygame.display.quit()


def open_display(size_px: tuple[int, int] | None = None, *, fullscreen: bool = False,
                 driver: str | None = None, caption: str = "pi-app coach dashboard") -> Screen:
    """Initialise pygame's display and return the screen (a GlesScreen on KMS/DRM, else a
    WindowScreen).

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
    size = ((int(size_px[0]), int(size_px[1])) if size_px and size_px[0] > 0 and size_px[1] > 0
            else None)
    screen: Screen
    if same_driver(got, KMSDRM):
        # The console has no windows: the app is the screen.
        screen = GlesScreen(size, caption)
        pygame.mouse.set_visible(False)
    else:
        try:
            if fullscreen:
                surface = pygame.display.set_mode(size or (0, 0), pygame.FULLSCREEN)
                pygame.mouse.set_visible(False)
            else:
                surface = pygame.display.set_mode(size or DEFAULT_WINDOW_PX, pygame.RESIZABLE)
        except pygame.error as err:
            pygame.display.quit()
            raise DisplayError(f"SDL video driver {got!r} could not set a "
                               f"{'full-screen' if fullscreen else 'window'} mode ({err}); "
                               f"{_fix_for(got)}.", driver=got) from None
        pygame.display.set_caption(caption)
        screen = WindowScreen(surface, fullscreen=fullscreen)
    w, h = screen.surface.get_size()
    if w < MIN_PX[0] or h < MIN_PX[1]:
        screen.close()
        raise DisplayError(f"the display is only {w}x{h} px; the dashboard needs at least "
                           f"{MIN_PX[0]}x{MIN_PX[1]} (1280x720 or more to read it from 3 m): "
                           "set display.width_px/height_px or use a larger screen.", driver=got)
    return screen


class ConnectorWatch:
    """Whether a screen is plugged in: the status the kernel gives each connector of the
    KMS/DRM devices (/sys/class/drm/card*-*/status: "connected", "disconnected" or "unknown";
    a Pi 4's HDMI-A-1 and HDMI-A-2 live on whichever card vc4 is). SDL's KMS/DRM driver does
    not report a screen unplugged, so the live UI asks, at most every `every_s` seconds."""

    def __init__(self, sysfs: Path = Path("/sys/class/drm"), every_s: float = 1.0):
        self.sysfs = Path(sysfs)
        self.every_s = float(every_s)
        self._next_s = -math.inf
        self.connected: bool | None = self._read()

    def _read(self) -> bool | None:
        """True when a connector is connected, False when all say otherwise, None when no
        connector status can be read (no KMS/DRM device, or not Linux)."""
        statuses = []
        for path in sorted(self.sysfs.glob("card*-*/status")):
            try:
                statuses.append(path.read_text().strip())
            except OSError:
                continue
        if not statuses:
            return None
        return any(s == "connected" for s in statuses)

    def change(self, now_s: float) -> bool | None:
        """At wall time now_s (s): True when a screen has just been connected, False when
        the last one has just gone, None when nothing changed (or it is not time to look)."""
        if now_s < self._next_s:
            return None
        self._next_s = now_s + self.every_s
        now = self._read()
        if now is None or now == self.connected:
            return None
        self.connected = now
        return now


class LiveUI:
    """The dashboard on the real screen (a `Screen`), for the live app's main-thread loop.
    watch: a ConnectorWatch (the KMS/DRM console's), or None."""

    def __init__(self, screen: Screen, *, simulated: bool = False,
                 watch: ConnectorWatch | None = None):
        from pi_app.ui.dashboard import Dashboard
        self.screen = screen
        self.simulated = simulated
        self.watch = watch
        self.dashboard = Dashboard(screen.surface.get_size())
        self.closed = False
        self._exposed = False

    def draw(self, snapshot) -> None:
        """Draw `snapshot` and show it."""
        import dataclasses
        if self.closed:
            return
        if self.simulated and not snapshot.simulated:
            # The demo's world is simulated whatever the snapshot says: never hide that.
            snapshot = dataclasses.replace(snapshot, simulated=True)
        self.dashboard.draw(snapshot, self.screen.surface)
        if self._exposed:
            # The window system lost what was shown (uncovered window): show all of it.
            self._exposed = False
            self.screen.show()
        elif self.dashboard.dirty_rects:
            # Only the panels that changed reach the screen (all of it on the first frame).
            self.screen.show(self.dashboard.dirty_rects)

    def poll_commands(self) -> list:
        """Coach commands from the pending key presses (and the window's close button)."""
        import pygame

        from pi_app.ui.keys import commands_from_events
        if self.closed:
            return []
        events = pygame.event.get()
        if any(e.type in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE) for e in events):
            self._exposed = True
        commands = commands_from_events(events)
        change = None if self.watch is None else self.watch.change(time.monotonic())
        if change is False:
            commands.append(CoachCommand("display_lost"))
        elif change is True:
            # A screen plugged (back) in shows nothing until the whole frame is sent again.
            self._exposed = True
            commands.append(CoachCommand("display_back"))
        return commands

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.screen.close()


def open_live_ui(display_cfg=None, *, simulated: bool = False,
                 fullscreen: bool | None = None) -> LiveUI:
    """Open the dashboard as the [display] config says (width_px/height_px 0 = the display's
    resolution; fullscreen defaults to the config's). Raises DisplayError."""
    w = getattr(display_cfg, "width_px", 0) or 0
    h = getattr(display_cfg, "height_px", 0) or 0
    if fullscreen is None:
        fullscreen = bool(getattr(display_cfg, "fullscreen", False))
    screen = open_display((w, h), fullscreen=fullscreen)
    watch = ConnectorWatch() if isinstance(screen, GlesScreen) else None
    return LiveUI(screen, simulated=simulated, watch=watch)


def open_headless(size_px: tuple[int, int] = (1920, 1080)):
    """(pygame surface, Dashboard) drawn off screen (no display is opened): for screenshots,
    tests and the render benchmark."""
    import pygame

    from pi_app.ui.dashboard import Dashboard
    surface = pygame.Surface(size_px)
    return surface, Dashboard(size_px)
