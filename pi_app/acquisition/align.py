"""Merge the pelvis and thorax streams (each on its own chip clock) onto one time base.

The pelvis sample times are the time base; thorax values are linearly interpolated onto them.
Only times both sensors cover are emitted; a pelvis time that falls in a thorax gap gets a NaN
thorax row. Pelvis gaps become NaN pelvis rows on the pelvis sample grid, so the time base
stays near-uniform. If the thorax stays silent for long (unplugged, or there is none), the
aligner stops waiting for it and emits pelvis samples at once: with NaN thorax rows once the
thorax has been seen, with no thorax arrays (None) if it never was.
"""

from __future__ import annotations

import numpy as np

from pi_app.acquisition.ring import COL_ACC, COL_FLAGS, COL_GYRO, COL_T, FLAG_GAP, N_COLS
from pi_app.frames import FrameChunk


def _rows(a) -> np.ndarray:
    if a is None:
        return np.zeros((0, N_COLS))
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, N_COLS)


class FrameAligner:
    """Streaming aligner of ring rows (see pi_app.acquisition.ring) into `FrameChunk`s.

    max_wait_s: how long a pelvis sample waits for thorax data covering it before it is emitted
    with a NaN thorax row. max_interp_gap_s: two thorax samples further apart than this are not
    interpolated across (a gap). thorax_absent_after_s: thorax silence after which pelvis
    samples are emitted without waiting (and, if the thorax was never seen, without thorax
    arrays). max_fill_s: longest pelvis gap filled with NaN rows (longer gaps jump in time).
    """

    def __init__(self, max_wait_s: float = 0.25, max_interp_gap_s: float = 0.05,
                 thorax_absent_after_s: float = 1.0, max_fill_s: float = 5.0):
        self.max_wait_s = float(max_wait_s)
        self.max_interp_gap_s = float(max_interp_gap_s)
        self.thorax_absent_after_s = float(thorax_absent_after_s)
        self.max_fill_s = float(max_fill_s)
        self._pelvis = np.zeros((0, N_COLS))
        self._thorax = np.zeros((0, N_COLS))
        self._thorax_seen = False
        self._first_pelvis_t_s: float | None = None
        self._last_emitted_t_s: float | None = None
        self._period_s: float | None = None

    def update(self, pelvis_rows, thorax_rows=None) -> FrameChunk:
        """Add new rows of each sensor (arrays (n, 8), oldest first; None or empty when there
        are none) and return the aligned samples that are now final (possibly none)."""
        pelvis = _rows(pelvis_rows)
        thorax = _rows(thorax_rows)
        if len(pelvis):
            if self._first_pelvis_t_s is None:
                self._first_pelvis_t_s = float(pelvis[0, COL_T])
            self._pelvis = np.concatenate([self._pelvis, pelvis])
            self._learn_period(pelvis)
        if len(thorax):
            self._thorax = np.concatenate([self._thorax, thorax])
            self._thorax_seen = True
        if not len(self._pelvis):
            self._trim_thorax_alone()
            return self._chunk(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))

        p_latest = float(self._pelvis[-1, COL_T])
        if not self._thorax_seen:
            assert self._first_pelvis_t_s is not None     # set with the first pelvis rows
            if p_latest - self._first_pelvis_t_s < self.thorax_absent_after_s:
                return self._chunk(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
            return self._emit_pelvis_only()

        th_t = self._thorax[:, COL_T]
        if self._last_emitted_t_s is None:
            # Start of the stream: emit only times the thorax covers.
            self._pelvis = self._pelvis[self._pelvis[:, COL_T] >= th_t[0]]
            if not len(self._pelvis):
                return self._chunk(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
        th_last = float(th_t[-1])
        if p_latest - th_last > self.thorax_absent_after_s:
            horizon = p_latest
        else:
            horizon = max(th_last, p_latest - self.max_wait_s)
        n = int(np.searchsorted(self._pelvis[:, COL_T], horizon, side="right"))
        ready, self._pelvis = self._pelvis[:n], self._pelvis[n:]
        t_s, p_acc, p_gyro = self._fill_pelvis_gaps(ready)
        th_acc, th_gyro = self._interpolate_thorax(t_s)
        if len(t_s):
            self._last_emitted_t_s = float(t_s[-1])
            keep = max(int(np.searchsorted(th_t, t_s[-1], side="right")) - 1, 0)
            self._thorax = self._thorax[keep:]
        return FrameChunk(t_s, p_acc, p_gyro, th_acc, th_gyro)

    # -- internals ----------------------------------------------------------------------------
    def _chunk(self, t_s, acc, gyro) -> FrameChunk:
        if self._thorax_seen:
            nan = np.full((len(t_s), 3), np.nan)
            return FrameChunk(t_s, acc, gyro, nan, nan.copy())
        return FrameChunk(t_s, acc, gyro)

    def _emit_pelvis_only(self) -> FrameChunk:
        ready, self._pelvis = self._pelvis, self._pelvis[:0]
        t_s, acc, gyro = self._fill_pelvis_gaps(ready)
        if len(t_s):
            self._last_emitted_t_s = float(t_s[-1])
        return FrameChunk(t_s, acc, gyro)

    def _trim_thorax_alone(self) -> None:
        # No pelvis time base to put the thorax on: keep only the recent thorax history.
        if len(self._thorax):
            cutoff = self._thorax[-1, COL_T] - self.max_fill_s
            self._thorax = self._thorax[self._thorax[:, COL_T] >= cutoff]

    def _learn_period(self, rows: np.ndarray) -> None:
        if len(rows) < 2:
            return
        dt = np.diff(rows[:, COL_T])
        ok = (rows[1:, COL_FLAGS].astype(np.int64) & FLAG_GAP) == 0
        if ok.any():
            period = float(np.median(dt[ok]))
            if period > 0:
                self._period_s = period if self._period_s is None else \
                    0.9 * self._period_s + 0.1 * period

    def _fill_pelvis_gaps(self, rows: np.ndarray):
        """Pelvis times and values with NaN rows inserted on the sample grid inside gaps."""
        t = rows[:, COL_T]
        acc, gyro = rows[:, COL_ACC], rows[:, COL_GYRO]
        period = self._period_s
        if not len(rows) or period is None:
            return t.copy(), acc.copy(), gyro.copy()
        prev = np.concatenate([[self._last_emitted_t_s if self._last_emitted_t_s is not None
                                else t[0]], t[:-1]])
        dt = t - prev
        flagged = (rows[:, COL_FLAGS].astype(np.int64) & FLAG_GAP) != 0
        candidates = np.nonzero((dt > 2.5 * period) | (flagged & (dt > 1.5 * period)))[0]
        gaps = [int(i) for i in candidates if dt[i] <= self.max_fill_s and
                (i > 0 or self._last_emitted_t_s is not None)]
        if not gaps:
            return t.copy(), acc.copy(), gyro.copy()
        parts_t, parts_a, parts_g = [], [], []
        start = 0
        for i in gaps:
            parts_t.append(t[start:i])
            parts_a.append(acc[start:i])
            parts_g.append(gyro[start:i])
            n_fill = int(round(dt[i] / period)) - 1
            if n_fill > 0:
                grid = prev[i] + dt[i] * np.arange(1, n_fill + 1) / (n_fill + 1)
                parts_t.append(grid)
                parts_a.append(np.full((n_fill, 3), np.nan))
                parts_g.append(np.full((n_fill, 3), np.nan))
            start = i
        parts_t.append(t[start:])
        parts_a.append(acc[start:])
        parts_g.append(gyro[start:])
        return np.concatenate(parts_t), np.concatenate(parts_a), np.concatenate(parts_g)

    def _interpolate_thorax(self, t_s: np.ndarray):
        n = len(t_s)
        acc = np.full((n, 3), np.nan)
        gyro = np.full((n, 3), np.nan)
        th = self._thorax
        if not n or not len(th):
            return acc, gyro
        th_t = th[:, COL_T]
        j = np.searchsorted(th_t, t_s, side="right")
        exact_last = t_s == th_t[-1]
        j[exact_last] = len(th_t) - 1
        inside = (j > 0) & (j < len(th_t))
        jj = np.clip(j, 1, len(th_t) - 1)
        left, right = jj - 1, jj
        span = th_t[right] - th_t[left]
        gap = ((th[right, COL_FLAGS].astype(np.int64) & FLAG_GAP) != 0) | \
            (span > self.max_interp_gap_s) | (span <= 0)
        ok = inside & ~gap
        if len(th_t) == 1:
            ok = t_s == th_t[0]
            acc[ok] = th[0, COL_ACC]
            gyro[ok] = th[0, COL_GYRO]
            return acc, gyro
        w = np.where(ok, (t_s - th_t[left]) / np.where(span > 0, span, 1.0), 0.0)[:, None]
        acc_i = th[left, COL_ACC] * (1.0 - w) + th[right, COL_ACC] * w
        gyro_i = th[left, COL_GYRO] * (1.0 - w) + th[right, COL_GYRO] * w
        acc[ok] = acc_i[ok]
        gyro[ok] = gyro_i[ok]
        return acc, gyro
