"""The relative-phase target from the config or the dashboard's [ and ] keys, and the replay of
a session that used a remembered band and a target (pi_app.coaching.target, .replay)."""

import pytest

from pi_app.analysis.drift import Baseline, DriftDetector
from pi_app.app import open_session, replay_session, start_recorder, stop_recorder
from pi_app.clock import ManualClock
from pi_app.coaching.live import attach_coaching, target_offset_for
from pi_app.coaching.programme import ProgrammeSession
from pi_app.coaching.target import TargetBand, attach_target
from pi_app.config import loads_config
from pi_app.errors import ConfigError
from pi_app.live.session import run_stepped
from pi_app.records import CoachCommand
from pi_app.sim import open_simulated_bus
from pi_app.store import SessionStore

CFG_TEXT = """
[baseline]
warmup_s = 20.0
baseline_strides = 30

[coaching]
target_step_deg = 10.0
"""
CFG = loads_config(CFG_TEXT)


def _wrap(x):
    return (x + 180.0) % 360.0 - 180.0


def _detector_with_band(center_deg=300.0, sd_deg=6.0):
    d = DriftDetector(warmup_s=0.0)
    d.use_baseline(Baseline({"rel_phase": center_deg}, {"rel_phase": sd_deg}, 60),
                   speed_match=True)
    d._start_from_stored()
    return d


def test_target_moves_the_band_toward_anti_phase_and_back():
    d = _detector_with_band(300.0)
    half = d.baseline["rel_phase"].half_width
    target = TargetBand(20.0, step_deg=5.0)
    change = target.apply(d)
    band = d.coach_bands["rel_phase"]
    # 300 deg is on the far side of 180: toward anti-phase is downward.
    assert band.center == pytest.approx(280.0) and band.half_width == pytest.approx(half)
    assert change.offset_deg == 20.0 and "+20 deg toward anti-phase" in change.text()
    assert target.apply(d) is None                       # nothing changed since
    target.step(+1)
    assert target.apply(d).offset_deg == 25.0
    assert d.coach_bands["rel_phase"].center == pytest.approx(275.0)
    target.step(-5)
    assert target.apply(d).band_deg is None              # 0: the runner's own band again
    assert "rel_phase" not in d.coach_bands


def test_target_waits_for_a_baseline_and_follows_a_rebuilt_one():
    target = TargetBand(10.0)
    fresh = DriftDetector()
    assert target.apply(fresh) is None and not fresh.coach_bands
    d = _detector_with_band(40.0)
    assert d.coach_bands == {} and target.apply(d) is not None
    assert d.coach_bands["rel_phase"].center == pytest.approx(50.0)   # toward 180: up


def test_offset_is_clamped_to_a_movement_of_the_same_kind():
    t = TargetBand(85.0, step_deg=10.0)
    assert t.step(+1) == 90.0 and t.step(-20) == -90.0


def test_config_target_and_programme_precedence():
    cfg = loads_config("[coaching]\ntarget_offset_deg = 15.0\n")
    assert target_offset_for(cfg, None) == 15.0
    assert target_offset_for(loads_config(""), None) is None
    session = ProgrammeSession(number=2, duration_s=900.0, feedback="full", fraction=1.0,
                               target_offset_deg=5.0)
    assert target_offset_for(cfg, session) == 5.0


@pytest.mark.parametrize("text, key", [
    ("[coaching]\ntarget_offset_deg = 120.0\n", "coaching.target_offset_deg"),
    ("[coaching]\ntarget_step_deg = 0\n", "coaching.target_step_deg"),
    ("[coaching]\nchoose_athlete_s = -1\n", "coaching.choose_athlete_s"),
    ("[coaching]\ntarget_deg = 5\n", "coaching.target_deg"),
])
def test_bad_coaching_key_is_one_sentence_naming_it(text, key):
    with pytest.raises(ConfigError) as err:
        loads_config(text, source="pi-app.toml")
    assert err.value.key == key and "pi-app.toml" in str(err.value)
    assert "\n" not in str(err.value)


def _replay_equals_live(state, sid):
    """Replay session `sid` and check every stride's verdict against the stored live one.
    Returns (live strides, replay analyzer, strides compared)."""
    replayed = []

    def keep(update):
        replayed.extend(zip(update.strides, update.verdicts))
    with SessionStore.open(state, read_only=True) as store:
        live = store.load(sid).strides
        analyzer, _ = replay_session(store, sid, on_update=keep)
    by_t = {round(s.t_end_s, 4): v for s, v in replayed}
    compared = 0
    for st in live:
        v = by_t.get(round(st.metrics.t_end_s, 4))
        if v is None:
            continue
        compared += 1
        assert v.state == st.drift_state, st.metrics.t_end_s
        assert v.direction == st.drift_direction, st.metrics.t_end_s
        if st.drift_deviation is not None:
            assert v.deviation == pytest.approx(st.drift_deviation, abs=1e-3)
    assert compared >= len(live) - 1
    return live, analyzer, compared


# -- live and replay -----------------------------------------------------------------------
def _run(state, athlete, *, day, seconds, presses=(), target_offset_deg=None, seed=5):
    """A stepped live session of the simulated runner (steady), recorded for `athlete`;
    `presses`: (at s, steps of the [ / ] keys or a CoachCommand). Returns (session,
    session id, target hook)."""
    clock = ManualClock()
    bus = open_simulated_bus("steady", seed=seed, day=day, chips="mpu6050", clock=clock)
    session, _ = open_session(CFG, clock, bus, simulated=True)
    target = attach_target(session, target_offset_deg, CFG.coaching.target_step_deg)
    hook = attach_coaching(session, state, athlete)
    recorder = start_recorder(session, state_dir=state, athlete=hook.athlete.name,
                              athlete_ref=hook.athlete.id, target_offset_deg=target_offset_deg,
                              config_text=CFG_TEXT)
    done = 0.0
    for at_s, steps in list(presses) + [(seconds, None)]:
        run_stepped(session, clock, at_s - done, CFG.sensors.drain_interval_s,
                    analysis_every=8)
        done = at_s
        if isinstance(steps, CoachCommand):
            session.commands.put(steps)
        elif steps is not None:
            session.commands.put(CoachCommand("target_step", steps))
    stop_recorder(recorder)
    hook.close()
    return session, recorder.session_id, target


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    """Day 0 builds and remembers Ana's band; day 1 is judged against it with a 10 deg
    target from the start, moved to 20 deg by the ] key at 50 s and back to 10 at 75 s."""
    state = tmp_path_factory.mktemp("target")
    _run(state, "Ana", day=0, seconds=60.0)
    session, sid, target = _run(state, "Ana", day=1, seconds=95.0, target_offset_deg=10.0,
                                presses=[(50.0, 1.0), (75.0, -1.0)])
    return state, session, sid, target


@pytest.mark.slow
def test_key_moves_the_target_live_and_the_dashboard_shows_it(two_days):
    state, session, sid, target = two_days
    assert session.analyzer.drift.stored_in_use is not None      # the remembered band
    assert target.target.offset_deg == 10.0
    with SessionStore.open(state, read_only=True) as store:
        data = store.load(sid)
        summary = store.summary(sid)
    assert summary.target_offset_deg == 10.0
    sets = [e for e in data.events if e.kind == "target_set"]
    assert [round(e.t_s - data.strides[0].metrics.t_end_s) > 0 for e in sets] == [True, True]
    judged = [st for st in data.strides if st.band_source == "coach"]
    centers = sorted({round(st.band_center_deg) for st in judged})
    assert len(centers) == 2 and abs(_wrap(centers[1] - centers[0])) == pytest.approx(10, abs=1)
    snap = session.snapshot()
    assert snap.target_offset_deg == 10.0 and snap.band_source == "coach"


@pytest.mark.slow
def test_replay_rebuilds_the_remembered_band_and_target_and_judges_as_live(two_days):
    state, _, sid, _ = two_days
    live, analyzer, compared = _replay_equals_live(state, sid)
    assert analyzer.drift.stored_in_use is not None
    assert compared > 80
    assert "building_baseline" not in {st.drift_state for st in live}
    # the target at 20 deg (after the key) puts the runner on the in-phase side: drifting
    assert any(st.drift_direction == "counter-rotation lost" for st in live)


@pytest.mark.slow
def test_config_target_is_judged_cued_toward_and_stored(tmp_path):
    """`[coaching] target_offset_deg` without athlete or programme: the session is judged
    against the target band from its first baseline and cued toward it."""
    from pi_app.cli import main
    config = tmp_path / "c.toml"
    config.write_text("[baseline]\nwarmup_s = 5.0\nbaseline_strides = 20\n\n"
                      "[coaching]\ntarget_offset_deg = 40.0\n")
    assert main(["demo", "--headless", "--speed", "0", "--seconds", "70", "--seed", "4",
                 "--record", "--state-dir", str(tmp_path), "--config", str(config)]) == 0
    with SessionStore.open(tmp_path, read_only=True) as store:
        s = store.list_sessions()[0]
        data = store.load(s.id)
    assert s.target_offset_deg == 40.0 and s.athlete_ref is None
    judged = [st for st in data.strides if st.band_source == "coach"]
    assert judged and judged[0].metrics.t_end_s < 60.0
    assert any(st.drift_direction == "counter-rotation lost" for st in judged)
    assert any(c.played and c.kind == "counter_rotation_lost" for c in data.cues)
    assert [e.kind for e in data.events].count("target") == 1


@pytest.mark.slow
def test_replay_redoes_the_coachs_rebuilt_baseline_and_band_from_now(two_days, tmp_path):
    """B (rebuild the baseline) and N (band = now) during a targeted session: the replay
    does them between the same samples, so its verdicts stay the live ones."""
    import shutil
    shutil.copyfile(two_days[0] / "sessions.db", tmp_path / "sessions.db")
    session, sid, _ = _run(tmp_path, "Ana", day=2, seconds=110.0, target_offset_deg=10.0,
                     presses=[(40.0, CoachCommand("restart_baseline")),
                              (90.0, CoachCommand("band_from_current"))])
    live, _, compared = _replay_equals_live(tmp_path, sid)
    states = [st.drift_state for st in live]
    assert "building_baseline" in states and compared > 100
    assert live[-1].band_source == "coach"
    # N replaced the target: the band is the current strides' and the target is dropped.
    assert abs(_wrap(live[-1].band_center_deg - live[-1].metrics.rel_phase_deg)) < 15.0
    assert session.target_offset_deg is None
    assert session.snapshot().verdict.state == "in_band"


def test_band_from_now_drops_the_target():
    d = _detector_with_band(300.0)
    target = TargetBand(20.0)
    target.apply(d)
    d.coach_bands["rel_phase"] = d.coach_bands["rel_phase"].__class__(
        "rel_phase", 301.0, 15.0, 6.0, "coach")           # what N sets
    target.drop(d)
    assert target.offset_deg == 0.0 and target.apply(d) is None
    assert d.coach_bands["rel_phase"].center == 301.0     # N's band stays


def test_target_keys_in_a_run_without_a_target_say_so_once(simulated_session):
    """A session built without a target (no TargetHook): [ and ] do nothing, and the
    dashboard says so instead of showing nothing."""
    session = simulated_session("steady").session
    session.apply(CoachCommand("target_step", 1.0))
    session.apply(CoachCommand("target_step", -1.0))
    assert [w for w in session.warnings if "target_step" in w] == [
        "nothing in this run carries out the target_step key"]
    assert session.target_offset_deg is None


def test_a_failing_command_owner_is_a_hook_error_not_a_stopped_analysis(simulated_session):
    events = []

    class Events:
        def on_event(self, kind, detail):
            events.append((kind, detail))
    session = simulated_session("steady", hooks=[Events()]).session

    def broken(command):
        raise ValueError("boom")
    session.own_command("target_step", broken)
    session.apply(CoachCommand("target_step", 1.0))
    assert session.hook_errors == 1
    assert events[-1][0] == "hook_error" and "ValueError: boom" in events[-1][1]["detail"]


def test_the_target_keys_reach_the_target_of_a_built_live_app(tmp_path):
    """pi_app.app.build_live attaches the target ([coaching] target_step_deg per key) and
    records the starting offset with the session."""
    from pi_app import app
    cfg = loads_config("[coaching]\ntarget_step_deg = 7.5\n")
    clock = ManualClock()
    record = app.recording_args(state_dir=tmp_path, target_offset_deg=15.0)
    parts = app.build_live(cfg, clock, bus_spec=app.simulator_spec(cfg, "steady"),
                           scenario="steady", simulated_outputs=True, record=record,
                           target_offset_deg=15.0)
    try:
        assert parts.live.target_offset_deg == 15.0
        parts.live.apply(CoachCommand("target_step", 1.0))
        assert parts.target.target.offset_deg == 22.5
        assert parts.live.snapshot().target_offset_deg == 22.5
        sid = parts.recorder.session_id
    finally:
        parts.close()
    with SessionStore.open(tmp_path, read_only=True) as store:
        assert store.summary(sid).target_offset_deg == 15.0
