"""`pi-app analyze IN.csv --steps-out S.csv --strides-out T.csv [--json]`: run the live
analysis over a recording (spec: ../shared/spec/recording-csv.md) and write its steps and
strides. `--save-baseline FILE` writes the baseline learnt from it, `--baseline FILE` judges it
against one saved earlier (pi_app.coaching.baselines)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pi_app.coaching.baselines import Conditions, load_baseline, save_baseline
from pi_app.errors import InputFileError
from pi_app.commands import argtypes
from pi_app.config import load_config
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.offline import OFFLINE_CHUNK_S, summarize
from pi_app.recording.csv_writer import write_steps_csv, write_strides_csv


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "analyze", help="analyse a recording CSV with the live analysis code",
        description="Feed a recording CSV through the live analysis in drain-sized chunks and "
                    "write the detected steps and per-stride metrics (strides CSV format).")
    p.add_argument("recording", metavar="IN.csv", help="recording CSV (time_s, pelvis_*, thorax_*)")
    p.add_argument("--steps-out", metavar="S.csv", help="write the steps CSV here (t_s,side)")
    p.add_argument("--strides-out", metavar="T.csv", help="write the strides CSV here")
    p.add_argument("--calibration", metavar="PROFILE.toml",
                   help="calibration profile to use (gyro bias, standing vertical)")
    p.add_argument("--chunk-s", type=argtypes.positive_float("--chunk-s 1"),
                   default=OFFLINE_CHUNK_S,
                   help=f"chunk length fed to the analysis, s (default {OFFLINE_CHUNK_S}; the "
                        f"results are the same for a live drain of {DRAIN_INTERVAL_S})")
    p.add_argument("--save-baseline", metavar="FILE.toml",
                   help="write the runner's baseline learnt from this recording (TOML, "
                        "docs/coaching.md)")
    p.add_argument("--baseline", metavar="FILE.toml",
                   help="judge this recording against a saved baseline from the first stride "
                        "after the warm-up (if the cadence matches; else a fresh one is built "
                        "and the summary says why)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML whose [baseline] settings judge the drift, as live "
                        "(default: built-in defaults)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary (strides, cadence, relative phase, drift episodes)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    # Output paths are checked before the analysis, which can take minutes on a long file.
    argtypes.check_output_file(args.steps_out, "--steps-out")
    argtypes.check_output_file(args.strides_out, "--strides-out")
    argtypes.check_output_file(args.save_baseline, "--save-baseline")
    calibration = None
    if args.calibration:
        from pi_app.calibration_profile import load_profile
        calibration = load_profile(args.calibration, flag="--calibration")
    from pi_app.app import drift_detector, offline_analysis
    cfg = load_config(args.config)
    drift = drift_detector(cfg)
    if args.baseline:
        stored, _ = load_baseline(args.baseline)
        drift.use_baseline(stored)
    result = offline_analysis(cfg, args.recording, chunk_s=args.chunk_s,
                              calibration=calibration, drift=drift)
    if args.save_baseline:
        learnt = drift.learnt_baseline(origin=Path(args.recording).name,
                                       created_unix_s=time.time())
        if learnt is None:
            raise InputFileError(
                f"{args.recording}: no baseline could be learnt ({result.duration_s:.0f} s, "
                f"{len(result.strides)} strides; it takes {drift.warmup_s:g} s of warm-up "
                f"and {drift.baseline_strides} strides at one speed); record a longer run.",
                path=str(args.recording))
        save_baseline(args.save_baseline, learnt, Conditions(cadence_spm=learnt.cadence_spm))
    if args.steps_out:
        write_steps_csv(args.steps_out, result.steps)
    if args.strides_out:
        write_strides_csv(args.strides_out, result.strides)
    summary = summarize(result)
    if result.cut_line is not None:
        print(f"pi-app: {result.path}, line {result.cut_line}: the file ends in the middle of "
              "this row (an interrupted write?); it was skipped and the whole rows before it "
              "analysed.", file=sys.stderr)
    if args.baseline:
        summary["baseline"] = {"file": str(args.baseline),
                               "used": drift.stored_in_use is not None,
                               "note": drift.stored_note}
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rel = summary["rel_phase_deg_mean"]
        sides = (f"{summary['steps_right']} R / {summary['steps_left']} L"
                 if summary["sides_unknown"] is None
                 else f"sides unknown: {summary['sides_unknown']}")
        no_thorax = ("" if "thorax" in summary["segments"]
                     else ", no thorax sensor (no thorax rotation or relative phase)")
        print(f"{result.path}: {summary['duration_s']:.1f} s at {summary['rate_hz']:.0f} Hz, "
              f"{summary['steps']} steps ({sides}), "
              f"{summary['strides']} strides"
              + (f", cadence {summary['cadence_spm_mean']:.1f} spm" if summary['cadence_spm_mean'] else "")
              + (f", relative phase {rel:.0f} deg (circular SD {summary['rel_phase_deg_circular_sd']:.0f})"
                 if rel is not None else "")
              + no_thorax
              + f", {len(summary['drift_episodes'])} drift episode(s)")
        if args.baseline:
            print(drift.stored_note or "the recording ended before its warm-up did: "
                  "the baseline was never used")
    return 0
