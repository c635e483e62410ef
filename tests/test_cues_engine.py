"""Cue engine: a drifting stride starts its pattern at once (latency on the virtual clock),
coach controls, metronome hooks, warnings."""

import pytest

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import Step, StrideMetrics
from pi_app.clock import ManualClock
from pi_app.cues.audio import SilentAudio, open_audio
from pi_app.cues.buzzer import SimulatedBuzzer
from pi_app.cues.engine import CueEngine
from pi_app.cues.patterns import PATTERNS
from pi_app.cues.policy import CuePolicy
from pi_app.records import CoachCommand, CueMode, CueSettings, DriftDirection, DriftState

DRAIN_S = 0.015


def stride(i):
    return StrideMetrics(index=i, t_start_s=i * 0.7, t_end_s=(i + 1) * 0.7, cadence_spm=171.0)


DRIFT = DriftVerdict(DriftState.DRIFTING, 1.0, metric="thorax_phase",
                     direction=DriftDirection.THORAX_EARLY,
                     unit="deg", deviation=-20.0, deviation_sd=-4.0, beyond_band=7.5,
                     drifting_metrics=("thorax_phase",))


def make(audio=None, **policy_kw):
    clock = ManualClock(50.0)
    buzzer = SimulatedBuzzer(clock, kind="passive")
    engine = CueEngine(CuePolicy(**policy_kw), buzzer, audio, clock)
    return clock, buzzer, engine


def test_latency_from_closing_sample_within_budget():
    """The closing sample is drained at most one drain interval after it was taken; the
    engine starts the pattern in the same call. Budget: 50 ms."""
    clock, buzzer, engine = make(min_interval_s=0.0)
    latencies = []
    for i in range(20):
        # closing sample taken somewhere inside the drain interval before now
        frac = (i % 5) / 5.0
        closing_s = clock.now_s() - frac * DRAIN_S
        event = engine.on_stride(stride(i), DRIFT, closing_s)
        assert event.played
        latencies.append(event.latency_ms)
        assert buzzer.is_on()                      # sounding now, not later
        clock.advance(0.7)
    assert engine.latencies_ms == latencies
    assert max(latencies) <= DRAIN_S * 1000 + 1e-6
    assert max(latencies) <= 50.0


def test_audio_buffer_counts_in_latency():
    clock = ManualClock(10.0)
    audio = open_audio(clock, driver="dummy", buffer_frames=256)
    try:
        engine = CueEngine(CuePolicy(), None, audio, clock)
        event = engine.on_stride(stride(0), DRIFT, clock.now_s() - DRAIN_S)
        assert event.latency_ms == pytest.approx(DRAIN_S * 1000 + audio.output_latency_ms)
        assert event.latency_ms <= 25.0
    finally:
        engine.close()


def test_played_pattern_matches_kind_and_intensity():
    clock, buzzer, engine = make(min_interval_s=1.0)
    event = engine.on_stride(stride(0), DRIFT, clock.now_s())
    # 1.5 SD beyond the band edge: 0.2 + 0.8 * 1.5 / 3 = 0.6 -> played twice
    assert event.kind == "thorax_early" and event.intensity == pytest.approx(0.6)
    clock.advance(2.0)
    freqs = [f for _, on, f in buzzer.log if on]
    assert freqs == [s.freq_hz for s in PATTERNS["thorax_early"].segments] * 2
    big = DriftVerdict("drifting", 1.0, metric="cadence", direction="low", unit="spm",
                       deviation=-12.0, deviation_sd=-6.0, beyond_band=7.0,
                       drifting_metrics=("cadence",))
    engine.on_stride(stride(10), big, clock.now_s())
    clock.advance(3.0)
    ons = [f for _, on, f in buzzer.log if on][len(freqs):]
    assert ons == [500.0] * 9                      # three ticks, three times at full scale


def test_in_band_is_silent_and_unlogged():
    clock, buzzer, engine = make()
    assert engine.on_stride(stride(0), DriftVerdict("in_band", 1.0), clock.now_s()) is None
    clock.advance(1.0)
    assert buzzer.log == [] and engine.cue_log == ()


def test_coach_commands_mode_mute():
    clock, buzzer, engine = make(min_interval_s=0.0)
    assert engine.apply_command(CoachCommand("cycle_cue_mode"))
    assert engine.settings.mode == "faded"
    engine.apply_command(CoachCommand("cycle_cue_mode"))
    assert engine.settings.mode == "off"
    engine.apply_command(CoachCommand("cycle_cue_mode"))
    assert engine.settings.mode == "bandwidth"
    engine.on_stride(stride(0), DRIFT, clock.now_s())
    clock.advance(0.05)
    assert buzzer.is_on()
    engine.apply_command(CoachCommand("toggle_mute"))
    assert engine.settings.muted and not buzzer.is_on()   # muting silences at once
    event = engine.on_stride(stride(1), DRIFT, clock.now_s())
    assert not event.played and event.reason == "muted"
    assert [e.played for e in engine.cue_log] == [True, False]
    assert not engine.apply_command(CoachCommand("quit"))


def test_metronome_hooks_schedule_beats_without_cutting_cues():
    clock, buzzer, engine = make()
    engine.on_steps([Step(50.0 - 3.0 + k * 60.0 / 170.0) for k in range(9)])
    engine.apply_command(CoachCommand("toggle_metronome"))
    assert engine.metronome is not None
    assert engine.settings.metronome_on
    assert engine.settings.metronome_target_spm == pytest.approx(170.0, rel=1e-6)
    engine.apply_command(CoachCommand("metronome_target_delta_spm", 2.0))
    assert engine.metronome.target_spm == pytest.approx(172.0, rel=1e-6)
    beats = []
    for _ in range(200):                 # 3 s of 15 ms chunks
        clock.advance(DRAIN_S)
        beats += engine.tick()
    assert 7 <= len(beats) <= 10
    assert all(b2 - b1 == pytest.approx(60.0 / 170.0, rel=0.03)
               for b1, b2 in zip(beats, beats[1:]))
    clock.advance(0.5)
    metronome_ons = [t for t, on, f in buzzer.log if on and f == 1800.0]
    assert metronome_ons == pytest.approx(beats)
    # A cue now: a beat scheduled inside it is not sent to the buzzer.
    engine.on_stride(stride(0), DRIFT, clock.now_s())
    for _ in range(40):
        clock.advance(DRAIN_S)
        engine.tick()
    clock.advance(1.0)
    cue_freqs = [f for _, on, f in buzzer.log if on and f != 1800.0]
    assert cue_freqs == [1200.0, 2400.0] * 2
    engine.apply_command(CoachCommand("toggle_metronome"))
    assert engine.metronome is None and engine.tick() == []


def test_warning_reaches_the_dashboard():
    clock = ManualClock()
    engine = CueEngine(CuePolicy(), None, SilentAudio(clock, warning="no sound: x"), clock)
    assert engine.warnings == ("no sound: x",)


def test_metronome_starts_from_the_config_and_its_target_moves_in_steps():
    clock = ManualClock(start_s=50.0)
    engine = CueEngine(CuePolicy(), SimulatedBuzzer(clock), None, clock,
                       metronome_target_spm=176.0, metronome_on=True)
    assert engine.settings == CueSettings(CueMode.BANDWIDTH, False, True, 176.0)
    first = engine.metronome
    assert first.target_spm == 176.0
    engine.apply_command(CoachCommand("metronome_target_delta_spm", -2.0))
    assert engine.metronome is first and first.target_spm == 174.0
    engine.apply_command(CoachCommand("metronome_target_delta_spm", 100.0))
    assert engine.settings.metronome_target_spm == 240.0          # clamped to 60..240
    engine.apply_command(CoachCommand("toggle_metronome"))
    assert engine.metronome is None and not engine.settings.metronome_on
    # Without a target, the target follows the runner's cadence from the recent contacts.
    unset = CueEngine(CuePolicy(), None, None, clock)
    unset.on_steps([Step(40.0 + k * 60.0 / 164.0) for k in range(9)])
    unset.apply_command(CoachCommand("metronome_target_delta_spm", 2.0))
    assert unset.settings.metronome_target_spm == pytest.approx(166.0, abs=0.05)


def _tempo_after(max_change_pct_per_min: float, minutes: float) -> float:
    """The metronome's tempo after `minutes` of a runner at 170 steps/min, target 180."""
    clock = ManualClock(start_s=0.0)
    engine = CueEngine(CuePolicy(), None, None, clock, metronome_target_spm=180.0,
                       metronome_max_change_pct_per_min=max_change_pct_per_min)
    period_s = 60.0 / 170.0
    next_step_s = 0.0
    engine.on_steps([Step(next_step_s - k * period_s) for k in range(9, 0, -1)])
    engine.apply_command(CoachCommand("toggle_metronome"))
    for _ in range(int(round(minutes * 60.0 / DRAIN_S))):
        clock.advance(DRAIN_S)
        while next_step_s <= clock.now_s():
            engine.on_steps([Step(next_step_s)])
            next_step_s += period_s
        engine.tick()
    return engine.metronome.tempo_spm


def test_metronome_tempo_changes_no_faster_than_the_configured_rate():
    # [metronome] max_change_pct_per_min, per minute of session (sample) clock: 1 %/min moves
    # the tempo from the runner's 170 toward 180 by at most ~1.7 steps/min in a minute.
    assert _tempo_after(1.0, 1.0) == pytest.approx(170.0 * 1.01, abs=0.05)
    assert _tempo_after(0.0, 1.0) == pytest.approx(170.0, abs=1e-9)
    # 3 %/min would go further in the same minute, up to the lead limit (3 % above the
    # runner).
    assert _tempo_after(3.0, 1.0) == pytest.approx(170.0 * 1.03, abs=0.05)
