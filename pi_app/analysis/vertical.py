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

    `update(t_s, acc_g)` takes (n,) times and (n, 3) specific force in g (NaN rows = gap) and
    returns (t_s, vertical_g) of the samples it can emit now (NaN where the input was NaN).
    """

    def __init__(self, bootstrap_s: float = 2.0, block_s: float = 0.05, tau_run_s: float = 4.0,
                 tau_still_s: float = 0.3, still_std_g: float = 0.02):
        self.bootstrap_s = bootstrap_s
        self.block_s = block_s
        self.tau_run_s = tau_run_s
        self.tau_still_s = tau_still_s
        self.still_std_g = still_std_g
        self.up = None                      # unit vector in sensor axes, None until bootstrapped
        self.gravity_g = None               # low-passed specific force vector (g)
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
        n = max(2, int(round(self.block_s / dt)))
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
        is projected with the direction of the last block completed before it."""
        out = np.empty(t.shape[0])
        start, n = 0, t.shape[0]
        while start < n:
            if self._block_t0 is None:
                self._block_t0 = t[start]
            end = int(np.searchsorted(t, self._block_t0 + self.block_s, side="left"))
            if end <= start:
                # This sample lies past the open block's end (e.g. after a time gap).
                self._close_block()
                self._block_t0 = t[start]
                continue
            out[start:end] = a[start:end] @ self.up
            self._block_a = np.vstack([self._block_a, a[start:end]])
            start = end
            if end < n:
                self._close_block()
                self._block_t0 = t[end]
        return out

    def _close_block(self) -> None:
        blk = self._block_a
        self._block_a = np.empty((0, 3))
        ok = np.all(np.isfinite(blk), axis=1)
        if ok.sum() < 2:
            return
        blk = blk[ok]
        norms = np.linalg.norm(blk, axis=1)
        still = bool(self._is_still(norms.mean(), norms.std()))
        tau = self.tau_still_s if still else self.tau_run_s
        alpha = min(1.0, self.block_s / tau)
        self.gravity_g = self.gravity_g + alpha * (blk.mean(axis=0) - self.gravity_g)
        norm = np.linalg.norm(self.gravity_g)
        if norm > 1e-6:
            self.up = self.gravity_g / norm
