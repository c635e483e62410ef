"""Step detection and cadence on the DEV validation data (../shared/data), with the
thresholds this detector reaches; skipped when the data is absent."""

from pathlib import Path

import numpy as np
import pytest

from pi_app.analysis.steps import StepDetector
from pi_app.analysis.types import Step
from pi_app.validation.step_scoring import match_steps, score_steps, window_cadence_spm

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = pytest.mark.shared_data


def need(folder):
    path = DATA / folder
    if not path.is_dir():
        pytest.skip(f"validation data not found at {path} (the shared/data folder next to the repo)")
    return path


def load(path):
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    a = np.genfromtxt(lines, delimiter=",", names=True)
    acc = np.stack([a["pelvis_acc_x_g"], a["pelvis_acc_y_g"], a["pelvis_acc_z_g"]], axis=1)
    return a["time_s"], acc


def detect(t, acc):
    rate_hz = 1.0 / float(np.median(np.diff(t)))
    det = StepDetector(rate_hz)
    n = max(1, int(round(0.25 * rate_hz)))           # streamed in chunks (results do not depend on their size)
    out = []
    for i in range(0, t.size, n):
        out += det.update(t[i:i + n], acc[i:i + n])
    return out + det.flush()


def truth_file(path, kind):
    return path.parent / "truth" / f"{path.stem}.{kind}.csv"


def resampled(t, acc, rate_hz):
    """The recording as a sensor at `rate_hz` would have given it (anti-aliased)."""
    from fractions import Fraction

    from scipy.signal import resample_poly
    ratio = Fraction(rate_hz / round(1.0 / float(np.median(np.diff(t))))).limit_denominator(100)
    acc = resample_poly(acc, ratio.numerator, ratio.denominator, axis=0)
    return t[0] + np.arange(acc.shape[0]) / rate_hz, acc


def pooled_step_scores(folder, rate_hz=None):
    tp = n_truth = n_det = 0
    errors_s = []
    cadence_err = []
    for path in sorted(need(folder).glob("*.csv")):
        t, acc = load(path)
        if rate_hz is not None:
            t, acc = resampled(t, acc, rate_hz)
        truth = np.atleast_1d(np.genfromtxt(truth_file(path, "steps"), delimiter=",", names=True,
                                            dtype=None, encoding=None)["t_s"]).astype(float)
        det = detect(t, acc)
        r = score_steps([Step(x) for x in truth], [Step(x) for x in det], t[0], t[-1])
        tp += r["n_matched"]
        n_truth += r["n_truth"]
        n_det += r["n_detected"]
        scored = (truth >= t[0] + 0.1) & (truth <= t[-1] - 0.1)
        errors_s += [det[j] - truth[i] for i, j in match_steps(truth, det) if scored[i]]
        cad = truth_file(path, "cadence")
        if cad.exists():
            for w in np.atleast_1d(np.genfromtxt(cad, delimiter=",", names=True)):
                got = window_cadence_spm(det, w["t_start_s"], w["t_end_s"])
                cadence_err.append(abs((got or 0.0) - w["cadence_spm"]))
    p, rc = tp / n_det, tp / n_truth
    return 2 * p * rc / (p + rc), np.median(np.abs(errors_s)), np.mean(errors_s), cadence_err


def test_hamner_steps():
    f1, med_s, bias_s, _ = pooled_step_scores("hamner2013")
    # Measured: F1 1.000, median |error| 4.9 ms, bias +6.3 ms (7.0 and 7.6 with a level
    # crossing at the foot of the rise).
    assert f1 >= 0.99
    assert med_s <= 0.008
    assert abs(bias_s) <= 0.010


def test_hamner_stride_cadence():
    # Stride = right strike to the next right strike, cadence 120 / duration: its error is
    # the strike-to-strike timing jitter. Measured: MAE 0.84 spm (1.38 when timing from a
    # level crossing at the foot of the rise, which the flight valley's shape moves).
    errs = []
    for path in sorted(need("hamner2013").glob("*.csv")):
        t, acc = load(path)
        truth = np.genfromtxt(truth_file(path, "steps"), delimiter=",", names=True,
                              dtype=None, encoding=None)
        det = detect(t, acc)
        matched = dict(match_steps(truth["t_s"], det))
        right = [i for i, side in enumerate(truth["side"]) if side == "R" and i in matched]
        for a, b in zip(right[:-1], right[1:]):
            if b == a + 2:
                true_spm = 120.0 / (truth["t_s"][b] - truth["t_s"][a])
                errs.append(abs(120.0 / (det[matched[b]] - det[matched[a]]) - true_spm))
    assert len(errs) >= 40
    assert np.mean(errs) <= 1.0


def test_alcantara_steps_and_cadence():
    f1, med_s, bias_s, cad_err = pooled_step_scores("alcantara2021")
    # Measured: F1 1.000, median |error| 4.5 ms, bias -1 ms, cadence MAE 0.30 spm.
    assert f1 >= 0.99
    assert med_s <= 0.015
    assert abs(bias_s) <= 0.015
    assert np.mean(cad_err) <= 1.0


def test_steps_at_50_hz():
    # The spec allows 50 Hz recordings. At 50 Hz a 0.05 s block of samples held 2 whose |a|
    # happened to be ~1 g, which passed for standing still and tilted the vertical
    # (subject02_run4: no step at all, F1 0.94 / 0.98 pooled). Measured now: F1 1.000 on both.
    for folder in ("hamner2013", "alcantara2021"):
        f1, med_s, _, _ = pooled_step_scores(folder, rate_hz=50.0)
        assert f1 >= 0.99, folder
        assert med_s <= 0.015, folder


def test_adeptdata_cadence():
    path = need("adeptdata") / "outdoor_run_min00-12.csv"
    t, acc = load(path)
    det = detect(t, acc)
    errs = []
    for w in np.atleast_1d(np.genfromtxt(truth_file(path, "cadence"), delimiter=",", names=True)):
        got = window_cadence_spm(det, w["t_start_s"], w["t_end_s"])
        errs.append(abs((got or 0.0) - w["cadence_spm"]))
    # Measured: MAE 0.12 spm, worst minute 0.33 (2.9 and 18 without StepRhythm: the hip
    # sensor sees the two feet differently, detected intervals alternate ~0.33/0.45 s and the
    # window rule's 25 % band then drops one side). Standing minute: no steps.
    assert np.mean(errs) <= 1.0
    assert max(errs) <= 1.0
    assert sum(420.5 < d < 479.5 for d in det) <= 5
