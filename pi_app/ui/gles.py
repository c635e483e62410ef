"""The dashboard on a KMS/DRM console: drawn into an ordinary surface, shown through SDL's
OpenGL ES 2 renderer.

Why not pygame.display's window surface: SDL's KMS/DRM driver creates OpenGL ES contexts, but
its emulation of a window surface takes the first hardware renderer, the desktop "opengl" one,
whose fixed-function calls fail on an ES context, so the screen stays black while frames flip
(found in the reality lab on vkms; SDL issue #5348 reports the same ES context on a Pi 4's
V3D).

Why SDL's render API is called through ctypes rather than pygame._sdl2.video: ctypes lets go
of the GIL for the length of each call, and presenting waits for the page flip (and, on a
software rasteriser, draws the whole frame). With pygame-ce 2.5.8's Cython wrappers holding
the GIL there, the lab's buzzer thread stalled and a 70 ms beep lasted 644 ms. The calls go to
the SDL library pygame itself loaded (the same SDL_Window, the same event queue).
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

#: SDL's render driver for OpenGL ES 2 (its name in SDL_GetRenderDriverInfo).
GLES2_RENDERER = "opengles2"

# SDL2's <SDL_pixels.h> / <SDL_render.h> values.
_SDL_PIXELFORMAT_RGB888 = 0x16161804    # 32-bit XRGB: a pygame 32-bit surface's byte order
_SDL_TEXTUREACCESS_STREAMING = 1
_SDL_BLENDMODE_NONE = 0


class SdlRenderError(RuntimeError):
    """An SDL render call failed; the message is SDL's own."""


class _Rect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int),
                ("h", ctypes.c_int)]


def _loaded_sdl_path(maps: str | None = None) -> str:
    """The file of the SDL2 library this process has loaded (pygame's; /proc/self/maps)."""
    text = Path("/proc/self/maps").read_text() if maps is None else maps
    for line in text.splitlines():
        path = line.split()[-1] if line.split() else ""
        if re.search(r"/libSDL2(-2\.0|-2-[0-9a-f]+\.0)\.so", path):
            return path
    raise SdlRenderError("SDL2 is not loaded in this process (pygame.display.init first)")


class SdlRenderer:
    """A thin typed layer over SDL2's render API for one window: a streaming texture the size
    of the window, updated by rectangles from a 32-bit surface and presented.

    window_id: SDL's id of the window (pygame's Window.id). driver_index: the render driver's
    index in SDL's list. Raises SdlRenderError with SDL's message."""

    def __init__(self, window_id: int, driver_index: int, size_px: tuple[int, int]):
        lib = ctypes.CDLL(_loaded_sdl_path())
        vp, i, u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32
        rect_p = ctypes.POINTER(_Rect)
        for name, restype, argtypes in (
                ("SDL_GetError", ctypes.c_char_p, []),
                ("SDL_GetWindowFromID", vp, [u32]),
                ("SDL_CreateRenderer", vp, [vp, i, u32]),
                ("SDL_CreateTexture", vp, [vp, u32, i, i, i]),
                ("SDL_SetTextureBlendMode", i, [vp, i]),
                ("SDL_UpdateTexture", i, [vp, rect_p, vp, i]),
                ("SDL_RenderCopy", i, [vp, vp, rect_p, rect_p]),
                ("SDL_RenderReadPixels", i, [vp, rect_p, u32, vp, i]),
                ("SDL_RenderPresent", None, [vp]),
                ("SDL_DestroyTexture", None, [vp]),
                ("SDL_DestroyRenderer", None, [vp])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        self._lib = lib
        self.size_px = (int(size_px[0]), int(size_px[1]))
        window = lib.SDL_GetWindowFromID(window_id)
        if not window:
            raise SdlRenderError(f"no SDL window with id {window_id}: {self._error()}")
        self._renderer = lib.SDL_CreateRenderer(window, driver_index, 0)
        if not self._renderer:
            raise SdlRenderError(self._error())
        self._texture = lib.SDL_CreateTexture(self._renderer, _SDL_PIXELFORMAT_RGB888,
                                              _SDL_TEXTUREACCESS_STREAMING, *self.size_px)
        if not self._texture:
            error = self._error()
            lib.SDL_DestroyRenderer(self._renderer)
            raise SdlRenderError(error)
        lib.SDL_SetTextureBlendMode(self._texture, _SDL_BLENDMODE_NONE)

    def _error(self) -> str:
        return (self._lib.SDL_GetError() or b"unknown SDL error").decode(errors="replace")

    def _check(self, result: int, what: str) -> None:
        if result < 0:
            raise SdlRenderError(f"{what}: {self._error()}")

    def update(self, surface, rect) -> None:
        """Copy rectangle `rect` (x, y, w, h; inside the texture) of the 32-bit XRGB
        `surface` (the texture's size) into the texture."""
        x, y, w, h = (int(v) for v in rect)
        pitch = surface.get_pitch()
        address = surface._pixels_address + y * pitch + x * 4
        self._check(self._lib.SDL_UpdateTexture(self._texture, ctypes.byref(_Rect(x, y, w, h)),
                                                address, pitch), "SDL_UpdateTexture")

    def present(self) -> None:
        """Draw the texture over the whole window and show it."""
        self._check(self._lib.SDL_RenderCopy(self._renderer, self._texture, None, None),
                    "SDL_RenderCopy")
        self._lib.SDL_RenderPresent(self._renderer)

    def read_back(self, surface) -> None:
        """Draw the texture and read what the renderer then holds into the 32-bit XRGB
        `surface` (the texture's size), without showing it: what the screen shows."""
        self._check(self._lib.SDL_RenderCopy(self._renderer, self._texture, None, None),
                    "SDL_RenderCopy")
        self._check(self._lib.SDL_RenderReadPixels(self._renderer, None, _SDL_PIXELFORMAT_RGB888,
                                                   surface._pixels_address, surface.get_pitch()),
                    "SDL_RenderReadPixels")

    def close(self) -> None:
        if self._texture:
            self._lib.SDL_DestroyTexture(self._texture)
            self._texture = None
        if self._renderer:
            self._lib.SDL_DestroyRenderer(self._renderer)
            self._renderer = None
