"""`pi-app analyze` on every kind of recording the spec allows: rates 50-2000 Hz, short, no
standing period, pelvis-only, accelerometer-only, gaps, comments; and bad input as one
sentence. Recordings are made from the simulated runner sampled directly at the wanted rate,
with its truth, so the outputs are checked against known foot strikes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from pi_app.cli import main
from pi_app.frames import FrameChunk
from pi_app.recording.csv_writer import write_recording
from pi_app.sim.scenarios import make_scenario
from pi_app.validation.step_scoring import score_steps

STRIDE_COLUMNS = ["stride", "t_start_s", "t_end_s", "cadence_spm", "pelvis_rom_deg",
                  "thorax_rom_deg", "pelvis_phase_deg", "thorax_phase_deg", "rel_phase_deg",
                  "drift"]


def simulated_recording(path, rate_hz: float, t0_s: float, t1_s: float, *, seed: int = 0,
                        thorax: bool = True, gyro: bool = True):
    """Write the steady runner sampled at rate_hz over [t0_s, t1_s) (running starts at 5 s);
    returns its truth steps in that window."""
    world = make_scenario("steady", seed=seed)
    t = t0_s + np.arange(int((t1_s - t0_s) * rate_hz)) / rate_hz
    pa, pg = world.sensor_source("pelvis").sample(t)
    ta, tg = world.sensor_source("thorax").sample(t)
    chunk = FrameChunk(t, pa, pg if gyro else None, ta if thorax else None,
                       tg if (thorax and gyro) else None)
    write_recording(path, [chunk], has_thorax=thorax, has_gyro=gyro,
                    comments=[f"simulated steady runner, seed {seed}, {rate_hz:g} Hz"])
    return world.truth.steps_between(t0_s, t1_s)


def run_analyze(tmp_path, rec, *extra):
    steps_out, strides_out = tmp_path / "steps.csv", tmp_path / "strides.csv"
    code = main(["analyze", str(rec), "--steps-out", str(steps_out),
                 "--strides-out", str(strides_out), *extra])
    assert code == 0
    with open(steps_out, newline="") as f:
        steps = list(csv.DictReader(f))
    with open(strides_out, newline="") as f:
        reader = csv.DictReader(f)
        strides = list(reader)
        assert reader.fieldnames == STRIDE_COLUMNS
    return steps, strides


def step_f1(truth, steps, t0_s, t1_s):
    from pi_app.analysis.types import Step
    detected = [Step(float(s["t_s"]), s["side"]) for s in steps]
    return score_steps(truth, detected, t0_s, t1_s)


@pytest.mark.parametrize("rate_hz", [50.0, 200.0, 2000.0])
def test_rates_from_50_to_2000_hz(tmp_path, rate_hz):
    rec = tmp_path / "run.csv"
    truth = simulated_recording(rec, rate_hz, 0.0, 25.0)
    steps, strides = run_analyze(tmp_path, rec)
    score = step_f1(truth, steps, 0.0, 25.0)
    assert score["f1"] >= 0.99 and score["side_accuracy"] >= 0.98
    # 20 s of running at ~170 spm: about 14 strides, all with rotation metrics.
    assert len(strides) >= 10
    assert all(s["rel_phase_deg"] != "" for s in strides[1:])


def test_short_recording_without_standing_period(tmp_path):
    rec = tmp_path / "short.csv"
    truth = simulated_recording(rec, 100.0, 10.0, 15.0)     # 5 s, mid-run
    steps, strides = run_analyze(tmp_path, rec)
    assert step_f1(truth, steps, 10.0, 15.0)["f1"] >= 0.99
    assert len(strides) >= 2


def test_pelvis_only_and_accelerometer_only(tmp_path):
    rec = tmp_path / "pelvis.csv"
    truth = simulated_recording(rec, 200.0, 0.0, 20.0, thorax=False)
    steps, strides = run_analyze(tmp_path, rec)
    assert step_f1(truth, steps, 0.0, 20.0)["f1"] >= 0.99
    assert strides and all(s["thorax_rom_deg"] == "" and s["rel_phase_deg"] == ""
                           for s in strides)
    assert all(s["pelvis_rom_deg"] != "" for s in strides[1:])

    rec = tmp_path / "acc.csv"
    truth = simulated_recording(rec, 200.0, 0.0, 20.0, thorax=False, gyro=False)
    steps, strides = run_analyze(tmp_path, rec)
    assert step_f1(truth, steps, 0.0, 20.0)["f1"] >= 0.99
    assert all(s["side"] == "" for s in steps)
    assert strides and all(s["pelvis_rom_deg"] == "" and s["cadence_spm"] != "" for s in strides)


def test_gaps_are_bridged(tmp_path):
    rec = tmp_path / "gaps.csv"
    simulated_recording(rec, 200.0, 0.0, 30.0)
    lines = rec.read_text().splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("time_s"))
    # Empty fields for 1 s (a sensor gap) and 1 s of missing rows further on.
    for i in range(header_at + 1 + 200 * 12, header_at + 1 + 200 * 13):
        lines[i] = lines[i].split(",")[0] + "," * (lines[i].count(","))
    del lines[header_at + 1 + 200 * 20: header_at + 1 + 200 * 21]
    rec.write_text("\n".join(lines) + "\n")
    steps, strides = run_analyze(tmp_path, rec)
    assert len(steps) > 40
    # A stride with missing sensor values inside has no rotation metrics; a stride across
    # missing rows is skipped (its strikes are unknown); none is a one-step pseudo-stride.
    gap_strides = [s for s in strides if float(s["t_end_s"]) > 12.0 and float(s["t_start_s"]) < 13.0]
    assert all(s["rel_phase_deg"] == "" for s in gap_strides)
    assert not [s for s in strides if float(s["t_end_s"]) > 20.0 and float(s["t_start_s"]) < 21.0]
    cadences = [float(s["cadence_spm"]) for s in strides]
    assert all(140 < c < 200 for c in cadences), cadences


def test_json_summary(tmp_path, capsys):
    rec = tmp_path / "run.csv"
    simulated_recording(rec, 200.0, 0.0, 30.0)
    capsys.readouterr()
    assert main(["analyze", str(rec), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["strides"] >= 15
    assert 150 < summary["cadence_spm_mean"] < 200
    assert summary["rel_phase_deg_mean"] is not None
    assert summary["rel_phase_deg_circular_sd"] < 20
    assert summary["drift_episodes"] == []


@pytest.mark.slow
def test_results_do_not_depend_on_chunk_size(tmp_path):
    rec = tmp_path / "run.csv"
    simulated_recording(rec, 500.0, 0.0, 20.0)
    steps_a, strides_a = run_analyze(tmp_path, rec, "--chunk-s", "0.015")
    steps_b, strides_b = run_analyze(tmp_path, rec, "--chunk-s", "0.7")
    assert [s["side"] for s in steps_a] == [s["side"] for s in steps_b]
    assert len(strides_a) == len(strides_b)
    # Same numbers up to float rounding: a value within 1e-9 of a rounding boundary may print
    # one last digit apart, never more.
    for rows_a, rows_b in ((steps_a, steps_b), (strides_a, strides_b)):
        for ra, rb in zip(rows_a, rows_b):
            for key in ra:
                if key == "side" or ra[key] == rb[key]:
                    continue
                assert abs(float(ra[key]) - float(rb[key])) <= 0.0101, (key, ra, rb)


@pytest.mark.parametrize("text,where", [
    ("time_s,pelvis_acc_x_g,pelvis_acc_y_g,pelvis_acc_z_g\n0,0,0,1\n0.01,0,zero,1\n", "line 3"),
    ("time_s,pelvis_acc_x_g,pelvis_acc_y_g\n0,0,0\n", "pelvis_acc_z_g"),
    ("", "empty"),
])
def test_malformed_input_is_one_sentence(tmp_path, capsys, text, where):
    rec = tmp_path / "bad.csv"
    rec.write_text(text)
    code = main(["analyze", str(rec)])
    err = capsys.readouterr().err
    assert code != 0
    assert where in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_is_one_sentence(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.csv")]) != 0
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
