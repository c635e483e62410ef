"""Live phase estimator on synthetic axial rotations with harmonics and noise (seeded)."""

from __future__ import annotations

import numpy as np
import pytest

from pi_app.analysis.live_phase import LivePhaseEstimator

FS_HZ = 100.0


def wrap(x):
    return (np.asarray(x) + 180.0) % 360.0 - 180.0


def synth(seed, freq_hz, seconds=60.0, phi_pelvis_deg=200.0, phi_thorax_deg=155.0):
    """Axial rates (deg/s) of theta = 6 cos(psi - phi) + harmonics, psi = 2 pi int f dt.
    freq_hz(t) gives the stride frequency. Returns t, rates and the true psi."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS_HZ)) / FS_HZ
    psi = 2 * np.pi * np.cumsum(freq_hz(t)) / FS_HZ
    pp, tp = np.radians(phi_pelvis_deg), np.radians(phi_thorax_deg)
    # Pelvis rotation carries a strong 2nd and 3rd harmonic; the thorax a smaller one.
    th_p = 6 * np.cos(psi - pp) + 3 * np.cos(2 * (psi - pp) + 1.0) + np.cos(3 * psi + 0.3)
    th_t = 8 * np.cos(psi - tp) + 1 * np.cos(2 * (psi - tp) - 0.5)
    rate_p = np.gradient(th_p, 1 / FS_HZ) + rng.normal(0, 5, t.size)
    rate_t = np.gradient(th_t, 1 / FS_HZ) + rng.normal(0, 5, t.size)
    return t, rate_p, rate_t, psi


def run(est, rate_p, rate_t, chunk=10, stride_hz=None):
    outs = [est.update(rate_p[i:i + chunk], None if rate_t is None else rate_t[i:i + chunk],
                       stride_hz=stride_hz) for i in range(0, rate_p.size, chunk)]
    return {k: np.concatenate([getattr(o, k) for o in outs])
            for k in ("pelvis_phase_deg", "thorax_phase_deg", "rel_phase_deg",
                      "pelvis_amp_deg", "thorax_amp_deg", "confidence", "stride_hz")}


def test_steady_frequency_phases_and_amplitudes():
    t, rp, rt, psi = synth(0, lambda t: np.full_like(t, 1.45))
    out = run(LivePhaseEstimator(FS_HZ, stride_hz=1.3), rp, rt)
    settled = t >= 10
    # Strides CSV convention: rel = thorax phase - pelvis phase = 155 - 200.
    assert np.max(np.abs(wrap(out["rel_phase_deg"][settled] - (155 - 200)))) < 4
    assert np.max(np.abs(wrap(out["pelvis_phase_deg"][settled] - np.degrees(psi[settled])
                              + 200))) < 5
    assert np.max(np.abs(wrap(out["thorax_phase_deg"][settled] - np.degrees(psi[settled])
                              + 155))) < 5
    assert np.all(np.abs(out["stride_hz"][settled] - 1.45) < 0.01)
    assert np.median(out["pelvis_amp_deg"][settled]) == pytest.approx(6, rel=0.05)
    assert np.median(out["thorax_amp_deg"][settled]) == pytest.approx(8, rel=0.05)
    assert 0.3 < np.median(out["confidence"][settled]) <= 1
    assert np.all((out["rel_phase_deg"] >= 0) & (out["rel_phase_deg"] < 360))


def test_frequency_change_keeps_rel_phase_and_relocks():
    t, rp, rt, psi = synth(1, lambda t: np.where(t < 30, 1.35, 1.55))
    out = run(LivePhaseEstimator(FS_HZ), rp, rt, chunk=7)
    # Both segments share the filters, so the relative phase holds through the change.
    after_start = t >= 10
    assert np.max(np.abs(wrap(out["rel_phase_deg"][after_start] + 45))) < 5
    relocked = t >= 40
    assert np.all(np.abs(out["stride_hz"][relocked] - 1.55) < 0.01)
    assert np.max(np.abs(wrap(out["pelvis_phase_deg"][relocked] - np.degrees(psi[relocked])
                              + 200))) < 5


def test_known_stride_frequency_from_cadence():
    t, rp, rt, psi = synth(2, lambda t: np.full_like(t, 1.5), seconds=20)
    out = run(LivePhaseEstimator(FS_HZ), rp, rt, stride_hz=1.5)
    settled = t >= 6
    assert np.all(out["stride_hz"] == 1.5)
    assert np.max(np.abs(wrap(out["pelvis_phase_deg"][settled] - np.degrees(psi[settled])
                              + 200))) < 5


def test_chunking_and_pelvis_only():
    t, rp, rt, _ = synth(3, lambda t: np.full_like(t, 1.4), seconds=10)
    a = run(LivePhaseEstimator(FS_HZ), rp, rt, chunk=1000)
    b = run(LivePhaseEstimator(FS_HZ), rp, rt, chunk=2)
    np.testing.assert_allclose(a["rel_phase_deg"], b["rel_phase_deg"], atol=1e-6)
    solo = run(LivePhaseEstimator(FS_HZ), rp, None)
    assert np.all(np.isnan(solo["rel_phase_deg"])) and np.all(np.isnan(solo["thorax_amp_deg"]))
    assert np.isfinite(solo["pelvis_phase_deg"]).all()


def test_noise_only_has_low_confidence():
    rng = np.random.default_rng(4)
    noise = rng.normal(0, 30, int(20 * FS_HZ))
    out = run(LivePhaseEstimator(FS_HZ), noise, rng.normal(0, 30, noise.size))
    assert np.median(out["confidence"][int(5 * FS_HZ):]) < 0.15
