"""Cue patterns: one per drift kind, distinguishable by rhythm alone, documented."""

from pi_app.analysis.drift import DriftVerdict
from pi_app.cues.patterns import (PATTERNS, REPEAT_GAP_MS, cue_kind, patterns_markdown,
                                  render, repetitions)

DRIFT_KINDS = ["counter_rotation_lost", "more_anti_phase", "thorax_early", "thorax_late",
               "pelvis_early", "pelvis_late", "cadence_low", "cadence_high"]


def test_every_drift_direction_has_a_pattern():
    pairs = [("rel_phase", "counter-rotation lost"), ("rel_phase", "more anti-phase"),
             ("thorax_phase", "thorax early"), ("thorax_phase", "thorax late"),
             ("pelvis_phase", "pelvis early"), ("pelvis_phase", "pelvis late"),
             ("cadence", "low"), ("cadence", "high")]
    kinds = [cue_kind(DriftVerdict("drifting", 1.0, metric=m, direction=d)) for m, d in pairs]
    assert kinds == DRIFT_KINDS
    assert cue_kind(DriftVerdict("in_band", 1.0)) is None


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
