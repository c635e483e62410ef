"""`SessionStore`: the one SQLite database of recorded sessions (schema in `schema.py`).

    store = SessionStore.open()                       # <state dir>/sessions.db, created if new
    for s in store.list_sessions(): print(s.id, s.athlete_name, s.duration_s, s.n_strides)
    for chunk in store.iter_samples(7): ...           # FrameChunks, oldest first

Writing during a session is done by `SessionRecorder` (writer.py) on its own thread and its
own connection; readers (the commands) may open the store read-only while it records (WAL lets
readers and the one writer work at the same time).
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from pi_app.analysis.types import Step, StrideMetrics
from pi_app.errors import PiAppError
from pi_app.frames import FrameChunk
from pi_app.records import CueEvent, QualityFlag
from pi_app.paths import state_dir
from pi_app.store.migrations import MigrationError, migrate
from pi_app.store.schema import DATABASE_FILE_NAME, SCHEMA_VERSION, unpack_samples

#: A session whose last commit is older than this (s) and that has no end is "interrupted".
STALE_AFTER_S = 10.0


class SessionStoreError(PiAppError):
    """The session database cannot be opened, or a session asked for does not exist."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path


@dataclass
class SessionInfo:
    """What is known about a session when it starts (the `sessions` row's descriptive part).

    rate_hz: nominal sample rate (Hz). segments / gyro_segments: sensors present ("pelvis",
    "thorax"). config_text / calibration_text: the config and calibration profile in force
    (TOML text, "" if none). scenario / seed: the simulated scenario, when simulated.
    athlete_ref: the athlete's id in the `athletes` table (None: no athlete).
    treadmill_speed_kmh: the treadmill speed the coach entered (km/h), None if not entered.
    programme_session .. target_offset_deg: the session's place in the athlete's programme
    (schema.py, schema 3); None when it is not part of one.
    """

    athlete_name: str = ""
    athlete_id: str = ""
    notes: str = ""
    rate_hz: float | None = None
    segments: tuple[str, ...] = ("pelvis", "thorax")
    gyro_segments: tuple[str, ...] = ("pelvis", "thorax")
    config_text: str = ""
    calibration_text: str = ""
    simulated: bool = False
    scenario: str | None = None
    seed: int | None = None
    athlete_ref: int | None = None
    treadmill_speed_kmh: float | None = None
    programme_session: int | None = None
    planned_duration_s: float | None = None
    feedback: str | None = None
    feedback_fraction: float | None = None
    target_offset_deg: float | None = None


@dataclass
class SessionSummary:
    """One row of `pi-app sessions`: the session and its counts. Times: *_unix_s wall clock,
    t_first_s/t_last_s sample clock (s); duration_s from the stored samples (s)."""

    id: int
    athlete_name: str
    athlete_id: str
    notes: str
    start_unix_s: float
    end_unix_s: float | None
    end_reason: str | None
    status: str                     # "recording", "ended", "interrupted"
    rate_hz: float | None
    segments: tuple[str, ...]
    gyro_segments: tuple[str, ...]
    simulated: bool
    scenario: str | None
    seed: int | None
    app_version: str
    config_text: str
    calibration_text: str
    t_first_s: float | None
    t_last_s: float | None
    n_samples: int
    n_steps: int = 0
    n_strides: int = 0
    n_cues: int = 0
    n_cues_played: int = 0
    n_drift_strides: int = 0
    athlete_ref: int | None = None
    treadmill_speed_kmh: float | None = None
    programme_session: int | None = None
    planned_duration_s: float | None = None
    feedback: str | None = None
    feedback_fraction: float | None = None
    target_offset_deg: float | None = None

    @property
    def duration_s(self) -> float:
        if self.t_first_s is not None and self.t_last_s is not None:
            return max(0.0, self.t_last_s - self.t_first_s)
        return 0.0

    @property
    def start_text(self) -> str:
        """Local start time, e.g. 2024-05-01 18:03."""
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.start_unix_s))

    def as_json(self) -> dict:
        return {
            "id": self.id, "athlete_name": self.athlete_name, "athlete_id": self.athlete_id,
            "notes": self.notes,
            "start": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.start_unix_s)),
            "start_unix_s": self.start_unix_s, "end_unix_s": self.end_unix_s,
            "status": self.status, "end_reason": self.end_reason,
            "duration_s": round(self.duration_s, 3), "rate_hz": self.rate_hz,
            "segments": list(self.segments), "simulated": self.simulated,
            "scenario": self.scenario, "seed": self.seed, "samples": self.n_samples,
            "steps": self.n_steps, "strides": self.n_strides, "cues": self.n_cues,
            "cues_played": self.n_cues_played, "drift_strides": self.n_drift_strides,
            "athlete_ref": self.athlete_ref, "treadmill_speed_kmh": self.treadmill_speed_kmh,
            "programme_session": self.programme_session,
            "planned_duration_s": self.planned_duration_s, "feedback": self.feedback,
            "feedback_fraction": self.feedback_fraction,
            "target_offset_deg": self.target_offset_deg,
        }


@dataclass
class StoredStride:
    """A stride as stored: the metrics, the drift verdict summary and the rel-phase band
    (center +- half width, deg; None while there was none)."""

    metrics: StrideMetrics
    drift_state: str | None = None
    drift_progress: float | None = None
    drift_metric: str | None = None
    drift_direction: str | None = None
    drift_unit: str | None = None
    drift_deviation: float | None = None
    drift_deviation_sd: float | None = None
    drift_beyond_band: float | None = None
    drifting_metrics: tuple[str, ...] = ()
    band_center_deg: float | None = None
    band_half_width_deg: float | None = None
    band_source: str | None = None


@dataclass
class StoredEvent:
    """An event: wall time (s since 1970), sample time (s) when known, kind and detail."""

    t_unix_s: float
    t_s: float | None
    kind: str
    detail: str = ""


@dataclass
class SessionData:
    """Everything of a session except the raw samples (see `SessionStore.iter_samples`)."""

    summary: SessionSummary
    steps: list[Step] = field(default_factory=list)
    strides: list[StoredStride] = field(default_factory=list)
    cues: list[CueEvent] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(",") if p)


def database_path(state: str | os.PathLike | None = None) -> Path:
    """`<state dir>/sessions.db` (state dir: see pi_app.paths.state_dir)."""
    return state_dir(state) / DATABASE_FILE_NAME


class SessionStore:
    """The session database at `path`.

    read_only: open without ever writing (the commands that only read use this).
    max_size_mb: a cap on the database size (MB); beyond it writes fail like a full disk
    (SQLite's max_page_count), so sessions can never fill the SD card the OS lives on.
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False,
                 max_size_mb: float | None = None):
        self.path = Path(path)
        self.read_only = bool(read_only)
        self.max_size_mb = max_size_mb
        self._conn: sqlite3.Connection | None = None
        if read_only:
            if not self.path.exists():
                raise SessionStoreError(
                    f"no session database at {self.path}: no session has been recorded with "
                    "this state directory yet; record one (pi-app demo on a laptop, pi-app "
                    "run on the Pi) or pass the right --state-dir.", path=str(self.path))
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise SessionStoreError(
                    f"cannot create the state directory {self.path.parent} ({err.strerror}); "
                    "make it writable or choose another with --state-dir.",
                    path=str(self.path)) from None
        conn = self.connect()
        self._conn = conn
        self._check_schema(conn)

    @classmethod
    def open(cls, state: str | os.PathLike | None = None, **kwargs) -> "SessionStore":
        """The store in the state directory (`--state-dir`, $PI_APP_STATE_DIR, ...)."""
        return cls(database_path(state), **kwargs)

    # -- connections ----------------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        """A new connection with the store's settings (one per thread; sqlite3 connections
        must not be shared between threads)."""
        try:
            if self.read_only:
                conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True,
                                       check_same_thread=True, timeout=5.0)
            else:
                conn = sqlite3.connect(str(self.path), timeout=5.0)
                # WAL: readers never block the writer; a crash leaves the database consistent.
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: the WAL is fsynced at every commit. With NORMAL a commit in WAL mode is
                # only durable at the next checkpoint, so a power cut could roll back more than
                # the last second (sqlite.org/pragma.html#pragma_synchronous).
                conn.execute("PRAGMA synchronous=FULL")
                if self.max_size_mb is not None:
                    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
                    pages = max(1, int(self.max_size_mb * 1e6 / page_size))
                    conn.execute(f"PRAGMA max_page_count={pages}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as err:
            raise SessionStoreError(
                f"the session database {self.path} cannot be opened ({err}); if it is "
                "damaged, move it aside and a new one will be created.",
                path=str(self.path)) from None
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SessionStoreError(
                    f"the session database {self.path} was written by a newer pi-app (schema "
                    f"{version}, this one reads {SCHEMA_VERSION}); update pi-app.",
                    path=str(self.path))
            if version < SCHEMA_VERSION:
                if self.read_only:
                    if version == 0:
                        raise SessionStoreError(
                            f"the session database {self.path} has no sessions tables; it is "
                            "not a pi-app session database.", path=str(self.path))
                    self._migrate_for_reading(version)
                else:
                    self._migrate(conn, version)
        except sqlite3.DatabaseError as err:
            raise SessionStoreError(
                f"the session database {self.path} cannot be used ({err}); make the state "
                "directory writable, or move a damaged file aside.", path=str(self.path)) from None

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        try:
            migrate(conn, self.path)
        except MigrationError as err:
            raise SessionStoreError(
                f"updating the session database {self.path} from schema {version} to "
                f"{SCHEMA_VERSION} failed at {err}; nothing was changed, the file is as it "
                "was. Free some disk space or make the state directory writable and try "
                "again.", path=str(self.path)) from None

    def _migrate_for_reading(self, version: int) -> None:
        """A database from an older release, opened read-only: it is brought up to date
        once (the migration is transactional), then read as usual."""
        try:
            conn = sqlite3.connect(str(self.path), timeout=5.0)
        except sqlite3.DatabaseError as err:
            raise SessionStoreError(
                f"the session database {self.path} is from an older pi-app (schema "
                f"{version}) and cannot be updated ({err}); run pi-app once as the user who "
                "owns it.", path=str(self.path)) from None
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn, version)
        except sqlite3.OperationalError as err:
            raise SessionStoreError(
                f"the session database {self.path} is from an older pi-app (schema "
                f"{version}) and cannot be updated ({err}); run pi-app once as the user who "
                "owns it.", path=str(self.path)) from None
        finally:
            conn.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise SessionStoreError(f"the session store {self.path} is closed.")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "SessionStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check passes."""
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- reading --------------------------------------------------------------------------
    _SUMMARY_SQL = """
        SELECT s.*,
          (SELECT count(*) FROM steps WHERE session_id = s.id) AS n_steps,
          (SELECT count(*) FROM strides WHERE session_id = s.id) AS n_strides,
          (SELECT count(*) FROM strides WHERE session_id = s.id AND drift = 1) AS n_drift,
          (SELECT count(*) FROM cues WHERE session_id = s.id) AS n_cues,
          (SELECT count(*) FROM cues WHERE session_id = s.id AND played = 1) AS n_played,
          (SELECT name FROM athletes WHERE id = s.athlete_ref) AS athlete_now
        FROM sessions s"""

    def _summary(self, row: sqlite3.Row) -> SessionSummary:
        if row["end_unix_s"] is not None:
            status = "ended"
        else:
            last = row["last_commit_unix_s"] or row["start_unix_s"]
            status = "recording" if time.time() - last < STALE_AFTER_S else "interrupted"
        return SessionSummary(
            # A renamed athlete's sessions show the name they have now.
            id=row["id"], athlete_name=row["athlete_now"] or row["athlete_name"],
            athlete_id=row["athlete_id"],
            notes=row["notes"], start_unix_s=row["start_unix_s"],
            end_unix_s=row["end_unix_s"], end_reason=row["end_reason"], status=status,
            rate_hz=row["rate_hz"], segments=_split(row["segments"]),
            gyro_segments=_split(row["gyro_segments"]), simulated=bool(row["simulated"]),
            scenario=row["scenario"], seed=row["seed"], app_version=row["app_version"],
            config_text=row["config_text"], calibration_text=row["calibration_text"],
            t_first_s=row["t_first_s"], t_last_s=row["t_last_s"], n_samples=row["n_samples"],
            n_steps=row["n_steps"], n_strides=row["n_strides"], n_cues=row["n_cues"],
            n_cues_played=row["n_played"], n_drift_strides=row["n_drift"],
            athlete_ref=row["athlete_ref"], treadmill_speed_kmh=row["treadmill_speed_kmh"],
            programme_session=row["programme_session"],
            planned_duration_s=row["planned_duration_s"], feedback=row["feedback"],
            feedback_fraction=row["feedback_fraction"],
            target_offset_deg=row["target_offset_deg"])

    def _rows(self, sql: str, params=()) -> list[sqlite3.Row]:
        conn = self.conn
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise SessionStoreError(f"the session database {self.path} cannot be read "
                                    f"({err}).", path=str(self.path)) from None

    def list_sessions(self) -> list[SessionSummary]:
        """All sessions, oldest first."""
        return [self._summary(r) for r in self._rows(self._SUMMARY_SQL + " ORDER BY s.id")]

    def resolve(self, ref: str | int) -> int:
        """A session id from what a user typed: a number, or "last"/"latest"."""
        text = str(ref).strip().lower()
        if text in ("last", "latest"):
            rows = self._rows("SELECT max(id) AS id FROM sessions")
            if rows[0]["id"] is None:
                raise SessionStoreError(f"there are no sessions in {self.path} yet.",
                                        path=str(self.path))
            return int(rows[0]["id"])
        try:
            session_id = int(text)
        except ValueError:
            raise SessionStoreError(f"{ref!r} is not a session id; give a number from "
                                    "`pi-app sessions` or 'last'.") from None
        if not self._rows("SELECT id FROM sessions WHERE id = ?", (session_id,)):
            raise SessionStoreError(f"there is no session {session_id} in {self.path}; "
                                    "`pi-app sessions` lists them.", path=str(self.path))
        return session_id

    def summary(self, session_id: int) -> SessionSummary:
        rows = self._rows(self._SUMMARY_SQL + " WHERE s.id = ?", (int(session_id),))
        if not rows:
            raise SessionStoreError(f"there is no session {session_id} in {self.path}; "
                                    "`pi-app sessions` lists them.", path=str(self.path))
        return self._summary(rows[0])

    def steps(self, session_id: int) -> list[Step]:
        return [Step(r["t_s"], r["side"]) for r in self._rows(
            "SELECT t_s, side FROM steps WHERE session_id = ? ORDER BY t_s", (session_id,))]

    def strides(self, session_id: int) -> list[StoredStride]:
        out = []
        for r in self._rows("SELECT * FROM strides WHERE session_id = ? ORDER BY t_start_s, "
                            "stride", (session_id,)):
            m = StrideMetrics(
                index=r["stride"], t_start_s=r["t_start_s"], t_end_s=r["t_end_s"],
                cadence_spm=r["cadence_spm"] if r["cadence_spm"] is not None else math.nan,
                pelvis_rom_deg=r["pelvis_rom_deg"], thorax_rom_deg=r["thorax_rom_deg"],
                pelvis_phase_deg=r["pelvis_phase_deg"], thorax_phase_deg=r["thorax_phase_deg"],
                rel_phase_deg=r["rel_phase_deg"], rotation_symmetry_pct=r["rotation_symmetry_pct"],
                quality=frozenset(QualityFlag(q) for q in _split(r["quality"])),
                drift=bool(r["drift"]))
            out.append(StoredStride(
                m, r["drift_state"], r["drift_progress"], r["drift_metric"],
                r["drift_direction"], r["drift_unit"], r["drift_deviation"],
                r["drift_deviation_sd"], r["drift_beyond_band"], _split(r["drifting_metrics"]),
                r["band_center_deg"], r["band_half_width_deg"], r["band_source"]))
        return out

    def cues(self, session_id: int) -> list[CueEvent]:
        return [CueEvent(r["t_s"], r["kind"], r["intensity"], bool(r["played"]), r["reason"],
                         r["latency_ms"])
                for r in self._rows("SELECT * FROM cues WHERE session_id = ? ORDER BY t_s",
                                    (session_id,))]

    def events(self, session_id: int) -> list[StoredEvent]:
        return [StoredEvent(r["t_unix_s"], r["t_s"], r["kind"], r["detail"])
                for r in self._rows("SELECT * FROM events WHERE session_id = ? ORDER BY "
                                    "rowid", (session_id,))]

    def load(self, session_id: int) -> SessionData:
        """The session's summary, steps, strides, cues and events."""
        return SessionData(self.summary(session_id), self.steps(session_id),
                           self.strides(session_id), self.cues(session_id),
                           self.events(session_id))

    def sample_chunk_count(self, session_id: int) -> int:
        return self._rows("SELECT count(*) AS n FROM samples WHERE session_id = ?",
                          (session_id,))[0]["n"]

    def iter_samples(self, session_id: int) -> Iterator[FrameChunk]:
        """The raw frames of a session as stored, oldest first (one FrameChunk per stored
        chunk, float64 values, NaN = gap)."""
        conn = self.connect()       # its own cursor, so callers may query while iterating
        try:
            cursor = conn.execute("SELECT t0_s, n_rows, present, data FROM samples WHERE "
                                  "session_id = ? ORDER BY seq", (session_id,))
            for t0_s, n_rows, present, data in cursor:
                yield unpack_samples(t0_s, n_rows, present, data)
        except sqlite3.DatabaseError as err:
            raise SessionStoreError(f"the raw samples of session {session_id} in {self.path} "
                                    f"cannot be read ({err}).", path=str(self.path)) from None
        finally:
            conn.close()
