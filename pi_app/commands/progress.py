"""`pi-app progress ATHLETE -o progress.pdf|png`: an athlete's progress over their sessions
(pi_app.coaching.progress), with a one-line verdict per metric."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pi_app.commands import argtypes
from pi_app.commands.sessions import add_state_dir
from pi_app.store.store import SessionStore


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "progress", help="an athlete's progress over sessions (PDF or PNG)",
        description="Plot an athlete's sessions: relative phase with band or target, strides "
                    "in band, drift episodes, cue dose, ROM, cadence, retention checks marked, "
                    "and a verdict per metric (improving / stable / worse, with the "
                    "statistic). Needs matplotlib (the 'report' extra).")
    p.add_argument("athlete", metavar="ATHLETE", help="athlete name or id")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="progress.pdf|png",
                   help="file to write; the extension chooses PDF or PNG")
    p.add_argument("--json", action="store_true",
                   help="also print the per-session numbers and verdicts as JSON")
    add_state_dir(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    argtypes.check_figure_output(args.output, "the progress report")
    from pi_app.coaching.progress import athlete_points, write_progress
    from pi_app.store.athletes import find_athlete
    with SessionStore.open(args.state_dir, read_only=True) as store:
        athlete = find_athlete(store, args.athlete)
        found = write_progress(store, athlete, args.output)
        if args.json:
            points = athlete_points(store, athlete)
            json.dump({"athlete": athlete.as_json(),
                       "sessions": [dict(vars(p), retention=p.retention,
                                         adherence_pct=p.adherence_pct) for p in points],
                       "verdicts": [vars(v) for v in found]}, sys.stdout, indent=1)
            sys.stdout.write("\n")
    for v in found:
        print(v.text, file=sys.stderr if args.json else sys.stdout)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
