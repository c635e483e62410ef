"""Ring buffer semantics and sample-clock fit accuracy (acquisition, engineer D1)."""

import numpy as np
import pytest

from pi_app.acquisition.clock_fit import SampleClockFit
from pi_app.acquisition.ring import (COL_ACC, COL_GYRO, COL_T, FLAG_GAP, FLAG_OVERFLOW,
                                     SampleRing, row_flags)


def _write(ring, t0, n):
    t = t0 + np.arange(n, dtype=float)
    acc = np.stack([t, t + 0.1, t + 0.2], axis=1)
    gyro = -acc
    ring.write(t, acc, gyro)
    return t


def test_ring_reader_gets_every_sample_across_wrap():
    ring = SampleRing(capacity=10)
    reader = ring.reader()
    seen = []
    for k in range(7):
        _write(ring, 100 + 7 * k, 7)
        got = reader.read()
        assert got.lost == 0
        seen.append(got.rows[:, COL_T])
        # Row integrity: every column belongs to the same sample.
        np.testing.assert_array_equal(got.rows[:, COL_ACC][:, 1], got.rows[:, COL_T] + 0.1)
        np.testing.assert_array_equal(got.rows[:, COL_GYRO][:, 0], -got.rows[:, COL_T])
    np.testing.assert_array_equal(np.concatenate(seen), 100 + np.arange(49))


def test_ring_slow_reader_is_told_how_many_it_lost():
    ring = SampleRing(capacity=10)
    slow, fast = ring.reader(), ring.reader()
    _write(ring, 0, 6)
    assert len(fast.read()) == 6
    _write(ring, 6, 9)                      # 15 written, ring holds 5..14
    got = slow.read()
    assert got.lost == 5
    np.testing.assert_array_equal(got.rows[:, COL_T], np.arange(5, 15))
    got = fast.read()
    assert got.lost == 0
    np.testing.assert_array_equal(got.rows[:, COL_T], np.arange(6, 15))
    assert slow.lost_total == 5 and len(slow.read()) == 0


def test_ring_batch_longer_than_ring_keeps_newest_and_counts_loss():
    ring = SampleRing(capacity=4)
    reader = ring.reader()
    ring.mark_gap(FLAG_OVERFLOW)
    _write(ring, 0, 11)
    got = reader.read()
    assert got.lost == 7
    np.testing.assert_array_equal(got.rows[:, COL_T], [7, 8, 9, 10])
    assert row_flags(got.rows)[0] == FLAG_GAP | FLAG_OVERFLOW


def test_ring_gap_flag_marks_first_sample_after_gap_only():
    ring = SampleRing(capacity=16)
    reader = ring.reader()
    _write(ring, 0, 3)
    ring.mark_gap()
    _write(ring, 10, 3)
    _write(ring, 13, 2)
    flags = row_flags(reader.read().rows)
    np.testing.assert_array_equal(flags, [0, 0, 0, FLAG_GAP, 0, 0, 0, 0])


def test_ring_max_rows_and_latest():
    ring = SampleRing(capacity=8)
    reader = ring.reader(from_start=True)
    _write(ring, 0, 5)
    assert list(reader.read(max_rows=2).rows[:, COL_T]) == [0, 1]
    assert list(reader.read().rows[:, COL_T]) == [2, 3, 4]
    assert list(ring.latest(2)[:, COL_T]) == [3, 4]
    assert len(SampleRing(4).latest(3)) == 0


def _simulate_fit(clock_error, jitter_s, seconds, seed, rate_hz=1000.0, drain_s=0.015):
    """Drains of a chip running at rate_hz*(1+clock_error); the FIFO count is read a random
    latency after the timestamp (read jitter). Returns the fit, all times and true times."""
    rng = np.random.default_rng(seed)
    period_s = 1.0 / (rate_hz * (1.0 + clock_error))
    fit = SampleClockFit(rate_hz)
    t_s, snap_s, k_prev = 0.0, 0.0, 0
    times, truth = [], []
    while t_s < seconds:
        t_s += drain_s + rng.uniform(-0.004, 0.004)
        snap_s = max(snap_s, t_s + rng.uniform(0.0, jitter_s))
        k = int(np.floor(snap_s / period_s))
        update = fit.update(k - k_prev, t_s)
        assert not update.step
        times.append(update.t_s)
        truth.append(np.arange(k_prev + 1, k + 1) * period_s)
        k_prev = k
    return fit, np.concatenate(times), np.concatenate(truth)


@pytest.mark.parametrize("clock_error", [-0.005, -0.002, 0.003, 0.005])
@pytest.mark.parametrize("jitter_s", [0.0, 0.004])
def test_clock_fit_rate_within_0p1_percent(clock_error, jitter_s):
    fit, times, truth = _simulate_fit(clock_error, jitter_s, seconds=8.0,
                                      seed=int(clock_error * 1e4) + 100)
    true_rate_hz = 1000.0 * (1.0 + clock_error)
    assert abs(fit.effective_rate_hz / true_rate_hz - 1.0) < 0.001
    assert np.all(np.diff(times) > 0)
    # After convergence each sample is within the read latency (+ half a period) of truth.
    late = truth > 3.0
    assert np.max(np.abs(times[late] - truth[late])) < jitter_s + 0.0015


def test_clock_fit_reanchor_keeps_rate_and_restarts_count():
    fit, _, _ = _simulate_fit(0.004, 0.002, seconds=5.0, seed=3)
    period_s = 1.0 / 1004.0
    rate_before = fit.effective_rate_hz
    fit.reanchor()
    # After an overflow the FIFO restarts: 40 frames sampled up to t = 10.0 s.
    update = fit.update(40, 10.0)
    assert fit.effective_rate_hz == pytest.approx(rate_before, rel=1e-6)
    truth = 10.0 - period_s * np.arange(39, -1, -1)
    assert np.max(np.abs(update.t_s - truth)) < 0.0015


def test_clock_fit_detects_unannounced_frame_loss():
    fit = SampleClockFit(1000.0)
    steps = []
    k_total = 0
    for i in range(1, 400):
        t_s = 0.015 * i
        k = int(t_s * 1000)
        if i >= 200:                          # 30 frames vanished, no overflow flag
            k -= 30
        steps.append(fit.update(k - k_total, t_s).step)
        k_total = k
    assert sum(steps) == 1
    assert abs(fit.effective_rate_hz - 1000.0) < 1.0
