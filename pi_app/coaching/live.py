"""The athlete in a live session: their remembered baselines offered to the drift detector,
and each baseline the session completes remembered for them.

    coaching = attach_coaching(session, state_dir, "Ana Silva", treadmill_speed_kmh=10.0)
    ...                                 # the session runs; coaching is one of its hooks
    coaching.close()                    # waits for a baseline still being written

`attach_coaching` adds the athlete if they are new. When the session has built its first
strides (the sensors' verticals are known, long before the warm-up ends), the remembered
baselines whose chips, mounting and entered speed fit are given to the drift detector (newest
first; it checks the cadence itself at the end of the warm-up). Whatever is decided is in
`DriftDetector.stored_note`, which the dashboard shows and the event log records.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from pi_app.coaching.baselines import Conditions, check_conditions, chips_text
from pi_app.coaching.plan import plan_next
from pi_app.coaching.programme import Programme, ProgrammeSession
from pi_app.coaching.store import StoredBaseline, list_baselines, remember_baseline
from pi_app.store.athletes import Athlete, ensure_athlete
from pi_app.store.store import SessionStore, SessionStoreError

#: At most this many of the athlete's newest baselines are offered to the detector.
MAX_CANDIDATES = 10


def sensor_verticals(analyzer) -> dict[str, tuple[float, float, float]]:
    """Each sensor's current vertical in its own axes (unit vector), where known."""
    out: dict[str, tuple[float, float, float]] = {}
    for role, estimator in getattr(analyzer, "orientation", {}).items():
        v = estimator.vertical_unit
        if v is not None:
            out[role] = (float(v[0]), float(v[1]), float(v[2]))
    return out


class CoachingHook:
    """A session hook (pi_app.live.session.SessionHook) for one athlete (see the module
    docstring). state_dir: the store's state directory; chips: "pelvis=...,thorax=..."."""

    def __init__(self, session, state_dir, athlete: Athlete, candidates: list[StoredBaseline],
                 treadmill_speed_kmh: float | None, chips: str):
        self.session = session
        self.state_dir = state_dir
        self.athlete = athlete
        self.candidates = candidates
        self.treadmill_speed_kmh = treadmill_speed_kmh
        self.chips = chips
        self.offered = not candidates
        self.remembered: list[int] = []
        self.errors: list[str] = []
        # The baseline dicts already remembered (a new dict per baseline the detector builds).
        self._remembered_for: list[dict] = []
        self._threads: list[threading.Thread] = []
        self._note_sent: str | None = None
        self._speed_match: bool | None = None

    # -- hook ------------------------------------------------------------------------------
    def on_update(self, update) -> None:
        detector = self.session.analyzer.drift
        if not self.offered and update.strides:
            self._offer(detector)
        note = detector.stored_note
        if note is not None and note != self._note_sent:
            self._note_sent = note
            event = {"t_s": self.session.t_s, "detail": note}
            if detector.stored_in_use is not None:
                # What a replay needs to judge against the same band (pi_app.coaching.replay).
                event.update(baseline=baseline_record(detector.stored_in_use),
                             speed_match=self._speed_match)
            self.session._call("on_event", "stored_baseline", event)
        if (detector.baseline and detector.stored_in_use is None
                and not any(d is detector.baseline for d in self._remembered_for)
                and any(v.state == "in_band" or v.drift for v in update.verdicts)):
            self._remembered_for.append(detector.baseline)
            self._remember(detector)

    def _offer(self, detector) -> None:
        self.offered = True
        now = Conditions(treadmill_speed_kmh=self.treadmill_speed_kmh, chips=self.chips,
                         verticals=sensor_verticals(self.session.analyzer))
        fitting, first_reason, speed_match = [], None, None
        for stored in self.candidates:
            try:
                baseline, conditions = stored.load()
            except Exception as err:  # a damaged row must not stop the session
                first_reason = first_reason or f"baseline {stored.id} is unreadable ({err})"
                continue
            match, reason = check_conditions(conditions, now)
            if reason is not None:
                first_reason = first_reason or reason
                continue
            origin = f"session {stored.session_id}" if stored.session_id is not None else \
                "a session not in the store"
            fitting.append(_with_origin(baseline, f"{origin}, {stored.age_text()}"))
            if match is True and speed_match is None:
                speed_match = True
        if fitting:
            self._speed_match = speed_match
            detector.use_baseline(fitting, speed_match=speed_match)
        elif first_reason:
            detector.reject_baseline(first_reason)

    def _remember(self, detector) -> None:
        baseline = detector.learnt_baseline(created_unix_s=time.time())
        if baseline is None:
            return
        conditions = Conditions(cadence_spm=baseline.cadence_spm,
                                treadmill_speed_kmh=self.treadmill_speed_kmh, chips=self.chips,
                                verticals=sensor_verticals(self.session.analyzer))
        recorder = self.session.recorder
        session_id = getattr(recorder, "session_id", None)
        # A write with fsync can take tens of ms on an SD card: not on the analysis thread.
        thread = threading.Thread(target=self._write, args=(session_id, baseline, conditions),
                                  name="baseline-writer", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _write(self, session_id, baseline, conditions) -> None:
        try:
            with SessionStore.open(self.state_dir) as store:
                self.remembered.append(remember_baseline(store, self.athlete.id, session_id,
                                                         baseline, conditions))
        except SessionStoreError as err:
            self.errors.append(str(err))

    def close(self, timeout_s: float = 10.0) -> None:
        """Wait for baselines still being written."""
        for thread in self._threads:
            thread.join(timeout_s)


def baseline_record(baseline) -> dict:
    """A `Baseline` as plain JSON-able data (`baseline_from_record` reads it back)."""
    return {"centers": dict(baseline.centers), "sds": dict(baseline.sds),
            "n_strides": baseline.n_strides, "origin": baseline.origin,
            "created_unix_s": baseline.created_unix_s}


def baseline_from_record(record: dict):
    """The `Baseline` a `baseline_record` describes (ValueError/KeyError/TypeError when it
    is not one)."""
    from pi_app.analysis.drift import Baseline
    return Baseline(centers={str(k): float(v) for k, v in record["centers"].items()},
                    sds={str(k): float(v) for k, v in record["sds"].items()},
                    n_strides=int(record["n_strides"]), origin=str(record.get("origin", "")),
                    created_unix_s=record.get("created_unix_s"))


def _with_origin(baseline, origin: str):
    from dataclasses import replace
    return replace(baseline, origin=origin)


@dataclass(frozen=True)
class CoachingPlan:
    """Who runs and what: the athlete, their programme (None: none) and its session to run
    now (None: no programme, or it is complete)."""

    athlete: Athlete
    programme: Programme | None
    session: ProgrammeSession | None

    def describe(self) -> str:
        if self.programme is None:
            return f"athlete {self.athlete.name!r}, no programme"
        if self.session is None:
            return (f"athlete {self.athlete.name!r}: programme {self.programme.name!r} is "
                    "complete; running a free session")
        return (f"athlete {self.athlete.name!r}, programme {self.programme.name!r}, "
                + self.session.describe(len(self.programme)))


def target_offset_for(cfg, planned: ProgrammeSession | None) -> float | None:
    """The session's relative-phase target (deg toward anti-phase; None = none): the
    programme session's where it sets one, else [coaching] target_offset_deg."""
    if planned is not None and planned.target_offset_deg is not None:
        return planned.target_offset_deg
    return cfg.coaching.target_offset_deg or None


def plan_for(state_dir, athlete_name: str) -> CoachingPlan:
    """The athlete (added if new) and the next session of their programme."""
    with SessionStore.open(state_dir) as store:
        athlete, _ = ensure_athlete(store, athlete_name)
        planned = plan_next(store, athlete)
    if planned is None:
        return CoachingPlan(athlete, None, None)
    return CoachingPlan(athlete, planned[0], planned[1])


def attach_coaching(session, state_dir, athlete_name: str,
                    treadmill_speed_kmh: float | None = None) -> CoachingHook:
    """Find (or add) the athlete, load their remembered baselines and attach a
    `CoachingHook` to `session`. Raises SessionStoreError when the store cannot be opened."""
    with SessionStore.open(state_dir) as store:
        athlete, _ = ensure_athlete(store, athlete_name)
        candidates = list(reversed(list_baselines(store, athlete.id)))[:MAX_CANDIDATES]
    reader = session.reader
    chips = chips_text({role: getattr(reader.driver(role), "model", None)
                        for role in reader.roles})
    hook = CoachingHook(session, state_dir, athlete, candidates, treadmill_speed_kmh, chips)
    session.hooks.append(hook)
    return hook


def athletes_by_recency(state_dir) -> list[str]:
    """The athletes' names in the store, the most recently run first (then by name); [] when
    there is no store yet."""
    from pi_app.store.athletes import list_athletes
    from pi_app.store.store import database_path
    if not database_path(state_dir).exists():
        return []
    with SessionStore.open(state_dir) as store:
        athletes = list_athletes(store)
    return [a.name for a in sorted(athletes, key=lambda a: -(a.last_session_unix_s or 0.0))]
