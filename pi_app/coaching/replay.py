"""Replaying a session against the bands it was judged against live.

A live session with an athlete may judge against a remembered baseline (from an earlier
session) and against a relative-phase target that the coach moved with the [ and ] keys; the
coach may also have rebuilt the baseline (B) or set the band from the current strides (N). A
replay starts from the raw samples only, so it would build a fresh baseline and lose all of
that. What it needs is stored with the session: the remembered baseline in its
"stored_baseline" event (pi_app.coaching.live), the target's starting offset in
`sessions.target_offset_deg`, each [ / ] press in a "target_set" event (sample time and the
new offset; pi_app.coaching.target), each B and N in a "baseline_restart" and a
"band_from_current" event (sample time).

    bands = ReplayBands.of_session(store, session_id)
    bands.prepare(analyzer.drift)
    for chunk in bands.split(chunks):
        bands.before(chunk, analyzer)
        analyzer.update(chunk)
        bands.after(analyzer.drift)

The drift detector then starts from the same remembered band (updated by the same warm-up
strides), and the target, B and N take effect between the same samples as live, so the
replay's verdicts are the live ones.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from pi_app.coaching.live import baseline_from_record
from pi_app.coaching.target import TargetBand
from pi_app.records import CoachCommand

#: Session events of coach keys that change what strides are judged against -> the command.
_COACH_EVENTS = {"baseline_restart": "restart_baseline",
                 "band_from_current": "band_from_current"}


@dataclass
class ReplayBands:
    """baseline: the remembered `Baseline` the session used (None: it built its own);
    speed_match: as the live session offered it (see DriftDetector.use_baseline);
    start_offset_deg: the target at the start (deg toward anti-phase, None = none);
    key_changes: [(sample time s, what, target offset deg)] of the coach's key presses in
    order, what being "target", "restart_baseline" or "band_from_current"."""

    baseline: object | None = None
    speed_match: bool | None = None
    start_offset_deg: float | None = None
    key_changes: list[tuple[float, str, float]] = field(default_factory=list)

    def __post_init__(self):
        self.target = TargetBand(self.start_offset_deg or 0.0)
        self._next = 0

    @classmethod
    def of_session(cls, store, session_id: int) -> "ReplayBands":
        """What session `session_id` stored of its bands (a damaged event is skipped, with a
        note on stderr: the replay then judges as a session without it)."""
        summary = store.summary(session_id)
        bands = cls(start_offset_deg=summary.target_offset_deg)
        for event in store.events(session_id):
            if event.kind in _COACH_EVENTS and event.t_s is not None:
                bands.key_changes.append((float(event.t_s), _COACH_EVENTS[event.kind], 0.0))
                continue
            if event.kind not in ("stored_baseline", "target_set"):
                continue
            try:
                detail = json.loads(event.detail) if event.detail.startswith("{") else {}
                if event.kind == "stored_baseline" and "baseline" in detail:
                    bands.baseline = baseline_from_record(detail["baseline"])
                    bands.speed_match = detail.get("speed_match")
                elif event.kind == "target_set" and event.t_s is not None:
                    bands.key_changes.append((float(event.t_s), "target",
                                              float(detail["offset_deg"])))
            except (ValueError, KeyError, TypeError) as err:
                print(f"pi-app: session {session_id}: its {event.kind} event at "
                      f"{event.t_s} s cannot be read ({err}); replaying without it.",
                      file=sys.stderr)
        bands.key_changes.sort(key=lambda change: change[0])    # stable: same-time order
        bands.__post_init__()
        return bands

    def prepare(self, detector) -> None:
        """Offer the remembered baseline to a fresh detector, as the live session did."""
        if self.baseline is not None:
            detector.use_baseline([self.baseline], speed_match=self.speed_match)

    def split(self, chunks: Iterable) -> Iterator:
        """`chunks` (FrameChunks) cut after each key press's sample time, so a change lands
        between the same samples as it did live."""
        times = [t for t, _, _ in self.key_changes]
        for chunk in chunks:
            start = 0
            if times and len(chunk):
                cuts = np.searchsorted(chunk.t_s, times, side="right")
                for cut in sorted({int(c) for c in cuts if 0 < c < len(chunk)}):
                    yield chunk.slice(start, cut)
                    start = cut
            yield chunk.slice(start, len(chunk)) if start else chunk

    def before(self, chunk, analyzer, session=None) -> None:
        """Apply the key presses made before `chunk`'s first sample to `analyzer` (its drift
        detector). `session`: a LiveSession being replayed
        (its own B and N, and the target its dashboard shows)."""
        if not len(chunk):
            return
        t0 = float(chunk.t_s[0])
        while self._next < len(self.key_changes) and self.key_changes[self._next][0] < t0:
            _, what, offset_deg = self.key_changes[self._next]
            self._next += 1
            if what == "target":
                self.target.set(offset_deg)
                if session is not None:
                    session.target_offset_deg = self.target.offset_deg or None
            elif session is not None:
                session.apply(CoachCommand(what))      # its TargetHook drops a target on N
            elif what == "restart_baseline":
                # As LiveSession.apply: the coach says the runner is settled, no warm-up.
                analyzer.drift.reset(skip_warmup=True)
            else:
                analyzer.drift.set_band_from_current()
                self.target.drop(analyzer.drift)
            self.target.apply(analyzer.drift)

    def after(self, detector) -> None:
        """After each update: the target onto a baseline that has just been built."""
        self.target.apply(detector)
