"""Stride scoring rules of ../shared/data/README.md ("How results are scored", Strides).

Detected strides are matched one to one to truth strides by t_start_s within +-60 ms (closest
pairs first). On matched strides: mean absolute error of cadence_spm, pelvis_rom_deg and
thorax_rom_deg; circular mean absolute error of pelvis/thorax/rel phase; and stride recall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pi_app.analysis.types import StrideMetrics


def circular_abs_diff_deg(a_deg: np.ndarray | float, b_deg: np.ndarray | float) -> np.ndarray:
    """|a - b| on the circle, deg in [0, 180]."""
    d = (np.asarray(a_deg, dtype=float) - np.asarray(b_deg, dtype=float) + 180.0) % 360.0 - 180.0
    return np.abs(d)


def match_strides(truth_t_start_s: Sequence[float], detected_t_start_s: Sequence[float],
                  tol_s: float = 0.06) -> list[tuple[int, int]]:
    """One-to-one matches (truth index, detected index) with |dt| <= tol_s, closest pairs first,
    sorted by truth index."""
    truth = np.asarray(truth_t_start_s, dtype=float)
    det = np.asarray(detected_t_start_s, dtype=float)
    if truth.size == 0 or det.size == 0:
        return []
    dist = np.abs(truth[:, None] - det[None, :])
    i_idx, j_idx = np.nonzero(dist <= tol_s)
    order = np.argsort(dist[i_idx, j_idx], kind="stable")
    used_i, used_j, pairs = set(), set(), []
    for k in order:
        i, j = int(i_idx[k]), int(j_idx[k])
        if i in used_i or j in used_j:
            continue
        used_i.add(i)
        used_j.add(j)
        pairs.append((i, j))
    return sorted(pairs)


def _abs_errors(pairs, truth, detected, name, circular=False) -> list[float]:
    vals = [(getattr(truth[i], name), getattr(detected[j], name)) for i, j in pairs]
    vals = [(a, b) for a, b in vals if a is not None and b is not None
            and np.isfinite(a) and np.isfinite(b)]
    if not vals:
        return []
    a, b = np.array(vals).T
    err = circular_abs_diff_deg(a, b) if circular else np.abs(a - b)
    return [float(e) for e in err]


#: score key -> (StrideMetrics field, circular?)
SCORED_METRICS = {
    "cadence_mae_spm": ("cadence_spm", False),
    "pelvis_rom_mae_deg": ("pelvis_rom_deg", False),
    "thorax_rom_mae_deg": ("thorax_rom_deg", False),
    "pelvis_phase_cmae_deg": ("pelvis_phase_deg", True),
    "thorax_phase_cmae_deg": ("thorax_phase_deg", True),
    "rel_phase_cmae_deg": ("rel_phase_deg", True),
}


def score_strides(truth: Sequence[StrideMetrics], detected: Sequence[StrideMetrics],
                  tol_s: float = 0.06) -> dict:
    """Score detected strides against truth. Returns a dict with n_truth, n_detected, n_matched,
    recall, cadence_mae_spm, pelvis_rom_mae_deg, thorax_rom_mae_deg, pelvis_phase_cmae_deg,
    thorax_phase_cmae_deg, rel_phase_cmae_deg (None where no matched stride has both values),
    and under "abs_errors" the per-stride absolute errors behind each of those (for pooling)."""
    pairs = match_strides([s.t_start_s for s in truth], [s.t_start_s for s in detected], tol_s)
    errors = {key: _abs_errors(pairs, truth, detected, name, circular)
              for key, (name, circular) in SCORED_METRICS.items()}
    result: dict[str, object] = {
        "n_truth": len(truth),
        "n_detected": len(detected),
        "n_matched": len(pairs),
        "recall": len(pairs) / len(truth) if truth else None,
    }
    for key, errs in errors.items():
        result[key] = float(np.mean(errs)) if errs else None
    result["abs_errors"] = errors
    # How many matched strides have a truth value per metric (ours may lack one).
    result["n_matched_with_truth"] = {
        key: sum(1 for i, _ in pairs if getattr(truth[i], name) is not None)
        for key, (name, _) in SCORED_METRICS.items()}
    return result
