"""Read and write the calibration profile (TOML, schema in calibration/README.md).

Reading uses `tomllib`; writing is done here by hand because the file is small and flat.
A missing, corrupt or incomplete file raises `InputFileError` naming the file, the key and the
fix, never a traceback.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

from pi_app.analysis.calibration import ROLES, CalibrationProfile, SensorCalibration
from pi_app.errors import InputFileError
from pi_app.paths import default_profile_path

SCHEMA_VERSION = 1
_FIX = "run `pi-app calibrate` again to write a fresh profile, or correct the file"


def _err(path: Path, what: str, fix: str = _FIX) -> InputFileError:
    return InputFileError(f"calibration profile {path}: {what}; {fix}.", path=str(path))


def _number(path: Path, table: dict, key: str, where: str, *, positive: bool = False) -> float:
    if key not in table:
        raise _err(path, f"key '{where}.{key}' is missing")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _err(path, f"key '{where}.{key}' must be a finite number, found {value!r}")
    if positive and value <= 0:
        raise _err(path, f"key '{where}.{key}' must be > 0, found {value!r}")
    return float(value)


def _vector(path: Path, table: dict, key: str, where: str) -> tuple[float, float, float]:
    if key not in table:
        raise _err(path, f"key '{where}.{key}' is missing")
    value = table[key]
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and math.isfinite(v) for v in value)):
        raise _err(path, f"key '{where}.{key}' must be a list of 3 finite numbers "
                         f"(x, y, z in sensor axes), found {value!r}")
    return (float(value[0]), float(value[1]), float(value[2]))


def _sensor(path: Path, role: str, table) -> SensorCalibration:
    if not isinstance(table, dict):
        raise _err(path, f"'{role}' must be a table ([{role}])")
    bias = _vector(path, table, "gyro_bias_dps", role)
    up = _vector(path, table, "gravity_unit", role)
    norm = math.sqrt(sum(v * v for v in up))
    # A hand-edited vector may be a little off unit length; far off means it is not gravity.
    if not 0.9 <= norm <= 1.1:
        raise _err(path, f"key '{role}.gravity_unit' must have length 1, found {norm:.3f}")
    up = (up[0] / norm, up[1] / norm, up[2] / norm)
    device = table.get("device", "")
    if not isinstance(device, str):
        raise _err(path, f"key '{role}.device' must be a string, found {device!r}")
    return SensorCalibration(
        gyro_bias_dps=bias,
        gravity_unit=up,
        still_duration_s=_number(path, table, "still_duration_s", role, positive=True),
        acc_norm_g=_number(path, table, "acc_norm_g", role, positive=True),
        gyro_noise_dps=(_number(path, table, "gyro_noise_dps", role)
                        if "gyro_noise_dps" in table else 0.0),
        acc_noise_g=_number(path, table, "acc_noise_g", role) if "acc_noise_g" in table else 0.0,
        device=device,
    )


def load_profile(path: str | os.PathLike | None = None,
                 flag: str = "--profile") -> CalibrationProfile:
    """Read a profile (default: the state directory's calibration.toml). `flag` is the option
    (or config key) that named the file, as the user typed it, for the error's fix."""
    path = Path(path) if path is not None else default_profile_path()
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise _err(path, "file not found",
                   "stand still and run `pi-app calibrate` to create it, or pass the right "
                   f"{flag} path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(path, f"cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(path, f"is not valid TOML ({exc})") from None
    version = data.get("version")
    if version != SCHEMA_VERSION:
        raise _err(path, f"key 'version' must be {SCHEMA_VERSION}, found {version!r}")
    created = data.get("created_utc", "")
    source = data.get("source", "")
    for key, value in (("created_utc", created), ("source", source)):
        if not isinstance(value, str):
            raise _err(path, f"key '{key}' must be a string, found {value!r}")
    unknown = [k for k, v in data.items() if isinstance(v, dict) and k not in ROLES]
    if unknown:
        raise _err(path, f"unknown sensor table [{unknown[0]}] (known: {', '.join(ROLES)})")
    sensors = {role: _sensor(path, role, data[role]) for role in ROLES if role in data}
    if not sensors:
        raise _err(path, "has no [pelvis] or [thorax] table")
    return CalibrationProfile(sensors=sensors, created_utc=created, source=source,
                              version=SCHEMA_VERSION)


def _toml_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c >= " " or c == "\t" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def _toml_float(x: float) -> str:
    return repr(float(x))


def dumps_profile(profile: CalibrationProfile) -> str:
    """The profile as TOML text."""
    lines = ["# pi-app calibration profile (schema: calibration/README.md)",
             f"version = {SCHEMA_VERSION}",
             f"created_utc = {_toml_str(profile.created_utc)}",
             f"source = {_toml_str(profile.source)}"]
    for role in ROLES:
        cal = profile.sensors.get(role)
        if cal is None:
            continue
        vec = lambda v: "[" + ", ".join(_toml_float(x) for x in v) + "]"  # noqa: E731
        lines += ["", f"[{role}]",
                  f"device = {_toml_str(cal.device)}",
                  f"gyro_bias_dps = {vec(cal.gyro_bias_dps)}",
                  f"gravity_unit = {vec(cal.gravity_unit)}",
                  f"still_duration_s = {_toml_float(cal.still_duration_s)}",
                  f"acc_norm_g = {_toml_float(cal.acc_norm_g)}",
                  f"gyro_noise_dps = {_toml_float(cal.gyro_noise_dps)}",
                  f"acc_noise_g = {_toml_float(cal.acc_noise_g)}"]
    return "\n".join(lines) + "\n"


def save_profile(profile: CalibrationProfile, path: str | os.PathLike | None = None) -> Path:
    """Write the profile atomically (temp file + rename); creates the directory. Returns the
    path written."""
    path = Path(path) if path is not None else default_profile_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(dumps_profile(profile), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise InputFileError(
            f"cannot write calibration profile {path} ({exc.strerror or exc}); choose a "
            "writable location with --profile or fix the directory's permissions.",
            path=str(path)) from None
    return path
