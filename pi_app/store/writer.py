"""`SessionRecorder`: records one session into the store from its own writer thread.

The live app calls, on the analysis thread:

    recorder = SessionRecorder.start(SessionInfo(athlete_name="Ana", rate_hz=1000.0),
                                     state=args.state_dir)
    recorder.on_chunk(chunk)            # every FrameChunk fed to the Analyzer
    recorder.on_update(update)          # every AnalysisUpdate it returned
    recorder.on_cue(cue)                # every CueEvent (played or withheld)
    recorder.on_event("baseline_set", "rel phase 290 +- 14 deg")
    ...
    recorder.close()                    # end of session: flush, mark ended, join the thread
    recorder.warning                    # None, or one line for the dashboard

The `on_*` methods only put an item on a queue: they never block on the disk and never raise.
The writer thread batches what arrives and commits at least every `commit_interval_s` (0.5 s),
so a kill -9 or a power cut loses at most the last second (WAL with synchronous=FULL, see
store.py). If the disk fills up, the database turns read-only or any other write fails,
recording stops, `warning` says why and `recording` turns False; the analysis and the cues go
on untouched. Before that, `space_warning` says when the disk holding the database has less
than `low_space_mb` left (checked after each commit), while recording still works: SQLite
can go on writing into pages it already has, so the failure itself may come much later.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sqlite3
import threading
import time
from typing import Callable

import numpy as np

from pi_app import __version__
from pi_app.clock import Clock, WallClock
from pi_app.frames import FrameChunk
from pi_app.store.schema import STRIDE_COLUMNS, pack_samples
from pi_app.store.store import SessionInfo, SessionStore, SessionStoreError

#: Longest run of rows in one sample BLOB (keeps a BLOB ~100 KB; ~2 s at 1 kHz).
MAX_BLOB_ROWS = 2048
_STOP = "stop"
_FLUSH = "flush"
_IDLE = "idle"
#: Free space (MB) on the state filesystem below which the coach is warned: about half an
#: hour of two IMUs at 1 kHz.
LOW_SPACE_MB = 100.0


def _copy(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.array(a, dtype=np.float64, copy=True)


def _merge(chunks: list[FrameChunk]) -> list[FrameChunk]:
    """Consecutive chunks with the same sensors joined into runs of <= MAX_BLOB_ROWS rows."""
    names = ("pelvis_acc_g", "pelvis_gyro_dps", "thorax_acc_g", "thorax_gyro_dps")
    out: list[FrameChunk] = []
    group: list[FrameChunk] = []

    def emit():
        if not group:
            return
        t = np.concatenate([c.t_s for c in group])
        parts = {n: (None if getattr(group[0], n) is None
                     else np.concatenate([getattr(c, n) for c in group])) for n in names}
        whole = FrameChunk(t, **parts)
        for start in range(0, len(whole), MAX_BLOB_ROWS):
            out.append(whole.slice(start, start + MAX_BLOB_ROWS))
        group.clear()

    for chunk in chunks:
        if group and any((getattr(chunk, n) is None) != (getattr(group[0], n) is None)
                         for n in names):
            emit()
        group.append(chunk)
    emit()
    return out


def _warning_for(err: BaseException, path) -> str:
    text = str(err).lower()
    if "full" in text or getattr(err, "errno", None) == 28:
        why = "the disk is full"
        fix = "free space, then start a new session"
    elif "readonly" in text or "read-only" in text or getattr(err, "errno", None) in (13, 30):
        why = "the session database is read-only"
        fix = "make the state directory writable, then start a new session"
    else:
        why = f"the session database cannot be written ({err})"
        fix = "check the disk, then start a new session"
    return f"Recording stopped: {why} ({path}); live feedback goes on. Fix: {fix}."


class SessionRecorder:
    """Writes one session (raw samples, steps, strides, cues, events) from its own thread.

    store: the `SessionStore` (the writer opens its own connection to it). info: the session's
    description. Each stride is stored with the relative-phase band its verdict was judged
    against (`DriftVerdict.bands`). commit_interval_s: longest time between commits (s, on
    `clock`).
    max_backlog_items: queued items beyond which the disk is considered too slow and recording
    stops (a bound on memory). on_commit(t_last_s): called on the writer thread after each
    commit with the newest committed sample time (tests, status lines). low_space_mb: free
    space (MB) on the database's filesystem below which `space_warning` is set;
    free_bytes(directory): that free space (default shutil.disk_usage).
    """

    def __init__(self, store: SessionStore, info: SessionInfo, *,
                 commit_interval_s: float = 0.5, clock: Clock | None = None,
                 max_backlog_items: int = 100_000,
                 on_commit: Callable[[float | None], None] | None = None,
                 low_space_mb: float = LOW_SPACE_MB,
                 free_bytes: Callable[[str], int] | None = None):
        if not 0.0 < commit_interval_s <= 1.0:
            raise ValueError("commit_interval_s must be in (0, 1] s (the 1 s loss promise)")
        self.store: SessionStore | None = store
        self.info = info
        self.commit_interval_s = float(commit_interval_s)
        self.clock = clock if clock is not None else WallClock()
        self.max_backlog_items = int(max_backlog_items)
        self.on_commit = on_commit
        self.session_id: int | None = None
        self.warning: str | None = None
        self.space_warning: str | None = None
        self.low_space_mb = float(low_space_mb)
        self._free_bytes = free_bytes if free_bytes is not None else (
            lambda directory: shutil.disk_usage(directory).free)
        self.committed_t_s: float | None = None
        self.commits = 0
        self._active = True
        self._paused = False
        self._closed = False
        self._last_t_s: float | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._backlog = 0
        self._started = threading.Event()
        thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread: threading.Thread | None = thread
        thread.start()
        self._started.wait(30.0)

    @classmethod
    def start(cls, info: SessionInfo, state: str | os.PathLike | None = None, *,
              max_size_mb: float | None = None, **kwargs) -> "SessionRecorder":
        """Open the store in the state directory (capped at `max_size_mb`, see SessionStore)
        and start recording. Never raises for a store problem: the recorder comes back not
        recording, with `warning` set."""
        try:
            store = SessionStore.open(state, max_size_mb=max_size_mb)
        except SessionStoreError as err:
            recorder = cls.__new__(cls)
            recorder._init_failed(info, str(err))
            return recorder
        return cls(store, info, **kwargs)

    def _init_failed(self, info: SessionInfo, why: str) -> None:
        self.store, self.info = None, info
        self.session_id = None
        self.warning = f"Recording off: {why}"
        self.committed_t_s = None
        self.commits = 0
        self._active = False
        self._paused = False
        self._closed = True
        self._thread = None

    # -- state ----------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True while samples are being stored (not stopped by an error, paused or closed)."""
        return self._active and not self._paused and not self._closed

    def pause(self) -> None:
        """Stop storing until `resume()` (the coach's "toggle recording")."""
        if self.recording:
            self.on_event("recording_paused")
            self._paused = True

    def resume(self) -> None:
        if self._paused and self._active and not self._closed:
            self._paused = False
            self.on_event("recording_resumed")

    # -- the hooks (analysis thread; never block, never raise) ------------------------------
    def _put(self, item) -> None:
        if self._backlog >= self.max_backlog_items:
            self._stop_with(f"Recording stopped: the disk is too slow ({self._backlog} items "
                            "waiting); live feedback goes on.")
            return
        self._backlog += 1
        self._queue.put(item)

    def on_chunk(self, chunk: FrameChunk) -> None:
        """The frames the Analyzer was fed (copied here)."""
        if not self.recording or len(chunk) == 0:
            return
        try:
            self._last_t_s = float(chunk.t_s[-1])
            self._put(("chunk", FrameChunk(np.array(chunk.t_s, dtype=np.float64, copy=True),
                                           _copy(chunk.pelvis_acc_g),
                                           _copy(chunk.pelvis_gyro_dps),
                                           _copy(chunk.thorax_acc_g),
                                           _copy(chunk.thorax_gyro_dps))))
        except Exception as err:  # the analysis thread must never see a recording problem
            self._stop_with(f"Recording stopped: {err!r}; live feedback goes on.")

    def on_update(self, update) -> None:
        """An `AnalysisUpdate`: its steps and strides (with verdicts) are stored."""
        if not self.recording or not (update.steps or update.strides):
            return
        try:
            steps = [(s.t_s, s.side or "") for s in update.steps]
            verdicts = list(update.verdicts) + [None] * (len(update.strides)
                                                          - len(update.verdicts))
            strides = [_stride_row(s, v) for s, v in zip(update.strides, verdicts)]
            self._put(("update", steps, strides))
        except Exception as err:
            self._stop_with(f"Recording stopped: {err!r}; live feedback goes on.")

    def on_cue(self, cue) -> None:
        """A `CueEvent` (played or withheld)."""
        if not self.recording:
            return
        try:
            self._put(("cue", (cue.t_s, cue.kind, float(cue.intensity), int(bool(cue.played)),
                               cue.reason or "", cue.latency_ms)))
        except Exception as err:
            self._stop_with(f"Recording stopped: {err!r}; live feedback goes on.")

    def on_event(self, kind: str, detail: str | dict = "") -> None:
        """A session event: "sensor_lost", "baseline_restart", "cue_mode", ... with a text
        detail, or a dict (its "t_s", the sample time, is stored as such; the rest as JSON).
        Stored with the wall time and the sample time (else the newest chunk's)."""
        if not self._active or self._closed:
            return
        try:
            t_s = self._last_t_s
            if isinstance(detail, dict):
                # The live app's events carry {"t_s": sample time, ...}.
                detail = dict(detail)
                if detail.get("t_s") is not None:
                    t_s = float(detail.pop("t_s"))
                else:
                    detail.pop("t_s", None)
                detail = (str(detail.pop("detail")) if set(detail) == {"detail"}
                          else json.dumps(detail, default=str, sort_keys=True)
                          if detail else "")
            self._put(("event", (time.time(), t_s, str(kind), str(detail or ""))))
        except Exception as err:
            self._stop_with(f"Recording stopped: {err!r}; live feedback goes on.")

    def _check_space(self, db_path) -> None:
        directory = os.path.dirname(os.path.abspath(db_path))
        try:
            free_mb = self._free_bytes(directory) / 1e6
        except OSError:
            return
        if free_mb >= self.low_space_mb:
            self.space_warning = None
        else:
            self.space_warning = (
                f"the disk is almost full: {free_mb:.0f} MB left on {directory}; recording "
                "stops when it is full. Fix: free space on that disk (copy the sessions "
                "off first: pi-app backup -o FILE)")

    def _stop_with(self, warning: str) -> None:
        if self._active:
            self.warning = warning
            self._active = False

    # -- control ----------------------------------------------------------------------------
    def flush(self, timeout_s: float = 30.0) -> bool:
        """Commit everything queued so far; True when done (False if not recording)."""
        if self._thread is None or not self._thread.is_alive():
            return False
        done = threading.Event()
        self._queue.put((_FLUSH, done))
        return done.wait(timeout_s)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until the writer has taken everything queued so far (committing only what
        its schedule says is due, unlike `flush`); True when done."""
        if self._thread is None or not self._thread.is_alive():
            return False
        done = threading.Event()
        self._queue.put((_IDLE, done))
        return done.wait(timeout_s)

    def close(self, reason: str = "stopped", timeout_s: float = 30.0) -> None:
        """End the session: commit what is queued, record the end, stop the thread.
        Idempotent; safe to call from a SIGTERM handler's path."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            self._queue.put((_STOP, reason))
            self._thread.join(timeout_s)

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        store = self.store
        assert store is not None            # only a recorder that opened its store runs
        conn = None
        try:
            conn = store.connect()
            with conn:
                cur = conn.execute(
                    "INSERT INTO sessions (athlete_name, athlete_id, notes, start_unix_s, "
                    "rate_hz, segments, gyro_segments, config_text, calibration_text, "
                    "simulated, scenario, seed, app_version, last_commit_unix_s, "
                    "athlete_ref, treadmill_speed_kmh, programme_session, planned_duration_s, "
                    "feedback, feedback_fraction, target_offset_deg) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (self.info.athlete_name, self.info.athlete_id, self.info.notes,
                     time.time(), self.info.rate_hz, ",".join(self.info.segments),
                     ",".join(self.info.gyro_segments), self.info.config_text,
                     self.info.calibration_text, int(self.info.simulated),
                     self.info.scenario, self.info.seed, __version__, time.time(),
                     self.info.athlete_ref, self.info.treadmill_speed_kmh,
                     self.info.programme_session, self.info.planned_duration_s,
                     self.info.feedback, self.info.feedback_fraction,
                     self.info.target_offset_deg))
                assert cur.lastrowid is not None    # set by the INSERT
                self.session_id = cur.lastrowid
        except (sqlite3.Error, OSError, SessionStoreError) as err:
            self._stop_with(_warning_for(err, store.path))
            self._started.set()
            if conn is not None:
                conn.close()
            self._drain_until_stop()
            return
        # The first deadline is taken before the constructor returns, so it counts from the
        # session's start on `clock` however late this thread gets scheduled.
        first_commit_s = self.clock.now_s() + self.commit_interval_s
        self._started.set()
        try:
            self._loop(conn, first_commit_s)
        finally:
            conn.close()

    def _drain_until_stop(self) -> None:
        """After a failure: discard items, answer flushes, leave on stop."""
        while True:
            item = self._queue.get()
            self._backlog = max(0, self._backlog - 1)
            if item[0] in (_FLUSH, _IDLE):
                item[1].set()
            elif item[0] == _STOP:
                return

    def _loop(self, conn: sqlite3.Connection, first_commit_s: float) -> None:
        chunks: list[FrameChunk] = []
        steps: list[tuple] = []
        strides: list[tuple] = []
        cues: list[tuple] = []
        events: list[tuple] = []
        next_commit_s = first_commit_s
        seq = 0
        store = self.store
        assert store is not None            # _run's

        def commit(end_reason: str | None = None) -> bool:
            nonlocal seq, next_commit_s
            next_commit_s = self.clock.now_s() + self.commit_interval_s
            if not (chunks or steps or strides or cues or events or end_reason):
                return True
            sid = self.session_id
            try:
                with conn:
                    merged = _merge(chunks)
                    rows = []
                    for c in merged:
                        t0_s, n, present, blob = pack_samples(c)
                        rows.append((sid, seq, t0_s, n, present, blob))
                        seq += 1
                    conn.executemany("INSERT INTO samples VALUES (?,?,?,?,?,?)", rows)
                    conn.executemany("INSERT INTO steps VALUES (?,?,?)",
                                     [(sid, *s) for s in steps])
                    conn.executemany(
                        f"INSERT INTO strides ({','.join(STRIDE_COLUMNS)}) VALUES "
                        f"({','.join('?' * len(STRIDE_COLUMNS))})",
                        [(sid, *s) for s in strides])
                    conn.executemany("INSERT INTO cues VALUES (?,?,?,?,?,?,?)",
                                     [(sid, *c) for c in cues])
                    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?)",
                                     [(sid, *e) for e in events])
                    n_rows = sum(len(c) for c in merged)
                    first = float(merged[0].t_s[0]) if merged else None
                    last = float(merged[-1].t_s[-1]) if merged else None
                    conn.execute(
                        "UPDATE sessions SET t_first_s = coalesce(t_first_s, ?), "
                        "t_last_s = coalesce(?, t_last_s), n_samples = n_samples + ?, "
                        "last_commit_unix_s = ?, end_unix_s = ?, end_reason = ? "
                        "WHERE id = ?",
                        (first, last, n_rows, time.time(),
                         time.time() if end_reason else None, end_reason, sid))
            except (sqlite3.Error, OSError) as err:
                self._stop_with(_warning_for(err, store.path))
                try:
                    # Record why, if the database still takes a small write.
                    with conn:
                        conn.execute("UPDATE sessions SET end_unix_s = ?, end_reason = ? "
                                     "WHERE id = ?", (time.time(), "write failed", sid))
                except (sqlite3.Error, OSError):
                    pass
                return False
            if last is not None:
                self.committed_t_s = last
            self.commits += 1
            self._check_space(store.path)
            for batch in (chunks, steps, strides, cues, events):
                batch.clear()
            if self.on_commit is not None:
                self.on_commit(self.committed_t_s)
            return True

        while True:
            wait_s = min(0.1, max(0.0, next_commit_s - self.clock.now_s()))
            try:
                item = self._queue.get(timeout=wait_s)
            except queue.Empty:
                item = None
            if item is not None:
                self._backlog = max(0, self._backlog - 1)
                kind = item[0]
                if kind == "chunk":
                    chunks.append(item[1])
                elif kind == "update":
                    steps.extend(item[1])
                    strides.extend(item[2])
                elif kind == "cue":
                    cues.append(item[1])
                elif kind == "event":
                    events.append(item[1])
                elif kind == _IDLE:
                    item[1].set()
                    continue
                elif kind == _FLUSH:
                    commit()
                    item[1].set()
                    if not self._active:
                        break
                    continue
                elif kind == _STOP:
                    commit(end_reason=item[1] if self.warning is None
                           else "recording stopped early")
                    return
            if self.clock.now_s() >= next_commit_s:
                if not commit():
                    break
        self._drain_until_stop()


def _stride_row(s, verdict) -> tuple:
    """One strides-table row (without session_id), columns as schema.STRIDE_COLUMNS[1:]."""
    def opt(x):
        return None if x is None else float(x)
    v = verdict
    b = None if v is None else v.bands.get("rel_phase")
    band = (None, None, None) if b is None else (b.center, b.half_width, b.source)
    return (int(s.index), float(s.t_start_s), float(s.t_end_s), opt(s.cadence_spm),
            opt(s.pelvis_rom_deg), opt(s.thorax_rom_deg), opt(s.pelvis_phase_deg),
            opt(s.thorax_phase_deg), opt(s.rel_phase_deg), opt(s.rotation_symmetry_pct),
            ",".join(sorted(s.quality)), int(bool(s.drift)),
            None if v is None else v.state, None if v is None else opt(v.progress),
            None if v is None else v.metric, None if v is None else v.direction,
            None if v is None else v.unit, None if v is None else opt(v.deviation),
            None if v is None else opt(v.deviation_sd),
            None if v is None else opt(v.beyond_band),
            "" if v is None else ",".join(v.drifting_metrics), *band)
