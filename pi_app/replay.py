"""Replaying a stored session: its raw samples fed again, in live-sized chunks, to an analysis
built by the composition root (pi_app.app) from the session's stored config and calibration.

`feed_analyzer` drives a bare `Analyzer` (headless replay, one line per stride);
`feed_session` drives a `LiveSession` and draws it on the dashboard. Both pace the feed at
`speed` times real time on a clock (0: as fast as possible). Nothing here builds the
analysis or reads the config: that is pi_app.app's job, so a replay judges with the
settings the session had live.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from pi_app.clock import Clock
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import PiAppError
from pi_app.frames import FrameChunk
from pi_app.store.store import SessionStore, SessionSummary

if TYPE_CHECKING:
    from pi_app.coaching.replay import ReplayBands

#: Why R does nothing during a replay (shown when the coach presses it).
REPLAY_NOT_RECORDED = "a replay is not recorded again (the session is already stored)"


def replayable(store: SessionStore, session_id: int) -> SessionSummary:
    """The session's summary; PiAppError when it has no raw samples to replay."""
    summary = store.summary(session_id)
    sample_timing(summary)
    return summary


def sample_timing(summary: SessionSummary) -> tuple[float, float]:
    """(sample rate Hz, first sample time s) of a session with raw samples; PiAppError when
    it has none to replay."""
    if not summary.n_samples or not summary.rate_hz or summary.t_first_s is None:
        raise PiAppError(f"session {summary.id} has no stored raw samples to replay.")
    return summary.rate_hz, summary.t_first_s


def rechunk(chunks: Iterator[FrameChunk], chunk_s: float, rate_hz: float
            ) -> Iterator[FrameChunk]:
    """Stored chunks cut into pieces of about `chunk_s` seconds (live drain size)."""
    rows = max(1, int(round(chunk_s * rate_hz)))
    for chunk in chunks:
        for start in range(0, len(chunk), rows):
            yield chunk.slice(start, start + rows)


def stored_text_file(text: str, name: str, load: Callable[[Path], object]):
    """`load(path)` of a file holding `text` (a config or calibration stored with a
    session), in a temporary folder removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return load(path)


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


def _wait(clock: Clock, start_s: float, sample_t_s: float, t_first_s: float,
          speed: float) -> None:
    """Sleep until sample time `sample_t_s` is due at `speed` times real time."""
    if speed > 0:
        wait_s = start_s + (sample_t_s - t_first_s) / speed - clock.now_s()
        if wait_s > 0:
            clock.sleep_s(wait_s)


def _chunks(store: SessionStore, summary: SessionSummary, chunk_s: float,
            bands: ReplayBands | None) -> Iterator[FrameChunk]:
    chunks = rechunk(store.iter_samples(summary.id), chunk_s, sample_timing(summary)[0])
    return chunks if bands is None else bands.split(chunks)


def feed_analyzer(store: SessionStore, summary: SessionSummary, analyzer, *, clock: Clock,
                  speed: float = 0.0, on_update: Callable | None = None,
                  chunk_s: float = DRAIN_INTERVAL_S, bands: ReplayBands | None = None) -> int:
    """Feed the session's samples to `analyzer`; `on_update(update)` gets every
    AnalysisUpdate. bands: the coach's target and keys of the live session, applied between
    the same samples as live (chunks are cut at their times). Returns the number of strides
    replayed."""
    t_first_s = sample_timing(summary)[1]
    start_s = clock.now_s()
    n_strides = 0
    for chunk in _chunks(store, summary, chunk_s, bands):
        _wait(clock, start_s, float(chunk.t_s[-1]), t_first_s, speed)
        if bands is not None:
            bands.before(chunk, analyzer)
        update = analyzer.update(chunk)
        if bands is not None:
            bands.after(analyzer.drift)
        n_strides += len(update.strides)
        if on_update is not None:
            on_update(update)
    update = analyzer.finish()
    n_strides += len(update.strides)
    if on_update is not None:
        on_update(update)
    return n_strides


def feed_session(store: SessionStore, summary: SessionSummary, session, ui, *, clock: Clock,
                 speed: float = 1.0, fps: float = 30.0,
                 chunk_s: float = DRAIN_INTERVAL_S, bands: ReplayBands | None = None) -> None:
    """Feed the session's samples through `session` (a `LiveSession` on a `StoredReader`)
    and draw it on `ui` (`draw(snapshot)`, `poll_commands()`) at most `fps` times a second
    of `clock` time; bands as in `feed_analyzer` (the session's own hooks keep the target
    on its detector). Stops early when the coach quits."""
    from pi_app.live.snapshot import ReplayInfo
    session_id = summary.id
    duration_s = summary.duration_s
    session.replay = ReplayInfo(session_id, 0.0, float(speed), duration_s)
    t_first_s = sample_timing(summary)[1]
    start_s = clock.now_s()
    next_draw_s = -np.inf
    for chunk in _chunks(store, summary, chunk_s, bands):
        done_s = float(chunk.t_s[-1]) - t_first_s
        session.replay = ReplayInfo(session_id, min(1.0, done_s / duration_s)
                                    if duration_s > 0 else 1.0, float(speed), duration_s)
        _wait(clock, start_s, float(chunk.t_s[-1]), t_first_s, speed)
        if bands is not None:
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
