"""Test-wide settings: no display, no sound card, no real I2C bus needed."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")


def real_sdl_video_drivers() -> list[str]:
    """The video driver names compiled into the SDL that pygame-ce bundles, as SDL spells them
    (SDL_GetVideoDriver), so tests feed the code SDL's real names ("KMSDRM", not "kmsdrm")."""
    import ctypes
    import glob

    import pygame
    site = os.path.dirname(os.path.dirname(pygame.__file__))
    libs = sorted(glob.glob(os.path.join(site, "pygame*.libs", "libSDL2-2*.so*")))
    if not libs:
        import pytest
        pytest.skip("pygame-ce's bundled SDL library was not found (not a manylinux wheel)")
    sdl = ctypes.CDLL(libs[0])
    sdl.SDL_GetVideoDriver.restype = ctypes.c_char_p
    return [sdl.SDL_GetVideoDriver(i).decode() for i in range(sdl.SDL_GetNumVideoDrivers())]


def real_kmsdrm_name() -> str:
    """SDL's own name for its KMS/DRM video driver."""
    return next(n for n in real_sdl_video_drivers() if n.lower() == "kmsdrm")
