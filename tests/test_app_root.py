"""The composition root (pi_app.app): settings given in the config reach every app it builds
(live, offline, import, replay), it is the one place the analysis, the live session and the
cue engine are made, and the FIFO drain period has one definition."""

from __future__ import annotations

import ast
import csv
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from pi_app import app
from pi_app.analysis.drift import DriftDetector
from pi_app.analysis.pipeline import Analyzer
from pi_app.cli import main
from pi_app.clock import ManualClock
from pi_app.config import EXAMPLE_TOML, Config, load_config
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.frames import FrameChunk
from pi_app.recording.csv_writer import write_recording
from pi_app.sim.scenarios import make_scenario
from pi_app.store import SessionStore

PACKAGE = Path(app.__file__).parent

# Every section a consumer reads, away from its default.
CONFIG_TOML = """\
[sensors]
drain_interval_s = 0.02

[baseline]
warmup_s = 5.0
baseline_strides = 15

[cues]
mode = "faded"
min_interval_s = 7.0

[metronome]
enabled = true
target_spm = 172.0
max_change_pct_per_min = 5.0

[coaching]
target_step_deg = 7.5
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "pi-app.toml"
    path.write_text(CONFIG_TOML, encoding="utf-8")
    return path


@pytest.fixture
def cfg(config_file):
    return load_config(config_file)


def test_the_test_config_is_not_the_default(cfg):
    default = Config()
    assert cfg.sensors.drain_interval_s != default.sensors.drain_interval_s
    assert cfg.baseline.warmup_s != default.baseline.warmup_s
    assert cfg.baseline.baseline_strides != default.baseline.baseline_strides
    assert cfg.cues.mode != default.cues.mode
    assert cfg.cues.min_interval_s != default.cues.min_interval_s
    assert cfg.metronome.enabled != default.metronome.enabled
    assert cfg.metronome.max_change_pct_per_min != default.metronome.max_change_pct_per_min
    assert cfg.coaching.target_step_deg != default.coaching.target_step_deg


def test_the_live_app_gets_every_section(cfg):
    parts = app.build_live(cfg, ManualClock(), bus_spec=app.simulator_spec(cfg, "steady"),
                           scenario="steady", simulated_outputs=True)
    try:
        session = parts.session
        assert parts.runner.drain_interval_s == 0.02
        assert session.analyzer.drift.warmup_s == 5.0
        assert session.analyzer.drift.baseline_strides == 15
        assert parts.engine.policy.mode == "faded"
        assert parts.engine.policy.min_interval_s == 7.0
        cues = parts.engine.settings
        assert cues.mode == "faded"
        assert cues.metronome_on and cues.metronome_target_spm == 172.0
        assert parts.engine.metronome_max_change_pct_per_min == 5.0
        assert parts.target.target.step_deg == 7.5          # the [ and ] keys' step
        assert session.simulated and session.recording_off_reason   # never an empty reason
    finally:
        parts.close()


def _recording(path: Path, seconds: float = 50.0, rate_hz: float = 200.0) -> None:
    """The steady simulated runner sampled at rate_hz (running starts at 5 s)."""
    world = make_scenario("steady", seed=3)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    pa, pg = world.sensor_source("pelvis").sample(t)
    ta, tg = world.sensor_source("thorax").sample(t)
    write_recording(path, [FrameChunk(t, pa, pg, ta, tg)], has_thorax=True, has_gyro=True)


def _states(verdicts) -> list[str]:
    return [v.state for v in verdicts]


def test_the_offline_analysis_judges_with_the_config(cfg, tmp_path):
    rec = tmp_path / "rec.csv"
    _recording(rec)
    result = app.offline_analysis(cfg, rec)
    # What the config asks for, built by hand.
    by_hand = Analyzer(result.rate_hz, gyro_segments=result.gyro_segments, live_phase=False,
                       drift=DriftDetector(**cfg.baseline.drift_detector_kwargs()))
    expected = []
    for chunk in [FrameChunk(*_load(rec))]:
        expected += by_hand.update(chunk).verdicts
    expected += by_hand.finish().verdicts
    assert _states(result.verdicts) == _states(expected)
    assert "in_band" in _states(result.verdicts)           # the short baseline was learnt
    default = app.offline_analysis(Config(), rec)
    assert "in_band" not in _states(default.verdicts)      # 30 s warm-up + 60 strides: not yet


def _load(path: Path):
    """(t, pelvis acc, pelvis gyro, thorax acc, thorax gyro) of a recording CSV."""
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(line for line in f if not line.startswith("#"))]
    data = np.array([[float(x) for x in r] for r in rows[1:]])
    return data[:, 0], data[:, 1:4], data[:, 4:7], data[:, 7:10], data[:, 10:13]


def test_pi_app_analyze_takes_the_config(config_file, tmp_path, capsys):
    """50 s of running: the config's short baseline (5 s warm-up, 15 strides) is learnt, the
    default one (30 s, 60 strides) is not."""
    rec = tmp_path / "rec.csv"
    _recording(rec)
    saved = tmp_path / "baseline.toml"
    assert main(["analyze", str(rec), "--config", str(config_file),
                 "--save-baseline", str(saved)]) == 0
    assert saved.exists()
    assert main(["analyze", str(rec), "--save-baseline", str(tmp_path / "b2.toml")]) != 0
    assert "no baseline could be learnt" in capsys.readouterr().err


@pytest.mark.slow
def test_an_imported_recording_is_judged_with_the_config(cfg, tmp_path):
    rec = tmp_path / "rec.csv"
    _recording(rec)
    with SessionStore.open(tmp_path / "state") as store:
        sid = app.import_recording(store, rec, cfg=cfg)
        stored = [s.drift_state for s in store.load(sid).strides]
    assert stored == _states(app.offline_analysis(cfg, rec).verdicts)
    assert "in_band" in stored


@pytest.mark.slow
def test_replay_judges_and_cues_with_the_config_the_session_was_recorded_with(
        config_file, tmp_path):
    state = tmp_path / "state"
    assert main(["demo", "--headless", "--speed", "0", "--seconds", "40", "--record",
                 "--no-sound", "--state-dir", str(state), "--config", str(config_file)]) == 0
    with SessionStore.open(state, read_only=True) as store:
        sid = store.resolve("last")
        live = store.load(sid).strides
        strides, verdicts = [], []

        def collect(update):
            strides.extend(update.strides)
            verdicts.extend(update.verdicts)
        analysis, n = app.replay_session(store, sid, on_update=collect)

        class UI:
            def draw(self, snapshot):
                pass

            def poll_commands(self):
                return []

        session = app.replay_live(store, sid, UI(), speed=0, clock=ManualClock())
    assert n == len(live) > 20
    # The store keeps sample times as float32 offsets: the same strides to within 1 us.
    assert [s.t_end_s for s in strides] == pytest.approx(
        [s.metrics.t_end_s for s in live], abs=1e-6)
    assert [s.rel_phase_deg for s in strides] == pytest.approx(
        [s.metrics.rel_phase_deg for s in live], abs=1e-3)
    assert _states(verdicts) == [s.drift_state for s in live]
    assert "in_band" in _states(verdicts)                  # the config's short baseline
    assert analysis.drift.warmup_s == 5.0
    cues = session.cue_engine.settings
    assert cues.mode == "faded"
    assert cues.metronome_on and cues.metronome_target_spm == 172.0
    assert session.cue_engine.policy.min_interval_s == 7.0


def _calls(path: Path) -> set[str]:
    """Names called as constructors in a source file (ast, so docstrings do not count)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else
                      func.attr if isinstance(func, ast.Attribute) else "")
    return names


def test_the_app_is_built_in_one_place():
    outside = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "app.py":
            continue
        found = _calls(path) & {"Analyzer", "LiveSession", "CueEngine", "CuePolicy"}
        if found:
            outside[rel] = sorted(found)
    assert outside == {}, f"built outside pi_app/app.py: {outside}"


def test_the_drain_period_has_one_definition():
    from pi_app.acquisition.process import AcquisitionSpec
    from pi_app.acquisition.sensor_thread import SensorThread
    import inspect
    assert Config().sensors.drain_interval_s == DRAIN_INTERVAL_S
    assert AcquisitionSpec().drain_interval_s == DRAIN_INTERVAL_S
    assert inspect.signature(SensorThread).parameters["drain_interval_s"].default \
        == DRAIN_INTERVAL_S
    example = tomllib.loads(EXAMPLE_TOML)
    assert example["sensors"]["drain_interval_s"] == DRAIN_INTERVAL_S
    literal = re.compile(r"(?<![\d.])0\.015(?!\d)")
    places = [f"{path.relative_to(PACKAGE).as_posix()}:{n}"
              for path in PACKAGE.rglob("*.py") if path.name != "drain.py"
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if literal.search(line) and not line.startswith("drain_interval_s = 0.015")]
    assert places == [], f"the drain period written out again: {places}"


@pytest.mark.slow
def test_demo_stride_lines_count_from_the_start_of_the_demo(tmp_path, capsys):
    """The headless lines give each stride's time since the demo started (the event log's
    `start`), not since the IMUs finished opening (which takes clock time)."""
    events = tmp_path / "ev.jsonl"
    assert main(["demo", "--headless", "--speed", "0", "--seconds", "9", "--no-record",
                 "--no-sound", "--events-out", str(events)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if " stride " in line]
    records = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    (start,) = [r["t_s"] for r in records if r.get("kind") == "start"]
    strides = [r["t_end_s"] for r in records if r["type"] == "stride"]
    printed = [float(re.match(r"t=\s*([\d.]+) s", line).group(1)) for line in lines]
    assert len(printed) == len(strides) > 3
    assert printed == pytest.approx([t - start for t in strides], abs=0.006)
