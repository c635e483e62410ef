"""The dial's live needle: shown only when it says something true about the running now.

The continuous phase estimate keeps its last value when its input stops meaning anything: a
runner standing still still has a (noise) phase, and a missing thorax sensor leaves the last
relative phase in place. The needle is therefore withheld, with the reason, when
- the runner is not running (no live cadence: no steps in the last few seconds),
- a sensor is missing (relative phase needs both),
- the estimate has not settled yet (no relative phase).
A low confidence while running is still shown (the dashboard dims it and says so).
"""

from __future__ import annotations


def dial_needle(live, sensors) -> tuple[float | None, str | None]:
    """(needle relative phase in deg [0, 360) or None, why not when None).

    live: the analyzer's `LiveState` (cadence_spm, rel_phase_deg). sensors: the snapshot's
    `SensorStatus`es (role, present)."""
    missing = [s.role for s in sensors if not s.present]
    if missing:
        return None, f"{' and '.join(missing)} sensor missing"
    if live.cadence_spm is None:
        return None, "not running"
    if live.rel_phase_deg is None:
        return None, "settling"
    return float(live.rel_phase_deg) % 360.0, None
