"""Cue patterns: one per drift kind, distinguishable by rhythm alone, documented."""

import pytest

from pi_app.analysis.drift import DriftVerdict
from pi_app.cues.patterns import (CUE_FOR_DIRECTION, PATTERNS, REPEAT_GAP_MS, cue_kind,
                                  patterns_markdown, render, repetitions)
from pi_app.records import CueKind, DriftDirection, DriftState

DRIFT_KINDS = ["counter_rotation_lost", "more_anti_phase", "thorax_early", "thorax_late",
               "pelvis_early", "pelvis_late", "cadence_low", "cadence_high"]


@pytest.mark.parametrize("direction", list(DriftDirection))
def test_every_drift_direction_has_a_pattern(direction):
    # A direction the detector can emit but no pattern plays would leave the runner
    # uncued without a sound: every member of the enum must reach a pattern.
    verdict = DriftVerdict(DriftState.DRIFTING, 1.0, metric="rel_phase", direction=direction)
    kind = cue_kind(verdict)
    assert kind in PATTERNS and kind is not CueKind.METRONOME


def test_directions_and_drift_cues_pair_one_to_one():
    assert sorted(CUE_FOR_DIRECTION) == sorted(DriftDirection)
    assert sorted(CUE_FOR_DIRECTION.values()) == sorted(DRIFT_KINDS)
    assert set(PATTERNS) == set(CueKind)
    assert cue_kind(DriftVerdict(DriftState.IN_BAND, 1.0)) is None


def test_directions_map_to_their_own_cue():
    pairs = [(DriftDirection.COUNTER_ROTATION_LOST, "counter_rotation_lost"),
             (DriftDirection.MORE_ANTI_PHASE, "more_anti_phase"),
             (DriftDirection.THORAX_EARLY, "thorax_early"),
             (DriftDirection.THORAX_LATE, "thorax_late"),
             (DriftDirection.PELVIS_EARLY, "pelvis_early"),
             (DriftDirection.PELVIS_LATE, "pelvis_late"),
             (DriftDirection.CADENCE_LOW, "cadence_low"),
             (DriftDirection.CADENCE_HIGH, "cadence_high")]
    for direction, kind in pairs:
        assert cue_kind(DriftVerdict(DriftState.DRIFTING, 1.0, direction=direction)) == kind


def test_stored_direction_codes_never_change():
    # Old sessions store these strings (strides.drift_direction, events): they must still
    # read as the same members.
    assert [d.value for d in DriftDirection] == [
        "counter-rotation lost", "more anti-phase", "thorax early", "thorax late",
        "pelvis early", "pelvis late", "low", "high"]
    assert DriftDirection("low") is DriftDirection.CADENCE_LOW
    assert [s.value for s in DriftState] == ["warmup", "building_baseline", "in_band",
                                             "drifting", "suppressed"]


def test_patterns_distinct_by_rhythm_and_by_pitch():
    # An active buzzer only has the rhythm: it alone must tell every pattern apart.
    rhythms = {PATTERNS[k].rhythm_ms() for k in DRIFT_KINDS}
    assert len(rhythms) == len(DRIFT_KINDS)
    pitches = {tuple(s.freq_hz for s in PATTERNS[k].segments) for k in DRIFT_KINDS}
    assert len(pitches) == len(DRIFT_KINDS)


def test_pattern_shapes_match_their_meaning():
    def freqs(kind):
        return [s.freq_hz for s in PATTERNS[kind].segments]
    assert freqs("thorax_early")[0] < freqs("thorax_early")[-1]      # rising
    assert freqs("thorax_late")[0] > freqs("thorax_late")[-1]        # falling
    assert max(freqs("cadence_low")) < min(freqs("cadence_high"))
    crl = PATTERNS["counter_rotation_lost"].segments
    assert len(crl) == 2 and crl[0].duration_ms <= 100 and crl[0].freq_hz >= 2000
    for p in PATTERNS.values():
        segs = p.segments
        assert all(a.end_ms <= b.start_ms for a, b in zip(segs, segs[1:]))
        assert p.duration_ms <= 600          # over well within one stride


def test_render_repeats_with_intensity():
    p = PATTERNS["thorax_early"]
    assert [repetitions(x) for x in (0.0, 0.49, 0.5, 0.84, 0.85, 1.0)] == [1, 1, 2, 2, 3, 3]
    three = render(p, 1.0)
    assert len(three) == 3 * len(p.segments)
    second_start = three[len(p.segments)].start_ms
    assert second_start == p.duration_ms + REPEAT_GAP_MS
    assert render(p, 0.1) == p.segments


def test_markdown_table_lists_every_pattern():
    md = patterns_markdown()
    lines = [ln for ln in md.splitlines() if ln.startswith("| `")]
    assert len(lines) == len(PATTERNS)
    for kind in PATTERNS:
        assert f"`{kind}`" in md
    assert "on 70, off 70, on 70" in md
