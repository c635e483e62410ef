"""The retraining programme end to end on the simulated runner, through the CLI; prints JSON.

    .venv/bin/python bench/coaching_programme.py --scale 0.15 --out /tmp/progress.png

Assigns config/programmes/faded-8.toml (durations times --scale, so 8 sessions fit in a few CPU
minutes) to a new athlete, then runs `pi-app demo --headless --speed 1000 --athlete ... --record`
until the programme is complete (each run is the same runner on another --day), and writes
`pi-app progress` to --out. With --target-deg the programme gets a shaped target (the band
moved toward anti-phase), so cues have something to guide toward. Reports per session what the
app ran (programme session, feedback, target, planned and run minutes, cues played/withheld)
and the verdicts. The simulated runner does not respond to cues, so it never holds the target
(the shaping rule keeps it where it is) and "stable" verdicts are the expected outcome; this
measures that the programme runs, not that retraining works.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pi_app.cli import main  # noqa: E402
from pi_app.coaching.progress import athlete_points, verdicts  # noqa: E402
from pi_app.store import SessionStore  # noqa: E402
from pi_app.store.athletes import find_athlete  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def scaled_programme(scale: float, target_deg: float) -> str:
    text = (REPO / "config" / "programmes" / "faded-8.toml").read_text(encoding="utf-8")
    text = re.sub(r"duration_min = ([\d.]+)",
                  lambda m: f"duration_min = {max(0.5, float(m.group(1)) * scale):.2f}", text)
    if target_deg:
        # A target the athlete is asked to reach, shaped: it moves 5 deg further only after
        # a session that held it (>= 70 % of strides in band over its last minute).
        text = text.replace("[[session]]", f"""[shaping]
start_offset_deg = {target_deg:g}
step_deg = 5.0
hold_in_band_frac = 0.7
over_last_min = 1.0
max_offset_deg = 40.0

[[session]]""", 1)
    return text


def _note(detail: str) -> str:
    """The text of a stored_baseline event (JSON with the baseline for a replay)."""
    return json.loads(detail)["detail"] if detail.startswith("{") else detail


def replay_mismatches(store, session_id: int) -> dict:
    """Replay the session (`pi-app replay`'s analysis) and count the strides whose drift
    state or direction differs from what was stored live."""
    from pi_app.app import replay_session
    verdicts_by_t = {}

    def keep(update):
        for stride, verdict in zip(update.strides, update.verdicts):
            verdicts_by_t[round(stride.t_end_s, 4)] = verdict
    with contextlib.redirect_stderr(io.StringIO()):
        replay_session(store, session_id, on_update=keep)
    live = store.load(session_id).strides
    compared = differ = 0
    for st in live:
        v = verdicts_by_t.get(round(st.metrics.t_end_s, 4))
        if v is None:
            continue
        compared += 1
        differ += (v.state, v.direction) != (st.drift_state, st.drift_direction)
    return {"strides_live": len(live), "compared": compared, "differ": differ}


def quiet(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("progress.png"))
    parser.add_argument("--target-deg", type=float, default=15.0,
                        help="shaped target toward anti-phase (0: stay in your band)")
    args = parser.parse_args()
    out: dict = {"scale": args.scale, "sessions": []}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        prog = Path(tmp) / "programme.toml"
        prog.write_text(scaled_programme(args.scale, args.target_deg), encoding="utf-8")
        quiet(["athletes", "add", "Bench Runner", "--state-dir", str(state)])
        quiet(["athletes", "programme", "bench runner", str(prog), "--state-dir", str(state)])
        t0 = time.perf_counter()
        for day in range(12):                         # 8 sessions; a safety margin
            with SessionStore.open(state, read_only=True) as store:
                from pi_app.coaching.plan import plan_next
                _, nxt = plan_next(store, find_athlete(store, "bench runner"))
            if nxt is None:
                break
            quiet(["demo", "--headless", "--speed", "1000", "--seed", str(args.seed), "--day",
                   str(day), "--athlete", "Bench Runner", "--record", "--state-dir",
                   str(state)])
        out["cpu_wall_s"] = round(time.perf_counter() - t0, 1)
        with SessionStore.open(state, read_only=True) as store:
            athlete = find_athlete(store, "bench runner")
            for p in athlete_points(store, athlete):
                data = store.load(p.session_id)
                out["sessions"].append({
                    "session": p.session_id, "programme_session": p.programme_session,
                    "feedback": p.feedback, "planned_min": round(p.planned_minutes, 2),
                    "run_min": round(p.minutes, 2),
                    "adherence_pct": round(p.adherence_pct, 1),
                    "cues_played": sum(c.played for c in data.cues),
                    "cues_withheld": sum(not c.played for c in data.cues),
                    "in_band_pct": None if p.in_band_pct is None else round(p.in_band_pct, 1),
                    "target_offset_deg": p.target_offset_deg,
                    "baseline": next((_note(e.detail) for e in data.events
                                      if e.kind == "stored_baseline"), None),
                    "replay_mismatches": replay_mismatches(store, p.session_id)})
            out["verdicts"] = [v.text for v in verdicts(athlete_points(store, athlete))]
        quiet(["progress", "bench runner", "-o", str(args.out), "--state-dir", str(state)])
    out["programme_complete"] = len(out["sessions"]) == 8 and all(
        s["adherence_pct"] >= 80 for s in out["sessions"])
    out["retention_without_cues"] = out["sessions"][-1]["feedback"] == "none" and \
        out["sessions"][-1]["cues_played"] == 0
    out["figure"] = str(args.out)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run())
