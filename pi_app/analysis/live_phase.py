"""Continuous (per-sample) rotation phase of pelvis and thorax, for a dial that moves every
frame between stride-level results.

Method: complex demodulation at the stride frequency with a frequency-locked loop. Each
segment's axial rate is multiplied by exp(-i psi_hat(t)) of a shared oscillator running at the
estimated stride frequency and low-pass filtered (4th-order Butterworth), which keeps only the
stride-frequency component as a slowly turning phasor z: phase = psi_hat + arg z. Harmonics
of the stride frequency (strong in pelvis rotation, science.md) land at multiples of the
stride frequency after demodulation and are removed by the low-pass; this is the causal
counterpart of taking the Fourier phase of the stride-frequency component (Lamoth et al.
2002). Both segments pass through identical filters, so their filter delays cancel exactly in
the relative phase even while the frequency estimate is still settling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass
class LivePhaseChunk:
    """Per-sample outputs for one update, arrays of shape (n,).

    *_phase_deg: instantaneous phase of the segment's axial rotation angle theta, [0, 360):
    0 = turned furthest left (theta at its peak), 90 = a quarter stride later (theta passing
    through its mean, turning right). rel_phase_deg = (pelvis - thorax) phase mod 360: the
    thorax's lag behind the pelvis, the same quantity as the strides CSV's rel_phase_deg
    (~180 = counter-rotation, ~0 = turning together). *_amp_deg: amplitude of theta's
    stride-frequency component (half its peak-to-peak), deg. confidence: 0..1, the share of the
    (low-passed) rotation power that is at the stride frequency, the smaller of the two
    segments. stride_hz: the oscillator's frequency. NaN where a segment is absent.
    """

    pelvis_phase_deg: np.ndarray
    thorax_phase_deg: np.ndarray
    rel_phase_deg: np.ndarray
    pelvis_amp_deg: np.ndarray
    thorax_amp_deg: np.ndarray
    confidence: np.ndarray
    stride_hz: np.ndarray


class _Demod:
    """One segment's demodulator state (low-pass and power filters)."""

    def __init__(self, sos_lp: np.ndarray, sos_pow: np.ndarray, b_ms, a_ms):
        self.sos_lp, self.sos_pow, self.b_ms, self.a_ms = sos_lp, sos_pow, b_ms, a_ms
        self.zi_lp = np.zeros((sos_lp.shape[0], 2), dtype=np.complex128)
        self.zi_pow = np.zeros((sos_pow.shape[0], 2))
        self.zi_ms = np.zeros(1)
        self.z_last = 0j
        self.z_ref = 0j       # phasor at the last frequency update
        self.fresh = False    # fed since the last frequency update

    def run(self, rate_dps: np.ndarray, carrier: np.ndarray):
        z, self.zi_lp = signal.sosfilt(self.sos_lp, rate_dps * carrier, zi=self.zi_lp)
        smooth, self.zi_pow = signal.sosfilt(self.sos_pow, rate_dps, zi=self.zi_pow)
        ms, self.zi_ms = signal.lfilter(self.b_ms, self.a_ms, smooth * smooth, zi=self.zi_ms)
        return z, ms


class LivePhaseEstimator:
    """Causal, per-sample phase of pelvis and thorax axial rotation and their relative phase.

    rate_hz: sample rate of the inputs. stride_hz: starting guess of the stride frequency
    (cadence / 120). f_min_hz / f_max_hz: the oscillator stays within this range.
    lp_cutoff_hz: demodulation low-pass cutoff; lower rejects more noise and harmonics but
    settles slower (group delay ~1 s at 0.4 Hz). fll_tau_s: time constant of the frequency
    loop (kept above twice the low-pass delay so the loop is stable). block_s: the
    frequency is updated at least this often, whatever the chunk size.
    """

    def __init__(self, rate_hz: float, stride_hz: float = 1.4, f_min_hz: float = 0.8,
                 f_max_hz: float = 2.2, lp_cutoff_hz: float = 0.4, fll_tau_s: float = 2.5,
                 block_s: float = 0.05):
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        if not f_min_hz <= stride_hz <= f_max_hz:
            raise ValueError("stride_hz must lie within f_min_hz..f_max_hz")
        self.rate_hz = float(rate_hz)
        self.f_min_hz = float(f_min_hz)
        self.f_max_hz = float(f_max_hz)
        self.fll_tau_s = float(fll_tau_s)
        self.block_n = max(1, int(round(block_s * rate_hz)))
        self.stride_hz = float(stride_hz)
        self._psi_rad = 0.0
        self._since = 0       # samples since the last frequency update
        sos_lp = signal.butter(4, lp_cutoff_hz, fs=rate_hz, output="sos")
        # Power for the confidence is taken below ~4 stride harmonics: sensor noise above
        # that says nothing about how periodic the rotation is.
        sos_pow = signal.butter(2, min(6.0, 0.45 * rate_hz), fs=rate_hz, output="sos")
        a = 1.0 - math.exp(-2 * math.pi * lp_cutoff_hz / rate_hz)
        b_ms, a_ms = np.array([a]), np.array([1.0, a - 1.0])
        self._segments = {name: _Demod(sos_lp, sos_pow, b_ms, a_ms)
                          for name in ("pelvis", "thorax")}

    def update(self, pelvis_rate_dps: np.ndarray, thorax_rate_dps: np.ndarray | None = None,
               stride_hz: float | None = None) -> LivePhaseChunk:
        """Feed (n,) axial (about-vertical) angular rates in deg/s, positive = turning left
        (counter-clockwise seen from above), at `rate_hz`. NaN = gap (treated as no motion).
        `stride_hz`, when known (from cadence: cadence_spm / 120), sets the oscillator
        frequency instead of the frequency loop."""
        x_p = np.nan_to_num(np.asarray(pelvis_rate_dps, dtype=np.float64).ravel())
        x_t = None if thorax_rate_dps is None else np.nan_to_num(
            np.asarray(thorax_rate_dps, dtype=np.float64).ravel())
        if x_t is not None and x_t.shape != x_p.shape:
            raise ValueError("pelvis and thorax chunks must have the same length")
        if stride_hz is not None and math.isfinite(stride_hz):
            self.stride_hz = min(self.f_max_hz, max(self.f_min_hz, float(stride_hz)))
            use_fll = False
        else:
            use_fll = True
        n = x_p.shape[0]
        out = {k: np.full(n, np.nan) for k in ("pp", "tp", "pa", "ta", "cp", "ct", "f")}
        dt = 1.0 / self.rate_hz
        start = 0
        while start < n:
            # Blocks end on a fixed sample count since the stream began, so the result does
            # not depend on how the caller chunks the samples.
            stop = min(n, start + self.block_n - self._since)
            m = stop - start
            f = self.stride_hz
            psi = self._psi_rad + 2 * math.pi * f * dt * np.arange(1, m + 1)
            carrier = np.exp(-1j * psi)
            for key, x in (("p", x_p), ("t", x_t)):
                if x is None:
                    continue
                seg = self._segments["pelvis" if key == "p" else "thorax"]
                z, ms = seg.run(x[start:stop], carrier)
                # The rate leads the angle by 90 deg: theta = A cos(psi) -> rate ~ cos(psi + 90).
                out[key + "p"][start:stop] = np.degrees(psi + np.angle(z)) - 90.0
                out[key + "a"][start:stop] = 2 * np.abs(z) / (2 * math.pi * f)
                with np.errstate(divide="ignore", invalid="ignore"):
                    conf = np.where(ms > 0, 2 * np.abs(z) ** 2 / ms, 0.0)
                out["c" + key][start:stop] = np.clip(conf, 0.0, 1.0)
                seg.z_last = z[-1]
                seg.fresh = True
            out["f"][start:stop] = f
            self._psi_rad = float(psi[-1] % (2 * math.pi))
            self._since += m
            start = stop
            if self._since < self.block_n:
                continue
            rot = 0j
            for seg in self._segments.values():
                if seg.fresh:
                    rot += seg.z_last * np.conj(seg.z_ref)
                seg.z_ref = seg.z_last
                seg.fresh = False
            if use_fll and rot != 0:
                # Residual rotation of the phasors = frequency error of the oscillator.
                f_err_hz = math.atan2(rot.imag, rot.real) / (2 * math.pi * self._since * dt)
                f_new = f + f_err_hz * (self._since * dt) / self.fll_tau_s
                self.stride_hz = min(self.f_max_hz, max(self.f_min_hz, f_new))
            self._since = 0
        pp = out["pp"] % 360.0
        tp = out["tp"] % 360.0
        conf = out["cp"] if x_t is None else np.minimum(out["cp"], out["ct"])
        return LivePhaseChunk(pelvis_phase_deg=pp, thorax_phase_deg=tp,
                              rel_phase_deg=(pp - tp) % 360.0, pelvis_amp_deg=out["pa"],
                              thorax_amp_deg=out["ta"], confidence=conf, stride_hz=out["f"])
