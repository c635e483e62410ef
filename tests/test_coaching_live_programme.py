"""The programme run by the live app (`pi-app demo --athlete`, emulated chips, stepped clock):
the next session is run for its duration with its feedback and target, and recorded with its
place in the programme; a retention session plays no cue."""

import pytest

from pi_app.cli import main
from pi_app.store import SessionStore

# Every test reads the module's three demo sessions (~30 s of CPU).
pytestmark = pytest.mark.slow

PROGRAMME = """
name = "tiny"
description = "two short sessions"
[[session]]
duration_min = 0.75
feedback = "full"
target_offset_deg = 40.0
[[session]]
duration_min = 0.75
feedback = "none"
target_offset_deg = 40.0
"""

CONFIG = """
[baseline]
warmup_s = 5.0
baseline_strides = 20
"""


def _demo(state, config, day):
    return main(["demo", "--headless", "--speed", "1000", "--seed", "4", "--day", str(day),
                 "--athlete", "Pat", "--record", "--state-dir", str(state), "--config",
                 str(config)])


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("programme")
    state, prog, config = tmp / "state", tmp / "p.toml", tmp / "c.toml"
    prog.write_text(PROGRAMME)
    config.write_text(CONFIG)
    assert main(["athletes", "add", "Pat", "--state-dir", str(state)]) == 0
    assert main(["athletes", "programme", "pat", str(prog), "--state-dir", str(state)]) == 0
    assert _demo(state, config, 0) == 0
    assert _demo(state, config, 1) == 0
    return state


def test_sessions_are_run_and_recorded_in_programme_order(ran):
    with SessionStore.open(ran, read_only=True) as store:
        s1, s2 = store.list_sessions()
    assert (s1.programme_session, s1.feedback, s2.programme_session, s2.feedback) == \
        (1, "full", 2, "none")
    assert s1.planned_duration_s == 45.0 and s1.duration_s == pytest.approx(45.0, abs=1.0)
    assert s1.target_offset_deg == 40.0


def test_target_band_is_judged_and_cued_toward(ran):
    with SessionStore.open(ran, read_only=True) as store:
        s1 = store.list_sessions()[0]
        data = store.load(s1.id)
    judged = [st for st in data.strides if st.band_source == "coach"]
    assert judged, "the target band was never judged against"
    # 40 deg away from the runner's own band: they are out of it and cued toward it.
    assert any(st.drift_direction == "counter-rotation lost" for st in judged)
    assert any(c.played for c in data.cues)
    assert any(e.kind == "target" for e in data.events)


def test_retention_session_plays_no_cue_but_measures(ran):
    with SessionStore.open(ran, read_only=True) as store:
        s2 = store.list_sessions()[1]
        data = store.load(s2.id)
    assert data.cues and not any(c.played for c in data.cues)
    assert {c.reason for c in data.cues} == {"mode off"}
    assert any(st.drift for st in (x.metrics for x in data.strides))
