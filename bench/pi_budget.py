"""Pi 4 CPU budget benchmark: the whole live app, each of its processes under its own CPU quota.

    sudo .venv/bin/python bench/pi_budget.py [--seconds 60] [--chips mpu6500] [--quota-pct 25]
        [--size 1920x1080] [--scenario drift] [--seed 0] [--no-reference]

Prints one JSON object. A Python process on one Raspberry Pi 4 core runs about 4x slower than
on a core of a desktop, so 25 % of a core here stands for one Pi 4 core (a Pi 4 has four: each
process of the app gets its own quota, as each could run on its own core there).

What runs: `pi-app demo` (simulated runner, the real drivers, acquisition, analysis, cue
engine and the dashboard at --size on SDL's dummy driver, real time) in a child process. The
child process, and every process it starts (the acquisition process), is moved into its own
cgroup with a CPU quota of --quota-pct of one core (period 10 ms), cgroup v1 or v2, whichever
is writable here. Then the same run again without a quota (the reference), unless
--no-reference.

Reported: per sensor FIFO overflows, gaps, samples lost; strides of the throttled run against
the reference run (a stride counts as kept when one starts within 50 ms of the reference
stride's start, relative to the first sample); dashboard frames per second (mean and 5th
percentile over 1 s windows); stride decision latency (closing sample -> stride known to the
analysis) and cue latency (closing sample -> cue start) for played cues; CPU seconds per
thread and per process; how often each cgroup was throttled; the share of the acquisition
process's CPU spent inside the simulated bus (the chip emulators: a real Pi does not pay it);
and the load average before and after (the machine is shared: compare runs with care).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PERIOD_US = 10_000
STRIDE_MATCH_S = 0.05


# -- cgroups ----------------------------------------------------------------------------------
class CgroupError(RuntimeError):
    pass


class Cgroups:
    """Creates one CPU-quota cgroup per process (v2 `cpu.max` or v1 `cpu.cfs_quota_us`)."""

    def __init__(self, quota_pct: float | None, tag: str):
        self.quota_pct = quota_pct
        self.tag = tag
        self.made: list[tuple[str, Path]] = []
        self.version, self.root = self._find()

    @staticmethod
    def _find() -> tuple[int, Path]:
        tried = []
        for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
            controllers = root / "cgroup.controllers"
            if controllers.exists():
                tried.append(str(root))
                if "cpu" in controllers.read_text().split() and os.access(root, os.W_OK):
                    sub = root / "cgroup.subtree_control"
                    try:
                        if "cpu" not in sub.read_text().split():
                            sub.write_text("+cpu")
                        return 2, root
                    except OSError:
                        pass
        for root in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/cpu,cpuacct")):
            if (root / "cpu.cfs_quota_us").exists():
                tried.append(str(root))
                if os.access(root, os.W_OK):
                    return 1, root
        raise CgroupError(
            "no writable cgroup with the cpu controller (tried "
            f"{', '.join(tried) or '/sys/fs/cgroup'}): run as root on a machine with cgroup v1 "
            "`cpu` or cgroup v2 `cpu` enabled, or give --quota-pct 0 to run without a quota")

    def place(self, pid: int, name: str, rt_share: float = 1.0) -> Path:
        """Move process `pid` into a new cgroup `name` with the quota; returns its path.
        rt_share: the part of the quota granted as real-time budget (cgroup v1)."""
        path = self.root / f"pi_budget_{self.tag}_{name}"
        path.mkdir(exist_ok=True)
        quota_us = int(round(PERIOD_US * self.quota_pct / 100.0))
        if self.version == 2:
            (path / "cpu.max").write_text(f"{quota_us} {PERIOD_US}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota_us))
            if (path / "cpu.rt_runtime_us").exists():
                # With RT group scheduling a real-time task needs an RT budget in its group:
                # the same share as the quota (the CFS quota does not limit RT tasks).
                # The RT budgets of all groups must fit in the parent's (95 %): give it only
                # where a real-time task may run.
                (path / "cpu.rt_period_us").write_text(str(PERIOD_US))
                (path / "cpu.rt_runtime_us").write_text(str(int(quota_us * rt_share)))
        (path / "cgroup.procs").write_text(str(pid))
        self.made.append((name, path))
        return path

    def stats(self) -> dict:
        out = {}
        for name, path in self.made:
            try:
                stat = dict(line.split() for line in (path / "cpu.stat").read_text().splitlines())
            except OSError:
                continue
            out[name] = {k: int(v) for k, v in stat.items()
                         if k in ("nr_periods", "nr_throttled", "throttled_time",
                                  "throttled_usec")}
        return out

    def remove(self) -> None:
        for _, path in self.made:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
            except OSError:
                continue
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- one run ----------------------------------------------------------------------------------
def run_once(args, quota_pct: float | None) -> dict:
    """One child run of the live app; quota_pct None = no quota."""
    tag = f"{os.getpid()}_{int(time.time() * 1000) % 100000}"
    groups = Cgroups(quota_pct, tag) if quota_pct else None
    with tempfile.TemporaryDirectory(prefix="pi_budget_") as tmp:
        out = Path(tmp) / "result.json"
        cfg = Path(tmp) / "pi-app.toml"
        w, h = args.size
        text = f"[display]\nfullscreen = false\nwidth_px = {w}\nheight_px = {h}\n"
        if args.fps:
            text += f"fps = {args.fps}\n"
        text += f"[sensors]\nacquisition = \"{args.acquisition}\"\n"
        text += f"rt_priority = {args.rt_priority}\n"
        cfg.write_text(text)
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
                   PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONPATH=str(ROOT))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(out),
               "--", "demo", "--config", str(cfg), "--chips", args.chips, "--scenario",
               args.scenario, "--seed", str(args.seed), "--seconds", str(args.seconds)]
        load_before = load_average()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env, text=True)
        placed = {}
        stop = threading.Event()
        try:
            if groups is not None:
                # The acquisition process asks for real-time priority while still in the app's
                # group (before it is moved): a small RT budget there.
                placed[proc.pid] = str(groups.place(proc.pid, "app", rt_share=0.4))

                def watch():
                    # Every process the app starts (acquisition) gets its own quota.
                    n = 0
                    while not stop.wait(0.02):
                        for child in _children(proc.pid):
                            if child not in placed and \
                                    _cmdline(child) != _cmdline(proc.pid):
                                # (the same command line: not yet exec'd, unknown still)
                                n += 1
                                helper = "resource_tracker" in _cmdline(child)
                                try:
                                    placed[child] = str(groups.place(
                                        child, f"{_comm(child)}_{n}",
                                        rt_share=0.0 if helper else 1.0))
                                except OSError:
                                    placed[child] = None
                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            _, err = proc.communicate(timeout=args.seconds * 3 + 120)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        cg = groups.stats() if groups is not None else {}
        if groups is not None:
            groups.remove()
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"the app exited with {proc.returncode}: {err[-2000:]}")
        result = json.loads(out.read_text())
    result["quota_pct"] = quota_pct
    result["cgroup"] = ({"version": groups.version, "throttling": cg,
                         "processes": len(placed)} if groups is not None else None)
    result["load_average_before"] = load_before
    result["load_average_after"] = load_average()
    return result


def compare_strides(run: list[float], ref: list[float]) -> dict:
    """Reference strides kept by the run: a run stride starting within STRIDE_MATCH_S of it,
    after shifting the run by the offset (within +-1 s) that matches most (the two runs'
    first samples come at slightly different points of the simulated world)."""
    import numpy as np
    if not ref or not run:
        return {"reference": len(ref), "run": len(run), "kept": 0, "missing": len(ref)}
    r = np.sort(np.asarray(run))
    f = np.sort(np.asarray(ref))

    def matched(offset: float) -> int:
        x = r + offset
        idx = np.clip(np.searchsorted(x, f), 1, x.size - 1) if x.size > 1 else np.zeros(
            f.size, dtype=int)
        near = np.minimum(np.abs(x[idx] - f), np.abs(x[np.maximum(idx - 1, 0)] - f))
        return int((near <= STRIDE_MATCH_S).sum())

    best = max(np.arange(-1.0, 1.0, 0.002), key=matched)
    kept = matched(best)
    return {"reference": len(ref), "run": len(run), "kept": kept, "missing": len(ref) - kept,
            "offset_s": round(float(best), 3)}


# -- the child: the app with instruments ----------------------------------------------------
def child(out_path: str, demo_argv: list[str]) -> int:
    """Run `pi-app demo` with instruments: frame times, stride latencies, per-thread CPU."""
    sys.stdin.readline()           # wait until the parent has set the quota
    import numpy as np

    from pi_app.cli import main
    from pi_app.live import session as session_mod
    from pi_app.ui import display as display_mod

    frames: list[float] = []
    sessions: list = []
    stride_latency_ms: list[float] = []
    stride_starts: list[float] = []
    first_t: list[float] = []

    class Probe:
        """A session hook: stride decision latency and stride start times."""

        def __init__(self, session):
            self.session = session

        def on_chunk(self, chunk):
            if not first_t and len(chunk):
                first_t.append(float(chunk.t_s[0]))

        def on_update(self, update):
            if len(update.strides) and self.session.t_s is not None:
                now = self.session.clock.now_s()
                stride_latency_ms.append((now - self.session.t_s) * 1000.0)
                stride_starts.extend(float(s.t_start_s) for s in update.strides)

    original_init = session_mod.LiveSession.__init__

    def init(self, *a, **kw):
        original_init(self, *a, **kw)
        sessions.append(self)
        self.hooks.append(Probe(self))

    session_mod.LiveSession.__init__ = init
    original_draw = display_mod.LiveUI.draw

    def draw(self, snapshot):
        original_draw(self, snapshot)
        frames.append(time.monotonic())

    display_mod.LiveUI.draw = draw

    cpu: dict[int, dict] = {}
    stop = threading.Event()

    def sample_cpu():
        tick = os.sysconf("SC_CLK_TCK")
        while True:
            names = {t.native_id: t.name for t in threading.enumerate()}
            for tid in os.listdir("/proc/self/task"):
                try:
                    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1]
                except OSError:
                    continue
                parts = fields.split()
                used = (int(parts[11]) + int(parts[12])) / tick
                entry = cpu.setdefault(int(tid), {"name": names.get(int(tid), "?")})
                if entry["name"] == "?":
                    entry["name"] = names.get(int(tid), "?")
                entry["cpu_s"] = used
            if stop.wait(0.5):
                return

    sampler = threading.Thread(target=sample_cpu, name="bench-cpu-sampler", daemon=True)
    sampler.start()
    t0 = time.monotonic()
    rc = main(demo_argv)
    wall_s = time.monotonic() - t0
    stop.set()
    sampler.join()
    if rc != 0:
        return rc
    session = sessions[-1]
    health = session.reader.snapshot()
    per_sensor = {}
    span_s = (session.t_s - first_t[0]) if first_t and session.t_s is not None else None
    for role, h in health["sensors"].items():
        rate = h.get("effective_rate_hz") or 0.0
        expected = int(round(span_s * rate)) + 1 if span_s else None
        per_sensor[role] = {
            "model": h.get("model"), "overflows": h["overflows"], "gaps": h["gaps"],
            "i2c_errors": h["i2c_errors"], "reconnects": h["reconnects"],
            "samples": h["samples"],
            "samples_lost": max(0, expected - h["samples"]) if expected else None}
    fps = {}
    if len(frames) > 2:
        f = np.asarray(frames)
        edges = np.arange(f[0], f[-1], 1.0)
        counts = np.histogram(f, bins=edges)[0] if edges.size > 1 else np.asarray([len(f)])
        fps = {"mean": round(len(f) / (f[-1] - f[0]), 2),
               "p5": round(float(np.percentile(counts, 5)), 2),
               "min": int(counts.min()), "frames": len(f)}
    lat = np.asarray(stride_latency_ms) if stride_latency_ms else None
    cues = [c for c in session.cues if c.played and c.latency_ms is not None]
    cue_lat = np.asarray([c.latency_ms for c in cues]) if cues else None
    threads = {}
    for tid, entry in cpu.items():
        key = entry["name"] if entry["name"] != "?" else f"tid{tid}"
        threads[key] = round(threads.get(key, 0.0) + entry["cpu_s"], 3)
    extra = health.get("process") or {}
    result = {
        "argv": demo_argv, "wall_s": round(wall_s, 2),
        "sensors": per_sensor,
        "overflows": sum(p["overflows"] for p in per_sensor.values()),
        "gaps": sum(p["gaps"] for p in per_sensor.values()),
        "strides": session.analyzer.n_strides,
        "stride_starts_s": [round(t - first_t[0], 4) for t in stride_starts] if first_t else [],
        "dashboard_fps": fps,
        "stride_latency_ms": None if lat is None else {
            "p50": round(float(np.median(lat)), 2), "p95": round(float(np.percentile(lat, 95)), 2),
            "max": round(float(lat.max()), 2)},
        "cues_played": len(cues),
        "cue_latency_ms": None if cue_lat is None else {
            "p50": round(float(np.median(cue_lat)), 2), "max": round(float(cue_lat.max()), 2)},
        "cpu_s_by_thread": threads,
        "cpu_s_app_process": round(sum(threads.values()), 3),
        "acquisition_process": extra or None,
        # The chip emulators run inside the bus calls: a real Pi pays I2C transfers instead.
        "simulator_share_of_acquisition_cpu": round(extra["bus_cpu_s"] / extra["cpu_s"], 3)
        if extra and extra.get("cpu_s") else None,
    }
    Path(out_path).write_text(json.dumps(result))
    return 0


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1], argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--chips", default="mpu6500")
    ap.add_argument("--quota-pct", type=float, default=25.0,
                    help="CPU quota per process in %% of one core (0: none)")
    ap.add_argument("--size", type=_size, default=(1920, 1080))
    ap.add_argument("--fps", type=float, default=None,
                    help="dashboard frame rate cap (default: the app's [display] fps)")
    ap.add_argument("--acquisition", default="process", choices=("process", "thread"),
                    help="[sensors] acquisition of the app (default process)")
    ap.add_argument("--rt-priority", type=int, default=50,
                    help="[sensors] rt_priority of the app (default 50, what the service "
                         "grants; 0: normal scheduling)")
    ap.add_argument("--scenario", default="drift")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the unthrottled reference run")
    args = ap.parse_args(argv)
    try:
        run = run_once(args, args.quota_pct or None)
    except CgroupError as err:
        print(f"pi_budget: {err}", file=sys.stderr)
        return 2
    result = {"chips": args.chips, "seconds": args.seconds, "size": f"{args.size[0]}x"
              f"{args.size[1]}", "scenario": args.scenario, "seed": args.seed,
              "acquisition": args.acquisition, "rt_priority": args.rt_priority, "run": run}
    if not args.no_reference:
        ref = run_once(args, None)
        result["reference"] = ref
        result["strides_vs_reference"] = compare_strides(run["stride_starts_s"],
                                                         ref["stride_starts_s"])
    for r in (result["run"], result.get("reference")):
        if r is not None:
            r.pop("stride_starts_s", None)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
