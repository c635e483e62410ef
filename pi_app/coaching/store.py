"""Remembered baselines in the session store (`baselines` table, schema 2).

    remember_baseline(store, athlete_id, session_id, baseline, conditions)
    latest_baseline(store, athlete_id)  ->  StoredBaseline | None
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from pi_app.analysis.drift import Baseline
from pi_app.coaching.baselines import Conditions, dumps_baseline, loads_baseline
from pi_app.store.store import SessionStore, SessionStoreError


@dataclass(frozen=True)
class StoredBaseline:
    """One row of `baselines`: id, athlete, the session it was built in (None: not recorded,
    or deleted),
    when (unix s), its conditions and its TOML text."""

    id: int
    athlete_ref: int
    session_id: int | None
    created_unix_s: float
    cadence_spm: float | None
    treadmill_speed_kmh: float | None
    chips: str
    toml_text: str

    def load(self) -> tuple[Baseline, Conditions]:
        return loads_baseline(self.toml_text, f"remembered baseline {self.id}")

    def age_text(self, now_unix_s: float | None = None) -> str:
        """"3 days old", "2 h old", "5 min old"."""
        age_s = max(0.0, (time.time() if now_unix_s is None else now_unix_s)
                    - self.created_unix_s)
        if age_s >= 2 * 86400:
            return f"{age_s / 86400:.0f} days old"
        if age_s >= 3600:
            return f"{age_s / 3600:.0f} h old"
        return f"{age_s / 60:.0f} min old"

    def describe(self, now_unix_s: float | None = None) -> str:
        where = f"session {self.session_id}" if self.session_id is not None else \
            "a session not in the store"
        speed = f", {self.treadmill_speed_kmh:g} km/h" if self.treadmill_speed_kmh else ""
        cadence = f", {self.cadence_spm:.0f} spm" if self.cadence_spm else ""
        return f"baseline {self.id} from {where} ({self.age_text(now_unix_s)}{cadence}{speed})"

    def as_json(self) -> dict:
        return {"id": self.id, "session_id": self.session_id,
                "created_unix_s": self.created_unix_s, "cadence_spm": self.cadence_spm,
                "treadmill_speed_kmh": self.treadmill_speed_kmh, "chips": self.chips}


_COLUMNS = ("id, athlete_ref, session_id, created_unix_s, cadence_spm, treadmill_speed_kmh, "
            "chips, baseline_toml")


def remember_baseline(store: SessionStore, athlete_id: int, session_id: int | None,
                      baseline: Baseline, conditions: Conditions) -> int:
    """Store `baseline` for the athlete; returns its id."""
    created = baseline.created_unix_s if baseline.created_unix_s is not None else time.time()
    text = dumps_baseline(baseline, conditions)
    try:
        with store.conn as conn:
            cur = conn.execute(
                "INSERT INTO baselines (athlete_ref, session_id, created_unix_s, cadence_spm, "
                "treadmill_speed_kmh, chips, mounting, baseline_toml) VALUES (?,?,?,?,?,?,?,?)",
                (athlete_id, session_id, created, conditions.cadence_spm or baseline.cadence_spm,
                 conditions.treadmill_speed_kmh, conditions.chips,
                 json.dumps(conditions.verticals), text))
            assert cur.lastrowid is not None        # set by the INSERT
            return cur.lastrowid
    except sqlite3.DatabaseError as err:
        raise SessionStoreError(f"the baseline could not be stored in {store.path} ({err}).",
                                path=str(store.path)) from None


def list_baselines(store: SessionStore, athlete_id: int) -> list[StoredBaseline]:
    """The athlete's remembered baselines, oldest first."""
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM baselines WHERE athlete_ref = ? "
                              "ORDER BY created_unix_s, id", (athlete_id,)).fetchall()
    return [StoredBaseline(*r) for r in rows]


def latest_baseline(store: SessionStore, athlete_id: int) -> StoredBaseline | None:
    """The athlete's newest remembered baseline, or None."""
    rows = list_baselines(store, athlete_id)
    return rows[-1] if rows else None
