"""Bridge short sensor gaps before the analysis sees them.

A transient I2C error or a FIFO restart costs ~15 ms of one sensor's samples (NaN rows in the
aligned frames); a recording may have a few empty fields. Left as gaps, every stride containing
one would lose its rotation metrics. A gap of at most `max_gap_s` between two good samples is
filled by linear interpolation, which changes theta by far less than its noise (at 1.4 Hz and
±10°, the worst chord error over 50 ms is about 0.1°). Longer gaps stay NaN and the analysis
treats them as gaps.

Causal with a small hold-back: rows in a NaN run at the end of a chunk are held until the run
either ends (then filled) or grows longer than `max_gap_s` (then released as NaN), so output
is delayed only while a short gap is open. The output does not depend on chunking.
"""

from __future__ import annotations

import numpy as np

from pi_app.frames import FrameChunk

_FIELDS = ("pelvis_acc_g", "pelvis_gyro_dps", "thorax_acc_g", "thorax_gyro_dps")


def _concat(a: FrameChunk | None, b: FrameChunk) -> FrameChunk:
    if a is None or len(a) == 0:
        return b
    parts = {f: (None if getattr(b, f) is None else
                 np.concatenate([getattr(a, f), getattr(b, f)])) for f in _FIELDS}
    return FrameChunk(np.concatenate([a.t_s, b.t_s]), **parts)


def _copy(chunk: FrameChunk) -> FrameChunk:
    return FrameChunk(chunk.t_s.copy(), **{f: (None if getattr(chunk, f) is None
                                               else getattr(chunk, f).copy()) for f in _FIELDS})


class ShortGapFiller:
    """Streaming: `update(chunk)` returns the rows that are final (gaps of at most
    `max_gap_s` seconds between good samples filled by linear interpolation); `flush()`
    returns the rest at the end of a stream."""

    def __init__(self, max_gap_s: float = 0.05):
        self.max_gap_s = float(max_gap_s)
        self._held: FrameChunk | None = None
        # Per field: the last released good sample (t_s, value (3,)).
        self._last_good: dict[str, tuple[float, np.ndarray]] = {}

    def update(self, chunk: FrameChunk) -> FrameChunk:
        data = _copy(_concat(self._held, chunk))
        n = len(data)
        if n == 0:
            return data
        release = n
        for field in _FIELDS:
            values = getattr(data, field)
            if values is None:
                continue
            hold_from = self._fill(field, data.t_s, values)
            release = min(release, hold_from)
        out = data.slice(0, release)
        self._held = data.slice(release, n)
        self._remember(out)
        return out

    def flush(self) -> FrameChunk:
        """Release what is held (an open gap at the end stays NaN)."""
        held = self._held
        self._held = None
        if held is None:
            return FrameChunk(np.empty(0))
        self._remember(held)
        return held

    # -- internals ---------------------------------------------------------------------------
    def _fill(self, field: str, t_s: np.ndarray, values: np.ndarray) -> int:
        """Fill bridgeable NaN runs of `values` in place; returns the first row that must be
        held back (len(t_s) if none)."""
        good = np.all(np.isfinite(values), axis=1)
        if good.all():
            return t_s.shape[0]
        bad = ~good
        padded = np.concatenate([[False], bad, [False]])
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        starts, stops = edges[0::2], edges[1::2]      # run = rows [start, stop)
        hold_from = t_s.shape[0]
        for start, stop in zip(starts, stops):
            if start > 0:
                t_left, v_left = t_s[start - 1], values[start - 1]
            elif field in self._last_good:
                t_left, v_left = self._last_good[field]
            else:
                continue                               # nothing before it: a gap at the start
            if stop == t_s.shape[0]:
                # Open run at the end: hold it while it could still be bridged.
                if t_s[-1] - t_left <= self.max_gap_s:
                    hold_from = start
                continue
            t_right, v_right = t_s[stop], values[stop]
            if t_right - t_left > self.max_gap_s:
                continue
            w = ((t_s[start:stop] - t_left) / (t_right - t_left))[:, None]
            values[start:stop] = v_left + w * (v_right - v_left)
        return hold_from

    def _remember(self, released: FrameChunk) -> None:
        if len(released) == 0:
            return
        for field in _FIELDS:
            values = getattr(released, field)
            if values is None:
                continue
            good = np.flatnonzero(np.all(np.isfinite(values), axis=1))
            if good.size:
                k = good[-1]
                self._last_good[field] = (float(released.t_s[k]), values[k].copy())
