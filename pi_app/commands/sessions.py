"""`pi-app sessions [--json] [--state-dir DIR]`: list the recorded sessions."""

from __future__ import annotations

import argparse
import json
import sys

from pi_app.store.store import SessionStore


def add_state_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-dir", metavar="DIR", default=None,
                   help="state directory holding sessions.db (default: $PI_APP_STATE_DIR, "
                        "systemd's $STATE_DIRECTORY, $XDG_STATE_HOME/pi-app or "
                        "~/.local/state/pi-app)")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sessions", help="list the recorded sessions",
        description="List the sessions in the session database: id, athlete, start, duration, "
                    "strides and cues.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    add_state_dir(p)
    p.set_defaults(func=run)
    return p


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def run(args) -> int:
    with SessionStore.open(args.state_dir, read_only=True) as store:
        sessions = store.list_sessions()
    if args.json:
        json.dump([s.as_json() for s in sessions], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not sessions:
        print("no sessions recorded yet")
        return 0
    print(f"{'id':>4}  {'athlete':<20} {'start':<16} {'duration':>8} {'strides':>7} "
          f"{'cues':>7}  status")
    any_withheld = False
    for s in sessions:
        athlete = s.athlete_name or s.athlete_id or "-"
        status = s.status if s.status != "ended" else ""
        if s.simulated:
            status = (status + " simulated").strip()
        cues = f"{s.n_cues_played}" if s.n_cues == s.n_cues_played else \
            f"{s.n_cues_played}/{s.n_cues}"
        any_withheld = any_withheld or s.n_cues != s.n_cues_played
        print(f"{s.id:>4}  {athlete[:20]:<20} {s.start_text:<16} {_duration(s.duration_s):>8} "
              f"{s.n_strides:>7} {cues:>7}  {status}")
    if any_withheld:
        print("cues: played/decided. A cue is decided for each drifting stride; the rest were "
              "withheld (muted, cue mode off, too soon after the last cue, or faded).")
    return 0
