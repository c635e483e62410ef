"""Named simulated worlds: a runner (gait + pelvis and thorax motion), the two IMUs strapped to
them, optional bus faults and the ground truth.

    world = make_scenario("drift", seed=3, start_s=clock.now_s())
    acc_g, gyro_dps = world.sensor_source("thorax").sample(t_s)
    world.truth.strides_between(t0_s, t1_s)

Each seed is a different runner, drawn around the treadmill motion-capture runners of
../shared/data (Hamner & Delp 2013): cadence 160-180 steps/min, thorax phase 148-162 deg, pelvis
phase 180-230 deg (so relative phase ~280-340 deg), pelvis ROM 9-15 deg, thorax ROM 18-28 deg.
Every running scenario stands still for `STAND_S` seconds first. Event times are absolute
(bus clock), offset by `start_s`. `day` > 0 is the same runner (same profile and first
strapping) on another day: other stride-to-stride noise, wander and sensor errors, and each
sensor re-strapped a few degrees differently (`DAY_REMOUNT_DEG`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pi_app.errors import ConfigError
from pi_app.sim.body import Gait, PhaseRamp, SegmentMotion, SimulatedImu, random_rotation
from pi_app.sim.faults import FaultPlan
from pi_app.sim.faults import CombinedFaults, Dropout, RandomTransactionFailures
from pi_app.sim.truth import Truth

STAND_S = 5.0
# Drift starts after warm-up plus a 60-100 stride baseline (science.md: "Normal variability").
DRIFT_AFTER_RUN_S = 150.0
DRIFT_STRIDES = 30.0
# "quick-drift": the drift starts as soon as the default baseline is surely complete (30 s
# warm-up + 60 strides, 47 s at the slowest runner's ~154 steps/min, plus margin) and is
# quicker, so a newcomer hears the first cue about 1.5 minutes after the start.
QUICK_DRIFT_AFTER_RUN_S = 85.0
QUICK_DRIFT_STRIDES = 10.0
CADENCE_CHANGE_AFTER_RUN_S = 120.0
DROPOUT_AFTER_RUN_S = 40.0
DROPOUT_S = 5.0
I2C_FAILURE_PROBABILITY = 0.01

SCENARIOS: dict[str, str] = {
    "stand": "the runner stands still forever (gravity and sensor errors only)",
    "steady": "stand 5 s, then steady running with natural stride-to-stride variability",
    "drift": "steady running; 150 s after the start of running the thorax-pelvis counter-"
             "rotation is lost over 30 strides (relative phase moves to ~0 deg) and stays",
    "quick-drift": "the drift scenario sooner: the counter-rotation is lost over 10 strides "
                   "85 s after the start of running, right after the default baseline (first "
                   "cue about 1.5 minutes after the start)",
    "cadence-change": "steady running at 165 steps/min, then 120 s in a treadmill speed "
                      "change to 180 steps/min",
    "dropout": "steady running; 40 s in the thorax sensor vanishes for 5 s and comes back "
               "power-on-reset",
    "i2c-noise": "steady running with 1 % of I2C transactions failing with EIO",
    "in-phase": "a runner who turns thorax and pelvis together (relative phase ~20 deg)",
    "slow-wander": "a long steady run with stronger (but natural) slow wandering of cadence "
                   "and phase, for false-alarm tests",
    "early-drift": "as drift, but the counter-rotation loss starts 40 s after the start of "
                   "running, before a fresh baseline could exist",
}
# The early drift starts 10 s after the default 30 s warm-up.
EARLY_DRIFT_AFTER_RUN_S = 40.0
#: Another day's strapping: the sensors sit this many degrees (about a random axis) from the
#: first day's, in this range.
DAY_REMOUNT_DEG = (3.0, 10.0)


@dataclass
class RunnerProfile:
    """One runner's gait and trunk rotation (phases relative to the right strike)."""

    cadence_spm: float = 170.0
    pelvis_rom_deg: float = 12.0
    thorax_rom_deg: float = 22.0
    pelvis_phase_deg: float = 200.0
    thorax_phase_deg: float = 155.0

    @staticmethod
    def from_seed(seed: int) -> "RunnerProfile":
        rng = np.random.default_rng([seed, 0x7E11])
        return RunnerProfile(
            cadence_spm=float(rng.uniform(160.0, 180.0)),
            pelvis_rom_deg=float(rng.uniform(9.0, 15.0)),
            thorax_rom_deg=float(rng.uniform(18.0, 28.0)),
            pelvis_phase_deg=float(rng.uniform(180.0, 230.0)),
            thorax_phase_deg=float(rng.uniform(148.0, 162.0)),
        )


@dataclass
class Scenario:
    """A simulated world (see module docstring)."""

    name: str
    description: str
    seed: int
    start_s: float
    runner: RunnerProfile
    gait: Gait
    segments: dict[str, SegmentMotion]
    sensors: dict[str, SimulatedImu]
    truth: Truth
    faults: FaultPlan | None = None
    params: dict = field(default_factory=dict)

    def sensor_source(self, role: str, ideal: bool = False) -> SimulatedImu:
        """The MotionSource of the `role` ("pelvis" or "thorax") IMU; ideal=True: the same
        sensor without bias or noise (for tests)."""
        if role not in self.sensors:
            raise ConfigError(f"unknown sensor role {role!r}: use 'pelvis' or 'thorax'")
        sensor = self.sensors[role]
        return sensor.ideal_copy() if ideal else sensor


def _nice_mounting(role: str) -> np.ndarray:
    """A tidy mounting: chip flat on the back, x up, z pointing backward out of the body
    (columns = sensor axes in segment (forward, left, up) axes)."""
    x = np.array([0.0, 0.0, 1.0])
    z = np.array([-1.0, 0.0, 0.0])
    return np.column_stack([x, np.cross(z, x), z])


def _small_rotation(rng: np.random.Generator, lo_deg: float, hi_deg: float) -> np.ndarray:
    """A rotation by an angle drawn from lo..hi deg about a random axis (Rodrigues)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    a = np.radians(rng.uniform(lo_deg, hi_deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def _build(name: str, seed: int, start_s: float, *, runner: RunnerProfile | None = None,
           stand_s: float = STAND_S, cadence_changes=(), pelvis_ramps=(),
           wander_scale: float = 1.0, mounting: str = "random", day: int = 0) -> Scenario:
    runner = runner if runner is not None else RunnerProfile.from_seed(seed)
    # Day 0 keeps the seeds it always had; another day draws its noise from other seeds.
    noise_seed = seed if day == 0 else (seed + 1_000_003 * day) & 0xFFFFFFFF
    gait = Gait(cadence_spm=runner.cadence_spm, stand_s=stand_s, start_s=start_s,
                cadence_changes=cadence_changes,
                wander=((0.9, 0.008), (0.99, 0.006 * wander_scale),
                        (0.999, 0.004 * wander_scale)),
                seed=noise_seed)
    pelvis = SegmentMotion(
        gait, rom_deg=runner.pelvis_rom_deg, phase_deg=runner.pelvis_phase_deg,
        harmonic2_ratio=0.15, harmonic2_phase_deg=40.0, obliquity_deg=4.0,
        obliquity_phase_deg=250.0, tilt_deg=2.0, tilt_phase_deg=60.0, lean_deg=0.0,
        impact_g=3.0, impact_ms=20.0, fore_aft_g=0.45, lateral_g=0.15,
        phase_jitter_deg=7.0, phase_wander_deg=2.5 * wander_scale, rom_jitter_frac=0.07,
        phase_ramps=pelvis_ramps, seed=(noise_seed, 0x9E1))
    thorax = SegmentMotion(
        gait, rom_deg=runner.thorax_rom_deg, phase_deg=runner.thorax_phase_deg,
        harmonic2_ratio=0.06, harmonic2_phase_deg=0.0, obliquity_deg=3.0,
        obliquity_phase_deg=70.0, tilt_deg=1.5, tilt_phase_deg=90.0, lean_deg=10.0,
        impact_g=1.2, impact_ms=30.0, fore_aft_g=0.3, lateral_g=0.1,
        phase_jitter_deg=3.0, phase_wander_deg=1.5 * wander_scale, rom_jitter_frac=0.05,
        seed=(noise_seed, 0x7E0))
    segments = {"pelvis": pelvis, "thorax": thorax}
    rng = np.random.default_rng([seed, 0x5E25])
    day_rng = rng if day == 0 else np.random.default_rng([seed, day, 0xDA7])
    sensors = {}
    for k, role in enumerate(("pelvis", "thorax")):
        m = random_rotation(rng) if mounting == "random" else _nice_mounting(role)
        gyro_bias_dps, acc_bias_g = rng.normal(0.0, 1.0, 3), rng.normal(0.0, 0.01, 3)
        if day != 0:
            m = m @ _small_rotation(day_rng, *DAY_REMOUNT_DEG)
            gyro_bias_dps, acc_bias_g = day_rng.normal(0.0, 1.0, 3), day_rng.normal(0.0, 0.01, 3)
        sensors[role] = SimulatedImu(
            segments[role], m, gyro_bias_dps=gyro_bias_dps,
            bias_drift_dps=0.1, gyro_noise_dps=0.1, acc_noise_g=0.01,
            acc_bias_g=acc_bias_g, seed=(noise_seed * 2 + k + 17) & 0xFFFFFFFF)
    events = []
    if gait.runs:
        events.append((gait.running_start_s, "running_start", ""))
    previous = runner.cadence_spm
    for t, c in cadence_changes:
        events.append((t, "cadence_change", f"{previous:.0f}->{c:.0f} spm"))
        previous = c
    for ramp in pelvis_ramps:
        events.append((ramp.t_start_s, "drift_start",
                       f"pelvis phase {ramp.delta_deg:+.0f} deg over {ramp.n_strides:.0f} "
                       "strides"))
    return Scenario(name=name, description=SCENARIOS[name], seed=seed, start_s=start_s,
                    runner=runner, gait=gait, segments=segments, sensors=sensors,
                    truth=Truth(gait, segments, sensors, events))


def make_scenario(name: str, seed: int = 0, start_s: float = 0.0, day: int = 0) -> Scenario:
    """Build the named scenario (see SCENARIOS) for `seed` (the runner) on `day` (0: the
    first; see the module docstring); the world starts at `start_s` (bus-clock seconds)."""
    if name not in SCENARIOS:
        raise ConfigError(f"unknown simulator scenario {name!r}: use one of "
                          f"{', '.join(SCENARIOS)}", key="scenario")
    seed = int(seed)
    day = int(day)
    if day < 0:
        raise ConfigError(f"day {day} is negative; days count 0, 1, 2, ...", key="day")
    start_s = float(start_s)
    run_s = start_s + STAND_S
    if name == "stand":
        return _build(name, seed, start_s, stand_s=math.inf, day=day)
    if name in ("steady", "slow-wander"):
        return _build(name, seed, start_s,
                      wander_scale=2.0 if name == "slow-wander" else 1.0, day=day)
    if name == "in-phase":
        runner = RunnerProfile.from_seed(seed)
        runner.pelvis_phase_deg = runner.thorax_phase_deg - 20.0
        return _build(name, seed, start_s, runner=runner, day=day)
    if name in ("drift", "quick-drift", "early-drift"):
        quick = name == "quick-drift"
        n_strides = QUICK_DRIFT_STRIDES if quick else DRIFT_STRIDES
        runner = RunnerProfile.from_seed(seed)
        # The pelvis phase moves onto the thorax phase (the thorax, the consistent side
        # signal, stays): relative phase goes from the runner's value to 0 deg.
        delta = -((runner.pelvis_phase_deg - runner.thorax_phase_deg + 180.0) % 360.0 - 180.0)
        t_drift = run_s + (QUICK_DRIFT_AFTER_RUN_S if quick else EARLY_DRIFT_AFTER_RUN_S
                           if name == "early-drift" else DRIFT_AFTER_RUN_S)
        world = _build(name, seed, start_s, runner=runner, day=day,
                       pelvis_ramps=(PhaseRamp(t_drift, n_strides, delta),))
        world.params["drift_start_s"] = t_drift
        s0 = world.gait.stride_phase_at(t_drift)
        t_end = world.gait.time_at_stride_phase(s0 + n_strides)
        world.truth.events.append((t_end, "drift_end", "relative phase ~0 deg"))
        world.truth.events.sort(key=lambda e: e[0])
        return world
    if name == "cadence-change":
        runner = RunnerProfile.from_seed(seed)
        runner.cadence_spm = 165.0
        t_change = run_s + CADENCE_CHANGE_AFTER_RUN_S
        world = _build(name, seed, start_s, runner=runner, day=day,
                       cadence_changes=((t_change, 180.0),))
        world.params["cadence_change_s"] = t_change
        return world
    if name == "dropout":
        world = _build(name, seed, start_s, day=day)
        t0 = run_s + DROPOUT_AFTER_RUN_S
        world.faults = Dropout("thorax", t0, DROPOUT_S)
        world.truth.events += [(t0, "dropout_start", "thorax"),
                               (t0 + DROPOUT_S, "dropout_end", "thorax")]
        world.truth.events.sort(key=lambda e: e[0])
        world.params["dropout_start_s"] = t0
        return world
    # i2c-noise
    world = _build(name, seed, start_s, day=day)
    world.faults = CombinedFaults(RandomTransactionFailures(I2C_FAILURE_PROBABILITY, seed=seed))
    world.params["i2c_failure_probability"] = I2C_FAILURE_PROBABILITY
    return world
