"""Vertical specific force from an accelerometer mounted in any orientation.

Over a running stride the mean acceleration of the trunk is ~0, so the mean specific force
is gravity (+1 g, pointing up); while standing the specific force *is* gravity. The estimator
bootstraps the up direction from the first `bootstrap_s` of valid samples (from its still
blocks if there are any, else from all of them), then tracks it with a slow low-pass that
speeds up while the sensor is still. Each sample's vertical specific force (g, + up) is its
projection on that direction.
"""

from __future__ import annotations

import numpy as np

from pi_app.analysis.recurrence import linear_scan


class VerticalEstimator:
    """Streaming up-direction (in sensor axes) and vertical specific force.

    Parameters
    - bootstrap_s: valid data (s) collected before the first output; the samples held meanwhile
      are then emitted with the bootstrapped direction, so the output lags the input by up to
      this much at the start only.
    - block_s: the direction is updated once per block of this duration (block mean).
    - tau_run_s: low-pass time constant (s) of the direction while moving.
    - tau_still_s: time constant (s) while still (block std of |a| < still_std_g).
    - still_std_g: stillness threshold on the standard deviation of |a| within a block (g).
    - min_still_samples: a block judged still must hold at least this many samples (at a low
      rate a 0.05 s block holds 2-3 samples, and |a| of a running sensor passes through 1 g
      with a few samples alike often enough to fake stillness and pull the vertical away).

    `update(t_s, acc_g)` takes (n,) times and (n, 3) specific force in g (NaN rows = gap) and
    returns (t_s, vertical_g) of the samples it can emit now (NaN where the input was NaN).
    """

    def __init__(self, bootstrap_s: float = 2.0, block_s: float = 0.05, tau_run_s: float = 4.0,
                 tau_still_s: float = 0.3, still_std_g: float = 0.02,
                 min_still_samples: int = 5):
        self.bootstrap_s = bootstrap_s
        self.block_s = block_s
        self.tau_run_s = tau_run_s
        self.tau_still_s = tau_still_s
        self.still_std_g = still_std_g
        self.min_still_samples = int(min_still_samples)
        self.up: np.ndarray | None = None           # unit vector in sensor axes, once bootstrapped
        self.gravity_g: np.ndarray | None = None    # low-passed specific force vector (g)
        self._held_t: list[np.ndarray] = []
        self._held_a: list[np.ndarray] = []
        self._block_a = np.empty((0, 3))    # samples of the block being filled
        self._block_t0 = None

    @property
    def ready(self) -> bool:
        """True once the up direction has been bootstrapped."""
        return self.up is not None

    def update(self, t_s: np.ndarray, acc_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t_s = np.asarray(t_s, dtype=float)
        acc_g = np.asarray(acc_g, dtype=float).reshape(-1, 3)
        if self.up is None:
            self._held_t.append(t_s)
            self._held_a.append(acc_g)
            t = np.concatenate(self._held_t)
            a = np.concatenate(self._held_a)
            ok = np.all(np.isfinite(a), axis=1)
            dt = np.diff(t[ok])
            # Valid time: sum of sample steps between finite rows, gaps (>0.1 s) not counted.
            elapsed = np.cumsum(np.where(dt < 0.1, dt, 0.0))
            if elapsed.size == 0 or elapsed[-1] < self.bootstrap_s:
                self._held_t, self._held_a = [t], [a]
                return np.empty(0), np.empty(0)
            # Bootstrap on exactly the first bootstrap_s of valid data, whatever the chunking.
            cut = int(np.flatnonzero(ok)[np.searchsorted(elapsed, self.bootstrap_s) + 1]) + 1
            self._held_t, self._held_a = [t[:cut]], [a[:cut]]
            t0, v0 = self._bootstrap()
            if self.up is None:
                self._held_t.append(t[cut:])
                self._held_a.append(a[cut:])
                return t0, v0
            return np.concatenate([t0, t[cut:]]), np.concatenate([v0, self._project(t[cut:], a[cut:])])
        return t_s, self._project(t_s, acc_g)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Emit held samples at the end of the stream, bootstrapping from whatever there is."""
        if self.up is None and self._held_t:
            return self._bootstrap()
        return np.empty(0), np.empty(0)

    def _bootstrap(self) -> tuple[np.ndarray, np.ndarray]:
        t = np.concatenate(self._held_t)
        a = np.concatenate(self._held_a)
        self._held_t, self._held_a = [], []
        ok = np.all(np.isfinite(a), axis=1)
        if not ok.any():
            return t, np.full(t.shape, np.nan)
        good = a[ok]
        g = self._still_mean(t[ok], good)
        if g is None:
            g = good.mean(axis=0)
        if np.linalg.norm(g) < 1e-6:
            # Free-fall-like data only: no usable gravity; keep holding.
            self._held_t, self._held_a = [t], [a]
            return np.empty(0), np.empty(0)
        self.gravity_g = g
        self.up = g / np.linalg.norm(g)
        return t, self._project(t, a)

    def _still_mean(self, t: np.ndarray, a: np.ndarray) -> np.ndarray | None:
        """Mean of the still blocks among the samples, or None when no block is still."""
        if t.size < 2:
            return None
        dt = float(np.median(np.diff(t)))
        n = max(2, self.min_still_samples, int(round(self.block_s / dt)))
        m = (a.shape[0] // n) * n
        if m == 0:
            return None
        blocks = a[:m].reshape(-1, n, 3)
        norms = np.linalg.norm(blocks, axis=2)
        still = self._is_still(norms.mean(axis=1), norms.std(axis=1))
        if not still.any():
            return None
        return blocks[still].reshape(-1, 3).mean(axis=0)

    def _is_still(self, mean_norm_g, std_norm_g):
        """Still = steady specific force of about 1 g (free fall is steady too, at ~0 g)."""
        return (std_norm_g < self.still_std_g) & (np.abs(mean_norm_g - 1.0) < 0.1)

    def _project(self, t: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Project on the current up direction, updating it once per completed block; a sample
        is projected with the direction of the last block completed before it.

        Blocks are found first (a short loop over block starts), then the block statistics,
        the direction low-pass over the blocks and the projections are computed together."""
        n = t.shape[0]
        if n == 0:
            return np.empty(0)
        # Block index of each sample: 0 = the block left open by the previous call; block k
        # is closed before block k + 1 starts.
        block_of = np.empty(n, dtype=np.int64)
        block, start = 0, 0
        t0 = self._block_t0
        while start < n:
            if t0 is None:
                t0 = t[start]
            end = int(np.searchsorted(t, t0 + self.block_s, side="left"))
            if end <= start:
                # This sample lies past the open block's end (e.g. after a time gap).
                block += 1
                t0 = t[start]
                continue
            block_of[start:end] = block
            start = end
            if end < n:
                block += 1
                t0 = t[end]
        self._block_t0 = t0
        n_closed = block      # blocks 0 .. block-1 close in this call; `block` stays open
        carried = self._block_a
        rows = np.concatenate([carried, a]) if carried.shape[0] else a
        row_block = (np.concatenate([np.zeros(carried.shape[0], dtype=np.int64), block_of])
                     if carried.shape[0] else block_of)
        ups = np.empty((n_closed + 1, 3))
        ups[0] = self.up
        if n_closed:
            closing = row_block < n_closed
            ok = closing & np.all(np.isfinite(rows), axis=1)
            b_ok = row_block[ok]
            a_ok = rows[ok]
            count = np.bincount(b_ok, minlength=n_closed)[:n_closed]
            norms = np.linalg.norm(a_ok, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_norm = np.bincount(b_ok, weights=norms, minlength=n_closed) / count
                dev = norms - mean_norm[b_ok]
                std_norm = np.sqrt(np.bincount(b_ok, weights=dev * dev, minlength=n_closed)
                                   / count)
                mean_a = np.column_stack([np.bincount(b_ok, weights=a_ok[:, i],
                                                      minlength=n_closed)
                                          for i in range(3)]) / count[:, None]
            used = count >= 2      # a block with fewer valid samples leaves the direction
            still = self._is_still(mean_norm, std_norm) & (count >= self.min_still_samples)
            tau = np.where(still, self.tau_still_s, self.tau_run_s)
            alpha = np.where(used, np.minimum(1.0, self.block_s / tau), 0.0)
            gravity = linear_scan(1.0 - alpha, alpha[:, None] * np.where(used[:, None], mean_a, 0.0),
                                  self.gravity_g)
            g_norm = np.linalg.norm(gravity, axis=1)
            # A block whose low-passed vector is ~0 keeps the previous direction.
            new_up = used & (g_norm > 1e-6)
            ups[1:][new_up] = gravity[new_up] / g_norm[new_up][:, None]
            last = np.maximum.accumulate(np.where(np.concatenate([[True], new_up]),
                                                  np.arange(n_closed + 1), 0))
            ups = ups[last]
            self.gravity_g = gravity[-1].copy()
            self.up = ups[-1].copy()
        self._block_a = rows[row_block == n_closed]
        return np.einsum("ij,ij->i", a, ups[block_of])
