"""Test-wide settings: no display, no sound card, no real I2C bus needed."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")
# The demo records by default: never into the real state directory of whoever runs the tests.
if "PI_APP_STATE_DIR" not in os.environ:
    import tempfile
    os.environ["PI_APP_STATE_DIR"] = tempfile.mkdtemp(prefix="pi-app-tests-state-")


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


# -- shared test doubles and fixtures --------------------------------------------------------
from typing import Any, NamedTuple  # noqa: E402  (after the environment above is set)

import numpy as np  # noqa: E402
import pytest  # noqa: E402


class ConstantSource:
    """A motion source for a chip emulator: constant specific force (g) and rate (deg/s), distinct
    on every axis so a shifted frame cannot go unseen. Records the sample times it was asked
    for (bus-clock seconds) in `calls`."""

    def __init__(self, acc_g, gyro_dps):
        self.acc_g = np.asarray(acc_g, dtype=float)
        self.gyro_dps = np.asarray(gyro_dps, dtype=float)
        self.calls: list[np.ndarray] = []

    def sample(self, t_s):
        t_s = np.asarray(t_s, dtype=float)
        self.calls.append(t_s.copy())
        n = t_s.shape[0]
        return np.tile(self.acc_g, (n, 1)), np.tile(self.gyro_dps, (n, 1))


class FakeDashboard:
    """Stands in for the pygame dashboard (`draw(snapshot)`, `poll_commands()`, `close()`):
    keeps every snapshot drawn and hands out `commands_at[n]` once, when n snapshots have been
    drawn."""

    def __init__(self, commands_at=None):
        self.snapshots: list = []
        self.commands_at = dict(commands_at or {})
        self.closed = False

    def draw(self, snapshot):
        self.snapshots.append(snapshot)

    def poll_commands(self):
        return self.commands_at.pop(len(self.snapshots), [])

    def close(self):
        self.closed = True


class SimulatedSession(NamedTuple):
    """A LiveSession wired as the demo wires it (default config, simulated runner and cue
    engine), with the sensor reader, the simulated bus (its `.scenario.truth`) and the clock."""

    session: Any
    reader: Any
    bus: Any
    clock: Any


def open_simulated_session(scenario, seed=0, hooks=(), clock=None) -> SimulatedSession:
    """The simulated session on `clock` (default: a new stepped ManualClock at 0 s)."""
    from pi_app.clock import ManualClock
    from pi_app.config import Config
    from pi_app.app import make_cue_engine, open_session
    from pi_app.sim import open_simulated_bus

    clock = clock if clock is not None else ManualClock()
    cfg = Config()
    bus = open_simulated_bus(scenario, seed=seed, clock=clock)
    engine, warnings = make_cue_engine(cfg, clock, simulated=True)
    session, reader = open_session(cfg, clock, bus, cue_engine=engine, hooks=hooks,
                                   simulated=True, scenario=scenario, warnings=warnings)
    return SimulatedSession(session, reader, bus, clock)


@pytest.fixture
def stepped_clock():
    """A virtual clock at 0 s that moves only when a test advances it (or something sleeps)."""
    from pi_app.clock import ManualClock
    return ManualClock(0.0)


@pytest.fixture
def fake_dashboard():
    """A factory of FakeDashboard: `fake_dashboard({50: [CoachCommand("quit")]})`."""
    return FakeDashboard


@pytest.fixture
def simulated_session():
    """A factory: `simulated_session("steady", seed=0, hooks=(), clock=None)` ->
    SimulatedSession."""
    return open_simulated_session
