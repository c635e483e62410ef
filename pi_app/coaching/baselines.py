"""Remembered baselines: the baseline TOML file and the conditions a baseline belongs to.

A baseline is judged against again only under the conditions it was built at:
- the treadmill speed: when both sessions have an entered speed, they must be equal (within
  `SPEED_TOLERANCE_KMH`) and the cadence is not asked; otherwise the drift detector compares
  the cadence at the end of the warm-up (`DriftDetector.cadence_tolerance_frac`, 3 %);
- the chips: the same IMU models on pelvis and thorax (another chip has other noise);
- the mounting check: each sensor's vertical, in its own axes, within
  `MOUNTING_TOLERANCE_DEG` of the stored one (a sensor strapped on upside down or turned a
  quarter is a different measurement; a slightly different strap position is not).
A mismatch is never silent: the reason is kept in `DriftDetector.stored_note`, shown on the
dashboard and logged.

The file (`pi-app analyze --save-baseline FILE`, the `baseline_toml` of the store):

    format = 1
    origin = "session 12"            # where it was learnt
    created_unix_s = 1765000000.0    # when (s since 1970)
    strides = 240                    # strides it was learnt from

    [conditions]
    cadence_spm = 171.8              # median cadence of the baseline
    treadmill_speed_kmh = 10.0       # only if the coach entered it
    chips = "pelvis=mpu6050,thorax=mpu6050"
    pelvis_vertical = [0.02, -0.01, 0.99]    # gravity direction in sensor axes (unit)
    thorax_vertical = [0.05, 0.10, 0.99]

    [rel_phase]                      # one table per metric: center and the runner's SD
    center_deg = 312.4
    sd_deg = 7.9
    [thorax_phase]
    center_deg = 155.2
    sd_deg = 4.1
    [pelvis_phase]
    center_deg = 202.8
    sd_deg = 6.3
    [cadence]
    center_spm = 171.8
    sd_spm = 2.2
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from pi_app.analysis.drift import METRICS, Baseline
from pi_app.errors import InputFileError

FORMAT = 1
#: Two entered treadmill speeds closer than this (km/h) are the same speed.
SPEED_TOLERANCE_KMH = 0.05
#: Largest angle (deg) between a sensor's stored and current vertical that is still "the
#: same mounting": a strap a few cm higher or a slightly turned chip is ~5-15 deg.
MOUNTING_TOLERANCE_DEG = 25.0


@dataclass(frozen=True)
class Conditions:
    """What a baseline was built at: median cadence (spm), the entered treadmill speed
    (km/h, None if not entered), chips ("pelvis=mpu6050,thorax=mpu6050", "" if unknown)
    and each sensor's vertical in its own axes (unit vectors; empty if unknown)."""

    cadence_spm: float | None = None
    treadmill_speed_kmh: float | None = None
    chips: str = ""
    verticals: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def chips_text(models: dict[str, str | None]) -> str:
    """"pelvis=mpu6050,thorax=mpu6050" from a role -> model mapping (unknown models left
    out)."""
    return ",".join(f"{role}={model}" for role, model in sorted(models.items()) if model)


def check_conditions(stored: Conditions, now: Conditions) -> tuple[bool | None, str | None]:
    """(speed_match, reason) for `DriftDetector.use_baseline` / `reject_baseline`:
    reason is a sentence when the baseline must not be used (other speed, chips or
    mounting); speed_match is True/False when both speeds were entered, else None (the
    detector decides by cadence)."""
    if stored.chips and now.chips and stored.chips != now.chips:
        return False, f"other chips ({now.chips} now, {stored.chips} then)"
    for role, v_then in stored.verticals.items():
        v_now = now.verticals.get(role)
        if v_now is None:
            continue
        cos = float(np.clip(np.dot(v_then, v_now) / (np.linalg.norm(v_then)
                                                     * np.linalg.norm(v_now)), -1.0, 1.0))
        angle = math.degrees(math.acos(cos))
        if angle > MOUNTING_TOLERANCE_DEG:
            return False, (f"the {role} sensor is mounted differently ({angle:.0f} deg from "
                           f"then, tolerance {MOUNTING_TOLERANCE_DEG:.0f} deg)")
    if stored.treadmill_speed_kmh is not None and now.treadmill_speed_kmh is not None:
        if abs(stored.treadmill_speed_kmh - now.treadmill_speed_kmh) > SPEED_TOLERANCE_KMH:
            return False, (f"other treadmill speed ({now.treadmill_speed_kmh:g} km/h now, "
                           f"{stored.treadmill_speed_kmh:g} then)")
        return True, None
    return None, None


def _unit(metric: str) -> str:
    return METRICS[metric][2]


def dumps_baseline(baseline: Baseline, conditions: Conditions) -> str:
    """The baseline file's text (format in the module docstring)."""
    lines = ["# pi-app baseline (docs/coaching.md)", f"format = {FORMAT}",
             f"origin = {_string(baseline.origin)}"]
    if baseline.created_unix_s is not None:
        lines.append(f"created_unix_s = {baseline.created_unix_s:.3f}")
    lines += [f"strides = {baseline.n_strides}", "", "[conditions]"]
    cadence = conditions.cadence_spm if conditions.cadence_spm is not None \
        else baseline.cadence_spm
    if cadence is not None:
        lines.append(f"cadence_spm = {cadence:.2f}")
    if conditions.treadmill_speed_kmh is not None:
        lines.append(f"treadmill_speed_kmh = {conditions.treadmill_speed_kmh:g}")
    if conditions.chips:
        lines.append(f"chips = {_string(conditions.chips)}")
    for role, v in sorted(conditions.verticals.items()):
        lines.append(f"{role}_vertical = [{', '.join(f'{x:.4f}' for x in v)}]")
    for metric in METRICS:
        if metric not in baseline.centers:
            continue
        u = _unit(metric)
        lines += ["", f"[{metric}]", f"center_{u} = {baseline.centers[metric]:.3f}",
                  f"sd_{u} = {baseline.sds[metric]:.3f}"]
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def loads_baseline(text: str, source: str = "the baseline") -> tuple[Baseline, Conditions]:
    """Parse a baseline file's text; an error names `source` and the key."""
    def fail(what: str) -> NoReturn:
        raise InputFileError(f"{source}: {what}; write it with `pi-app analyze "
                             "--save-baseline` (format in docs/coaching.md).", path=source)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        fail(f"is not valid TOML ({err})")
    if data.get("format") != FORMAT:
        fail(f"key 'format' must be {FORMAT}, found {data.get('format')!r}")
    known = {"format", "origin", "created_unix_s", "strides", "conditions", *METRICS}
    unknown = sorted(set(data) - known)
    if unknown:
        fail(f"unknown key(s) {', '.join(unknown)}")

    def number(table: dict, key: str, where: str, required: bool = True):
        value = table.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            fail(f"key '{where}{key}' must be a number, found {value!r}")
        return float(value)

    centers, sds = {}, {}
    for metric in METRICS:
        table = data.get(metric)
        if table is None:
            continue
        if not isinstance(table, dict):
            fail(f"[{metric}] must be a table")
        u = _unit(metric)
        centers[metric] = number(table, f"center_{u}", f"{metric}.")
        sds[metric] = number(table, f"sd_{u}", f"{metric}.")
        if sds[metric] < 0:
            fail(f"key '{metric}.sd_{u}' must be >= 0")
    if "rel_phase" not in centers:
        fail("it has no [rel_phase] table")
    strides = data.get("strides")
    if not isinstance(strides, int) or isinstance(strides, bool) or strides < 1:
        fail(f"key 'strides' must be a whole number >= 1, found {strides!r}")
    origin = data.get("origin", "")
    if not isinstance(origin, str):
        fail("key 'origin' must be text")
    created = number(data, "created_unix_s", "", required=False)
    cond = data.get("conditions", {})
    if not isinstance(cond, dict):
        fail("[conditions] must be a table")
    verticals: dict[str, tuple[float, float, float]] = {}
    for role in ("pelvis", "thorax"):
        v = cond.get(f"{role}_vertical")
        if v is None:
            continue
        if not (isinstance(v, list) and len(v) == 3
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
                and np.linalg.norm(v) > 0.1):
            fail(f"key 'conditions.{role}_vertical' must be 3 numbers (a direction)")
        verticals[role] = (float(v[0]), float(v[1]), float(v[2]))
    chips = cond.get("chips", "")
    if not isinstance(chips, str):
        fail("key 'conditions.chips' must be text")
    conditions = Conditions(
        cadence_spm=number(cond, "cadence_spm", "conditions.", required=False),
        treadmill_speed_kmh=number(cond, "treadmill_speed_kmh", "conditions.",
                                   required=False),
        chips=chips, verticals=verticals)
    if conditions.cadence_spm is not None and "cadence" not in centers:
        centers["cadence"], sds["cadence"] = conditions.cadence_spm, 0.0
    baseline = Baseline(centers=centers, sds=sds, n_strides=strides, origin=origin,
                        created_unix_s=created)
    return baseline, conditions


def load_baseline(path: str | Path) -> tuple[Baseline, Conditions]:
    """Read a baseline file (`pi-app analyze --baseline FILE`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"no baseline file at {path}; write one with `pi-app analyze "
                             "RUN.csv --save-baseline FILE`.", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"cannot read the baseline file {path} ({err}).",
                             path=str(path)) from None
    return loads_baseline(text, str(path))


def save_baseline(path: str | Path, baseline: Baseline, conditions: Conditions) -> None:
    """Write a baseline file."""
    path = Path(path)
    try:
        path.write_text(dumps_baseline(baseline, conditions), encoding="utf-8")
    except OSError as err:
        raise InputFileError(f"cannot write the baseline file {path} ({err.strerror}); "
                             "choose a writable place.", path=str(path)) from None
