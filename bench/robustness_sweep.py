"""Accuracy on transformed copies of the validation data: what recordings the spec allows but
the DEV split does not contain. Prints JSON.

    .venv/bin/python bench/robustness_sweep.py ../shared/data [--variants rate50,stand3]

Each variant rewrites every recording of the data folder into a temporary folder (truth files
copied unchanged, nothing written into the repo) and scores it with `pi-app validate`'s rules:

- identity: unchanged (the reference row)
- rate50 / rate200 / rate1000: resampled (anti-aliased polyphase filter) to that rate
- rotated: each sensor re-mounted by a random rotation (accelerometer and gyroscope alike)
- pelvis_only: thorax columns dropped; acc_only: thorax and pelvis gyroscope dropped
- noisy: extra white noise (0.03 g, 1 deg/s) and a constant gyro bias (3 deg/s SD) per axis
- gaps: two 30 ms pelvis gaps and one 0.3 s gap of every column (empty fields)
- stand3: 3 s of standing still prepended (gravity along the run's mean specific force; the
  data then jumps straight into the run, which real runners do not do)

Takes a few CPU minutes for all variants.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pi_app.sim.body import random_rotation  # noqa: E402
from pi_app.validation.runner import validate_data_dir  # noqa: E402

REPORTED = ("failures", "step_f1", "step_median_abs_error_ms", "side_accuracy",
            "stride_recall", "cadence_mae_spm", "window_cadence_mae_spm", "rel_phase_cmae_deg",
            "pelvis_phase_cmae_deg", "thorax_phase_cmae_deg", "pelvis_rom_mae_deg",
            "thorax_rom_mae_deg")


def read_recording(path: Path) -> tuple[list[str], np.ndarray]:
    """Header and rows (NaN for empty fields) of a recording CSV, comment lines dropped."""
    body = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    rows = np.genfromtxt(io.StringIO("\n".join(body[1:])), delimiter=",")
    return body[0].split(","), np.atleast_2d(rows)


def write_recording(path: Path, header: list[str], rows: np.ndarray) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join("" if not np.isfinite(x) else f"{x:.6f}" for x in row) + "\n")


def columns(header: list[str], prefix: str) -> list[int]:
    return [i for i, name in enumerate(header) if name.startswith(prefix)]


def resampled(header, rows, rate_hz):
    rate_in = round(1.0 / float(np.median(np.diff(rows[:, 0]))))
    ratio = Fraction(rate_hz / rate_in).limit_denominator(100)
    data = resample_poly(rows[:, 1:], ratio.numerator, ratio.denominator, axis=0)
    t = rows[0, 0] + np.arange(data.shape[0]) / rate_hz
    return header, np.column_stack([t, data])


def rotated(header, rows, seed=7):
    rng = np.random.default_rng(seed)
    rows = rows.copy()
    for segment in ("pelvis", "thorax"):
        R = random_rotation(rng)
        for kind in ("acc", "gyr"):
            cols = columns(header, f"{segment}_{kind}_")
            if len(cols) == 3:
                rows[:, cols] = rows[:, cols] @ R.T
    return header, rows


def dropped(header, rows, prefixes):
    keep = [i for i, name in enumerate(header) if not name.startswith(prefixes)]
    return [header[i] for i in keep], rows[:, keep]


def noisy(header, rows, seed=3):
    rng = np.random.default_rng(seed)
    rows = rows.copy()
    for i, name in enumerate(header):
        if name.endswith("_g"):
            rows[:, i] += rng.normal(0.0, 0.03, len(rows))
        elif name.endswith("_dps"):
            rows[:, i] += rng.normal(0.0, 1.0, len(rows)) + rng.normal(0.0, 3.0)
    return header, rows


def with_gaps(header, rows, seed=5):
    rng = np.random.default_rng(seed)
    rows = rows.copy()
    t = rows[:, 0]
    for length_s, cols in ((0.03, columns(header, "pelvis")), (0.03, columns(header, "pelvis")),
                           (0.3, list(range(1, len(header))))):
        t0 = rng.uniform(t[0] + 0.5, t[-1] - 0.8)
        rows[np.ix_((t >= t0) & (t < t0 + length_s), cols)] = np.nan
    return header, rows


def standing_first(header, rows, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    dt = float(np.median(np.diff(rows[:, 0])))
    n = int(seconds / dt)
    stand = np.zeros((n, rows.shape[1]))
    stand[:, 0] = rows[0, 0] - (n - np.arange(n)) * dt
    for segment in ("pelvis", "thorax"):
        acc = columns(header, f"{segment}_acc_")
        if acc:
            up = np.nanmean(rows[:, acc], axis=0)
            stand[:, acc] = up / np.linalg.norm(up) + rng.normal(0.0, 0.005, (n, len(acc)))
        gyr = columns(header, f"{segment}_gyr_")
        if gyr:   # the gyro bias the run shows (its mean), plus noise
            stand[:, gyr] = np.nanmean(rows[:, gyr], axis=0) + rng.normal(0.0, 0.3, (n, len(gyr)))
    return header, np.vstack([stand, rows])


VARIANTS = {
    "identity": lambda h, r: (h, r),
    "rate50": lambda h, r: resampled(h, r, 50.0),
    "rate200": lambda h, r: resampled(h, r, 200.0),
    "rate1000": lambda h, r: resampled(h, r, 1000.0),
    "rotated": rotated,
    "pelvis_only": lambda h, r: dropped(h, r, ("thorax",)),
    "acc_only": lambda h, r: dropped(h, r, ("thorax", "pelvis_gyr")),
    "noisy": noisy,
    "gaps": with_gaps,
    "stand3": standing_first,
}


def score_variant(data_dir: Path, transform) -> dict:
    with tempfile.TemporaryDirectory(prefix="pi-app-sweep-") as tmp:
        for dataset in sorted(p for p in data_dir.iterdir() if p.is_dir()):
            out = Path(tmp) / dataset.name
            out.mkdir()
            if (dataset / "truth").is_dir():
                shutil.copytree(dataset / "truth", out / "truth")
            for rec in sorted(dataset.glob("*.csv")):
                write_recording(out / rec.name, *transform(*read_recording(rec)))
        scores = validate_data_dir(tmp)
    result = {}
    for score in scores:
        m = score.metrics()
        result[score.name] = {k: (round(m[k], 4) if isinstance(m[k], float) else m[k])
                              for k in REPORTED if m.get(k) is not None}
    return result


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, nargs="?",
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated subset of: {', '.join(VARIANTS)}")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        print(f"robustness_sweep: validation data folder {args.data_dir} not found; pass the "
              "folder that holds the datasets, e.g. ../shared/data", file=sys.stderr)
        return 2
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        print(f"robustness_sweep: unknown variant(s) {', '.join(unknown)}; use "
              f"{', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    out = {name: score_variant(args.data_dir, VARIANTS[name]) for name in names}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run())
