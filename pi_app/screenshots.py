"""Dashboard screenshots of the coach-visible states (`pi-app demo --screenshot DIR`).

`demo_snapshots()` runs the real live session (drivers, reader, analysis, cue decisions)
against the simulated runner on a virtual clock and keeps the snapshot at the moments that
show each state; `save_screenshots(directory, snapshots_by_state)` draws them off screen
and writes PNGs.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Mapping

from pi_app.config import Config
from pi_app.live.snapshot import LiveSnapshot

#: The states the screenshots cover, in the order they are written.
STATES = ("baseline_building", "in_band", "drifting", "suppressed", "sensor_fault",
          "stalled_thread", "no_audio")

#: Simulated seconds at which the scenarios show a state (pi_app.sim.scenarios: "drift"
#: loses counter-rotation 150 s after running starts; "dropout" loses the thorax sensor
#: for 5 s, 40 s after running starts).
_DRIFT_TIMES_S = {"baseline_building": 60.0, "in_band": 140.0, "drifting": 200.0}
_DROPOUT_FAULT_S = 47.0


def _run_scenario(cfg: Config, scenario: str, times_s: Mapping[str, float], seed: int) -> dict:
    from pi_app.app import build_live, simulator_spec
    from pi_app.clock import ManualClock
    from pi_app.live.session import run_stepped

    clock = ManualClock()          # stepped: acquisition runs in this thread
    parts = build_live(cfg, clock, bus_spec=simulator_spec(cfg, scenario, seed=seed),
                       scenario=scenario, simulated_outputs=True,
                       calibration_text="simulated: no calibration needed")
    try:
        out, done_s = {}, 0.0
        for name, t_s in sorted(times_s.items(), key=lambda kv: kv[1]):
            run_stepped(parts.live, clock, t_s - done_s, cfg.sensors.drain_interval_s)
            done_s = t_s
            out[name] = parts.live.snapshot()
        return out
    finally:
        parts.close()


def demo_snapshots(seed: int = 0, log: Callable[[str], None] | None = None,
                   cfg: Config | None = None) -> dict[str, LiveSnapshot]:
    """Snapshots of every state in STATES from simulated sessions (about a minute of CPU).

    baseline building, in band and drifting come from the "drift" scenario, the sensor
    fault from "dropout" while the thorax IMU is gone. Suppressed, stalled thread and no
    audio are the in-band moment with only that part changed (the verdict a speed change
    gives, a late analysis heartbeat, the audio fallback's warning), so each picture shows
    one thing. cfg: the config the sessions run with (default: the built-in defaults)."""
    from pi_app.analysis.drift import DriftVerdict
    from pi_app.records import DriftState
    cfg = cfg if cfg is not None else Config()
    if log:
        log("simulating the 'drift' scenario for the screenshots ...")
    snaps = _run_scenario(cfg, "drift", _DRIFT_TIMES_S, seed)
    if log:
        log("simulating the 'dropout' scenario ...")
    snaps.update(_run_scenario(cfg, "dropout", {"sensor_fault": _DROPOUT_FAULT_S}, seed))
    base = snaps["in_band"]
    snaps["suppressed"] = dataclasses.replace(
        base, verdict=DriftVerdict(state=DriftState.SUPPRESSED, progress=1.0, suppressed_for_s=18.0))
    snaps["stalled_thread"] = dataclasses.replace(base, stalled_threads=("analysis",))
    snaps["no_audio"] = dataclasses.replace(
        base, warnings=base.warnings + ("no audio device (ALSA default): cues are silent; "
                                        "buzzer only",))
    return {name: snaps[name] for name in STATES}


def save_screenshots(directory, snapshots_by_state: Mapping[str, LiveSnapshot] | None = None,
                     sizes_px=((1920, 1080),), log: Callable[[str], None] | None = None,
                     cfg: Config | None = None) -> list[Path]:
    """Draw each snapshot (default: `demo_snapshots(cfg=cfg)`) at each size and write
    `<directory>/<state>_<w>x<h>.png` (directory created if missing). Returns the paths."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from pi_app.ui.dashboard import Dashboard
    if snapshots_by_state is None:
        snapshots_by_state = demo_snapshots(log=log, cfg=cfg)
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for size in sizes_px:
        w, h = int(size[0]), int(size[1])
        dash = Dashboard((w, h))
        surface = pygame.Surface((w, h))
        for state, snap in snapshots_by_state.items():
            dash.draw(snap, surface)
            path = out_dir / f"{state}_{w}x{h}.png"
            pygame.image.save(surface, str(path))
            paths.append(path)
    return paths
