"""Remembered baselines on the simulated runner, through the real record + analysis path;
prints JSON.

    .venv/bin/python bench/coaching_baselines.py --seeds 0 1 2 --minutes 10

Per runner (seed): day 0 a steady run whose learnt baseline is remembered (what
`pi-app analyze --save-baseline` writes); day 1 the `early-drift` scenario (the counter-
rotation loss starts 40 s into running, 10 s after the warm-up, long before a fresh baseline
could exist) judged against it (`--baseline`) and, for comparison, with a fresh baseline; day 2
a steady run of `--minutes` judged against it. Days differ in stride noise, wander, sensor
errors and strapping (a few degrees: pi_app.sim.scenarios DAY_REMOUNT_DEG).

Latency is in strides from the truth leaving the band the detector judged against to the first
drift verdict, with the three readings of bench/drift_false_alarms.py: the scripted change
crossing the band edge, the true per-stride relative phase first outside, and outside for
good. ../shared/data has no recording long enough for a baseline (reported in the JSON).
Takes about 1 CPU minute per simulated 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pi_app.analysis.drift import DriftDetector  # noqa: E402
from pi_app.cli import main  # noqa: E402
from pi_app.app import offline_analysis  # noqa: E402
from pi_app.config import Config  # noqa: E402
from pi_app.offline import drift_episodes  # noqa: E402
from pi_app.recording.csv_reader import RecordingReader, read_strides_csv  # noqa: E402
from pi_app.sim.scenarios import EARLY_DRIFT_AFTER_RUN_S, STAND_S, make_scenario  # noqa: E402
from pi_app.validation.stride_scoring import match_strides  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def record(directory: Path, scenario: str, seed: int, day: int, seconds: float) -> Path:
    path = directory / f"{scenario}-{seed}-day{day}.csv"
    main(["record", "--simulate", "--scenario", scenario, "--seed", str(seed), "--day",
          str(day), "--seconds", str(seconds), "-o", str(path), "--quiet"])
    return path


def learn(path: Path):
    detector = DriftDetector()
    offline_analysis(Config(), path, chunk_s=0.5, drift=detector)
    return detector.learnt_baseline(origin=path.name)


def latency(path: Path, seed: int, day: int, baseline) -> dict:
    detector = DriftDetector()
    if baseline is not None:
        detector.use_baseline(baseline)
    result = offline_analysis(Config(), path, chunk_s=0.5, drift=detector)
    scripted = make_scenario("early-drift", seed=seed, day=day).truth.scripted_rel_phase_deg
    truth = read_strides_csv(path.with_name(path.name[:-4] + ".strides.csv"))
    pairs = dict((j, i) for i, j in match_strides([s.t_start_s for s in truth],
                                                  [s.t_start_s for s in result.strides]))
    drift_start_s = STAND_S + EARLY_DRIFT_AFTER_RUN_S
    first_out = for_good = flag = crossing = None
    early = 0
    first_band = None
    # Replay the verdicts with the band each stride was judged against (the band learns its
    # SD as it goes, so it is read from a second detector fed the same strides).
    shadow = DriftDetector()
    if baseline is not None:
        shadow.use_baseline(baseline)
    for j, stride in enumerate(result.strides):
        band = shadow.baseline.get("rel_phase")
        verdict = shadow.update(stride)
        if stride.t_start_s < drift_start_s:
            early += verdict.drift
            continue
        if band is None:
            continue
        first_band = first_band or band
        mid_s = 0.5 * (stride.t_start_s + stride.t_end_s)
        if crossing is None and abs((scripted(mid_s) - band.center + 180.0) % 360.0
                                    - 180.0) > band.half_width:
            crossing = j
        if j in pairs:
            dev = (truth[pairs[j]].rel_phase_deg - band.center + 180.0) % 360.0 - 180.0
            out = abs(dev) > band.half_width
            first_out = j if out and first_out is None else first_out
            for_good = (j if for_good is None else for_good) if out else None
        flag = j if verdict.drift and flag is None else flag
    return {"baseline_used": detector.stored_in_use is not None,
            "note": detector.stored_note,
            "band_deg": None if first_band is None else [round(first_band.center, 1),
                                                         round(first_band.half_width, 1)],
            "flagged_before_change_strides": early,
            "flagged_at_s": None if flag is None else round(result.strides[flag].t_end_s, 1),
            "from_scripted_crossing": _between(crossing, flag),
            "from_first_out": _between(first_out, flag),
            "from_out_for_good": _between(for_good, flag)}


def _between(reference: int | None, flag: int | None) -> int | None:
    return None if reference is None or flag is None else flag - reference


def false_alarms(path: Path, baseline) -> dict:
    detector = DriftDetector()
    detector.use_baseline(baseline)
    result = offline_analysis(Config(), path, chunk_s=0.5, drift=detector)
    episodes = drift_episodes(result)
    running_min = (result.t_last_s - STAND_S) / 60.0
    return {"baseline_used": detector.stored_in_use is not None, "note": detector.stored_note,
            "minutes_running": round(running_min, 1), "episodes": len(episodes),
            "detail": [(round(e["t_start_s"]), e["metric"], e["strides"]) for e in episodes]}


def shared_data_note(data_dir: Path) -> dict:
    """The longest recording with both gyroscopes (phases need them) in ../shared/data."""
    longest = (0.0, None)
    for path in sorted(data_dir.glob("*/*.csv")):
        if path.parent.name == "truth":
            continue
        reader = RecordingReader(path)
        if not reader.has_thorax_gyro:
            continue
        duration_s = sum(len(chunk) for chunk in reader) / reader.rate_hz
        longest = max(longest, (duration_s, path.name), key=lambda x: x[0])
    return {"longest_with_both_gyros_s": round(longest[0], 1), "file": longest[1],
            "needed_for_a_baseline_s": "warm-up 30 s + 60 strides (~75 s)",
            "usable": longest[0] >= 75.0}


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="length of the steady other-day run (min)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    out: dict = {"runners": {}}
    if args.data.is_dir():
        out["shared_data"] = shared_data_note(args.data)
    total_ep = total_min = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for seed in args.seeds:
            baseline = learn(record(directory, "steady", seed, 0, 200.0))
            drift_path = record(directory, "early-drift", seed, 1, 150.0)
            r = {"baseline": {"rel_phase_center_deg": round(baseline.centers["rel_phase"], 1),
                              "rel_phase_sd_deg": round(baseline.sds["rel_phase"], 2),
                              "cadence_spm": round(baseline.cadence_spm, 1)},
                 "early_drift_remembered": latency(drift_path, seed, 1, baseline),
                 "early_drift_fresh": latency(drift_path, seed, 1, None),
                 "steady_other_day": false_alarms(
                     record(directory, "steady", seed, 2, 60.0 * args.minutes + STAND_S),
                     baseline)}
            total_ep += r["steady_other_day"]["episodes"]
            total_min += r["steady_other_day"]["minutes_running"]
            out["runners"][str(seed)] = r
            print(json.dumps({seed: r}), file=sys.stderr, flush=True)
    lat = [r["early_drift_remembered"]["from_first_out"] for r in out["runners"].values()]
    out["summary"] = {
        "early_drift_flagged_within_3_strides_of_first_out": all(
            x is not None and x <= 3 for x in lat),
        "strides_from_first_out": lat,
        "fresh_baseline_flagged": [r["early_drift_fresh"]["flagged_at_s"]
                                   for r in out["runners"].values()],
        "false_episodes_other_day": int(total_ep),
        "minutes_other_day": round(total_min, 1)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run())
