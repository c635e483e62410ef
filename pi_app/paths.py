"""Where pi_app keeps its state (calibration profile, sessions).

The state directory is, in order of precedence: an explicit path given by the caller, the
environment variable `PI_APP_STATE_DIR`, systemd's `STATE_DIRECTORY` (set by
`StateDirectory=` in the unit), `$XDG_STATE_HOME/pi-app`, else `~/.local/state/pi-app`.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_ENV = "PI_APP_STATE_DIR"
PROFILE_FILE_NAME = "calibration.toml"


def state_dir(override: str | os.PathLike | None = None) -> Path:
    """The state directory (not created here; writers create it when they save)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    systemd = os.environ.get("STATE_DIRECTORY")
    if systemd:
        # systemd may pass several colon-separated directories; the first is ours.
        return Path(systemd.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "pi-app"
    return Path.home() / ".local" / "state" / "pi-app"


def default_profile_path(state: str | os.PathLike | None = None) -> Path:
    """The calibration profile's default location: `<state dir>/calibration.toml`."""
    return state_dir(state) / PROFILE_FILE_NAME
