"""A preallocated ring buffer of IMU samples: one writer (the sensor thread), many readers.

Each row is (t_s, acc_g x y z, gyro_dps x y z, flags) as float64. Every reader keeps its own
cursor (a count of rows ever written), gets every row written since its last read, and is told
how many rows it lost when it fell more than one ring behind. Rows are copied in and out under
one short lock, so a reader never sees a half-written row.

A gap (FIFO overflow, sensor dropout, re-configuration) is marked with `FLAG_GAP` on the first
row written after it; the rows before the gap and the ones after it are not contiguous.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

#: Columns of a row.
COL_T = 0
COL_ACC = slice(1, 4)
COL_GYRO = slice(4, 7)
COL_FLAGS = 7
N_COLS = 8

#: Flag bits (stored as integers in the float64 flags column).
FLAG_GAP = 1          # first sample after a gap: samples before it were lost
FLAG_OVERFLOW = 2     # ... the gap was a FIFO overflow
FLAG_RECONNECT = 4    # ... the gap was a dropout / re-configuration of the sensor
FLAG_TIME_STEP = 8    # ... the sample clock fit had to re-anchor (frames lost unseen)
FLAG_READ_ERROR = 16  # ... the FIFO was restarted after a read failed mid-burst


def row_flags(rows: np.ndarray) -> np.ndarray:
    """The flags column of `rows` as int64."""
    return rows[:, COL_FLAGS].astype(np.int64)


@dataclass
class RingRead:
    """Result of one read: `rows` (n, N_COLS) copied out, oldest first, and `lost`, the number
    of rows that were overwritten before this reader got them (0 when it kept up)."""

    rows: np.ndarray
    lost: int = 0

    def __len__(self) -> int:
        return int(self.rows.shape[0])


class SampleRing:
    """Fixed-capacity ring of sample rows. `capacity` rows are allocated once (8192 rows is
    ~8 s at 1 kHz, 512 KiB)."""

    def __init__(self, capacity: int = 8192):
        if capacity < 1:
            raise ValueError("ring capacity must be >= 1")
        self._buf = np.zeros((int(capacity), N_COLS), dtype=np.float64)
        self._written = 0
        self._pending_flags = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return int(self._buf.shape[0])

    @property
    def written(self) -> int:
        """Rows written since creation (the position a new reader starts from)."""
        with self._lock:
            return self._written

    def mark_gap(self, flags: int = 0) -> None:
        """Flag the next row written as the first after a gap (`FLAG_GAP | flags`)."""
        with self._lock:
            self._pending_flags |= FLAG_GAP | int(flags)

    def write(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray,
              flags: np.ndarray | None = None) -> int:
        """Append n samples: t_s (n,) seconds, acc_g (n, 3) g, gyro_dps (n, 3) deg/s, optional
        flags (n,) ints. Returns n. If n exceeds the capacity only the newest rows are kept
        (readers are told the rest were lost)."""
        t_s = np.asarray(t_s, dtype=np.float64)
        n = int(t_s.shape[0])
        if n == 0:
            return 0
        keep = min(n, self.capacity)
        skip = n - keep
        with self._lock:
            start = self._written + skip
            pos = start % self.capacity
            first = min(keep, self.capacity - pos)
            parts = ((pos, 0, first), (0, first, keep - first))
            for dst, src, count in parts:
                if count <= 0:
                    continue
                block = self._buf[dst:dst + count]
                lo, hi = skip + src, skip + src + count
                block[:, COL_T] = t_s[lo:hi]
                block[:, COL_ACC] = acc_g[lo:hi]
                block[:, COL_GYRO] = gyro_dps[lo:hi]
                block[:, COL_FLAGS] = 0.0 if flags is None else flags[lo:hi]
            if self._pending_flags:
                # The first sample of this batch is the first after the gap, even if the batch
                # was longer than the ring and its head was dropped.
                head = pos
                self._buf[head, COL_FLAGS] = float(int(self._buf[head, COL_FLAGS])
                                                   | self._pending_flags)
                self._pending_flags = 0
            self._written += n
        return n

    def read_since(self, cursor: int, max_rows: int | None = None) -> tuple[RingRead, int]:
        """Rows written at positions >= `cursor` (up to `max_rows`, oldest first) and the new
        cursor. Rows already overwritten are skipped and counted in `lost`."""
        with self._lock:
            written = self._written
            lost = 0
            oldest = written - self.capacity
            if cursor < oldest:
                lost = oldest - cursor
                cursor = oldest
            end = written if max_rows is None else min(written, cursor + int(max_rows))
            n = max(0, end - cursor)
            out = np.empty((n, N_COLS), dtype=np.float64)
            if n:
                pos = cursor % self.capacity
                first = min(n, self.capacity - pos)
                out[:first] = self._buf[pos:pos + first]
                if n > first:
                    out[first:] = self._buf[:n - first]
        return RingRead(out, lost), cursor + n

    def latest(self, n: int = 1) -> np.ndarray:
        """Copy of the newest `n` rows (fewer if fewer were written), oldest first."""
        with self._lock:
            n = min(int(n), self._written, self.capacity)
            start = self._written - n
        read, _ = self.read_since(start, n)
        return read.rows

    def reader(self, from_start: bool = False) -> "RingReader":
        """A new reader positioned at the newest row (or at the oldest row still held)."""
        return RingReader(self, 0 if from_start else self.written)


class RingReader:
    """One consumer's cursor into a `SampleRing`."""

    def __init__(self, ring: SampleRing, cursor: int):
        self.ring = ring
        self.cursor = int(cursor)
        #: Total rows this reader lost by falling behind.
        self.lost_total = 0

    def read(self, max_rows: int | None = None) -> RingRead:
        """Every row since the last read (at most `max_rows`), and how many were lost."""
        result, self.cursor = self.ring.read_since(self.cursor, max_rows)
        self.lost_total += result.lost
        return result
