"""What the cue engine adds between the sample that closes a drifting stride and the cue
starting, as JSON: `python bench/cue_latency.py`.

Virtual clock: the closing sample is taken uniformly inside one drain interval (15 ms) before
the analysis step that emits the stride; latency = that wait + the engine (zero virtual time)
+ the audio mixer buffer. Wall clock: CPU time of `on_stride` (pattern synthesis first, then
cached) with a simulated buzzer and pygame audio on SDL's dummy driver. The stride's own
analysis delay (contact detection) is the pipeline's and is not included.
"""

import json
import os
import time

import numpy as np

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pi_app.analysis.drift import DriftVerdict  # noqa: E402
from pi_app.analysis.types import StrideMetrics  # noqa: E402
from pi_app.clock import ManualClock  # noqa: E402
from pi_app.cues import CueEngine, CuePolicy, SimulatedBuzzer, open_audio  # noqa: E402
from pi_app.drain import DRAIN_INTERVAL_S  # noqa: E402

DRAIN_S = DRAIN_INTERVAL_S


def main() -> None:
    rng = np.random.default_rng(0)
    clock = ManualClock(100.0)
    audio = open_audio(clock, buffer_frames=256)
    engine = CueEngine(CuePolicy(min_interval_s=0.0), SimulatedBuzzer(clock), audio, clock)
    kinds = [("rel_phase", "counter-rotation lost"), ("thorax_phase", "thorax early"),
             ("thorax_phase", "thorax late"), ("cadence", "low"), ("cadence", "high")]
    cpu_ms = []
    for i in range(500):
        metric, direction = kinds[i % len(kinds)]
        beyond_sd = float(rng.uniform(0.0, 4.0))
        verdict = DriftVerdict("drifting", 1.0, metric=metric, direction=direction,
                               deviation=-(2.5 + beyond_sd) * 5.0,
                               deviation_sd=-(2.5 + beyond_sd), beyond_band=beyond_sd * 5.0,
                               drifting_metrics=(metric,))
        stride = StrideMetrics(i, i * 0.7, (i + 1) * 0.7, 170.0)
        closing_s = clock.now_s() - float(rng.uniform(0.0, DRAIN_S))
        t0 = time.perf_counter()
        engine.on_stride(stride, verdict, closing_s)
        cpu_ms.append((time.perf_counter() - t0) * 1000.0)
        clock.advance(0.7)
    lat = np.array(engine.latencies_ms)
    engine.close()
    print(json.dumps({
        "drain_interval_ms": DRAIN_S * 1000,
        "audio_buffer_ms": round(audio.output_latency_ms, 2),
        "audio_warning": audio.warning,
        "virtual_latency_ms": {"mean": round(float(lat.mean()), 2),
                               "p95": round(float(np.percentile(lat, 95)), 2),
                               "max": round(float(lat.max()), 2)},
        "on_stride_cpu_ms": {"median": round(float(np.median(cpu_ms)), 3),
                             "max_first_of_kind": round(float(max(cpu_ms[:20])), 3),
                             "p99": round(float(np.percentile(cpu_ms, 99)), 3)},
        "budget_ms": 50.0,
    }, indent=2))


if __name__ == "__main__":
    main()
