"""The athlete's programme in the store: assign it, and plan the next session from the
sessions already run (pi_app.coaching.programme has the rule)."""

from __future__ import annotations

import dataclasses
import sqlite3

from pi_app.coaching.programme import (PastSession, Programme, ProgrammeSession,
                                       loads_programme, next_session)
from pi_app.store.athletes import Athlete
from pi_app.store.store import SessionStore, SessionStoreError


def set_programme(store: SessionStore, athlete: Athlete, text: str,
                  source: str) -> Programme | None:
    """Assign the programme in `text` (validated first) to the athlete; "" removes it (and
    returns None)."""
    programme = loads_programme(text, source) if text else None
    try:
        with store.conn as conn:
            conn.execute("UPDATE athletes SET programme_text = ? WHERE id = ?",
                         (text, athlete.id))
    except sqlite3.DatabaseError as err:
        raise SessionStoreError(f"the session database {store.path} cannot be written "
                                f"({err}).", path=str(store.path)) from None
    return programme


def programme_of(store: SessionStore, athlete: Athlete) -> Programme | None:
    row = store.conn.execute("SELECT programme_text FROM athletes WHERE id = ?",
                             (athlete.id,)).fetchone()
    if not row or not row[0]:
        return None
    return loads_programme(row[0], f"the programme of {athlete.name}")


def held_fraction(store: SessionStore, session_id: int, over_last_s: float) -> float | None:
    """The fraction of judged strides whose relative phase was inside the band it was judged
    against (target or baseline) over the session's last `over_last_s` seconds; None if no
    stride was judged then."""
    rows = store.conn.execute(
        "SELECT t_end_s, rel_phase_deg, band_center_deg, band_half_width_deg FROM strides "
        "WHERE session_id = ? AND band_center_deg IS NOT NULL AND rel_phase_deg IS NOT NULL "
        "ORDER BY t_end_s", (session_id,)).fetchall()
    if not rows:
        return None
    t_last = rows[-1][0]
    recent = [r for r in rows if r[0] >= t_last - over_last_s]
    inside = sum(1 for _, rel, c, hw in recent if abs((rel - c + 180.0) % 360.0 - 180.0) <= hw)
    return inside / len(recent)


def past_sessions(store: SessionStore, athlete: Athlete, programme: Programme
                  ) -> list[PastSession]:
    over_s = 60.0 * (programme.shaping.over_last_min if programme.shaping else 5.0)
    rows = store.conn.execute(
        "SELECT id, programme_session, planned_duration_s, t_first_s, t_last_s, "
        "target_offset_deg FROM sessions WHERE athlete_ref = ? AND programme_session IS NOT "
        "NULL ORDER BY start_unix_s, id", (athlete.id,)).fetchall()
    out = []
    for sid, number, planned, t0, t1, offset in rows:
        run_s = (t1 - t0) if t0 is not None and t1 is not None else 0.0
        out.append(PastSession(number, planned or 0.0, run_s, offset,
                               held_fraction(store, sid, over_s)))
    return out


def plan_next(store: SessionStore, athlete: Athlete
              ) -> tuple[Programme, ProgrammeSession | None] | None:
    """(programme, its next session or None when complete), or None without a programme."""
    programme = programme_of(store, athlete)
    if programme is None:
        return None
    return programme, next_session(programme, past_sessions(store, athlete, programme))


def config_for(cfg, session: ProgrammeSession):
    """`cfg` with the cue policy the session's feedback asks for (full = bandwidth, faded =
    one stage of its fraction, none = off)."""
    if session.feedback == "full":
        cues = dataclasses.replace(cfg.cues, mode="bandwidth")
    elif session.feedback == "faded":
        cues = dataclasses.replace(cfg.cues, mode="faded",
                                   fade_schedule=((0.0, session.fraction),))
    else:
        cues = dataclasses.replace(cfg.cues, mode="off")
    return dataclasses.replace(cfg, cues=cues)


def recorder_fields(session: ProgrammeSession) -> dict:
    """The `start_recorder` arguments that record the session's place in the programme."""
    return {"programme_session": session.number, "planned_duration_s": session.duration_s,
            "feedback": session.feedback, "feedback_fraction": session.fraction,
            "target_offset_deg": session.target_offset_deg}
