"""Vectorised first-order linear recurrences, the inner loop of the streaming filters.

`linear_scan(c, d, y0)` returns y with y[k] = c[k] * y[k-1] + d[k] (y[-1] = y0): exponential
averages with a per-sample coefficient (time steps that vary, warm-up, gaps where c = 1 and
d = 0 hold the state). With constant coefficients scipy.signal.lfilter does this, but here the
coefficient depends on each sample's time step, so the scan is written out in numpy: the
samples are cut into blocks; within a block the zero-state response is
L[k] = P[k] * cumsum(d / P)[k] with P = cumprod(c), and the blocks are chained by
y = P * y_before_block + L. Blocks whose coefficient product underflows (a coefficient of 0
restarts the average) are computed sample by sample. The result equals the sequential loop to
rounding (relative ~1e-14 for coefficients in [0, 1]).
"""

from __future__ import annotations

import numpy as np

#: Samples per block: keeps cumprod(c) far from underflow and its rounding small.
BLOCK = 128
#: Up to this many samples (a live 15 ms drain) a plain loop over Python floats is faster
#: than the block machinery's fixed cost of some twenty numpy calls.
SMALL = 48
_TINY = 1e-200


def linear_scan(c: np.ndarray, d: np.ndarray, y0, block: int = BLOCK) -> np.ndarray:
    """y[k] = c[k] * y[k-1] + d[k] for k = 0..n-1 with y[-1] = y0.

    c: (n,) coefficients (normally in [0, 1]); d: (n,) or (n, m) inputs; y0: scalar or (m,).
    Returns y shaped like d."""
    c = np.asarray(c, dtype=float)
    d = np.asarray(d, dtype=float)
    n = c.shape[0]
    if n == 0:
        return d.copy()
    tail = d.shape[1:]
    if n <= SMALL and len(tail) <= 1:
        return _loop(c, d, y0)
    nb = -(-n // block)
    pad = nb * block - n
    if pad:
        c = np.concatenate([c, np.ones(pad)])
        d = np.concatenate([d, np.zeros((pad, *tail))])
    cb = c.reshape(nb, block)
    db = d.reshape(nb, block, *tail)
    p = np.cumprod(cb, axis=1)
    ok = p[:, -1] >= _TINY
    pe = p.reshape(nb, block, *([1] * len(tail)))
    zero_state = np.empty_like(db)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        zero_state[ok] = np.cumsum(db[ok] / pe[ok], axis=1) * pe[ok]
    for bad in np.flatnonzero(~ok):
        acc = np.zeros(tail)
        for k in range(block):
            acc = cb[bad, k] * acc + db[bad, k]
            zero_state[bad, k] = acc
    # Chain the blocks: the state entering block b is the output at the end of block b-1.
    y_in = np.empty((nb, *tail))
    y = np.asarray(y0, dtype=float) * np.ones(tail)
    p_end = p[:, -1].tolist()
    ends = zero_state[:, -1]
    for b in range(nb):
        y_in[b] = y
        y = p_end[b] * y + ends[b]
    out = pe * y_in[:, None] + zero_state
    return out.reshape(nb * block, *tail)[:n]


def _loop(c: np.ndarray, d: np.ndarray, y0) -> np.ndarray:
    """The recurrence sample by sample on Python floats (short inputs)."""
    coeffs = c.tolist()
    if d.ndim == 1:
        y = float(y0)
        out = []
        for ck, dk in zip(coeffs, d.tolist()):
            y = ck * y + dk
            out.append(y)
        return np.array(out)
    ys = (np.asarray(y0, dtype=float) * np.ones(d.shape[1])).tolist()
    rows = []
    for ck, row in zip(coeffs, d.tolist()):
        ys = [ck * yi + di for yi, di in zip(ys, row)]
        rows.append(ys)
    return np.array(rows).reshape(d.shape)
