"""How fast `pi-app analyze` runs on a long two-sensor recording, as JSON:
`python bench/analyze_speed.py [--minutes 10] [--hour] [--profile]`.

A simulated 2 x 1 kHz recording (both sensors, acc + gyro: 13 columns) is written once and
cached under bench/.cache (git-ignored): the simulator's sensor sources are sampled directly on
a 1 kHz grid (no chip emulation, which the analysis never sees anyway) and written with the
recording CSV writer. Then, in a fresh subprocess so that peak RSS belongs to this run only:

- parse_s: CPU time to read the file alone (RecordingReader in the analysis' chunk size);
- total_cpu_s / wall_s: CPU and wall time of `offline_analysis` (parse + analysis);
- analysis_s = total_cpu_s - parse_s;
- realtime_factor = recording duration / wall_s; us_per_sample_pair = wall_s / rows;
- peak_rss_mb: the subprocess' ru_maxrss (includes the interpreter and numpy, ~40 MB).

`--hour` adds the same for a 60-minute recording (memory: the analysis must stream).
`--profile` prints the top cProfile entries (cumulative) to stderr instead of timing alone.
Issue target: realtime_factor >= 100 for 10 min; peak_rss_mb <= 300 for 1 h.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
RATE_HZ = 1000.0
BLOCK_S = 10.0


def make_recording(minutes: float, seed: int = 1) -> Path:
    """The cached simulated recording of `minutes` minutes (written on first use)."""
    from pi_app.frames import FrameChunk
    from pi_app.recording.csv_writer import RecordingWriter
    from pi_app.sim.scenarios import make_scenario

    CACHE.mkdir(parents=True, exist_ok=True)
    # The cache ignores itself, so no shared .gitignore needs an entry.
    (CACHE / ".gitignore").write_text("*\n")
    path = CACHE / f"steady_seed{seed}_{minutes:g}min_1khz.csv"
    if path.exists():
        return path
    world = make_scenario("steady", seed=seed)
    pelvis, thorax = world.sensor_source("pelvis"), world.sensor_source("thorax")
    n_total = int(round(minutes * 60.0 * RATE_HZ))
    n_block = int(BLOCK_S * RATE_HZ)
    tmp = path.with_name(path.name + ".tmp")
    with RecordingWriter(tmp, has_thorax=True, has_gyro=True,
                         comments=[f"source: bench/analyze_speed.py, scenario steady, seed {seed}"]
                         ) as out:
        for start in range(0, n_total, n_block):
            t_s = np.arange(start, min(n_total, start + n_block)) / RATE_HZ
            p_acc, p_gyro = pelvis.sample(t_s)
            t_acc, t_gyro = thorax.sample(t_s)
            out.write(FrameChunk(t_s, p_acc, p_gyro, t_acc, t_gyro))
    tmp.replace(path)
    return path


def measure(path: Path) -> dict:
    """Time parse and analysis of `path` in this process (run it in a fresh subprocess)."""
    from pi_app.app import offline_analysis
    from pi_app.config import Config
    from pi_app.offline import OFFLINE_CHUNK_S
    from pi_app.recording.csv_reader import RecordingReader

    c0 = time.process_time()
    reader = RecordingReader(path)
    reader.chunk_rows = max(1, int(round(reader.rate_hz * OFFLINE_CHUNK_S)))
    rows = sum(len(chunk) for chunk in reader)
    parse_s = time.process_time() - c0

    w0, c0 = time.perf_counter(), time.process_time()
    result = offline_analysis(Config(), path)
    wall_s = time.perf_counter() - w0
    total_cpu_s = time.process_time() - c0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "file": path.name,
        "rows": rows,
        "duration_s": round(result.duration_s, 3),
        "realtime_factor": round(result.duration_s / wall_s, 1),
        "us_per_sample_pair": round(wall_s / rows * 1e6, 3),
        "wall_s": round(wall_s, 3),
        "total_cpu_s": round(total_cpu_s, 3),
        "parse_s": round(parse_s, 3),
        "analysis_s": round(total_cpu_s - parse_s, 3),
        "peak_rss_mb": round(peak_kb / 1024.0, 1),
        "steps": len(result.steps),
        "strides": len(result.strides),
    }


def profile(path: Path, top: int = 30) -> None:
    import cProfile
    import pstats

    from pi_app.app import offline_analysis
    from pi_app.config import Config

    prof = cProfile.Profile()
    prof.runcall(offline_analysis, Config(), path)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(top)


def run_child(path: Path) -> dict:
    """`measure(path)` in a fresh interpreter, so ru_maxrss is this recording's alone."""
    out = subprocess.run([sys.executable, __file__, "--measure", str(path)], cwd=REPO,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--hour", action="store_true", help="also a 60-minute run (memory)")
    parser.add_argument("--profile", action="store_true", help="cProfile to stderr")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return 0
    path = make_recording(args.minutes)
    if args.profile:
        profile(path)
        return 0
    report = run_child(path)
    if args.hour:
        report["hour"] = run_child(make_recording(60.0))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
