"""`pi-app replay SESSION [--speed X] [--headless]`: feed a stored session's raw samples through
the live analysis again, in live-sized chunks, at X times real time (0 = as fast as possible).

With a display it runs them through the live session (`LiveSession.feed`) and shows the coach's
dashboard, keys included (q quits), marked REPLAY with its progress and the session's own
clock; without one, or with --headless, it prints one line per stride and per cue decision
(and a closing comparison with what was stored live). The analysis and the cue decisions are
built by pi_app.app from the session's stored config and calibration; nothing plays and
nothing is recorded again.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from pi_app.commands import argtypes
from pi_app.commands.sessions import add_state_dir
from pi_app.errors import ConfigError, PiAppError
from pi_app.store.store import SessionStore, SessionSummary


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "replay", help="replay a stored session through the live analysis",
        description="Feed a stored session's raw samples through the live analysis again, "
                    "as if it were running now.")
    p.add_argument("session", metavar="SESSION", help="session id (see pi-app sessions) or 'last'")
    p.add_argument("--speed", type=argtypes.speed_factor("as fast as possible"), default=1.0,
                   help="replay speed, times real time (default 1; 0 = as fast as possible)")
    p.add_argument("--headless", action="store_true",
                   help="no dashboard: print one line per stride")
    add_state_dir(p)
    p.set_defaults(func=run)
    return p


def _open_ui(summary: SessionSummary):
    """(ui, None) or (None, why not) for the dashboard."""
    from pi_app.ui.display import display_reachable, open_live_ui
    if not display_reachable():
        return None, "no display found (DISPLAY is not set)"
    try:
        return open_live_ui(None, simulated=summary.simulated, fullscreen=False), None
    except PiAppError as err:
        return None, str(err).rstrip(".")


def run(args) -> int:
    from pi_app.app import replay_cues, replay_live, replay_session, stored_config
    from pi_app.clock import WallClock
    from pi_app.replay import stride_line
    if not (args.speed >= 0 and np.isfinite(args.speed)):
        raise ConfigError(f"--speed is {args.speed:g}; give a factor such as 1 (real time), "
                          "10, or 0 for as fast as possible.", key="speed")
    with SessionStore.open(args.state_dir, read_only=True) as store:
        session_id = store.resolve(args.session)
        stored = store.summary(session_id)
        ui = None
        if not args.headless:
            ui, why = _open_ui(stored)
            if ui is None:
                print(f"pi-app: {why}: replaying headless.", file=sys.stderr)
        if ui is not None:
            try:
                session = replay_live(store, session_id, ui, speed=args.speed)
            finally:
                ui.close()
            print(f"session {session_id} replayed: {session.analyzer.n_strides} strides "
                  f"(stored live: {stored.n_strides})")
            return 0

        from pi_app.live.printer import StridePrinter
        cfg = stored_config(stored)
        cues = replay_cues(cfg, WallClock())
        printer = StridePrinter(lambda line: print(line, flush=True))

        def show(update):
            # Live, cues are decided at the newest sample of the chunk that closed the stride.
            closing_t_s = float(update.trace_t_s[-1]) if update.trace_t_s.size else None
            for stride, verdict in zip(update.strides, update.verdicts):
                print(stride_line(stride, verdict), flush=True)
                cue = cues.on_stride(stride, verdict, closing_t_s if closing_t_s is not None
                                     else stride.t_end_s)
                if cue is not None:
                    printer.on_cue(cue)

        _, n = replay_session(store, session_id, speed=args.speed, on_update=show,
                              cfg=cfg)
    print(f"session {session_id} replayed: {n} strides (stored live: {stored.n_strides})")
    return 0
