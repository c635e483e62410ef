"""Step and cadence scoring, exactly the rules of the validation data README
(../shared/data/README.md, "How results are scored").

- Steps match one to one within +-tol_s, closest pairs first.
- Events within 0.1 s of either end of the recording or of a data gap are not scored.
- Window cadence: step intervals of 0.24-0.60 s, drop those more than 25 % from their
  median, cadence = 60 / mean interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from pi_app.analysis.types import Step

EDGE_MARGIN_S = 0.1
MIN_INTERVAL_S = 0.24
MAX_INTERVAL_S = 0.60
MAX_DEVIATION_FROM_MEDIAN = 0.25


def match_steps(truth_t_s: Sequence[float] | np.ndarray,
                detected_t_s: Sequence[float] | np.ndarray, tol_s: float = 0.05) -> list[tuple[int, int]]:
    """One-to-one matching of detected to truth event times (s) within +-tol_s.

    Candidate pairs are taken closest first (ties: earlier truth, then earlier detection), so
    each truth event gets the nearest detection that is not closer to another truth event.
    Returns (truth_index, detected_index) pairs sorted by truth index.
    """
    truth = np.asarray(truth_t_s, dtype=float)
    det = np.asarray(detected_t_s, dtype=float)
    if truth.size == 0 or det.size == 0:
        return []
    order_d = np.argsort(det, kind="stable")
    det_sorted = det[order_d]
    pairs: list[tuple[float, int, int]] = []
    for i, t in enumerate(truth):
        lo = np.searchsorted(det_sorted, t - tol_s, side="left")
        hi = np.searchsorted(det_sorted, t + tol_s, side="right")
        for k in range(lo, hi):
            pairs.append((abs(det_sorted[k] - t), i, int(order_d[k])))
    pairs.sort()
    used_t: set[int] = set()
    used_d: set[int] = set()
    matches: list[tuple[int, int]] = []
    for _, i, j in pairs:
        if i in used_t or j in used_d:
            continue
        used_t.add(i)
        used_d.add(j)
        matches.append((i, j))
    matches.sort()
    return matches


def _scored_mask(t_s: np.ndarray, t_first_s: float, t_last_s: float,
                 gaps: Iterable[tuple[float, float]]) -> np.ndarray:
    """True for times that are scored: not within EDGE_MARGIN_S of the recording ends or of
    a gap (gap given as (start_s, end_s) of the missing span)."""
    ok = (t_s >= t_first_s + EDGE_MARGIN_S) & (t_s <= t_last_s - EDGE_MARGIN_S)
    for g0, g1 in gaps:
        ok &= ~((t_s > g0 - EDGE_MARGIN_S) & (t_s < g1 + EDGE_MARGIN_S))
    return ok


def score_steps(truth: Sequence[Step], detected: Sequence[Step], t_first_s: float,
                t_last_s: float, gaps: Iterable[tuple[float, float]] = (),
                tol_s: float = 0.05) -> dict:
    """Score detected steps against truth steps.

    Matching uses all events; a match counts when its truth event is scored, an unmatched event
    counts (as a miss or a false detection) when it is itself scored. Returns a dict with
    n_truth, n_detected, n_matched, precision, recall, f1, bias_ms (mean detected - truth),
    median_abs_error_ms and side_accuracy (over matches where both sides are known; None if
    there are none). Ratios are None when undefined (nothing to divide by). For pooling
    recordings it also returns n_false, n_missed, timing_errors_ms (detected - truth per match),
    sides_compared and sides_correct.
    """
    gaps = list(gaps)
    t_truth = np.array([s.t_s for s in truth], dtype=float)
    t_det = np.array([s.t_s for s in detected], dtype=float)
    ok_truth = _scored_mask(t_truth, t_first_s, t_last_s, gaps)
    ok_det = _scored_mask(t_det, t_first_s, t_last_s, gaps)
    matches = [(i, j) for i, j in match_steps(t_truth, t_det, tol_s) if ok_truth[i]]
    matched_t = {i for i, _ in matches}
    matched_d = {j for _, j in matches}
    n_truth = int(ok_truth.sum())
    n_missed = sum(1 for i in np.flatnonzero(ok_truth) if i not in matched_t)
    n_false = sum(1 for j in np.flatnonzero(ok_det) if j not in matched_d)
    tp = len(matches)
    precision = tp / (tp + n_false) if tp + n_false else None
    recall = tp / (tp + n_missed) if tp + n_missed else None
    if precision is not None and recall is not None and precision + recall > 0:
        f1 = 2 * precision * recall / (precision + recall)
    elif precision is not None and recall is not None:
        f1 = 0.0
    else:
        f1 = None
    err_s = np.array([t_det[j] - t_truth[i] for i, j in matches])
    sided = [(truth[i].side, detected[j].side) for i, j in matches
             if truth[i].side and detected[j].side]
    return {
        "n_truth": n_truth,
        "n_detected": tp + n_false,
        "n_matched": tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "bias_ms": float(err_s.mean() * 1e3) if err_s.size else None,
        "median_abs_error_ms": float(np.median(np.abs(err_s)) * 1e3) if err_s.size else None,
        "side_accuracy": (sum(a == b for a, b in sided) / len(sided)) if sided else None,
        # Raw material for pooling several recordings:
        "n_false": n_false,
        "n_missed": n_missed,
        "timing_errors_ms": [float(e * 1e3) for e in err_s],
        "sides_compared": len(sided),
        "sides_correct": sum(a == b for a, b in sided),
    }


def window_intervals_s(step_times_s: Sequence[float], t0_s: float, t1_s: float) -> np.ndarray:
    """The step intervals (s) the window rule keeps for steps with t0_s <= t < t1_s:
    consecutive intervals within 0.24-0.60 s, then those within 25 % of their median."""
    t = np.sort(np.asarray(step_times_s, dtype=float))
    t = t[(t >= t0_s) & (t < t1_s)]
    d = np.diff(t)
    d = d[(d >= MIN_INTERVAL_S) & (d <= MAX_INTERVAL_S)]
    if d.size == 0:
        return d
    med = float(np.median(d))
    return d[np.abs(d - med) <= MAX_DEVIATION_FROM_MEDIAN * med]


def window_cadence_spm(step_times_s: Sequence[float], t0_s: float, t1_s: float) -> float | None:
    """Cadence (steps/min) in the window [t0_s, t1_s) by the README rule; None when no
    interval survives."""
    d = window_intervals_s(step_times_s, t0_s, t1_s)
    return 60.0 / float(d.mean()) if d.size else None
