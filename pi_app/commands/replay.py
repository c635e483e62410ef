"""`pi-app replay SESSION [--speed X] [--headless]`: feed a stored session's raw samples through
the live analysis again, in live-sized chunks, at X times real time (0 = as fast as possible).

With a display it runs them through the live session (`LiveSession.feed`) and shows the coach's
dashboard, keys included (q quits), marked REPLAY with its progress and the session's own
clock; without one, or with --headless, it prints one line per stride and per cue decision
(and a closing comparison with what was stored live). Cue decisions are made again by the
cue policy of the session's stored config; nothing plays and nothing is recorded again.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from pi_app.clock import Clock, WallClock
from pi_app.commands import argtypes
from pi_app.commands.sessions import add_state_dir
from pi_app.errors import ConfigError, PiAppError
from pi_app.frames import FrameChunk
from pi_app.store.store import SessionStore, SessionSummary

#: Chunk length fed to the Analyzer (s): one live sensor drain.
REPLAY_CHUNK_S = 0.015


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


def rechunk(chunks: Iterator[FrameChunk], chunk_s: float, rate_hz: float
            ) -> Iterator[FrameChunk]:
    """Stored chunks cut into pieces of about `chunk_s` seconds (live drain size)."""
    rows = max(1, int(round(chunk_s * rate_hz)))
    for chunk in chunks:
        for start in range(0, len(chunk), rows):
            yield chunk.slice(start, start + rows)


def _calibration(summary: SessionSummary):
    """The calibration profile stored with the session, or None (with a note on stderr when
    it cannot be read)."""
    text = summary.calibration_text.strip()
    if not text:
        return None
    from pi_app.calibration_profile import load_profile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calibration.toml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_profile(path)
        except PiAppError as err:
            print(f"pi-app: the session's stored calibration is not usable ({err}); replaying "
                  "without it.", file=sys.stderr)
            return None


class ReplayCues:
    """Cue decisions for a replay: the stored config's `CuePolicy` decides at the sample time
    that closed each stride, as it did live; nothing plays (no latency)."""

    def __init__(self, policy):
        self.policy = policy

    def on_stride(self, stride, verdict, closing_sample_t_s: float):
        return self.policy.decide(stride, verdict, closing_sample_t_s)

    def set_mode(self, mode: str) -> None:
        self.policy.set_mode(mode)

    def set_muted(self, muted: bool) -> None:
        self.policy.muted = bool(muted)


def stored_config(summary: SessionSummary):
    """The config the session was recorded with (the defaults when it stored none, or when
    it cannot be read any more, with a note on stderr)."""
    from pi_app.config import Config, load_config
    text = summary.config_text.strip()
    if not text:
        return Config()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_config(path)
        except PiAppError as err:
            print(f"pi-app: the session's stored config is not usable ({err}); replaying "
                  "with the defaults.", file=sys.stderr)
            return Config()


def replay_cues(cfg) -> ReplayCues:
    """Cue decisions by the [cues] policy of `cfg` (the session's stored config)."""
    from pi_app.live.wiring import cue_policy
    return ReplayCues(cue_policy(cfg.cues))


def replay_analyzer(summary: SessionSummary, cfg):
    """A fresh live `Analyzer` for the session, with its calibration and the drift detector
    of its stored [baseline] config (so verdicts and cues are those it had live)."""
    from pi_app.analysis.drift import DriftDetector
    from pi_app.analysis.pipeline import Analyzer
    return Analyzer(summary.rate_hz, gyro_segments=summary.gyro_segments,
                    calibration=_calibration(summary),
                    drift=DriftDetector(**cfg.baseline.drift_detector_kwargs()))


#: Why R does nothing during a replay (shown when the coach presses it).
REPLAY_NOT_RECORDED = "a replay is not recorded again (the session is already stored)"


def stride_line(stride, verdict) -> str:
    """One headless line for a stride."""
    def deg(x):
        return "   -" if x is None else f"{x:4.0f}"
    state = verdict.state if verdict is not None else ""
    if verdict is not None and verdict.state == "building_baseline":
        state = f"building baseline {verdict.progress * 100:3.0f}%"
    elif verdict is not None and verdict.state == "drifting":
        state = f"DRIFTING {verdict.metric} ({verdict.direction})"
    flags = f"  [{','.join(sorted(stride.quality))}]" if stride.quality else ""
    return (f"t={stride.t_end_s:8.2f} s  stride {stride.index:4d}  cadence "
            f"{stride.cadence_spm:5.1f} spm  rel {deg(stride.rel_phase_deg)} deg  pelvis "
            f"{deg(stride.pelvis_phase_deg)} deg  thorax {deg(stride.thorax_phase_deg)} deg  "
            f"{state}{flags}")


def replay_session(store: SessionStore, session_id: int, *, speed: float = 0.0,
                   clock: Clock | None = None, on_update: Callable | None = None,
                   chunk_s: float = REPLAY_CHUNK_S):
    """Run the session's samples through a fresh live `Analyzer`; `on_update(update)` gets
    every AnalysisUpdate. speed > 0 paces the feed at that many times real time on `clock`
    (default wall clock). Returns (analyzer, strides replayed)."""
    summary = store.summary(session_id)
    if not summary.n_samples or not summary.rate_hz:
        raise PiAppError(f"session {session_id} has no stored raw samples to replay.")
    cfg = stored_config(summary)
    analyzer = replay_analyzer(summary, cfg)
    # The remembered band, the target and the coach's B / N of the live session.
    from pi_app.coaching.replay import ReplayBands
    bands = ReplayBands.of_session(store, session_id, cfg.baseline.drift_detector_kwargs())
    bands.prepare(analyzer.drift)
    clock = clock if clock is not None else WallClock()
    start_wall_s = clock.now_s()
    n_strides = 0
    for chunk in bands.split(rechunk(store.iter_samples(session_id), chunk_s,
                                     summary.rate_hz)):
        if speed > 0:
            due_s = start_wall_s + (float(chunk.t_s[-1]) - summary.t_first_s) / speed
            wait_s = due_s - clock.now_s()
            if wait_s > 0:
                clock.sleep_s(wait_s)
        bands.before(chunk, analyzer)
        update = analyzer.update(chunk)
        bands.after(analyzer.drift)
        n_strides += len(update.strides)
        if on_update is not None:
            on_update(update)
    update = analyzer.finish()
    n_strides += len(update.strides)
    if on_update is not None:
        on_update(update)
    return analyzer, n_strides


class StoredReader:
    """The sensor reader a `LiveSession` expects, for samples that come from the store: no
    rings, no live sensors, and a heartbeat that is always fresh (the feed is the clock)."""

    roles: tuple[str, ...] = ()
    rings: dict = {}

    def __init__(self, clock: Clock):
        self._clock = clock

    class _Health:
        def __init__(self, clock: Clock):
            self._clock = clock

        @property
        def heartbeat_s(self) -> float:
            return self._clock.now_s()

    @property
    def health(self):
        return StoredReader._Health(self._clock)

    def snapshot(self) -> dict:
        return {"heartbeat_s": self._clock.now_s(), "sensors": {}}


def replay_live(store: SessionStore, session_id: int, ui, *, speed: float = 1.0,
                clock: Clock | None = None, fps: float = 30.0,
                chunk_s: float = REPLAY_CHUNK_S):
    """Replay the session through a `LiveSession` (live analysis, snapshots, coach commands)
    and draw it on `ui` (`draw(snapshot)`, `poll_commands()`) at most `fps` times a second
    of `clock` time; speed as in `replay_session`. Stops early when the coach quits.
    Returns the LiveSession."""
    from pi_app.live.session import LiveSession
    from pi_app.live.snapshot import ReplayInfo
    summary = store.summary(session_id)
    if not summary.n_samples or not summary.rate_hz:
        raise PiAppError(f"session {session_id} has no stored raw samples to replay.")
    clock = clock if clock is not None else WallClock()
    cfg = stored_config(summary)
    session = LiveSession(StoredReader(clock), clock, replay_analyzer(summary, cfg),
                          replay_cues(cfg), drift_kwargs=cfg.baseline.drift_detector_kwargs(),
                          simulated=summary.simulated, scenario=summary.scenario,
                          calibration_text=f"replay of session {session_id}"
                          + (" (calibrated)" if summary.calibration_text.strip() else ""))
    session.recording_off_reason = REPLAY_NOT_RECORDED
    session.display_start_s = summary.t_first_s
    from pi_app.coaching.replay import ReplayBands
    from pi_app.coaching.target import TargetHook
    bands = ReplayBands.of_session(store, session_id, cfg.baseline.drift_detector_kwargs())
    bands.prepare(session.analyzer.drift)
    session.hooks.append(TargetHook(session, bands.target))
    duration_s = summary.duration_s
    session.replay = ReplayInfo(session_id, 0.0, float(speed), duration_s)
    start_s = clock.now_s()
    next_draw_s = -np.inf
    for chunk in bands.split(rechunk(store.iter_samples(session_id), chunk_s,
                                     summary.rate_hz)):
        done_s = float(chunk.t_s[-1]) - summary.t_first_s
        session.replay = ReplayInfo(session_id, min(1.0, done_s / duration_s)
                                    if duration_s > 0 else 1.0, float(speed), duration_s)
        if speed > 0:
            wait_s = start_s + (float(chunk.t_s[-1]) - summary.t_first_s) / speed \
                - clock.now_s()
            if wait_s > 0:
                clock.sleep_s(wait_s)
        bands.before(chunk, session.analyzer, session)
        session.feed(chunk)
        now_s = clock.now_s()
        if now_s >= next_draw_s:
            next_draw_s = now_s + 1.0 / fps
            ui.draw(session.box.get()[0])
            for command in ui.poll_commands():
                session.commands.put(command)
        if session.quit_requested:
            break
    else:
        ui.draw(session.box.get()[0])
    return session


def _open_ui(summary: SessionSummary):
    """(ui, None) or (None, why not) for the dashboard."""
    try:
        from pi_app.ui.display import display_reachable, open_live_ui
    except ImportError:
        return None, "the dashboard is not part of this installation"
    if not display_reachable():
        return None, "no display found (DISPLAY is not set)"
    try:
        return open_live_ui(None, simulated=summary.simulated, fullscreen=False), None
    except PiAppError as err:
        return None, str(err).rstrip(".")


def run(args) -> int:
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
        cues = replay_cues(stored_config(stored))
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

        _, n = replay_session(store, session_id, speed=args.speed, on_update=show)
    print(f"session {session_id} replayed: {n} strides (stored live: {stored.n_strides})")
    return 0
