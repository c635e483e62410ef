"""When does a decided cue really sound? JSON: `python bench/audio_onset.py [N]`.

Runs the demo's cue wiring (pi_app.app.make_cue_engine with the computer's sound
device) on SDL's disk audio driver, which writes the mixer's output to a file at the device's
pace, decides N cues about 3 s apart (the policy's minimum interval) on the wall clock and finds each pattern's onset in
the recorded PCM (pi_app.cues.pcm). The disk driver does not keep real time (it sleeps
whole milliseconds between writes, so its file drifts from the wall clock by seconds per
minute), so the onset is measured in the stream itself: from the sample the device had
written when the cue was decided (the file's size at that moment) to the pattern's first
sample. That is the delay the mixer path adds (the cue waits for the next buffer). The file
is written through a buffered stdio stream (4 KiB = 46 ms here), so each cue is decided
right after the file grew (a flush): the size then is the written position, to within one
flush. A pattern whose rhythm or pitch differs from the cue's is reported as a mismatch.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys
from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.clock import WallClock
from pi_app.config import Config
from pi_app.app import make_cue_engine

n = int(sys.argv[1])
clock = WallClock()
engine, warnings = make_cue_engine(Config(), clock, simulated=True, sound=True)
t_open_s = clock.now_s()
verdict = DriftVerdict("drifting", 1.0, metric="rel_phase", direction="counter-rotation lost",
                       unit="deg", deviation=-30.0, deviation_sd=-3.0, beyond_band=5.0,
                       drifting_metrics=("rel_phase",))
out = []
for i in range(n):
    clock.sleep_s(2.6 + 0.137 * i)        # > [cues] min_interval_s, off the buffer grid
    stride = StrideMetrics(index=i, t_start_s=0.0, t_end_s=0.7, cadence_spm=170.0)
    path = os.environ["SDL_DISKAUDIOFILE"]
    size = os.path.getsize(path)
    while os.path.getsize(path) == size:        # wait for a flush: the size is then exact
        clock.sleep_s(0.0005)
    written = os.path.getsize(path)
    t_s = clock.now_s()
    cue = engine.on_stride(stride, verdict, t_s)
    out.append({"decision_after_open_s": t_s - t_open_s, "written_bytes": written,
                "engine_latency_ms": cue.latency_ms})
    clock.sleep_s(0.5)
engine.close()
print(json.dumps({"warnings": warnings, "driver": engine.audio.driver,
                  "rate_hz": engine.audio.rate_hz, "cues": out}))
"""


def main(n: int) -> dict:
    from pi_app.cues.patterns import PATTERNS
    from pi_app.cues.pcm import find_tones, read_raw_pcm
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "out.raw"
        env = dict(os.environ, PYTHONPATH=str(REPO), SDL_AUDIODRIVER="disk",
                   SDL_DISKAUDIOFILE=str(raw))
        proc = subprocess.run([sys.executable, "-c", CHILD, str(n)], env=env,
                              capture_output=True, text=True, check=True)
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        tones = find_tones(read_raw_pcm(raw), info["rate_hz"])
    per = len(PATTERNS["counter_rotation_lost"].segments)
    onsets_ms, mismatches = [], 0
    for k, cue in enumerate(info["cues"]):
        group = tones[k * per:(k + 1) * per]
        if len(group) != per or any(abs(t.freq_hz - 2800.0) > 30 for t in group):
            mismatches += 1
            continue
        onset_s = group[0].start_s - 0.0025        # half the 5 ms ramp
        written_s = cue["written_bytes"] / 2 / info["rate_hz"]      # 16-bit mono
        onsets_ms.append(1000.0 * (onset_s - written_s))
    return {"driver": info["driver"], "rate_hz": info["rate_hz"], "cues": n,
            "patterns_found": n - mismatches, "tones_found": len(tones),
            "onset_after_decision_ms": {
                "median": round(statistics.median(onsets_ms), 1) if onsets_ms else None,
                "min": round(min(onsets_ms), 1) if onsets_ms else None,
                "max": round(max(onsets_ms), 1) if onsets_ms else None},
            "engine_estimate_ms": round(statistics.median(
                c["engine_latency_ms"] for c in info["cues"]), 1)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8), indent=2))
