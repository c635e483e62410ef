"""Sessions out of (and recordings into) the store.

`export_session` writes a session as the interchange files of ../shared/spec/recording-csv.md
(recording CSV from the raw samples, steps CSV, strides CSV, plus a cues CSV), so any session
can be re-analysed with `pi-app analyze`. `import_recording` runs a recording CSV through the
live analysis into a new session (the same path a live session takes, used by tests and to
bring lab recordings into the store).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

from pi_app.clock import ManualClock
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import InputFileError
from pi_app.recording.csv_writer import RecordingWriter, write_steps_csv, write_strides_csv
from pi_app.store.store import SessionInfo, SessionStore

Progress = Callable[[float], None]


class TerminalProgress:
    """Prints "label: 42%" on one line of stderr, only when stderr is a terminal."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = -1

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        if pct != self._shown:
            self._shown = pct
            self.stream.write(f"\r{self.label}: {pct:3d}%")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._shown >= 0:
            self.stream.write("\r" + " " * (len(self.label) + 6) + "\r")
            self.stream.flush()


def export_paths(out_dir: Path, session_id: int) -> dict[str, Path]:
    """Files written for a session: recording, steps, strides, cues."""
    stem = f"session-{session_id}"
    return {"recording": out_dir / f"{stem}.csv", "steps": out_dir / f"{stem}.steps.csv",
            "strides": out_dir / f"{stem}.strides.csv", "cues": out_dir / f"{stem}.cues.csv"}


def export_session(store: SessionStore, session_id: int, out_dir: str | Path,
                   progress: Progress | None = None) -> dict[str, Path]:
    """Write session `session_id` into `out_dir` (created if missing); returns the paths.

    The recording CSV has the spec columns of the sensors the session had, times on the
    session's sample clock (s), a NaN/gap stored as an empty field."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputFileError(f"cannot create the export folder {out_dir} ({err.strerror}); "
                             "choose another -o folder.", path=str(out_dir)) from None
    data = store.load(session_id)
    s = data.summary
    paths = export_paths(out_dir, session_id)
    started = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(s.start_unix_s))
    comments = [f"source: pi-app session {s.id}, started {started}",
                f"athlete: {s.athlete_name} {('(' + s.athlete_id + ')') if s.athlete_id else ''}"
                .rstrip(),
                f"time_s: chip sample-clock time of the session, nominal rate {s.rate_hz} Hz"]
    if s.notes:
        comments.append(f"notes: {s.notes}")
    if s.simulated:
        comments.append(f"simulated: scenario {s.scenario}, seed {s.seed}")
    has_thorax = "thorax" in s.segments
    has_gyro = bool(s.gyro_segments)
    total = max(1, s.n_samples)
    # Written under a temporary name and renamed when complete: an interrupted export never
    # leaves a shorter recording under the final name for `analyze` to take as whole.
    partial = paths["recording"].with_name(paths["recording"].name + ".partial")
    try:
        with RecordingWriter(partial, has_thorax=has_thorax, has_gyro=has_gyro,
                             comments=comments) as writer:
            for chunk in store.iter_samples(session_id):
                writer.write(chunk)
                if progress is not None:
                    progress(writer.rows_written / total)
        os.replace(partial, paths["recording"])
    finally:
        partial.unlink(missing_ok=True)
    write_steps_csv(paths["steps"], data.steps)
    write_strides_csv(paths["strides"], [st.metrics for st in data.strides])
    lines = ["t_s,kind,intensity,played,reason,latency_ms"]
    for c in data.cues:
        reason = (c.reason or "").replace(",", ";").replace("\n", " ")
        lat = "" if c.latency_ms is None else f"{c.latency_ms:.1f}"
        lines.append(f"{c.t_s:.4f},{c.kind},{c.intensity:.3f},{int(c.played)},{reason},{lat}")
    cues_tmp = paths["cues"].with_name(paths["cues"].name + ".partial")
    cues_tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(cues_tmp, paths["cues"])
    if progress is not None:
        progress(1.0)
    return paths


def import_recording(store: SessionStore, path: str | Path, info: SessionInfo | None,
                     analyzer_for: Callable, chunk_s: float = DRAIN_INTERVAL_S) -> int:
    """Analyse a recording CSV in live-sized chunks with `analyzer_for(rate_hz,
    gyro_segments)` (the live `Analyzer` built from the config: `pi_app.app.import_recording`)
    and record it, as a live session would be, into a new session; returns its id."""
    from pi_app.recording.csv_reader import RecordingReader
    from pi_app.store.writer import SessionRecorder

    reader = RecordingReader(path)
    reader.chunk_rows = max(1, int(round(reader.rate_hz * chunk_s)))
    gyro = tuple(s for s, has in (("pelvis", reader.has_gyro),
                                  ("thorax", reader.has_thorax_gyro)) if has)
    analyzer = analyzer_for(reader.rate_hz, gyro)
    info = info if info is not None else SessionInfo(notes=f"imported from {Path(path).name}")
    info.rate_hz = reader.rate_hz
    info.segments = tuple(reader.segments)
    info.gyro_segments = gyro
    # Commits follow the recording's own time (a virtual clock), as they would live.
    clock = ManualClock()
    recorder = SessionRecorder(store, info, clock=clock)
    for chunk in reader:
        recorder.on_chunk(chunk)
        recorder.on_update(analyzer.update(chunk))
        clock.advance(len(chunk) / reader.rate_hz)
    recorder.on_update(analyzer.finish())
    recorder.close()
    if recorder.warning or recorder.session_id is None:
        from pi_app.store.store import SessionStoreError
        raise SessionStoreError(recorder.warning or f"the recording was not stored in {store.path}",
                                path=str(store.path))
    return recorder.session_id
