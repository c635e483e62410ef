"""Which board this is: a Raspberry Pi is recognised by its device-tree model string
("Raspberry Pi 4 Model B Rev 1.5"), which the firmware passes to the kernel.

The model file is /proc/device-tree/model (or /sys/firmware/devicetree/base/model);
`PI_APP_BOARD_MODEL_FILE` names another file instead, for tests and the hardware lab (install.sh
reads the same variable).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

MODEL_FILE_ENV = "PI_APP_BOARD_MODEL_FILE"
MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))


def model_files(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The files that may hold the device-tree model, in the order they are read."""
    env = os.environ if environ is None else environ
    override = env.get(MODEL_FILE_ENV)
    return (Path(override),) if override else MODEL_FILES


def board_model(environ: Mapping[str, str] | None = None) -> str | None:
    """The device-tree model string, or None where there is none (a PC, a container)."""
    for path in model_files(environ):
        try:
            text = path.read_bytes()
        except OSError:
            continue
        # The property is NUL-terminated.
        return text.split(b"\0", 1)[0].decode("ascii", "replace").strip() or None
    return None


def pi_model(environ: Mapping[str, str] | None = None) -> str | None:
    """The model string when this is a Raspberry Pi, else None."""
    model = board_model(environ)
    return model if model and model.startswith("Raspberry Pi") else None
