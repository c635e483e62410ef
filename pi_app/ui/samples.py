"""Synthetic LiveSnapshots for tests and the render benchmark: fast and deterministic.

They carry what a real snapshot carries (100 Hz rotation traces over 4 s, 20 strides, a
band, a cue log, two sensors) with made-up but plausible numbers; `screenshots.demo_snapshots`
gives the real thing from the simulator when a minute of CPU is acceptable.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.live.snapshot import LiveSnapshot, ReplayInfo, SensorStatus
from pi_app.records import CueEvent, CueKind, CueMode, DriftDirection, DriftState, SensorRole

STRIDE_HZ = 1.35
TRACE_RATE_HZ = 100.0


def _sensors(thorax_present: bool = True) -> tuple[SensorStatus, ...]:
    return (SensorStatus(SensorRole.PELVIS, "MPU-6050", 0x68, True, 1000.0, 1000.4),
            SensorStatus(SensorRole.THORAX, "MPU-6050", 0x69, thorax_present, 1000.0,
                         995.2 if thorax_present else None, overflows=1, i2c_errors=3,
                         gaps=1, reconnects=0 if thorax_present else 1,
                         last_error=None if thorax_present else
                         "thorax IMU at bus 1 0x69 does not answer (Remote I/O error)"))


def base_snapshot(t_s: float = 200.0, rel_phase_deg: float = 290.0, seed: int = 0,
                  band_deg=(278.0, 303.0)) -> LiveSnapshot:
    """An in-band running snapshot at sample time `t_s` with the runner's relative phase
    around `rel_phase_deg`."""
    rng = np.random.default_rng(seed)
    tt = np.arange(t_s - 4.0, t_s, 1.0 / TRACE_RATE_HZ)
    w = 2 * np.pi * STRIDE_HZ
    pelvis = 6.0 * np.sin(w * tt)
    thorax = 13.0 * np.sin(w * tt + np.radians(rel_phase_deg))
    period = 1.0 / STRIDE_HZ
    strides = []
    for i in range(20):
        t0 = t_s - (20 - i) * period
        rel = (rel_phase_deg + rng.normal(0, 4)) % 360
        strides.append(StrideMetrics(
            index=int(t0 / period), t_start_s=t0, t_end_s=t0 + period,
            cadence_spm=2 * 60 * STRIDE_HZ + rng.normal(0, 1.5), pelvis_rom_deg=12.0,
            thorax_rom_deg=25.0, pelvis_phase_deg=150.0, thorax_phase_deg=(150 + rel) % 360,
            rel_phase_deg=rel, rotation_symmetry_pct=5.0))
    cues = tuple(CueEvent(t_s - 60 + 3 * k, CueKind.COUNTER_ROTATION_LOST, 0.8, k % 2 == 0,
                          "counter-rotation lost, 3.1 SD" if k % 2 == 0 else "min interval",
                          4.0 if k % 2 == 0 else None) for k in range(8))
    live_deg = (rel_phase_deg + 3.0 * np.sin(t_s)) % 360
    return LiveSnapshot(
        t_s=t_s, simulated=True, scenario="drift", cadence_spm=2 * 60 * STRIDE_HZ,
        rel_phase_deg=live_deg, needle_deg=live_deg, pelvis_phase_deg=150.0,
        thorax_phase_deg=(150.0 + rel_phase_deg) % 360, phase_confidence=0.95,
        band_deg=band_deg, band_source="baseline", recent_strides=tuple(strides),
        trace_t_s=tt, trace_pelvis_deg=pelvis, trace_thorax_deg=thorax,
        verdict=DriftVerdict(state=DriftState.IN_BAND, progress=1.0), cue_log=cues,
        calibration_text="calibrated (profile.json)", sensors=_sensors())


def state_snapshots(t_s: float = 200.0) -> dict[str, LiveSnapshot]:
    """One synthetic snapshot per coach-visible state (same keys as screenshots.STATES,
    plus "warmup", "no_data", "standing", "losing_samples" and "replay")."""
    base = base_snapshot(t_s)
    drifting = base_snapshot(t_s, rel_phase_deg=10.0)
    drifting = dataclasses.replace(drifting, band_deg=base.band_deg, verdict=DriftVerdict(
        state=DriftState.DRIFTING, progress=1.0, metric="rel_phase",
        direction=DriftDirection.COUNTER_ROTATION_LOST,
        unit="deg", deviation=70.0, deviation_sd=14.0, beyond_band=58.0,
        drifting_metrics=("rel_phase", "pelvis_phase")))
    nan = np.full(base.trace_t_s.size, np.nan)
    return {
        "no_data": LiveSnapshot(simulated=True),
        "warmup": dataclasses.replace(base, band_deg=None, band_source=None, cue_log=(),
                                      verdict=DriftVerdict(state=DriftState.WARMUP)),
        "baseline_building": dataclasses.replace(
            base, band_deg=None, band_source=None, cue_log=(),
            verdict=DriftVerdict(state=DriftState.BUILDING_BASELINE, progress=0.45)),
        "in_band": base,
        "drifting": drifting,
        "suppressed": dataclasses.replace(
            base, verdict=DriftVerdict(state=DriftState.SUPPRESSED, progress=1.0,
                                        suppressed_for_s=12.0)),
        "sensor_fault": dataclasses.replace(base, sensors=_sensors(thorax_present=False),
                                            trace_thorax_deg=nan, needle_deg=None,
                                            needle_note="thorax sensor missing"),
        "stalled_thread": dataclasses.replace(base, stalled_threads=("analysis",)),
        "standing": dataclasses.replace(base, cadence_spm=None, needle_deg=None,
                                        needle_note="not running"),
        "losing_samples": dataclasses.replace(base, sensors=(base.sensors[0], dataclasses.replace(
            base.sensors[1], overflows=85, gaps=90, health="amber",
            health_reason="samples lost, rising: 3 FIFO overflows in 10 s: the sensor "
                          "thread reads too late (CPU load?)"))),
        "replay": dataclasses.replace(
            base, session_start_s=t_s - 83.0, replay=ReplayInfo(7, 0.62, 1.0, 134.0),
            recording_off_reason="a replay is not recorded again (the session is already "
                                 "stored)"),
        "no_audio": dataclasses.replace(
            base, warnings=("no audio device: cues are silent, buzzer only",), muted=True,
            metronome_on=True, metronome_target_spm=166.0, recording=True, cue_mode=CueMode.FADED),
    }
