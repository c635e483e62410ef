"""Dashboard render benchmark: time per frame of `Dashboard.draw` off screen.

    .venv/bin/python bench/render.py [--frames 300] [--simulated]

Prints one JSON object: mean and p95 ms per frame at 1280x720 and 1920x1080 with
SDL_VIDEODRIVER=dummy (drawing into a surface; the real screen adds the flip). Every frame
is a different snapshot moment (moving traces, live phase and cadence), cycling through the
coach-visible states, so caches only help as much as they would live. The budget is 8 ms a
frame at 1920x1080.

--simulated draws snapshots from the simulated runner (`screenshots.demo_snapshots`, about a
minute of CPU to produce) instead of the synthetic ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from pi_app.ui.dashboard import Dashboard  # noqa: E402
from pi_app.ui.samples import state_snapshots  # noqa: E402

BUDGET_MS = 8.0


def _frames(n: int, simulated: bool) -> list:
    if simulated:
        from pi_app.screenshots import demo_snapshots
        states = list(demo_snapshots().values())
    else:
        states = list(state_snapshots().values())
    out = []
    for i in range(n):
        s = states[(i // 30) % len(states)]  # one state per second at 30 fps
        dt = i / 30.0
        if s.trace_t_s.size:
            s = dataclasses.replace(
                s, t_s=s.t_s + dt, trace_t_s=s.trace_t_s + dt,
                trace_pelvis_deg=np.roll(s.trace_pelvis_deg, -i * 3),
                trace_thorax_deg=np.roll(s.trace_thorax_deg, -i * 3),
                rel_phase_deg=None if s.rel_phase_deg is None else
                (s.rel_phase_deg + 7 * np.sin(dt)) % 360,
                cadence_spm=None if s.cadence_spm is None else
                s.cadence_spm + 3 * np.sin(dt / 3))
        out.append(s)
    return out


def bench(size, frames) -> dict:
    dash = Dashboard(size)
    surface = pygame.Surface(size)
    for s in frames[:10]:  # warm caches and the static layer, as the first second live does
        dash.draw(s, surface)
    times = []
    for s in frames:
        t0 = time.perf_counter()
        dash.draw(s, surface)
        times.append((time.perf_counter() - t0) * 1000.0)
    a = np.asarray(times)
    return {"mean_ms": round(float(a.mean()), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "max_ms": round(float(a.max()), 3), "frames": int(a.size),
            "fps_if_only_drawing": round(1000.0 / float(a.mean()), 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--simulated", action="store_true")
    args = ap.parse_args(argv)
    pygame.display.init()
    pygame.font.init()
    frames = _frames(args.frames, args.simulated)
    result = {"driver": pygame.display.get_driver(), "budget_ms_1920x1080": BUDGET_MS,
              "snapshots": "simulated" if args.simulated else "synthetic"}
    for size in ((1280, 720), (1920, 1080)):
        result[f"{size[0]}x{size[1]}"] = bench(size, frames)
    result["within_budget"] = result["1920x1080"]["p95_ms"] <= BUDGET_MS
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
