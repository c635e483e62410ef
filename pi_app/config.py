"""The live app's configuration: a TOML file read into typed dataclasses.

    cfg = load_config("pi-app.toml")       # or load_config(None) for the defaults
    cfg.sensors.rate_hz, cfg.cues.mode, cfg.baseline.drift_detector_kwargs()

Every table and key is optional (the defaults are what `config/pi-app.example.toml` documents).
An unknown table or key, a value of the wrong type or outside its allowed values raises one
`ConfigError` whose message names the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import ConfigError
from pi_app.hw.chips import IMU_ADDRESSES
from pi_app.sim.scenarios import SCENARIOS

_ADDRESS_CHOICES = "0 (auto) or " + ", ".join(f"0x{a:02X}" for a in IMU_ADDRESSES)


def _opt(*, choices: tuple | None = None, lo: float | None = None, hi: float | None = None,
         what: str = "", **kwargs):
    """A dataclass field with validation facts in its metadata: allowed `choices` or the
    closed range lo..hi, and `what` (how to describe an allowed value in an error)."""
    return field(metadata={"choices": choices, "lo": lo, "hi": hi, "what": what}, **kwargs)


@dataclass(frozen=True)
class SensorsConfig:
    """The two IMUs on the I2C bus. Addresses 0 = find them (lower address = pelvis)."""

    bus: int = _opt(default=1, lo=0, hi=99, what="an I2C bus number")
    pelvis_address: int = _opt(default=0, choices=(0,) + IMU_ADDRESSES,
                               what=_ADDRESS_CHOICES)
    thorax_address: int = _opt(default=0, choices=(0,) + IMU_ADDRESSES,
                               what=_ADDRESS_CHOICES)
    rate_hz: float = _opt(default=1000.0, lo=50.0, hi=1700.0, what="an output rate in Hz")
    acc_range_g: int = _opt(default=8, choices=(2, 4, 8, 16))
    gyro_range_dps: int = _opt(default=1000, choices=(250, 500, 1000, 2000))
    dlpf: bool = _opt(default=True)
    # Why 15 ms by default: pi_app.drain.
    drain_interval_s: float = _opt(default=DRAIN_INTERVAL_S, lo=0.005, hi=0.04,
                                   what="seconds between FIFO drains")
    # Its own process keeps the drain on schedule whatever the dashboard does (own GIL).
    acquisition: str = _opt(default="process", choices=("process", "thread"))
    # The service grants up to 50 (LimitRTPRIO=50); where real-time priority is not offered at
    # all (a desktop session) acquisition runs at normal priority without a warning.
    rt_priority: int = _opt(default=50, lo=0, hi=99,
                            what="a SCHED_FIFO priority (0 = normal scheduling)")
    # For the reality lab (lab/run), where no IMU can stream: `pi-app run` reads emulated
    # chips on a simulated runner instead of the bus, and says so on the dashboard.
    simulate: str = _opt(default="", choices=("",) + tuple(SCENARIOS),
                         what='"" (the IMUs on the I2C bus) or a simulator scenario: '
                              + ", ".join(f'"{name}"' for name in SCENARIOS))


@dataclass(frozen=True)
class BuzzerConfig:
    """The athlete's buzzer on a GPIO pin (BCM numbering)."""

    enabled: bool = _opt(default=True)
    pin_bcm: int = _opt(default=18, lo=2, hi=27, what="a BCM GPIO number")
    kind: str = _opt(default="active", choices=("active", "passive"))


@dataclass(frozen=True)
class AudioConfig:
    """Cue sounds through pygame.mixer (ALSA on the Pi)."""

    enabled: bool = _opt(default=True)
    device: str = _opt(default="", what='an ALSA device name, or "" for the default')
    volume: float = _opt(default=0.8, lo=0.0, hi=1.0, what="a volume")
    buffer_frames: int = _opt(default=256, lo=64, hi=4096,
                              what="a mixer buffer size in frames")


@dataclass(frozen=True)
class CuesConfig:
    """When the athlete is cued: bandwidth (every eligible drifting stride, silent in band),
    faded (from `after_s` seconds into the session, only `fraction` of the eligible strides
    are cued, per [after_s, fraction] pair of `fade_schedule`), or off."""

    mode: str = _opt(default="bandwidth", choices=("bandwidth", "faded", "off"))
    min_interval_s: float = _opt(default=3.0, lo=0.0, hi=600.0,
                                 what="seconds between two cues")
    fade_schedule: tuple[tuple[float, float], ...] = _opt(
        default=((0.0, 1.0), (300.0, 0.5), (600.0, 0.25)),
        what="a list of [after_s, fraction] pairs starting at after_s 0, fractions 1, 0.5, "
             "0.25, ... (1/n)")


@dataclass(frozen=True)
class BaselineConfig:
    """The runner's baseline and drift detection (pi_app.analysis.drift.DriftDetector)."""

    warmup_s: float = _opt(default=30.0, lo=0.0, hi=3600.0, what="seconds")
    baseline_strides: int = _opt(default=60, lo=10, hi=1000, what="a number of strides")
    window_strides: int = _opt(default=10, lo=3, hi=100, what="a number of strides")
    k_sd: float = _opt(default=2.5, lo=0.5, hi=10.0, what="a number of SDs")
    fast_strides: int = _opt(default=3, lo=1, hi=20, what="a number of strides")
    k_fast_sd: float = _opt(default=3.5, lo=0.5, hi=10.0, what="a number of SDs")
    phase_sd_floor_deg: float = _opt(default=5.0, lo=0.0, hi=90.0, what="degrees")
    cadence_sd_floor_spm: float = _opt(default=2.0, lo=0.0, hi=30.0, what="steps/min")
    enter_after: int = _opt(default=2, lo=1, hi=50, what="a number of strides")
    leave_after: int = _opt(default=3, lo=1, hi=50, what="a number of strides")
    cadence_jump_frac: float = _opt(default=0.05, lo=0.005, hi=0.5, what="a fraction")
    suppress_s: float = _opt(default=20.0, lo=0.0, hi=600.0, what="seconds")
    judge_pelvis_phase: bool = _opt(default=False)
    judge_cadence: bool = _opt(default=False)

    def drift_detector_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `DriftDetector(...)`."""
        kwargs = dataclasses.asdict(self)
        metrics = ["rel_phase", "thorax_phase"]
        if kwargs.pop("judge_pelvis_phase"):
            metrics.append("pelvis_phase")
        if kwargs.pop("judge_cadence"):
            metrics.append("cadence")
        kwargs["judged_metrics"] = tuple(metrics)
        return kwargs


@dataclass(frozen=True)
class DisplayConfig:
    """The coach's dashboard. width/height 0 = the display's own resolution (full screen)."""

    enabled: bool = _opt(default=True)
    fullscreen: bool = _opt(default=True)
    width_px: int = _opt(default=0, lo=0, hi=7680, what="0 (display size) or pixels")
    height_px: int = _opt(default=0, lo=0, hi=4320, what="0 (display size) or pixels")
    fps: float = _opt(default=30.0, lo=5.0, hi=120.0, what="frames per second")


@dataclass(frozen=True)
class MetronomeConfig:
    """The optional step-locked metronome. target_spm 0 = the runner's current cadence."""

    enabled: bool = _opt(default=False)
    target_spm: float = _opt(default=0.0, lo=0.0, hi=240.0, what="0 or steps/min")
    max_change_pct_per_min: float = _opt(default=3.0, lo=0.0, hi=10.0,
                                         what="percent per minute")


@dataclass(frozen=True)
class CalibrationConfig:
    """Where the standing calibration profile is ("" = the state directory's default)."""

    profile: str = _opt(default="", what='a file path, or "" for the default')
    required: bool = _opt(default=False)


@dataclass(frozen=True)
class CoachingConfig:
    """Coaching across sessions (docs/coaching.md): a relative-phase target and the athlete
    chosen on the dashboard before a run."""

    # A target moves the athlete's own band (remembered or fresh) toward anti-phase; a
    # programme session's target_offset_deg, where set, takes precedence.
    target_offset_deg: float = _opt(default=0.0, lo=-90.0, hi=90.0,
                                    what="degrees toward anti-phase (0 = no target)")
    target_step_deg: float = _opt(default=5.0, lo=1.0, hi=30.0,
                                  what="degrees per press of the [ and ] keys")
    # The athlete never touches the keyboard: with no choice the run starts without one.
    choose_athlete_s: float = _opt(default=30.0, lo=0.0, hi=600.0,
                                   what="seconds the athlete list is offered (0 = never)")


@dataclass(frozen=True)
class Config:
    """The whole configuration (one attribute per TOML table)."""

    sensors: SensorsConfig = field(default_factory=SensorsConfig)
    buzzer: BuzzerConfig = field(default_factory=BuzzerConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    metronome: MetronomeConfig = field(default_factory=MetronomeConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    coaching: CoachingConfig = field(default_factory=CoachingConfig)
    source: str = "defaults"


TABLES: dict[str, type] = {f.name: type(getattr(Config(), f.name))
                           for f in dataclasses.fields(Config) if f.name != "source"}


def _describe_allowed(f: dataclasses.Field) -> str:
    meta = f.metadata
    if meta.get("choices") is not None:
        if meta.get("what"):
            return meta["what"]
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    base = {bool: "true or false", str: "a string", int: "an integer",
            float: "a number"}.get(_base_type(f), "a value")
    what = meta.get("what") or base
    if _base_type(f) is tuple:
        return what
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None and f"from {lo:g} to {hi:g}" not in what:
        return f"{what} from {lo:g} to {hi:g}"
    return what


def _base_type(f: dataclasses.Field) -> type:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if t.startswith("tuple"):
        return tuple
    return {"bool": bool, "int": int, "float": float, "str": str}[t]


def _check_value(f: dataclasses.Field, value, fail) -> Any:
    """The validated (and converted) value of field `f`; calls fail() when it is not allowed."""
    base = _base_type(f)
    meta = f.metadata
    if base is bool:
        if not isinstance(value, bool):
            fail()
        return value
    if base is str:
        if not isinstance(value, str):
            fail()
        if meta.get("choices") is not None and value not in meta["choices"]:
            fail()
        return value
    if base is tuple:
        # The fade schedule: [[after_s, fraction], ...], after_s from 0, fraction 1/n.
        if not isinstance(value, list) or not value:
            fail()
        out = []
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2 or any(
                    isinstance(v, bool) or not isinstance(v, (int, float))
                    or not math.isfinite(v) for v in pair):
                fail()
            after_s, fraction = float(pair[0]), float(pair[1])
            if after_s < 0 or not 0 < fraction <= 1 or \
                    abs(1.0 / fraction - round(1.0 / fraction)) > 1e-6:
                fail()
            out.append((after_s, fraction))
        if min(a for a, _ in out) != 0.0:
            fail()
        return tuple(sorted(out))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail()
    if base is int:
        if isinstance(value, float):
            if not value.is_integer():
                fail()
            value = int(value)
    else:
        if not math.isfinite(value):
            fail()
        value = float(value)
    if meta.get("choices") is not None and value not in meta["choices"]:
        fail()
    if meta.get("lo") is not None and not meta["lo"] <= value <= meta["hi"]:
        fail()
    return value


def config_from_dict(data: dict, source: str = "the config") -> Config:
    """Validate a parsed TOML document (dict of tables) into a `Config`. `source` names the
    file in error messages."""
    tables = {}
    for name, table in data.items():
        if name not in TABLES:
            raise ConfigError(
                f"{source}: unknown table [{name}]; allowed tables are "
                f"{', '.join('[' + t + ']' for t in TABLES)}.", path=source, key=name)
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{name}' must be a table written as [{name}].",
                              path=source, key=name)
        cls = TABLES[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in table.items():
            if key not in fields:
                raise ConfigError(
                    f"{source}: unknown key '{key}' in [{name}]; allowed keys are "
                    f"{', '.join(fields)}.", path=source, key=f"{name}.{key}")
            f = fields[key]

            def fail(f=f, key=key, value=value):
                unquoted = _number_in_quotes(value)
                if unquoted is not None and _base_type(f) in (int, float):
                    raise ConfigError(
                        f"{source}: [{name}] {key} = {_show(value)} is text because of the "
                        f"quotes; write the number without them: {key} = {value.strip()}.",
                        path=source, key=f"{name}.{key}")
                shown = (f"0x{value:02X}" if key.endswith("_address") and isinstance(value, int)
                         and not isinstance(value, bool) else _show(value))
                raise ConfigError(
                    f"{source}: [{name}] {key} = {shown} is not allowed; use "
                    f"{_describe_allowed(f)}.", path=source, key=f"{name}.{key}")
            values[key] = _check_value(f, value, fail)
        tables[name] = cls(**values)
    cfg = Config(**tables, source=source)
    _check_consistency(cfg, source)
    return cfg


def _number_in_quotes(value) -> float | int | None:
    """The number a quoted TOML string spells ("0x68", "0.5"), else None."""
    if not isinstance(value, str):
        return None
    try:
        return int(value.strip(), 0)
    except ValueError:
        pass
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _check_consistency(cfg: Config, source: str) -> None:
    s, b = cfg.sensors, cfg.baseline
    if s.pelvis_address and s.thorax_address and s.pelvis_address == s.thorax_address:
        raise ConfigError(
            f"{source}: [sensors] pelvis_address and thorax_address are both "
            f"0x{s.pelvis_address:02X}; give the thorax IMU the other address (AD0/SA0 high).",
            path=source, key="sensors.thorax_address")
    if bool(s.pelvis_address) != bool(s.thorax_address):
        raise ConfigError(
            f"{source}: [sensors] set both pelvis_address and thorax_address, or neither "
            "(0 = find them on the bus).", path=source, key="sensors.pelvis_address")
    if not b.baseline_strides >= b.window_strides >= b.fast_strides:
        raise ConfigError(
            f"{source}: [baseline] needs baseline_strides >= window_strides >= fast_strides, "
            f"found {b.baseline_strides}, {b.window_strides}, {b.fast_strides}.",
            path=source, key="baseline.window_strides")
    if b.k_fast_sd < b.k_sd:
        raise ConfigError(
            f"{source}: [baseline] k_fast_sd ({b.k_fast_sd:g}) must be at least k_sd "
            f"({b.k_sd:g}).", path=source, key="baseline.k_fast_sd")


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate the TOML config at `path` (None: all defaults)."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist; check the path or copy "
                          "config/pi-app.example.toml there.", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {p} cannot be read ({err}); check its permissions "
                          "and that it is UTF-8 text.", path=str(p)) from None
    return loads_config(text, source=str(p))


def loads_config(text: str, source: str = "the config") -> Config:
    """Parse and validate TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source} is not valid TOML ({err}); fix the syntax there.",
                          path=source) from None
    return config_from_dict(data, source)


EXAMPLE_TOML = '''\
# pi-app configuration (TOML). Every table and key is optional; the values below are the
# defaults. Use: pi-app run --config /path/to/this.toml
# Unknown keys are errors, so a typo is reported instead of silently ignored.

[sensors]
bus = 1                    # I2C bus number (/dev/i2c-1 on the Pi header)
pelvis_address = 0         # 0 = find the IMUs: the lower address is the pelvis (sacrum) IMU,
thorax_address = 0         #     the higher one the thorax; or 0x68/0x69 (MPU), 0x6A/0x6B (LSM6DS)
rate_hz = 1000.0           # requested output data rate of each IMU (Hz)
acc_range_g = 8            # accelerometer full scale: 2, 4, 8 or 16 g
gyro_range_dps = 1000      # gyroscope full scale: 250, 500, 1000 or 2000 deg/s
dlpf = true                # the chip's digital low-pass filter (anti-alias)
drain_interval_s = 0.015   # FIFO drain period; 0.010-0.020 keeps every FIFO from overflowing
acquisition = "process"    # "process": drain the FIFOs in their own process; "thread": in the app
rt_priority = 50           # 1-99: real-time (SCHED_FIFO) priority of the acquisition process where
                           #     it is offered (the service: LimitRTPRIO=50); 0 = normal
simulate = ""              # "" = the IMUs on the bus; a scenario name (e.g. "drift") = emulated
                           #     chips on a simulated runner (the lab; dashboard says SIMULATED)

[buzzer]
enabled = true
pin_bcm = 18               # BCM GPIO number of the buzzer's signal pin
kind = "active"            # "active" (on/off) or "passive" (PWM: each cue has its own pitch)

[audio]
enabled = true
device = ""                # ALSA device (e.g. "hw:1,0" for a USB sound card); "" = default
volume = 0.8               # 0..1: level of the cue and metronome sounds (SDL mixer)
buffer_frames = 256        # mixer buffer: small = low latency (256 frames at 44.1 kHz = 6 ms)

[cues]
mode = "bandwidth"         # "bandwidth" (silent in band), "faded" or "off"
min_interval_s = 3.0       # never two cues closer than this (s)
# faded mode: [after_s, fraction]: from after_s seconds into the session cue only that
# fraction (1, 1/2, 1/4, ...) of the eligible strides (every 1st, 2nd, 4th; not random)
fade_schedule = [[0.0, 1.0], [300.0, 0.5], [600.0, 0.25]]

[baseline]
warmup_s = 30.0            # running time before the baseline starts (s)
baseline_strides = 60      # strides in a baseline (at one speed)
window_strides = 10        # rolling-median length (strides)
k_sd = 2.5                 # band half-width in the runner's SDs
fast_strides = 3           # short median for large sudden changes (strides)
k_fast_sd = 3.5            # its wider band (SDs)
phase_sd_floor_deg = 5.0   # smallest phase SD used (deg)
cadence_sd_floor_spm = 2.0 # smallest cadence SD used (steps/min)
enter_after = 2            # consecutive out-of-band strides to start a drift episode
leave_after = 3            # consecutive in-band strides to end it
cadence_jump_frac = 0.05   # a cadence change this large means a new treadmill speed
suppress_s = 20.0          # quiet time after a speed change, then a fresh baseline (s)
judge_pelvis_phase = false # also cue pelvis timing on its own (relative phase always counts)
judge_cadence = false      # also cue cadence against the runner's baseline (a coach band always counts)

[display]
enabled = true
fullscreen = true          # full screen on the Pi's HDMI (KMS/DRM); false = a window
width_px = 0               # 0 = the display's resolution
height_px = 0
fps = 30.0

[metronome]
enabled = false
target_spm = 0.0           # 0 = start at the runner's current cadence
max_change_pct_per_min = 3.0   # tempo moves toward the target at most this fast (unnoticed)

[calibration]
profile = ""               # "" = calibration.toml in the state directory (pi-app calibrate)
required = false           # true: refuse to start without a calibration profile

[coaching]
target_offset_deg = 0.0    # a target: the athlete's band moved this far toward anti-phase (0 = none)
target_step_deg = 5.0      # how far the dashboard's [ and ] keys move the target
choose_athlete_s = 30.0    # without --athlete: the dashboard offers the athlete list this long (0 = never)
'''
