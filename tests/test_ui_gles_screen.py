"""The KMS/DRM screen (GlesScreen) with the real SDL and the real Mesa: SDL's offscreen video
driver gives an EGL window on which SDL's OpenGL ES 2 renderer runs (Mesa's software
rasteriser), so what the renderer presents can be read back and compared with what the
dashboard drew. On the Pi the same renderer runs on the V3D GPU; the lab runs it on vkms."""

import dataclasses

import pygame
import pytest

from pi_app.ui.dashboard import Dashboard
from pi_app.ui.display import DisplayError, GlesScreen, LiveUI
from pi_app.ui.gles import GLES2_RENDERER
from pi_app.ui.samples import state_snapshots

SIZE = (1280, 720)


@pytest.fixture
def gles_screen(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    pygame.display.init()
    try:
        screen = GlesScreen(SIZE, "test")
    except DisplayError as err:
        pygame.display.quit()
        pytest.skip(f"SDL's offscreen driver cannot run its OpenGL ES 2 renderer here "
                    f"({err}); install Mesa's EGL and GLES (apt install libegl1 libgles2 "
                    f"libgl1-mesa-dri) to run this test")
    yield screen
    screen.close()


def pixels(surface) -> bytes:
    return pygame.image.tobytes(surface.convert(32, 0), "RGB")


def test_what_the_renderer_presents_is_what_the_dashboard_drew(gles_screen):
    assert gles_screen.renderer == GLES2_RENDERER and gles_screen.surface.get_size() == SIZE
    dash = Dashboard(SIZE)
    dash.draw(state_snapshots()["drifting"], gles_screen.surface)
    gles_screen.show()
    shown = gles_screen.read_back()
    assert shown.get_size() == SIZE
    assert pixels(shown) == pixels(gles_screen.surface)
    assert len({shown.get_at((x, y))[:3] for x in range(0, SIZE[0], 40)
                for y in range(0, SIZE[1], 40)}) > 4       # a dashboard, not a blank screen


def test_show_puts_only_the_given_rectangles_on_the_screen(gles_screen):
    surface = gles_screen.surface
    surface.fill((10, 20, 30))
    gles_screen.show()
    changed, untouched = pygame.Rect(100, 100, 50, 40), pygame.Rect(600, 300, 50, 40)
    surface.fill((200, 30, 30), changed)
    surface.fill((30, 200, 30), untouched)
    gles_screen.show([changed, pygame.Rect(1250, 700, 100, 100)])   # one reaches off screen
    shown = gles_screen.read_back()
    assert shown.get_at(changed.center)[:3] == (200, 30, 30)
    assert shown.get_at(untouched.center)[:3] == (10, 20, 30)
    gles_screen.show()
    assert gles_screen.read_back().get_at(untouched.center)[:3] == (30, 200, 30)


def test_the_live_ui_draws_through_it(gles_screen):
    ui = LiveUI(gles_screen, simulated=False)
    snap = state_snapshots()["in_band"]
    ui.draw(snap)
    ui.draw(dataclasses.replace(snap, needle_deg=snap.needle_deg + 30.0))
    assert pixels(gles_screen.read_back()) == pixels(gles_screen.surface)


def test_a_missing_renderer_is_one_sentence_naming_it(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    pygame.display.init()
    try:
        with pytest.raises(DisplayError, match="SDL has no 'metal' renderer .*opengles2"):
            GlesScreen(SIZE, "test", renderer="metal")
    finally:
        pygame.display.quit()


def test_the_sdl_pygame_loaded_is_found_by_its_file_name():
    """The names as they are: pygame-ce's wheel bundles libSDL2-2-<hash>.0.so.0.<version>
    (next to libSDL2_mixer-2-<hash>...), Debian's package is libSDL2-2.0.so.0.<version>."""
    from pi_app.ui.gles import SdlRenderError, _loaded_sdl_path
    wheel = ("7f0a1000-7f0a2000 r--p 00000000 08:01 1 /venv/lib/python3.11/site-packages/"
             "pygame_ce.libs/libSDL2_mixer-2-6719e6f6.0.so.0.800.2\n"
             "7f0b1000-7f0b2000 r-xp 00000000 08:01 2 /venv/lib/python3.11/site-packages/"
             "pygame_ce.libs/libSDL2-2-50d19f93.0.so.0.3200.10\n")
    assert _loaded_sdl_path(wheel).endswith("libSDL2-2-50d19f93.0.so.0.3200.10")
    debian = "7f0c1000-7f0c2000 r-xp 00000000 08:01 3 /usr/lib/aarch64-linux-gnu/libSDL2-2.0.so.0.2600.5\n"
    assert _loaded_sdl_path(debian) == "/usr/lib/aarch64-linux-gnu/libSDL2-2.0.so.0.2600.5"
    with pytest.raises(SdlRenderError, match="SDL2 is not loaded"):
        _loaded_sdl_path(wheel.splitlines()[0])
    # And in this process, with pygame imported: the real file.
    assert "libSDL2" in _loaded_sdl_path()
