"""`pi-app analyze IN.csv --steps-out S.csv --strides-out T.csv [--json]`: run the live
analysis over a recording (spec: ../shared/spec/recording-csv.md) and write its steps and
strides."""

from __future__ import annotations

import argparse
import json
import sys

from pi_app.commands import argtypes
from pi_app.offline import LIVE_CHUNK_S, OFFLINE_CHUNK_S, analyze_recording, summarize
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
                        f"results are the same for a live drain of {LIVE_CHUNK_S})")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary (strides, cadence, relative phase, drift episodes)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    # Output paths are checked before the analysis, which can take minutes on a long file.
    argtypes.check_output_file(args.steps_out, "--steps-out")
    argtypes.check_output_file(args.strides_out, "--strides-out")
    calibration = None
    if args.calibration:
        from pi_app.calibration_profile import load_profile
        calibration = load_profile(args.calibration, flag="--calibration")
    result = analyze_recording(args.recording, chunk_s=args.chunk_s, calibration=calibration)
    if args.steps_out:
        write_steps_csv(args.steps_out, result.steps)
    if args.strides_out:
        write_strides_csv(args.strides_out, result.strides)
    summary = summarize(result)
    if result.cut_line is not None:
        print(f"pi-app: {result.path}, line {result.cut_line}: the file ends in the middle of "
              "this row (an interrupted write?); it was skipped and the whole rows before it "
              "analysed.", file=sys.stderr)
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
    return 0
