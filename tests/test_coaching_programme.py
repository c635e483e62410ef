"""Programmes as data: the TOML, the next-session rule (adherence, shaping), the cue policy a
session's feedback maps to, and the example programme."""

from pathlib import Path

import pytest

from pi_app.coaching.plan import config_for
from pi_app.coaching.programme import (PastSession, loads_programme, load_programme,
                                       next_session, target_center_deg)
from pi_app.config import Config
from pi_app.errors import InputFileError

REPO = Path(__file__).resolve().parents[1]

SHAPED = """
name = "shaped"
[shaping]
start_offset_deg = 0.0
step_deg = 5.0
hold_in_band_frac = 0.7
over_last_min = 5.0
max_offset_deg = 10.0
[[session]]
duration_min = 10
feedback = "full"
[[session]]
duration_min = 10
feedback = "full"
[[session]]
duration_min = 10
feedback = "faded"
fraction = 0.5
[[session]]
duration_min = 10
feedback = "full"
[[session]]
duration_min = 10
feedback = "none"
"""


def test_example_programme_is_the_faded_protocol():
    p = load_programme(REPO / "config" / "programmes" / "faded-8.toml")
    assert len(p) == 8
    assert p.sessions[0].duration_s == 15 * 60 and p.sessions[-1].duration_s == 30 * 60
    assert [s.feedback for s in p.sessions[:4]] == ["full"] * 4
    fractions = [s.fraction for s in p.sessions[4:]]
    assert fractions == sorted(fractions, reverse=True) and fractions[-1] == 0.0
    assert p.sessions[-1].retention


def past(number, run_min=10, offset=None, held=None, planned_min=10):
    return PastSession(number, planned_min * 60.0, run_min * 60.0, offset, held)


def test_next_session_counts_only_sessions_run_long_enough():
    p = load_programme(REPO / "config" / "programmes" / "faded-8.toml")
    assert next_session(p, []).number == 1
    assert next_session(p, [past(1, 15, planned_min=15)]).number == 2
    # Cut short (under 80 % of 18 min): session 2 is run again.
    assert next_session(p, [past(1, 15, planned_min=15), past(2, 10, planned_min=18)]).number == 2
    assert next_session(p, [past(i, 30, planned_min=30) for i in range(1, 9)]) is None


def test_shaping_moves_the_target_only_when_held():
    p = loads_programme(SHAPED)
    assert next_session(p, []).target_offset_deg == 0.0
    held = [past(1, offset=0.0, held=0.8)]
    assert next_session(p, held).target_offset_deg == 5.0
    not_held = held + [past(2, offset=5.0, held=0.5)]
    assert next_session(p, not_held).target_offset_deg == 5.0
    capped = not_held + [past(3, offset=10.0, held=0.9)]
    assert next_session(p, capped).target_offset_deg == 10.0       # max_offset_deg


def test_feedback_maps_onto_the_cue_policy():
    p = loads_programme(SHAPED)
    cfg = Config()
    assert config_for(cfg, p.sessions[0]).cues.mode == "bandwidth"
    faded = config_for(cfg, p.sessions[2]).cues
    assert faded.mode == "faded" and faded.fade_schedule == ((0.0, 0.5),)
    assert config_for(cfg, p.sessions[4]).cues.mode == "off"


def test_target_moves_toward_anti_phase():
    assert target_center_deg(315.0, 20.0) == 295.0
    assert target_center_deg(40.0, 20.0) == 60.0
    assert target_center_deg(315.0, -10.0) == 325.0


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace('name = "shaped"', ""), "'name'"),
    (lambda t: t.replace('feedback = "none"', 'feedback = "some"'), "session 5: key 'feedback'"),
    (lambda t: t.replace("fraction = 0.5", "fraction = 0.4"), "1/n"),
    (lambda t: t.replace("step_deg = 5.0", "step = 5.0"), "[shaping] unknown key(s) step"),
    (lambda t: t.replace("duration_min = 10\nfeedback = \"none\"",
                         "duration_min = 1000\nfeedback = \"none\""), "duration_min"),
    (lambda t: t + "colour = 1\n", "unknown key"),
])
def test_bad_programme_names_the_key(edit, key):
    with pytest.raises(InputFileError) as info:
        loads_programme(edit(SHAPED), "p.toml")
    assert key in str(info.value) and "p.toml" in str(info.value)
