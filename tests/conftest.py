"""Test-wide settings: no display, no sound card, no real I2C bus needed."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")
# The demo records by default: never into the real state directory of whoever runs the tests.
if "PI_APP_STATE_DIR" not in os.environ:
    import tempfile
    os.environ["PI_APP_STATE_DIR"] = tempfile.mkdtemp(prefix="pi-app-tests-state-")
