"""Drift detector on the simulated runner through the real record + analysis path; prints JSON.

    .venv/bin/python bench/drift_false_alarms.py --seeds 0 1 2 --minutes 20

False alarms: drift episodes per 10 min of running in the `steady` and `slow-wander` scenarios.
Latency: in the `drift` scenario, strides to the first drift verdict (negative = flagged
before) from three readings of "the truth leaving the band the detector had learned": the
scripted change (the scenario's noise-free relative phase ramp) crossing the band edge; the
true per-stride relative phase (simulator truth, with the runner's natural stride-to-stride
jitter) first outside the band; and it staying outside. Also whether anything was flagged
before the change.
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
from pi_app.recording.csv_reader import read_strides_csv  # noqa: E402
from pi_app.sim.scenarios import DRIFT_AFTER_RUN_S, STAND_S, make_scenario  # noqa: E402
from pi_app.validation.stride_scoring import match_strides  # noqa: E402


def record(directory: Path, scenario: str, seed: int, seconds: float) -> Path:
    path = directory / f"{scenario}-{seed}.csv"
    main(["record", "--simulate", "--scenario", scenario, "--seed", str(seed), "--seconds",
          str(seconds), "-o", str(path), "--quiet"])
    return path


def false_alarms(path: Path) -> dict:
    result = offline_analysis(Config(), path, chunk_s=0.5)
    episodes = drift_episodes(result)
    running_min = (result.t_last_s - STAND_S) / 60.0
    return {"minutes_running": round(running_min, 1), "episodes": len(episodes),
            "per_10_min": round(10.0 * len(episodes) / running_min, 2),
            "detail": [(round(e["t_start_s"]), e["metric"], e["strides"]) for e in episodes]}


def latency(path: Path, seed: int) -> dict:
    scripted = make_scenario("drift", seed=seed).truth.scripted_rel_phase_deg
    result = offline_analysis(Config(), path, chunk_s=0.5)
    truth = read_strides_csv(path.with_name(path.name[:-4] + ".strides.csv"))
    pairs = dict((j, i) for i, j in match_strides([s.t_start_s for s in truth],
                                                  [s.t_start_s for s in result.strides]))
    drift_start_s = STAND_S + DRIFT_AFTER_RUN_S
    detector = DriftDetector()
    first_out = for_good = flag = crossing = None
    early = 0
    for j, stride in enumerate(result.strides):
        band = detector.baseline.get("rel_phase")
        verdict = detector.update(stride)
        if stride.t_start_s < drift_start_s:
            early += verdict.drift
            continue
        dev = (truth[pairs[j]].rel_phase_deg - band.center + 180.0) % 360.0 - 180.0
        out = abs(dev) > band.half_width
        mid_s = 0.5 * (stride.t_start_s + stride.t_end_s)
        if crossing is None and abs((scripted(mid_s) - band.center + 180.0) % 360.0
                                    - 180.0) > band.half_width:
            crossing = j
        first_out = j if out and first_out is None else first_out
        for_good = (j if for_good is None else for_good) if out else None
        flag = j if verdict.drift and flag is None else flag
    return {"flagged_before_change_strides": early,
            "from_scripted_crossing": _strides_between(crossing, flag),
            "from_first_out": _strides_between(first_out, flag),
            "from_out_for_good": _strides_between(for_good, flag)}


def _strides_between(reference: int | None, flag: int | None) -> int | None:
    """flag - reference in strides; None when either never happened (e.g. the true rel phase
    came back into the band at the very end, so it never left it for good)."""
    return None if reference is None or flag is None else flag - reference


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=20.0)
    args = parser.parse_args()
    out: dict = {"false_alarms": {}, "drift_latency": {}}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        total_ep = total_min = 0.0
        for scenario in ("steady", "slow-wander"):
            for seed in args.seeds:
                r = false_alarms(record(directory, scenario, seed, args.minutes * 60.0))
                out["false_alarms"][f"{scenario}/{seed}"] = r
                total_ep += r["episodes"]
                total_min += r["minutes_running"]
        out["false_alarms_per_10_min"] = round(10.0 * total_ep / total_min, 2)
        for seed in args.seeds:
            out["drift_latency"][str(seed)] = latency(record(directory, "drift", seed, 240.0),
                                                          seed)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run())
