"""The session database schema (SQLite) and the raw-sample BLOB layout.

One database file, `<state dir>/sessions.db`, in WAL mode. `PRAGMA user_version` holds
`SCHEMA_VERSION`; a database written by a newer pi-app is refused with a clear error, an older
one is brought up to date by the transactional migrations of migrations.py (schema 1 =
`DDL_V1`, schema 2 adds `DDL_V2`, schema 3 `DDL_V3`).

Tables (times `*_s` are on the sample clock of the session, seconds, the time base of the
`FrameChunk`s the analysis saw; `*_unix_s` are wall-clock seconds since 1970, UTC):

- `sessions`: one row per session. Athlete name/id and notes; wall-clock start/end; the sample
  rate (Hz) and which sensors were present (`segments`, `gyro_segments`: comma-separated
  "pelvis,thorax"); the config and calibration profile in force, as text (TOML); whether it was
  simulated and the scenario/seed; `t_first_s`/`t_last_s`/`n_samples` of the raw data stored
  so far (updated in the same transaction as the samples, so always consistent with them);
  `end_reason` ("stopped", "disk full", ...; NULL while recording or after a crash).
- `samples`: raw sensor frames in chunks. `t0_s` REAL (float64) is the time of the chunk's first
  row; `data` is a BLOB of `n_rows` x 13 little-endian float32 values, row-major
  (`np.ndarray.astype('<f4').tobytes()`), columns `SAMPLE_COLUMNS`: the time offset from t0_s
  (s; float32 keeps ~0.1 us within the few seconds a chunk spans), then pelvis acc xyz (g),
  pelvis gyro xyz (deg/s), thorax acc xyz (g), thorax gyro xyz (deg/s). NaN = a gap or a sensor
  that is not present; `present` is a bitmask of `PRESENT_BITS` saying which groups exist.
  `seq` orders the chunks of a session.
- `steps`: one row per initial contact (t_s, side "R"/"L"/"").
- `strides`: every `StrideMetrics` field (quality comma-separated), the drift verdict of the
  stride (state, progress, drifting metric, direction, unit, deviation, deviation in SDs,
  beyond-band, all drifting metrics) and the relative-phase band it was judged against
  (center/half width deg, source "baseline"|"coach"; NULL while none).
- `cues`: one row per `CueEvent` (played or withheld).
- `events`: faults, baseline set, settings changed, ...: (t_unix_s, t_s or NULL, kind, detail).

Schema 2:
- `athletes`: id, name as shown, `name_key` (case-folded, whitespace collapsed: the unique
  form, see migrations.athlete_key), created (unix s), notes. `sessions.athlete_ref` is the
  athlete a session belongs to (NULL: none); `sessions.athlete_name` keeps the name as it was
  at recording time. `sessions.treadmill_speed_kmh`: the speed the coach entered (NULL: none).
- `baselines`: remembered baselines, one row per completed baseline of an athlete: the session
  it was built in (NULL when it was not recorded or is deleted), created (unix s), the
  conditions it was built at (median cadence spm, treadmill speed km/h if entered, chips
  "pelvis=...,thorax=...",
  mounting: each sensor's vertical in its own axes) and the baseline itself as the TOML text
  of `pi-app analyze --save-baseline` (pi_app.coaching.baselines).

Schema 3 (retraining programmes, pi_app.coaching.programme):
- `athletes.programme_text`: the TOML of the programme the athlete follows ("" = none).
- `sessions.programme_session`: which session of it this was (1-based; NULL: not part of
  one), `planned_duration_s` (s), `feedback` ("full" | "faded" | "none"), `feedback_fraction`
  (the faded fraction of cues played), `target_offset_deg` (the relative-phase target's
  offset from the baseline, deg; NULL: stay in your band).
"""

from __future__ import annotations

import numpy as np

from pi_app.frames import FrameChunk

SCHEMA_VERSION = 3
DATABASE_FILE_NAME = "sessions.db"

#: Columns of one row of a raw-sample BLOB (float32 each).
SAMPLE_COLUMNS = (
    "dt_s",
    "pelvis_acc_x_g", "pelvis_acc_y_g", "pelvis_acc_z_g",
    "pelvis_gyr_x_dps", "pelvis_gyr_y_dps", "pelvis_gyr_z_dps",
    "thorax_acc_x_g", "thorax_acc_y_g", "thorax_acc_z_g",
    "thorax_gyr_x_dps", "thorax_gyr_y_dps", "thorax_gyr_z_dps",
)
SAMPLE_DTYPE = np.dtype("<f4")
#: FrameChunk attribute -> (bit in `samples.present`, first BLOB column).
PRESENT_BITS = {
    "pelvis_acc_g": (1, 1),
    "pelvis_gyro_dps": (2, 4),
    "thorax_acc_g": (4, 7),
    "thorax_gyro_dps": (8, 10),
}

DDL_V1 = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    athlete_name TEXT NOT NULL DEFAULT '',
    athlete_id TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    start_unix_s REAL NOT NULL,
    end_unix_s REAL,
    end_reason TEXT,
    rate_hz REAL,
    segments TEXT NOT NULL DEFAULT '',
    gyro_segments TEXT NOT NULL DEFAULT '',
    config_text TEXT NOT NULL DEFAULT '',
    calibration_text TEXT NOT NULL DEFAULT '',
    simulated INTEGER NOT NULL DEFAULT 0,
    scenario TEXT,
    seed INTEGER,
    app_version TEXT NOT NULL DEFAULT '',
    t_first_s REAL,
    t_last_s REAL,
    n_samples INTEGER NOT NULL DEFAULT 0,
    last_commit_unix_s REAL
);
CREATE TABLE IF NOT EXISTS samples (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    t0_s REAL NOT NULL,
    n_rows INTEGER NOT NULL,
    present INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS steps (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t_s REAL NOT NULL,
    side TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS steps_by_session ON steps(session_id, t_s);
CREATE TABLE IF NOT EXISTS strides (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    stride INTEGER NOT NULL,
    t_start_s REAL NOT NULL,
    t_end_s REAL NOT NULL,
    cadence_spm REAL,
    pelvis_rom_deg REAL,
    thorax_rom_deg REAL,
    pelvis_phase_deg REAL,
    thorax_phase_deg REAL,
    rel_phase_deg REAL,
    rotation_symmetry_pct REAL,
    quality TEXT NOT NULL DEFAULT '',
    drift INTEGER NOT NULL DEFAULT 0,
    drift_state TEXT,
    drift_progress REAL,
    drift_metric TEXT,
    drift_direction TEXT,
    drift_unit TEXT,
    drift_deviation REAL,
    drift_deviation_sd REAL,
    drift_beyond_band REAL,
    drifting_metrics TEXT NOT NULL DEFAULT '',
    band_center_deg REAL,
    band_half_width_deg REAL,
    band_source TEXT
);
CREATE INDEX IF NOT EXISTS strides_by_session ON strides(session_id, t_start_s);
CREATE TABLE IF NOT EXISTS cues (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t_s REAL NOT NULL,
    kind TEXT NOT NULL,
    intensity REAL NOT NULL,
    played INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    latency_ms REAL
);
CREATE INDEX IF NOT EXISTS cues_by_session ON cues(session_id, t_s);
CREATE TABLE IF NOT EXISTS events (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t_unix_s REAL NOT NULL,
    t_s REAL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id, t_unix_s);
"""

DDL_V2 = """
CREATE TABLE athletes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    created_unix_s REAL NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
ALTER TABLE sessions ADD COLUMN athlete_ref INTEGER REFERENCES athletes(id);
ALTER TABLE sessions ADD COLUMN treadmill_speed_kmh REAL;
CREATE INDEX sessions_by_athlete ON sessions(athlete_ref, start_unix_s);
CREATE TABLE baselines (
    id INTEGER PRIMARY KEY,
    athlete_ref INTEGER NOT NULL REFERENCES athletes(id) ON DELETE CASCADE,
    session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    created_unix_s REAL NOT NULL,
    cadence_spm REAL,
    treadmill_speed_kmh REAL,
    chips TEXT NOT NULL DEFAULT '',
    mounting TEXT NOT NULL DEFAULT '',
    baseline_toml TEXT NOT NULL
);
CREATE INDEX baselines_by_athlete ON baselines(athlete_ref, created_unix_s);
"""

DDL_V3 = """
ALTER TABLE athletes ADD COLUMN programme_text TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN programme_session INTEGER;
ALTER TABLE sessions ADD COLUMN planned_duration_s REAL;
ALTER TABLE sessions ADD COLUMN feedback TEXT;
ALTER TABLE sessions ADD COLUMN feedback_fraction REAL;
ALTER TABLE sessions ADD COLUMN target_offset_deg REAL
"""

#: strides table columns filled from StrideMetrics / DriftVerdict, in insert order.
STRIDE_COLUMNS = (
    "session_id", "stride", "t_start_s", "t_end_s", "cadence_spm", "pelvis_rom_deg",
    "thorax_rom_deg", "pelvis_phase_deg", "thorax_phase_deg", "rel_phase_deg",
    "rotation_symmetry_pct", "quality", "drift", "drift_state", "drift_progress",
    "drift_metric", "drift_direction", "drift_unit", "drift_deviation", "drift_deviation_sd",
    "drift_beyond_band", "drifting_metrics", "band_center_deg", "band_half_width_deg",
    "band_source",
)


def pack_samples(chunk: FrameChunk) -> tuple[float, int, int, bytes]:
    """A chunk as (t0_s, n_rows, present bitmask, float32 BLOB) in the layout above."""
    n = len(chunk)
    table = np.full((n, len(SAMPLE_COLUMNS)), np.nan, dtype=np.float64)
    t0_s = float(chunk.t_s[0])
    table[:, 0] = chunk.t_s - t0_s
    present = 0
    for name, (bit, col) in PRESENT_BITS.items():
        values = getattr(chunk, name)
        if values is not None:
            present |= bit
            table[:, col:col + 3] = values
    return t0_s, n, present, table.astype(SAMPLE_DTYPE).tobytes()


def unpack_samples(t0_s: float, n_rows: int, present: int, data: bytes) -> FrameChunk:
    """The inverse of `pack_samples` (values as float64; time = t0_s + float32 offset)."""
    table = np.frombuffer(data, dtype=SAMPLE_DTYPE)
    if table.size != n_rows * len(SAMPLE_COLUMNS):
        raise ValueError(f"sample BLOB has {table.size} values, expected "
                         f"{n_rows} x {len(SAMPLE_COLUMNS)}")
    table = table.reshape(n_rows, len(SAMPLE_COLUMNS)).astype(np.float64)
    parts = {}
    for name, (bit, col) in PRESENT_BITS.items():
        parts[name] = table[:, col:col + 3].copy() if present & bit else None
    return FrameChunk(t0_s + table[:, 0], **parts)
