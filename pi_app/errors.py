"""The one error hierarchy of pi_app.

Every error a user can cause or meet (wiring, permissions, bad files, bad config) is a
`PiAppError` whose `str()` is one clear sentence naming the thing (bus, address, file, line,
key) and the fix. The CLI prints that sentence and exits non-zero; a traceback is a bug.
"""

from __future__ import annotations


class PiAppError(Exception):
    """Base of all expected, user-facing errors. `str(err)` is the message shown to the user."""

    exit_code = 2


class BusError(PiAppError):
    """The I2C bus cannot be opened or used (no /dev/i2c-N, permission denied, ...)."""

    def __init__(self, message: str, *, bus: int | None = None):
        super().__init__(message)
        self.bus = bus


class DeviceNotFoundError(BusError):
    """Nothing answered at an address; `answered` lists the addresses that did."""

    def __init__(self, message: str, *, bus: int | None, address: int, answered: list[int]):
        super().__init__(message, bus=bus)
        self.address = address
        self.answered = answered


class UnknownDeviceError(BusError):
    """A device answered but its WHO_AM_I is not one we support."""

    def __init__(self, message: str, *, bus: int | None, address: int,
                 expected: dict[int, str], found: int):
        super().__init__(message, bus=bus)
        self.address = address
        self.expected = expected
        self.found = found


class InputFileError(PiAppError):
    """A file we were asked to read is missing or malformed (recording CSV, calibration, ...)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class ConfigError(PiAppError):
    """A config file or option has an unknown key or an invalid value."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        super().__init__(message)
        self.path = path
        self.key = key
