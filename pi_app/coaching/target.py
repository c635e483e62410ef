"""The relative-phase target: the athlete's own band moved toward anti-phase.

    target = TargetBand(offset_deg=10.0, step_deg=5.0)
    band = target.apply(detector)      # after each update: the band it set, or None
    target.step(+1)                    # the coach's ] key: 5 deg further toward anti-phase

The target keeps the width of the baseline band (remembered or fresh) and its center is
`offset_deg` toward 180 deg (pi_app.coaching.programme.target_center_deg); the drift
detector judges the relative phase against it as against any coach band, so the cues guide
toward it with the direction-specific patterns. An offset of 0 is no target: the baseline
band is judged again. `TargetHook` runs it in a live session (the config's or the
programme's offset, the dashboard's [ and ] keys) and records every key press as a
"target_set" event, which a replay of the session reapplies at the same sample time
(pi_app.coaching.replay).
"""

from __future__ import annotations

from dataclasses import dataclass

from pi_app.coaching.programme import target_center_deg

#: The metric a target moves.
TARGET_METRIC = "rel_phase"
#: The largest offset (deg either way): 90 deg from a runner's band is another movement.
MAX_OFFSET_DEG = 90.0


@dataclass(frozen=True)
class TargetChange:
    """What `TargetBand.apply` did: offset_deg (toward anti-phase; 0 = none) and the band
    now judged (low, high deg), None when the baseline band is judged again."""

    offset_deg: float
    band_deg: tuple[float, float] | None

    def text(self) -> str:
        if self.band_deg is None:
            return "no target: judged against the athlete's own band"
        low, high = self.band_deg
        return (f"target {self.offset_deg:+g} deg toward anti-phase: "
                f"{low:.0f}-{high:.0f} deg")


class TargetBand:
    """The target of one session. offset_deg: deg toward anti-phase (negative: toward
    in-phase; 0 = no target); step_deg: what one `step` moves it (deg)."""

    def __init__(self, offset_deg: float = 0.0, step_deg: float = 5.0):
        if step_deg <= 0:
            raise ValueError("step_deg must be > 0")
        self.step_deg = float(step_deg)
        self.offset_deg = _clamp(float(offset_deg))
        # (baseline dict, offset) the detector was last given, so each is applied once.
        self._applied: tuple[object, float] | None = None

    def step(self, steps: float) -> float:
        """Move the target `steps` steps (+ toward anti-phase); returns the new offset."""
        self.offset_deg = _clamp(round(self.offset_deg + steps * self.step_deg, 6))
        return self.offset_deg

    def set(self, offset_deg: float) -> None:
        self.offset_deg = _clamp(float(offset_deg))

    def drop(self, detector) -> None:
        """The coach set the band some other way (N: band = now): no target any more, and
        the band `detector` judges against now stays."""
        self.offset_deg = 0.0
        self._applied = (detector.baseline, 0.0)

    def apply(self, detector) -> TargetChange | None:
        """Give `detector` (a DriftDetector) the target band when its baseline or the offset
        changed since the last call; returns what changed, or None (nothing to do, or no
        baseline yet)."""
        base = detector.baseline.get(TARGET_METRIC)
        if base is None:
            return None
        key = (detector.baseline, self.offset_deg)
        if self._applied is not None and self._applied[0] is key[0] \
                and self._applied[1] == key[1]:
            return None
        first = self._applied is None or self._applied[0] is not key[0]
        self._applied = key
        if not self.offset_deg:
            if first:
                return None            # a new baseline without a target: nothing changes
            detector.clear_band(TARGET_METRIC)
            return TargetChange(0.0, None)
        center = target_center_deg(base.center, self.offset_deg)
        band = detector.set_band(TARGET_METRIC, center - base.half_width,
                                 center + base.half_width)
        return TargetChange(self.offset_deg, (band.low, band.high))


def _clamp(offset_deg: float) -> float:
    return max(-MAX_OFFSET_DEG, min(MAX_OFFSET_DEG, offset_deg))


class TargetHook:
    """A session hook (pi_app.live.session.SessionHook) that keeps `session`'s drift
    detector on the target: applied once a baseline is there (and again after the coach
    rebuilds it), moved by the "target_step" coach command (value: steps, +1 = toward
    anti-phase) and dropped when the coach sets the band from now (N). A key press is a
    "target_set" event {t_s, offset_deg}, each band given to the detector a "target" event
    {t_s, offset_deg, band_deg (None: the baseline band again), cause}; the session's
    `target_offset_deg` is shown on the dashboard."""

    def __init__(self, session, target: TargetBand):
        self.session = session
        self.target = target
        session.target_offset_deg = target.offset_deg or None
        session.own_command("target_step", self.on_command)

    def on_chunk(self, chunk) -> None:
        """Nothing: the target changes with strides and keys only."""

    def on_cue(self, cue) -> None:
        """Nothing: cues follow the band the detector judges against."""

    def on_update(self, update) -> None:
        self._apply("baseline")

    def on_event(self, kind: str, detail) -> None:
        if kind == "band_from_current" and self.target.offset_deg:
            self.target.drop(self.session.analyzer.drift)
            self.session.target_offset_deg = None

    def on_command(self, command) -> None:
        """The "target_step" coach command (value: steps, + toward anti-phase)."""
        self.target.step(float(command.value or 0.0))
        self.session.target_offset_deg = self.target.offset_deg or None
        self.session._call("on_event", "target_set", {
            "t_s": self.session.t_s, "offset_deg": self.target.offset_deg,
            "detail": f"coach set the target to {self.target.offset_deg:+g} deg"})
        self._apply("key")

    def _apply(self, cause: str) -> None:
        change = self.target.apply(self.session.analyzer.drift)
        if change is None:
            return
        band = None if change.band_deg is None else [round(x, 1) for x in change.band_deg]
        self.session._call("on_event", "target", {
            "t_s": self.session.t_s, "offset_deg": change.offset_deg, "band_deg": band,
            "cause": cause, "detail": change.text()})


def attach_target(session, offset_deg: float | None, step_deg: float) -> TargetHook:
    """Attach a `TargetHook` to `session` starting at `offset_deg` (None = no target)."""
    hook = TargetHook(session, TargetBand(offset_deg or 0.0, step_deg))
    session.hooks.append(hook)
    return hook
