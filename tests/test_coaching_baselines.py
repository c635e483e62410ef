"""Remembered baselines: the TOML file, the conditions rule, and the live app remembering a
baseline for the athlete and judging the next session against it right after the warm-up
(emulated chips, stepped virtual clock)."""

import dataclasses
import math
import shutil

import pytest

from pi_app.analysis.drift import Baseline
from pi_app.clock import ManualClock
from pi_app.coaching.baselines import (MOUNTING_TOLERANCE_DEG, Conditions, check_conditions,
                                       dumps_baseline, load_baseline, loads_baseline)
from pi_app.coaching.live import attach_coaching
from pi_app.coaching.store import list_baselines
from pi_app.config import Config, loads_config
from pi_app.errors import InputFileError
from pi_app.live.session import run_stepped
from pi_app.app import open_session, start_recorder, stop_recorder
from pi_app.sim import open_simulated_bus
from pi_app.store import SessionStore
from pi_app.store.athletes import find_athlete

BASELINE = Baseline(centers={"rel_phase": 318.9, "thorax_phase": 160.3, "cadence": 171.1},
                    sds={"rel_phase": 6.87, "thorax_phase": 5.0, "cadence": 3.04},
                    n_strides=237, origin='d0 "run".csv', created_unix_s=1.7e9)
CONDITIONS = Conditions(cadence_spm=171.1, treadmill_speed_kmh=10.5,
                        chips="pelvis=MPU-6050,thorax=MPU-6050",
                        verticals={"pelvis": (0.0, 0.0, 1.0), "thorax": (0.1, 0.0, 0.995)})


def test_file_round_trip():
    b, c = loads_baseline(dumps_baseline(BASELINE, CONDITIONS))
    assert b.n_strides == 237 and b.origin == BASELINE.origin
    for m in BASELINE.centers:
        assert math.isclose(b.centers[m], BASELINE.centers[m], abs_tol=1e-3)
        assert math.isclose(b.sds[m], BASELINE.sds[m], abs_tol=1e-3)
    assert c.treadmill_speed_kmh == 10.5 and c.chips == CONDITIONS.chips
    assert c.verticals["thorax"] == pytest.approx(CONDITIONS.verticals["thorax"], abs=1e-4)


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace("format = 1", "format = 7"), "'format'"),
    (lambda t: t.replace("sd_deg = 6.870", "sd_deg = \"wide\""), "'rel_phase.sd_deg'"),
    (lambda t: t.replace("[rel_phase]", "[rel_phaze]"), "rel_phaze"),
    (lambda t: t.replace("strides = 237", "strides = 0"), "'strides'"),
    (lambda t: t + "\n[conditions\n", "not valid TOML"),
])
def test_bad_file_is_one_sentence_naming_the_key(tmp_path, edit, key):
    path = tmp_path / "b.toml"
    path.write_text(edit(dumps_baseline(BASELINE, CONDITIONS)))
    with pytest.raises(InputFileError) as info:
        load_baseline(path)
    assert key in str(info.value) and str(path) in str(info.value)
    assert "--save-baseline" in str(info.value)


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(InputFileError, match="--save-baseline"):
        load_baseline(tmp_path / "none.toml")


def test_conditions_rule():
    same = dataclasses.replace(CONDITIONS, cadence_spm=None)
    assert check_conditions(CONDITIONS, same) == (True, None)
    no_speed = dataclasses.replace(same, treadmill_speed_kmh=None)
    assert check_conditions(CONDITIONS, no_speed) == (None, None)     # cadence decides
    faster = dataclasses.replace(same, treadmill_speed_kmh=12.0)
    match, why = check_conditions(CONDITIONS, faster)
    assert match is False and "other treadmill speed (12 km/h now, 10.5 then)" in why
    chips = dataclasses.replace(same, chips="pelvis=MPU-6500,thorax=MPU-6500")
    assert "other chips" in check_conditions(CONDITIONS, chips)[1]
    a = math.radians(MOUNTING_TOLERANCE_DEG + 5)
    flipped = dataclasses.replace(same, verticals={"pelvis": (math.sin(a), 0.0, math.cos(a))})
    assert "pelvis sensor is mounted differently" in check_conditions(CONDITIONS, flipped)[1]
    a = math.radians(MOUNTING_TOLERANCE_DEG - 10)
    slightly = dataclasses.replace(same, verticals={"pelvis": (math.sin(a), 0.0, math.cos(a))})
    assert check_conditions(CONDITIONS, slightly)[1] is None


# -- live ------------------------------------------------------------------------------------
CFG = loads_config("""
[baseline]
warmup_s = 20.0
baseline_strides = 30
""")


def _live_session(state, athlete, *, seed=3, day=0, chips="mpu6050", seconds=70.0,
                  treadmill_kmh=None):
    clock = ManualClock()
    bus = open_simulated_bus("steady", seed=seed, day=day, chips=chips, clock=clock)
    session, _ = open_session(CFG, clock, bus, simulated=True)
    hook = attach_coaching(session, state, athlete, treadmill_speed_kmh=treadmill_kmh)
    recorder = start_recorder(session, state_dir=state, athlete=hook.athlete.name,
                              athlete_ref=hook.athlete.id, treadmill_speed_kmh=treadmill_kmh)
    states = []
    session.hooks.append(type("States", (), {"on_update": lambda self, u: states.extend(
        v.state for v in u.verdicts)})())
    run_stepped(session, clock, seconds, CFG.sensors.drain_interval_s, analysis_every=8)
    stop_recorder(recorder)
    hook.close()
    return session, hook, states, recorder.session_id


@pytest.fixture(scope="module")
def first_day(tmp_path_factory):
    """A state dir after Ana's first session (10 km/h entered): (dir, session id, hook)."""
    state = tmp_path_factory.mktemp("first")
    _, hook, states, sid = _live_session(state, "Ana Silva", treadmill_kmh=10.0)
    assert "building_baseline" in states and hook.remembered and not hook.errors
    return state, sid


@pytest.fixture
def state(first_day, tmp_path):
    shutil.copyfile(first_day[0] / "sessions.db", tmp_path / "sessions.db")
    return tmp_path


@pytest.mark.slow
def test_first_session_remembers_its_baseline_for_the_athlete(first_day):
    state, sid1 = first_day
    with SessionStore.open(state, read_only=True) as store:
        ana = find_athlete(store, "ana silva")
        stored = list_baselines(store, ana.id)
        assert [b.session_id for b in stored] == [sid1]
        assert stored[0].treadmill_speed_kmh == 10.0
        assert store.summary(sid1).athlete_ref == ana.id
        assert store.summary(sid1).treadmill_speed_kmh == 10.0


@pytest.mark.slow
def test_next_session_judges_against_the_remembered_baseline(state, first_day):
    sid1 = first_day[1]
    # No speed entered this time: the cadence at the end of the warm-up decides.
    second, hook2, states2, _ = _live_session(state, "ana silva", day=1, seconds=45.0)
    assert "building_baseline" not in states2
    first_judged = next(s for s in states2 if s != "warmup")
    assert first_judged in ("in_band", "drifting")
    note = second.snapshot().baseline_note
    assert f"remembered baseline from session {sid1}" in note and "old" in note
    assert "cadence" in note
    assert second.analyzer.drift.stored_in_use is not None
    # A session that reused a band does not store it again as new.
    assert hook2.remembered == []


@pytest.mark.slow
def test_other_chips_never_reuse_the_band_silently(state):
    session, hook, states, _ = _live_session(state, "Ana Silva", day=1, chips="mpu6500")
    assert "building_baseline" in states
    note = session.snapshot().baseline_note
    assert note.startswith("remembered baseline not used: other chips")
    # The new conditions get their own remembered baseline.
    assert len(hook.remembered) == 1


@pytest.mark.slow
def test_same_entered_speed_reuses_and_other_speed_never_does(state):
    session, _, states, _ = _live_session(state, "Ana Silva", day=1, treadmill_kmh=12.0,
                                          seconds=45.0)
    assert "building_baseline" in states
    assert "other treadmill speed (12 km/h now, 10 then)" in session.snapshot().baseline_note
