"""`pi-app athletes`: the athletes in the session database.

    pi-app athletes list [--json]
    pi-app athletes add NAME
    pi-app athletes rename NAME NEW_NAME
    pi-app athletes show NAME [--json]
    pi-app athletes export NAME -o DIR        # every session of theirs + athlete.json
    pi-app athletes delete NAME [--yes]       # and every session of theirs, after confirming
    pi-app athletes programme NAME [FILE.toml | --remove]   # assign / show / remove

NAME may be any spelling of the name (case and spaces do not matter) or the athlete's id.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pi_app.commands.sessions import add_state_dir
from pi_app.errors import ConfigError
from pi_app.store.athletes import (add_athlete, athlete_session_ids, delete_athlete,
                                   find_athlete, list_athletes, rename_athlete)
from pi_app.store.store import SessionStore, SessionStoreError


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "athletes", help="list, add, rename, show, export or delete athletes",
        description="The athletes in the session database. A session belongs to one athlete "
                    "(`pi-app run --athlete NAME`). Names match whatever their case and "
                    "spacing; an id works too.")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    ls = sub.add_parser("list", help="every athlete with their number of sessions")
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    add = sub.add_parser("add", help="add an athlete")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--notes", default="", metavar="TEXT", help="notes kept with the athlete")
    ren = sub.add_parser("rename", help="rename an athlete (their sessions follow)")
    ren.add_argument("name", metavar="NAME")
    ren.add_argument("new_name", metavar="NEW_NAME")
    show = sub.add_parser("show", help="an athlete's sessions and remembered baselines")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    exp = sub.add_parser("export", help="export every session of an athlete to a folder")
    exp.add_argument("name", metavar="NAME")
    exp.add_argument("-o", "--out", required=True, type=Path, metavar="DIR",
                     help="folder to write into (created if missing)")
    dele = sub.add_parser("delete", help="delete an athlete and every session of theirs")
    dele.add_argument("name", metavar="NAME")
    dele.add_argument("--yes", action="store_true",
                      help="do not ask for confirmation (scripts)")
    prog = sub.add_parser("programme", help="assign a retraining programme (TOML) to an athlete")
    prog.add_argument("name", metavar="NAME")
    prog.add_argument("file", type=Path, nargs="?", metavar="PROGRAMME.toml",
                      help="the programme (e.g. config/programmes/faded-8.toml); "
                           "without it, the athlete's programme is shown")
    prog.add_argument("--remove", action="store_true", help="remove the athlete's programme")
    for q in (ls, add, ren, show, exp, dele, prog):
        add_state_dir(q)
    p.set_defaults(func=run, action=None)
    return p


def _date(unix_s: float | None) -> str:
    return "-" if unix_s is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(unix_s))


def run(args, stdin=None, stdout=None) -> int:
    out = stdout if stdout is not None else sys.stdout
    stdin = stdin if stdin is not None else sys.stdin
    action = args.action or "list"
    state_dir = getattr(args, "state_dir", None)      # `pi-app athletes` alone lists
    read_only = action in ("list", "show", "export") or (
        action == "programme" and args.file is None and not args.remove)
    db = SessionStore.open(state_dir, read_only=False) if not read_only else None
    try:
        if db is None:
            try:
                db = SessionStore.open(state_dir, read_only=True)
            except SessionStoreError:
                if action == "list":
                    print("no athletes yet (no session database); add one with "
                          "`pi-app athletes add NAME`", file=out)
                    return 0
                raise
        return _ACTIONS[action](db, args, out, stdin)
    finally:
        if db is not None:
            db.close()


def _list(db, args, out, stdin) -> int:
    athletes = list_athletes(db)
    if getattr(args, "json", False):
        json.dump([a.as_json() for a in athletes], out, indent=2)
        out.write("\n")
        return 0
    if not athletes:
        print("no athletes yet; add one with `pi-app athletes add NAME`", file=out)
        return 0
    print(f"{'id':>4}  {'name':<30} {'sessions':>8}  last session", file=out)
    for a in athletes:
        print(f"{a.id:>4}  {a.name[:30]:<30} {a.n_sessions:>8}  {_date(a.last_session_unix_s)}",
              file=out)
    return 0


def _add(db, args, out, stdin) -> int:
    a = add_athlete(db, args.name, notes=args.notes)
    print(f"added athlete {a.name!r} (id {a.id})", file=out)
    return 0


def _rename(db, args, out, stdin) -> int:
    old = find_athlete(db, args.name)
    a = rename_athlete(db, old.id, args.new_name)
    print(f"renamed athlete {old.name!r} to {a.name!r} (id {a.id}, {a.n_sessions} "
          "session(s))", file=out)
    return 0


def _show(db, args, out, stdin) -> int:
    from pi_app.coaching.store import list_baselines
    a = find_athlete(db, args.name)
    sessions = [db.summary(i) for i in athlete_session_ids(db, a.id)]
    baselines = list_baselines(db, a.id)
    if args.json:
        json.dump({"athlete": a.as_json(), "sessions": [s.as_json() for s in sessions],
                   "baselines": [b.as_json() for b in baselines]}, out, indent=2)
        out.write("\n")
        return 0
    print(f"{a.name} (id {a.id}), added {_date(a.created_unix_s)}"
          + (f"; notes: {a.notes}" if a.notes else ""), file=out)
    print(f"{len(sessions)} session(s)", file=out)
    for s in sessions:
        speed = f", {s.treadmill_speed_kmh:g} km/h" if s.treadmill_speed_kmh else ""
        print(f"  session {s.id:>4}  {s.start_text}  {s.duration_s / 60:5.1f} min  "
              f"{s.n_strides:>5} strides  {s.n_drift_strides:>4} drifting  "
              f"{s.n_cues_played:>3} cues{speed}", file=out)
    print(f"{len(baselines)} remembered baseline(s)", file=out)
    for b in baselines:
        print(f"  {b.describe()}", file=out)
    _print_programme(db, a, out)
    return 0


def _print_programme(db, a, out) -> None:
    from pi_app.coaching.plan import plan_next
    planned = plan_next(db, a)
    if planned is None:
        print("no programme (assign one with `pi-app athletes programme NAME FILE`)", file=out)
        return
    programme, session = planned
    print(f"programme {programme.name!r}: {programme.description}", file=out)
    print("  next: " + (session.describe(len(programme)) if session else "complete"), file=out)


def _programme(db, args, out, stdin) -> int:
    from pi_app.coaching.plan import set_programme
    a = find_athlete(db, args.name)
    if args.remove:
        set_programme(db, a, "", "")
        print(f"removed the programme of {a.name!r} (their sessions stay)", file=out)
        return 0
    if args.file is not None:
        from pi_app.coaching.programme import load_programme
        load_programme(args.file)         # a clear error for a bad file, before storing
        text = args.file.read_text(encoding="utf-8")
        programme = set_programme(db, a, text, str(args.file))
        assert programme is not None      # the file was a valid programme, so not empty
        print(f"{a.name!r} now follows {programme.name!r} ({len(programme)} sessions)",
              file=out)
    _print_programme(db, a, out)
    return 0


def _export(db, args, out, stdin) -> int:
    from pi_app.coaching.store import list_baselines
    from pi_app.store.export import export_session
    a = find_athlete(db, args.name)
    folder = Path(args.out)
    ids = athlete_session_ids(db, a.id)
    for session_id in ids:
        export_session(db, session_id, folder)
    baselines = list_baselines(db, a.id)
    for b in baselines:
        (folder / f"baseline-{b.id}.toml").write_text(b.toml_text, encoding="utf-8")
    (folder / "athlete.json").write_text(json.dumps(
        {"athlete": a.as_json(), "sessions": [db.summary(i).as_json() for i in ids]},
        indent=2) + "\n", encoding="utf-8")
    print(f"exported {a.name!r}: {len(ids)} session(s), {len(baselines)} baseline(s) and "
          f"athlete.json to {folder}", file=out)
    return 0


def _delete(db, args, out, stdin) -> int:
    a = find_athlete(db, args.name)
    if not args.yes:
        if not stdin.isatty():
            raise ConfigError(f"deleting {a.name!r} removes {a.n_sessions} session(s) for good; "
                              "run it in a terminal to confirm, or add --yes.", key="--yes")
        print(f"Delete athlete {a.name!r} and their {a.n_sessions} session(s) with all "
              "their data? This cannot be undone.", file=out)
        print("Type the athlete's name to confirm: ", end="", file=out, flush=True)
        answer = stdin.readline()
        if " ".join(answer.split()).casefold() != " ".join(a.name.split()).casefold():
            print("not deleted (the name typed did not match).", file=out)
            return 1
    athlete, n = delete_athlete(db, a.id)
    print(f"deleted athlete {athlete.name!r} and {n} session(s).", file=out)
    return 0


_ACTIONS = {"list": _list, "add": _add, "rename": _rename, "show": _show, "export": _export,
            "delete": _delete, "programme": _programme}
