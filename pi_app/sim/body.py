"""The simulated runner: gait timing, segment motion and the IMU strapped to each segment.

Lab axes: x forward (running direction), y left, z up (right-handed; gravity is -z). Segment
axes, when the segment is in its upright reference posture: x forward, y left, z up. A segment's
orientation is

    R_seg(t) = Rz(theta) . Ry(tilt) . Rx(roll) . Ry(lean)

theta = axial rotation (yaw, + = turning toward the runner's left), tilt = the pitch
oscillation (+ = forward/down), roll = obliquity or lateral flexion (+ = left side up), and
lean = the constant forward lean of the mean posture. The segment-fixed direction that points
horizontally forward in the mean posture is Ry(lean)^T x, whose yaw is exactly theta: that is the
theta of the strides-CSV spec.

A sensor mounted with rotation M (columns = sensor axes in segment axes) sees
    gyro = M^T omega_seg   and   acc = M^T R_seg^T (a_lab - g_lab)   (in g),
where omega_seg is the body angular velocity obtained analytically from the Euler-angle rates
(so integrating the gyro reproduces the orientation) and a_lab is the sensor point's
acceleration, specified analytically per step with zero net velocity change per step (so its
double integral, the point's position, stays bounded).

Everything is lazily generated and unbounded in time; the same seed always gives the same world,
however it is queried.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

TWO_PI = 2.0 * math.pi
DEG = math.pi / 180.0


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def smoothstep(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C1 ramp 0 -> 1 on x in [0, 1] (3x^2 - 2x^3) and its derivative d/dx."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x), 6.0 * x * (1.0 - x)


class LazySeries:
    """A deterministic random sequence v[0], v[1], ... generated on demand in fixed blocks.

    v[k] = white_sd * e_k + sum of AR(1) terms x_k = a x_{k-1} + sqrt(1 - a^2) sd e_k. A mix
    of AR(1) terms with a near 1 gives the long-range correlated slow wandering of gait
    (Hausdorff et al., J Appl Physiol 1995). The values do not depend on the query order.
    """

    _BLOCK = 256

    def __init__(self, seed: tuple[int, ...] | int, white_sd: float = 0.0,
                 ar_terms: tuple[tuple[float, float], ...] = ()):
        self._rng = np.random.default_rng(seed)
        self.white_sd = float(white_sd)
        self._ar = [(float(a), float(sd)) for a, sd in ar_terms]
        self._state = np.array([self._rng.normal(0.0, sd) for _, sd in self._ar])
        self._values = np.zeros(0)
        self._lock = threading.Lock()

    def _extend(self, n_needed: int) -> None:
        with self._lock:
            while self._values.shape[0] < n_needed:
                e = self._rng.normal(size=(self._BLOCK, 1 + len(self._ar)))
                block = self.white_sd * e[:, 0]
                for i, (a, sd) in enumerate(self._ar):
                    x = np.empty(self._BLOCK)
                    state = self._state[i]
                    gain = math.sqrt(1.0 - a * a) * sd
                    for k in range(self._BLOCK):
                        state = a * state + gain * e[k, i + 1]
                        x[k] = state
                    self._state[i] = state
                    block = block + x
                self._values = np.concatenate([self._values, block])

    def values(self, index: np.ndarray | int) -> np.ndarray:
        """v at integer indices >= 0 (array or scalar)."""
        index = np.asarray(index, dtype=np.int64)
        if index.size:
            self._extend(int(index.max()) + 1)
        return self._values[index]


def _rot_t(axis: str, angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Apply the transpose of the elementary rotation about `axis` by `angle` (rad, (n,)) to
    vectors v (n, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    if axis == "z":
        return np.stack([c * x + s * y, -s * x + c * y, z], axis=1)
    if axis == "y":
        return np.stack([c * x - s * z, y, s * x + c * z], axis=1)
    return np.stack([x, c * y + s * z, -s * y + c * z], axis=1)


def _rot(axis: str, angle: np.ndarray) -> np.ndarray:
    """Elementary rotation matrices (n, 3, 3) about `axis` by `angle` (rad, (n,))."""
    c, s = np.cos(angle), np.sin(angle)
    o, i = np.zeros_like(c), np.ones_like(c)
    if axis == "z":
        rows = [[c, -s, o], [s, c, o], [o, o, i]]
    elif axis == "y":
        rows = [[c, o, s], [o, i, o], [-s, o, c]]
    else:
        rows = [[i, o, o], [o, c, -s], [o, s, c]]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


# --------------------------------------------------------------------------------------------
# gait
# --------------------------------------------------------------------------------------------

@dataclass
class GaitState:
    """Where each time falls in the gait (arrays of shape (n,)).

    running: False while standing. step: index of the current step (-1 while standing);
    step 0 is the first right strike, sides alternate R, L, R, ... tau_s: time since that
    strike; step_s: that step's duration; contact_s: its stance (contact) duration;
    side: +1 right stance, -1 left stance (0 standing). s: stride phase, counted in strides
    from the first right strike (right strikes at 0, 1, 2, ..., left at 0.5, 1.5, ...; 0 while
    standing); ds_dt: its rate in strides/s (0 while standing).
    """

    running: np.ndarray
    step: np.ndarray
    tau_s: np.ndarray
    step_s: np.ndarray
    contact_s: np.ndarray
    side: np.ndarray
    s: np.ndarray
    ds_dt: np.ndarray


class Gait:
    """The runner's foot strikes: standing until `start_s + stand_s`, then running with a right
    strike first and sides alternating.

    cadence_spm: initial cadence in steps/min. cadence_changes: ((t_s, cadence_spm), ...),
    absolute times at which the treadmill speed changes; the cadence follows over
    `change_ramp_s` seconds. Step durations are 60/cadence x (1 + n_k) with n_k a seeded mix of
    white variability (`step_cv_white`) and long-range correlated wander (`wander`: AR(1) terms
    (coefficient per step, SD)). duty_factor: stance time / step time (0.68 gives ~0.24 s of
    contact at 170 steps/min, typical of distance running). stand_s may be math.inf (never runs).
    """

    _BLOCK = 256

    def __init__(self, cadence_spm: float = 170.0, stand_s: float = 5.0, start_s: float = 0.0,
                 cadence_changes: tuple[tuple[float, float], ...] = (),
                 change_ramp_s: float = 3.0, step_cv_white: float = 0.022,
                 wander: tuple[tuple[float, float], ...] = ((0.9, 0.008), (0.99, 0.006),
                                                            (0.999, 0.004)),
                 duty_factor: float = 0.68, seed: int = 0):
        self.cadence_spm = float(cadence_spm)
        self.start_s = float(start_s)
        self.running_start_s = float(start_s) + float(stand_s)
        self.cadence_changes = tuple((float(t), float(c)) for t, c in cadence_changes)
        self.change_ramp_s = float(change_ramp_s)
        self.duty_factor = float(duty_factor)
        self._noise = LazySeries((seed, 0x6A17), step_cv_white, wander)
        self._strikes_s = np.zeros(0)
        self._lock = threading.Lock()

    # -- nominal cadence ---------------------------------------------------------------------
    def nominal_cadence_spm(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The treadmill-imposed cadence (steps/min) at times t_s and its time derivative
        (steps/min per s), without the natural variability."""
        t_s = np.asarray(t_s, dtype=np.float64)
        c = np.full(t_s.shape, self.cadence_spm)
        dc = np.zeros(t_s.shape)
        previous = self.cadence_spm
        for t_change, cadence in self.cadence_changes:
            w, dw = smoothstep((t_s - t_change) / self.change_ramp_s)
            c = c + (cadence - previous) * w
            dc = dc + (cadence - previous) * dw / self.change_ramp_s
            previous = cadence
        return c, dc

    # -- strikes -----------------------------------------------------------------------------
    @property
    def runs(self) -> bool:
        return math.isfinite(self.running_start_s)

    def _ensure(self, t_s: float) -> None:
        """Generate strikes until the last one is after t_s (plus one more step)."""
        if not self.runs:
            return
        with self._lock:
            while self._strikes_s.shape[0] < 2 or self._strikes_s[-2] <= t_s:
                n0 = self._strikes_s.shape[0]
                # interval before strike i uses noise value i - 1
                noise = self._noise.values(np.arange(max(n0 - 1, 0), n0 + self._BLOCK))
                if n0 == 0:
                    noise = np.concatenate([[0.0], noise])
                times = np.empty(self._BLOCK)
                t = self._strikes_s[-1] if n0 else self.running_start_s
                for k in range(self._BLOCK):
                    if n0 + k > 0:
                        c, _ = self.nominal_cadence_spm(np.array([t]))
                        t = t + 60.0 / c[0] * (1.0 + noise[k])
                    times[k] = t
                self._strikes_s = np.concatenate([self._strikes_s, times])

    def strikes_between(self, t0_s: float, t1_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Strike times (s) in [t0_s, t1_s) and their step indices (even = right)."""
        if not self.runs or t1_s <= self.running_start_s:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        self._ensure(t1_s)
        strikes = self._strikes_s
        i0, i1 = np.searchsorted(strikes, [t0_s, t1_s], side="left")
        return strikes[i0:i1].copy(), np.arange(i0, i1, dtype=np.int64)

    def strike_time_s(self, step: int) -> float:
        """Time (s) of strike number `step` (0 = first right strike)."""
        if not self.runs:
            raise ValueError("this runner never runs")
        while self._strikes_s.shape[0] <= step + 1:
            self._ensure(self._strikes_s[-1] + 60.0 if self._strikes_s.size
                         else self.running_start_s)
        return float(self._strikes_s[step])

    def stride_phase_at(self, t_s: float) -> float:
        """Stride phase s (strides since the first right strike) at time t_s; 0 before."""
        return float(self.locate(np.array([t_s])).s[0])

    def time_at_stride_phase(self, s: float) -> float:
        """Inverse of stride_phase_at for s >= 0."""
        step = int(math.floor(2.0 * s))
        t0 = self.strike_time_s(step)
        t1 = self.strike_time_s(step + 1)
        return t0 + (2.0 * s - step) * (t1 - t0)

    def locate(self, t_s: np.ndarray) -> GaitState:
        """Gait state at each time in t_s (seconds, any order)."""
        t_s = np.asarray(t_s, dtype=np.float64)
        n = t_s.shape[0]
        running = np.zeros(n, dtype=bool)
        if self.runs and n:
            running = t_s >= self.running_start_s
        if not running.any():
            z = np.zeros(n)
            return GaitState(running, np.full(n, -1), z, np.ones(n), np.ones(n),
                             np.zeros(n, dtype=np.int64), z, z)
        self._ensure(float(t_s.max()))
        strikes = self._strikes_s
        step = np.searchsorted(strikes, t_s, side="right") - 1
        step_c = np.clip(step, 0, strikes.shape[0] - 2)
        t_strike = strikes[step_c]
        step_s = strikes[step_c + 1] - t_strike
        tau_s = np.where(running, t_s - t_strike, 0.0)
        s = np.where(running, 0.5 * (step_c + tau_s / step_s), 0.0)
        ds_dt = np.where(running, 0.5 / step_s, 0.0)
        side = np.where(running, np.where(step_c % 2 == 0, 1, -1), 0)
        return GaitState(running, np.where(running, step_c, -1), tau_s, step_s,
                         self.duty_factor * step_s, side, s, ds_dt)


# --------------------------------------------------------------------------------------------
# segment motion
# --------------------------------------------------------------------------------------------

@dataclass
class PhaseRamp:
    """A gradual change of a segment's axial-rotation phase: starting at absolute time
    `t_start_s`, the phase moves by `delta_deg` over `n_strides` strides and stays there."""

    t_start_s: float
    n_strides: float
    delta_deg: float


class SegmentMotion:
    """Motion of one trunk segment (pelvis or thorax) and of its sensor point.

    Axial rotation theta (deg) = A [cos(u) + h2 cos(2u - psi2)], u = 2 pi s - phi, s the stride
    phase: with h2 = 0 it peaks (furthest left) at phi/360 of the stride after the right strike,
    so the strides-CSV phase equals `phase_deg`. A = rom_deg/2 scaled by
    (cadence/initial cadence)^rom_speed_exp (rotation grows with speed, Lang et al. 2023) and by
    a seeded per-stride factor (SD `rom_jitter_frac`); phi = phase_deg + a seeded per-stride
    offset (SD `phase_jitter_deg`, plus slow wander `phase_wander_deg`) + any PhaseRamp. Values
    at integer strides are joined with a C1 ramp so theta stays smooth.

    roll (obliquity / lateral flexion) = obliquity_deg cos(2 pi s - obliquity_phase) once per
    stride; tilt = tilt_deg cos(4 pi s - tilt_phase) twice per stride; constant forward
    lean_deg. All oscillations fade in over the first `fade_in_strides` strides of running.

    Sensor point acceleration, per step (tau = time since the strike, tc = contact time, T =
    step time): vertical specific force P sin(pi tau/tc) + an impact half-sine of `impact_g`
    over `impact_ms` at the strike, 0 g in flight, with P set so the step's mean is exactly
    1 g; fore-aft -fore_aft_g sin(2 pi tau/tc) in stance (braking, then propulsion);
    lateral +-lateral_g sin(pi tau/tc) toward the other foot.
    """

    def __init__(self, gait: Gait, *, rom_deg: float, phase_deg: float,
                 harmonic2_ratio: float = 0.12, harmonic2_phase_deg: float = 0.0,
                 obliquity_deg: float = 4.0, obliquity_phase_deg: float = 250.0,
                 tilt_deg: float = 2.0, tilt_phase_deg: float = 60.0, lean_deg: float = 0.0,
                 impact_g: float = 2.5, impact_ms: float = 20.0, fore_aft_g: float = 0.4,
                 lateral_g: float = 0.15, rom_speed_exp: float = 1.5,
                 rom_jitter_frac: float = 0.06, phase_jitter_deg: float = 6.0,
                 phase_wander_deg: float = 2.0, phase_ramps: tuple[PhaseRamp, ...] = (),
                 fade_in_strides: float = 1.0, seed: tuple[int, ...] | int = 0):
        self.gait = gait
        self.rom_deg = float(rom_deg)
        self.phase_deg = float(phase_deg)
        self.harmonic2_ratio = float(harmonic2_ratio)
        self.harmonic2_phase_rad = float(harmonic2_phase_deg) * DEG
        self.obliquity_rad = float(obliquity_deg) * DEG
        self.obliquity_phase_rad = float(obliquity_phase_deg) * DEG
        self.tilt_rad = float(tilt_deg) * DEG
        self.tilt_phase_rad = float(tilt_phase_deg) * DEG
        self.lean_rad = float(lean_deg) * DEG
        self.impact_g = float(impact_g)
        self.impact_s = float(impact_ms) / 1000.0
        self.fore_aft_g = float(fore_aft_g)
        self.lateral_g = float(lateral_g)
        self.rom_speed_exp = float(rom_speed_exp)
        self.phase_ramps = tuple(phase_ramps)
        self.fade_in_strides = float(fade_in_strides)
        seq = (seed,) if isinstance(seed, int) else tuple(seed)
        self._rom_jitter = LazySeries(seq + (1,), rom_jitter_frac)
        self._phase_jitter = LazySeries(seq + (2,), phase_jitter_deg * DEG,
                                        ((0.99, phase_wander_deg * DEG),))
        self._ramp_s0: list[float | None] = [None] * len(self.phase_ramps)

    # -- the forward axis used for theta -----------------------------------------------------
    @property
    def forward_axis_seg(self) -> np.ndarray:
        """The segment-fixed unit vector that is horizontal-forward in the mean posture."""
        return np.array([math.cos(self.lean_rad), 0.0, math.sin(self.lean_rad)])

    # -- angles --------------------------------------------------------------------------------
    def _knots(self, series: LazySeries, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        j = np.floor(s).astype(np.int64)
        w, dw = smoothstep(s - j)
        v = series.values(np.concatenate([j, j + 1]))
        v0, v1 = v[: j.shape[0]], v[j.shape[0]:]
        return v0 + (v1 - v0) * w, (v1 - v0) * dw

    def _ramp_phase(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        off = np.zeros(s.shape)
        doff = np.zeros(s.shape)
        for i, ramp in enumerate(self.phase_ramps):
            if self._ramp_s0[i] is None:
                self._ramp_s0[i] = self.gait.stride_phase_at(ramp.t_start_s)
            w, dw = smoothstep((s - self._ramp_s0[i]) / ramp.n_strides)
            off = off + ramp.delta_deg * DEG * w
            doff = doff + ramp.delta_deg * DEG * dw / ramp.n_strides
        return off, doff

    def scripted_phase_deg(self, t_s: float) -> float:
        """The segment's stride-frequency phase (deg, [0, 360)) at t_s as scripted: its set
        phase plus any phase ramp, without the natural stride-to-stride jitter and wander."""
        s = np.array([self.gait.stride_phase_at(float(t_s))])
        ramp_rad, _ = self._ramp_phase(s)
        return float((self.phase_deg + ramp_rad[0] / DEG) % 360.0)

    def angles(self, t_s: np.ndarray, gs: GaitState | None = None) -> dict[str, np.ndarray]:
        """Euler angles (rad) theta, tilt, roll and their time derivatives (rad/s) as arrays
        'theta', 'dtheta', 'tilt', 'dtilt', 'roll', 'droll'."""
        t_s = np.asarray(t_s, dtype=np.float64)
        gs = gs if gs is not None else self.gait.locate(t_s)
        s, sd = gs.s, gs.ds_dt
        env, denv = smoothstep(s / self.fade_in_strides)
        denv = denv / self.fade_in_strides
        c_nom, dc_nom = self.gait.nominal_cadence_spm(t_s)
        scale = (c_nom / self.gait.cadence_spm) ** self.rom_speed_exp
        dscale_dt = self.rom_speed_exp * scale / c_nom * dc_nom
        rj, drj = self._knots(self._rom_jitter, s)
        pj, dpj = self._knots(self._phase_jitter, s)
        rp, drp = self._ramp_phase(s)
        a1 = 0.5 * self.rom_deg * DEG
        amp = a1 * (1.0 + rj) * scale
        damp_ds = a1 * drj * scale
        phi = self.phase_deg * DEG + pj + rp
        u = TWO_PI * s - phi
        du = TWO_PI - (dpj + drp)
        h2, psi2 = self.harmonic2_ratio, self.harmonic2_phase_rad
        shape = np.cos(u) + h2 * np.cos(2.0 * u - psi2)
        dshape = (-np.sin(u) - 2.0 * h2 * np.sin(2.0 * u - psi2)) * du
        theta = env * amp * shape
        dtheta = (denv * amp * shape + env * damp_ds * shape + env * amp * dshape) * sd \
            + env * a1 * (1.0 + rj) * dscale_dt * shape
        v = TWO_PI * s - self.obliquity_phase_rad
        roll = env * self.obliquity_rad * np.cos(v)
        droll = (denv * self.obliquity_rad * np.cos(v)
                 - env * self.obliquity_rad * TWO_PI * np.sin(v)) * sd
        w = 2.0 * TWO_PI * s - self.tilt_phase_rad
        tilt = env * self.tilt_rad * np.cos(w)
        dtilt = (denv * self.tilt_rad * np.cos(w)
                 - env * self.tilt_rad * 2.0 * TWO_PI * np.sin(w)) * sd
        return {"theta": theta, "dtheta": dtheta, "tilt": tilt, "dtilt": dtilt,
                "roll": roll, "droll": droll}

    def theta_deg(self, t_s: np.ndarray) -> np.ndarray:
        """True axial rotation (deg, + = toward the runner's left) at times t_s."""
        return self.angles(np.asarray(t_s, dtype=np.float64))["theta"] / DEG

    def orientation(self, t_s: np.ndarray) -> np.ndarray:
        """R_seg (n, 3, 3): columns = segment axes in lab axes."""
        a = self.angles(np.asarray(t_s, dtype=np.float64))
        n = a["theta"].shape[0]
        return (_rot("z", a["theta"]) @ _rot("y", a["tilt"]) @ _rot("x", a["roll"])
                @ _rot("y", np.full(n, self.lean_rad)))

    # -- kinematics seen by a sensor fixed to the segment ------------------------------------
    def accel_lab_g(self, gs: GaitState) -> np.ndarray:
        """Acceleration of the sensor point in lab axes, in g (n, 3)."""
        n = gs.s.shape[0]
        a = np.zeros((n, 3))
        if not gs.running.any():
            return a
        tau, tc, T = gs.tau_s, gs.contact_s, gs.step_s
        stance = gs.running & (tau < tc)
        x = np.where(stance, tau / tc, 0.0)
        half = np.sin(math.pi * x)
        d = self.impact_s
        impact = np.where(gs.running & (tau < d),
                          self.impact_g * np.sin(math.pi * np.clip(tau / d, 0.0, 1.0)), 0.0)
        impulse = self.impact_g * d * 2.0 / math.pi
        peak = (T - impulse) * math.pi / (2.0 * tc)
        f_vert = np.where(stance, peak * half, 0.0) + impact
        a[:, 2] = np.where(gs.running, f_vert - 1.0, 0.0)
        a[:, 0] = np.where(stance, -self.fore_aft_g * np.sin(TWO_PI * x), 0.0)
        # During right stance the body is pushed toward the left foot (+y), and vice versa.
        a[:, 1] = np.where(stance, gs.side * self.lateral_g * half, 0.0)
        return a

    def kinematics(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(omega_seg_dps (n, 3), specific_force_seg_g (n, 3)) in segment axes, noise-free."""
        t_s = np.asarray(t_s, dtype=np.float64)
        gs = self.gait.locate(t_s)
        a = self.angles(t_s, gs)
        n = t_s.shape[0]
        lean = np.full(n, self.lean_rad)
        zeros = np.zeros(n)
        # omega_body for R = Rz(th) Ry(q) Rx(r) Ry(p0): Ry(p0)^T[Rx(r)^T(Ry(q)^T th' z + q' y) + r' x]
        w = np.stack([zeros, zeros, a["dtheta"]], axis=1)
        w = _rot_t("y", a["tilt"], w)
        w[:, 1] += a["dtilt"]
        w = _rot_t("x", a["roll"], w)
        w[:, 0] += a["droll"]
        w = _rot_t("y", lean, w)
        f = self.accel_lab_g(gs)
        f[:, 2] += 1.0  # specific force = a - g, g = -1 g along z
        f = _rot_t("z", a["theta"], f)
        f = _rot_t("y", a["tilt"], f)
        f = _rot_t("x", a["roll"], f)
        f = _rot_t("y", lean, f)
        return w / DEG, f


# --------------------------------------------------------------------------------------------
# the IMU on the segment
# --------------------------------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014): a counter-based generator, so
    # the noise of a sample depends only on its key, not on how calls were chunked.
    with np.errstate(over="ignore"):
        z = x + _GOLD
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _noise_keys(t_s: np.ndarray) -> np.ndarray:
    """The sample's time in whole microseconds: unique per sample at any IMU rate."""
    return np.round(t_s * 1e6).astype(np.int64)


def keyed_normal(keys: np.ndarray, seed: int, n_channels: int) -> np.ndarray:
    """Standard normal values (len(keys), n_channels), a pure function of (key, seed)."""
    n_pairs = (n_channels + 1) // 2
    base = (keys.astype(np.uint64)[:, None] * np.uint64(2 * n_pairs)
            + np.arange(2 * n_pairs, dtype=np.uint64)[None, :])
    h = _splitmix64(base ^ _splitmix64(np.full(1, seed, dtype=np.uint64)))
    u = ((h >> np.uint64(11)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)
    u1, u2 = u[:, 0::2], u[:, 1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(TWO_PI * u2), r * np.sin(TWO_PI * u2)], axis=1)
    return z[:, :n_channels]


class SimulatedImu:
    """An IMU strapped to a segment: the `MotionSource` a chip emulator samples.

    mounting: 3x3 rotation, columns = sensor x, y, z axes in segment axes. gyro_bias_dps (3,):
    constant bias; bias_drift_dps (3,): amplitude of a slow bias wander (sum of three random
    sinusoids with periods of 5-50 min, like a warming chip). gyro_noise_dps and acc_noise_g:
    white-noise SD per sample; acc_bias_g (3,) constant accelerometer offset. ideal=True gives
    the noise- and bias-free truth in sensor axes.
    """

    def __init__(self, motion: SegmentMotion, mounting: np.ndarray,
                 gyro_bias_dps: np.ndarray, bias_drift_dps: np.ndarray | float = 0.1,
                 gyro_noise_dps: float = 0.1, acc_noise_g: float = 0.01,
                 acc_bias_g: np.ndarray | None = None, seed: int = 0, ideal: bool = False):
        self.motion = motion
        self.mounting = np.asarray(mounting, dtype=np.float64)
        self.gyro_bias_dps = np.asarray(gyro_bias_dps, dtype=np.float64)
        self.acc_bias_g = (np.zeros(3) if acc_bias_g is None
                           else np.asarray(acc_bias_g, dtype=np.float64))
        self.gyro_noise_dps = float(gyro_noise_dps)
        self.acc_noise_g = float(acc_noise_g)
        self.ideal = bool(ideal)
        self.seed = int(seed) & 0xFFFFFFFF
        rng = np.random.default_rng([self.seed, 0xB1A5])
        amp = np.broadcast_to(np.asarray(bias_drift_dps, dtype=np.float64), (3,))
        self._drift_amp = amp[:, None] * rng.uniform(0.3, 1.0, size=(3, 3)) / math.sqrt(1.5)
        self._drift_w = TWO_PI / rng.uniform(300.0, 3000.0, size=(3, 3))
        self._drift_phase = rng.uniform(0.0, TWO_PI, size=(3, 3))
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._last_t_s: float | None = None

    LOOKAHEAD_S = 0.2

    def ideal_copy(self) -> "SimulatedImu":
        """The same sensor without bias or noise."""
        return SimulatedImu(self.motion, self.mounting, np.zeros(3), 0.0, 0.0, 0.0,
                            seed=self.seed, ideal=True)

    def gyro_bias_at_dps(self, t_s: np.ndarray) -> np.ndarray:
        """Total gyro bias (constant + slow drift) at times t_s, deg/s, (n, 3)."""
        t_s = np.asarray(t_s, dtype=np.float64)
        if self.ideal:
            return np.zeros((t_s.shape[0], 3))
        arg = t_s[:, None, None] * self._drift_w[None] + self._drift_phase[None]
        drift = (self._drift_amp[None] * np.sin(arg)).sum(axis=2)
        return self.gyro_bias_dps[None, :] + drift

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(acc_g (n, 3), gyro_dps (n, 3)) in sensor axes at times t_s (bus-clock seconds).

        Chips ask for a few samples at a time on their own tick grid; computing costs mostly
        per call, so the grid is extrapolated `LOOKAHEAD_S` ahead and served from a cache
        while the requested times stay on it (within 1 ns). Values depend only on the time.
        """
        t_s = np.asarray(t_s, dtype=np.float64).reshape(-1)
        n = t_s.shape[0]
        if n == 0:
            return np.zeros((0, 3)), np.zeros((0, 3))
        cache = self._cache
        if cache is not None:
            tc, acc_c, gyro_c = cache
            i = int(np.searchsorted(tc, t_s[0] - 1e-9))
            if (i + n <= tc.shape[0] and np.all(np.abs(tc[i:i + n] - t_s) < 1e-9)
                    and np.array_equal(_noise_keys(tc[i:i + n]), _noise_keys(t_s))):
                return acc_c[i:i + n].copy(), gyro_c[i:i + n].copy()
        if n >= 2:
            period_s = float(t_s[-1] - t_s[-2])
        elif self._last_t_s is not None:
            period_s = float(t_s[0] - self._last_t_s)
        else:
            period_s = 0.0
        self._last_t_s = float(t_s[-1])
        if 1e-5 <= period_s <= 0.1 and np.all(np.diff(t_s) > 0):
            m = int(self.LOOKAHEAD_S / period_s)
            grid = np.concatenate([t_s, t_s[-1] + period_s * np.arange(1, m + 1)])
            acc, gyro = self._compute(grid)
            self._cache = (grid, acc, gyro)
            return acc[:n].copy(), gyro[:n].copy()
        return self._compute(t_s)

    def _compute(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w_seg, f_seg = self.motion.kinematics(t_s)
        gyro = w_seg @ self.mounting
        acc = f_seg @ self.mounting
        if self.ideal:
            return acc, gyro
        z = keyed_normal(_noise_keys(t_s), self.seed, 6)
        acc = acc + self.acc_bias_g + self.acc_noise_g * z[:, :3]
        gyro = gyro + self.gyro_bias_at_dps(t_s) + self.gyro_noise_dps * z[:, 3:]
        return acc, gyro


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix uniformly distributed over SO(3) (from a random unit quaternion)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])
