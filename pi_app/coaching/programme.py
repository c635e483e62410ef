"""A retraining programme as data (TOML) and which session of it is next.

    name = "faded-8"
    description = "8 sessions over ~2 weeks, 15 -> 30 min, feedback faded over the last 4"
    complete_frac = 0.8          # a session counts as done when >= 80 % of it was run

    [shaping]                    # optional: move the target a step when the last was held
    start_offset_deg = 0.0
    step_deg = 5.0
    hold_in_band_frac = 0.7      # criterion: >= 70 % of strides in the target band ...
    over_last_min = 5.0          # ... over the last 5 minutes of the previous session
    max_offset_deg = 20.0

    [[session]]
    duration_min = 15.0
    feedback = "full"            # full | faded | none (none = retention check: no cues)
    fraction = 0.5               # faded only: the fraction of eligible cues played (1/n)
    target_offset_deg = 10.0     # optional: target band this much more anti-phase (toward
                                 # 180 deg) than the baseline; negative = more in-phase

Feedback maps onto the cue policy (pi_app.cues.policy): full = bandwidth, faded = faded with
one stage of `fraction`, none = off (every decision is still logged as withheld). With
[shaping], the target offset of each session comes from the rule, not from the sessions.
Pure: parsing and the next-session rule do no I/O beyond reading the file.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pi_app.errors import InputFileError

FEEDBACK = ("full", "faded", "none")


@dataclass(frozen=True)
class ProgrammeSession:
    """One session of a programme: its number (1-based), duration (s), feedback ("full",
    "faded", "none"), the fraction of eligible cues played (1 full, 0 none) and the target
    offset (deg more anti-phase than the baseline; None = stay in your band)."""

    number: int
    duration_s: float
    feedback: str
    fraction: float
    target_offset_deg: float | None = None

    @property
    def retention(self) -> bool:
        return self.feedback == "none"

    def describe(self, total: int) -> str:
        fb = {"full": "full feedback", "none": "no feedback (retention check)",
              "faded": f"faded feedback (1 in {round(1 / self.fraction)} cues)"
              if self.fraction > 0 else "faded feedback"}[self.feedback]
        target = "" if not self.target_offset_deg else \
            f", target {self.target_offset_deg:+g} deg toward anti-phase"
        return (f"session {self.number} of {total}: {self.duration_s / 60:g} min, "
                f"{fb}{target}")


@dataclass(frozen=True)
class Shaping:
    """Move the target `step_deg` further each session, only when the previous session held
    it: >= `hold_in_band_frac` of its strides in the target band over its last
    `over_last_min` minutes. Starts at `start_offset_deg`, never beyond `max_offset_deg`."""

    start_offset_deg: float = 0.0
    step_deg: float = 5.0
    hold_in_band_frac: float = 0.7
    over_last_min: float = 5.0
    max_offset_deg: float = 20.0


@dataclass(frozen=True)
class Programme:
    name: str
    description: str
    sessions: tuple[ProgrammeSession, ...]
    complete_frac: float = 0.8
    shaping: Shaping | None = None

    def __len__(self) -> int:
        return len(self.sessions)


@dataclass(frozen=True)
class PastSession:
    """What the next-session rule needs of a stored session of the programme: its number,
    planned and run duration (s), its target offset (deg) and the fraction of strides in the
    target band over its last minutes (None if unknown)."""

    number: int
    planned_s: float
    run_s: float
    target_offset_deg: float | None
    held_frac: float | None


def next_session(programme: Programme, past: list[PastSession]) -> ProgrammeSession | None:
    """The session to run next (None: the programme is complete). A session counts as done
    when at least `complete_frac` of its planned duration was run; one cut short is run
    again."""
    done = [p for p in past if p.run_s >= programme.complete_frac * p.planned_s]
    number = max((p.number for p in done), default=0) + 1
    if number > len(programme):
        return None
    session = programme.sessions[number - 1]
    shaping = programme.shaping
    if shaping is None:
        return session
    last = max(done, key=lambda p: p.number, default=None)
    if last is None or last.target_offset_deg is None:
        offset = shaping.start_offset_deg
    elif last.held_frac is not None and last.held_frac >= shaping.hold_in_band_frac:
        offset = min(shaping.max_offset_deg, last.target_offset_deg + shaping.step_deg)
    else:
        offset = last.target_offset_deg
    return ProgrammeSession(session.number, session.duration_s, session.feedback,
                            session.fraction, offset)


def loads_programme(text: str, source: str = "the programme") -> Programme:
    """Parse a programme's TOML; an error names `source` and the key."""
    def fail(what: str) -> NoReturn:
        raise InputFileError(f"{source}: {what}; see docs/coaching.md for the programme "
                             "format.", path=source)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        fail(f"is not valid TOML ({err})")
    unknown = sorted(set(data) - {"name", "description", "complete_frac", "shaping", "session"})
    if unknown:
        fail(f"unknown key(s) {', '.join(unknown)}")

    def number(table, key, where, lo, hi, default=None):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not lo <= value <= hi:
            fail(f"key '{where}{key}' must be a number from {lo:g} to {hi:g}, "
                 f"found {value!r}")
        return float(value)

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        fail("key 'name' must be the programme's name")
    description = data.get("description", "")
    if not isinstance(description, str):
        fail("key 'description' must be text")
    complete = number(data, "complete_frac", "", 0.1, 1.0, 0.8)
    rows = data.get("session")
    if not isinstance(rows, list) or not rows:
        fail("it needs at least one [[session]]")
    sessions = []
    for i, row in enumerate(rows, start=1):
        where = f"session {i}: "
        if not isinstance(row, dict):
            fail(f"{where}must be a table")
        extra = sorted(set(row) - {"duration_min", "feedback", "fraction", "target_offset_deg"})
        if extra:
            fail(f"{where}unknown key(s) {', '.join(extra)}")
        duration_s = 60.0 * number(row, "duration_min", where, 0.5, 240.0)
        feedback = row.get("feedback")
        if feedback not in FEEDBACK:
            fail(f"{where}key 'feedback' must be one of {', '.join(FEEDBACK)}, found "
                 f"{feedback!r}")
        if feedback == "faded":
            fraction = number(row, "fraction", where, 0.01, 1.0)
            if abs(1.0 / fraction - round(1.0 / fraction)) > 1e-6:
                fail(f"{where}key 'fraction' must be 1/n (0.5, 0.25, ...), found {fraction!r}")
        elif "fraction" in row:
            fail(f"{where}key 'fraction' only belongs to feedback = \"faded\"")
        else:
            fraction = 1.0 if feedback == "full" else 0.0
        target = None
        if "target_offset_deg" in row:
            target = number(row, "target_offset_deg", where, -90.0, 90.0)
        sessions.append(ProgrammeSession(i, duration_s, feedback, fraction, target))
    shaping = None
    if "shaping" in data:
        t = data["shaping"]
        if not isinstance(t, dict):
            fail("[shaping] must be a table")
        extra = sorted(set(t) - set(Shaping.__dataclass_fields__))
        if extra:
            fail(f"[shaping] unknown key(s) {', '.join(extra)}")
        d = Shaping()
        shaping = Shaping(
            start_offset_deg=number(t, "start_offset_deg", "shaping.", -90, 90,
                                    d.start_offset_deg),
            step_deg=number(t, "step_deg", "shaping.", -30, 30, d.step_deg),
            hold_in_band_frac=number(t, "hold_in_band_frac", "shaping.", 0.0, 1.0,
                                     d.hold_in_band_frac),
            over_last_min=number(t, "over_last_min", "shaping.", 0.5, 240, d.over_last_min),
            max_offset_deg=number(t, "max_offset_deg", "shaping.", -90, 90, d.max_offset_deg))
    return Programme(name.strip(), description, tuple(sessions), complete, shaping)


def load_programme(path: str | Path) -> Programme:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"no programme file at {path}; see config/programmes/ for "
                             "examples.", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"cannot read the programme {path} ({err}).",
                             path=str(path)) from None
    return loads_programme(text, str(path))


def target_center_deg(baseline_center_deg: float, offset_deg: float) -> float:
    """The target band's center: `offset_deg` more anti-phase (toward 180 deg) than the
    baseline's relative phase (negative: toward 0, more in-phase)."""
    c = baseline_center_deg % 360.0
    toward = 1.0 if c < 180.0 else -1.0
    return (c + toward * offset_deg) % 360.0
