"""Cue policy: bandwidth silence, error scaling, faded schedule, minimum interval, never
while the baseline is being built."""

import pytest

from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.cues.policy import CuePolicy

STRIDE_S = 0.7


def stride(i, quality=frozenset()):
    return StrideMetrics(index=i, t_start_s=i * STRIDE_S, t_end_s=(i + 1) * STRIDE_S,
                         cadence_spm=171.0, quality=quality)


def drifting(beyond_sd=1.0, sd=6.0, metric="rel_phase", direction="counter-rotation lost"):
    half_width = 2.5 * sd
    deviation = -(half_width + beyond_sd * sd)
    return DriftVerdict("drifting", 1.0, metric=metric, direction=direction, unit="deg",
                        deviation=deviation, deviation_sd=deviation / sd,
                        beyond_band=beyond_sd * sd, drifting_metrics=(metric,))


def run(policy, verdicts, t0_s=0.0):
    out = []
    for i, v in enumerate(verdicts):
        out.append(policy.decide(stride(i), v, t0_s + (i + 1) * STRIDE_S))
    return out


def test_silent_in_band_and_never_before_baseline():
    policy = CuePolicy("bandwidth", min_interval_s=0.0)
    states = ["warmup", "building_baseline", "in_band", "suppressed"] * 5
    events = run(policy, [DriftVerdict(s, 0.5) for s in states])
    assert events == [None] * len(states)
    # ... and the same policy does cue a drifting stride.
    assert policy.decide(stride(99), drifting(), 100.0).played


def test_unreliable_stride_is_not_cued():
    policy = CuePolicy("bandwidth", min_interval_s=0.0)
    assert policy.decide(stride(0, frozenset({"gap"})), drifting(), 1.0) is None
    assert policy.decide(stride(1, frozenset({"no_side"})), drifting(), 2.0).played


def test_kind_follows_metric_and_direction():
    policy = CuePolicy("bandwidth", min_interval_s=0.0)
    cases = {("rel_phase", "counter-rotation lost"): "counter_rotation_lost",
             ("thorax_phase", "thorax early"): "thorax_early",
             ("thorax_phase", "thorax late"): "thorax_late",
             ("cadence", "low"): "cadence_low", ("cadence", "high"): "cadence_high"}
    for i, ((metric, direction), kind) in enumerate(cases.items()):
        event = policy.decide(stride(i), drifting(metric=metric, direction=direction), i + 1.0)
        assert event.kind == kind


def test_intensity_scales_with_error():
    policy = CuePolicy(min_intensity=0.2, full_scale_sd=3.0)
    values = [policy.intensity(drifting(beyond_sd=b)) for b in (0.0, 0.75, 1.5, 3.0, 6.0)]
    assert values[0] == pytest.approx(0.2)
    assert values[2] == pytest.approx(0.6)
    assert values[3] == values[4] == 1.0
    assert all(a < b for a, b in zip(values[:4], values[1:4]))


def test_min_interval_between_cues():
    policy = CuePolicy("bandwidth", min_interval_s=3.0)
    events = run(policy, [drifting()] * 12)
    played_t = [e.t_s for e in events if e.played]
    assert len(played_t) >= 3
    assert all(b - a >= 3.0 for a, b in zip(played_t, played_t[1:]))
    assert {e.reason for e in events if not e.played} == {"min interval"}
    # Every gap is as short as the rule allows: next stride at or after 3 s plays.
    assert all(b - a < 3.0 + STRIDE_S for a, b in zip(played_t, played_t[1:]))


def test_faded_schedule_is_deterministic_every_nth():
    schedule = ((0.0, 1.0), (30.0, 0.5), (60.0, 0.25))
    policy = CuePolicy("faded", min_interval_s=0.0, fade_schedule=schedule)
    policy.start_session(0.0)
    n = 128  # 0.7 s strides: ~43 per stage
    events = run(policy, [drifting()] * n)
    stage_of = [0 if e.t_s < 30 else 1 if e.t_s < 60 else 2 for e in events]
    for stage, fraction in enumerate((1.0, 0.5, 0.25)):
        played = [e.played for e, s in zip(events, stage_of) if s == stage]
        every = round(1 / fraction)
        assert played == [k % every == 0 for k in range(len(played))]
    withheld = [e.reason for e in events if not e.played]
    assert "faded: 2 of 2" in withheld and "faded: 4 of 4" in withheld
    # Same inputs, same decisions.
    again_policy = CuePolicy("faded", min_interval_s=0.0, fade_schedule=schedule)
    again_policy.start_session(0.0)
    again = run(again_policy, [drifting()] * n)
    assert [e.played for e in again] == [e.played for e in events]


def test_faded_withheld_stride_uses_up_the_interval():
    policy = CuePolicy("faded", min_interval_s=2.0, fade_schedule=((0.0, 0.5),))
    events = run(policy, [drifting()] * 40)
    played_t = [e.t_s for e in events if e.played]
    # 50 % of opportunities spaced >= 2 s: cues >= 4 s apart, not every 2 s.
    assert all(b - a >= 4.0 for a, b in zip(played_t, played_t[1:]))


def test_mute_and_off_withhold_with_reason():
    policy = CuePolicy("bandwidth", min_interval_s=0.0)
    policy.muted = True
    assert policy.decide(stride(0), drifting(), 1.0).reason == "muted"
    policy.muted = False
    policy.set_mode("off")
    event = policy.decide(stride(1), drifting(), 2.0)
    assert not event.played and event.reason == "mode off"
    policy.set_mode("bandwidth")
    assert policy.decide(stride(2), drifting(), 3.0).played


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        CuePolicy("loud")
    with pytest.raises(ValueError):
        CuePolicy(fade_schedule=((10.0, 1.0),))
    with pytest.raises(ValueError):
        CuePolicy(fade_schedule=((0.0, 0.0),))
