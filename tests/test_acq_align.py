"""FrameAligner: thorax resampled onto pelvis times, gaps, absent thorax (acquisition, D1)."""

import numpy as np

from pi_app.acquisition.align import FrameAligner
from pi_app.acquisition.ring import FLAG_GAP, N_COLS


def rows(t_s, f, flags=None):
    """Ring rows whose acc/gyro are linear functions of time (exact under interpolation)."""
    t_s = np.asarray(t_s, dtype=float)
    out = np.zeros((len(t_s), N_COLS))
    out[:, 0] = t_s
    for c in range(1, 7):
        out[:, c] = f(t_s) * c
    if flags is not None:
        out[:, 7] = flags
    return out


def lin(t):
    return 2.0 * t + 1.0


def feed(aligner, pel, tho, chunk_s=0.015, end_s=None):
    """Feed both streams in drain-sized chunks; returns concatenated output arrays."""
    end_s = end_s or max(pel[-1, 0], tho[-1, 0]) + 2.0
    outs = []
    t = min(pel[0, 0], tho[0, 0])
    while t < end_s:
        t_next = t + chunk_s
        p = pel[(pel[:, 0] > t) & (pel[:, 0] <= t_next)]
        h = tho[(tho[:, 0] > t) & (tho[:, 0] <= t_next)]
        outs.append(aligner.update(p, h))
        t = t_next
    t_out = np.concatenate([c.t_s for c in outs])
    p_acc = np.concatenate([c.pelvis_acc_g for c in outs])
    th = [c.thorax_acc_g for c in outs if c.thorax_acc_g is not None]
    th_acc = np.concatenate(th) if th else None
    return t_out, p_acc, th_acc


def test_thorax_interpolated_onto_pelvis_times_only_where_both_cover():
    pel = rows(0.0 + np.arange(3000) / 996.0, lin)             # pelvis chip 0.4 % slow
    tho = rows(0.0123 + np.arange(3000) / 1003.0, lin)         # thorax chip 0.3 % fast, later
    t, p_acc, th_acc = feed(FrameAligner(), pel, tho)
    assert t[0] >= tho[0, 0] and t[-1] <= min(pel[-1, 0], tho[-1, 0]) + 1e-12
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(p_acc[:, 1], lin(t) * 2)
    np.testing.assert_allclose(th_acc[:, 0], lin(t), rtol=1e-9)     # linear: exact
    np.testing.assert_allclose(th_acc[:, 2], lin(t) * 3, rtol=1e-9)
    # Every pelvis sample after the thorax started and before both ended is emitted once.
    expected = pel[(pel[:, 0] >= tho[0, 0]) & (pel[:, 0] <= tho[-1, 0]), 0]
    np.testing.assert_array_equal(t, expected)


def test_thorax_gap_gives_nan_rows_and_is_not_interpolated_across():
    pel = rows(np.arange(2000) / 1000.0, lin)
    t_th = np.arange(2000) / 1000.0 + 0.0004
    keep = (t_th < 0.8) | (t_th >= 0.9)
    flags = np.zeros(keep.sum())
    flags[np.argmax(t_th[keep] >= 0.9)] = FLAG_GAP
    tho = rows(t_th[keep], lin, flags)
    t, _, th_acc = feed(FrameAligner(), pel, tho)
    in_gap = (t > 0.7995) & (t < 0.9004)
    assert np.isnan(th_acc[in_gap]).all() and in_gap.sum() >= 99
    np.testing.assert_allclose(th_acc[~in_gap, 0], lin(t[~in_gap]), rtol=1e-9)


def test_pelvis_gap_filled_with_nan_rows_on_its_grid():
    t_p = np.arange(1000) / 1000.0
    keep = (t_p < 0.3) | (t_p >= 0.35)
    flags = np.zeros(keep.sum())
    flags[np.argmax(t_p[keep] >= 0.35)] = FLAG_GAP
    pel = rows(t_p[keep], lin, flags)
    tho = rows(np.arange(1000) / 1000.0 + 0.0002, lin)
    t, p_acc, th_acc = feed(FrameAligner(), pel, tho)
    np.testing.assert_allclose(np.diff(t), 0.001, atol=1e-9)
    gap = (t > 0.2995) & (t < 0.3495)
    assert gap.sum() == 50 and np.isnan(p_acc[gap]).all()
    np.testing.assert_allclose(th_acc[gap, 0], lin(t[gap]), rtol=1e-9)


def test_thorax_never_seen_gives_pelvis_only_chunks():
    aligner = FrameAligner(thorax_absent_after_s=1.0)
    pel = rows(np.arange(3000) / 1000.0, lin)
    out = [aligner.update(pel[i:i + 15], None) for i in range(0, 3000, 15)]
    t = np.concatenate([c.t_s for c in out])
    assert all(c.thorax_acc_g is None for c in out)
    np.testing.assert_array_equal(t, pel[:, 0])


def test_thorax_vanishing_midway_stops_the_wait():
    pel = rows(np.arange(4000) / 1000.0, lin)
    tho = rows(np.arange(1500) / 1000.0 + 0.0005, lin)       # thorax unplugged at 1.5 s
    aligner = FrameAligner(max_wait_s=0.25, thorax_absent_after_s=1.0)
    lag = []
    emitted = []
    for i in range(0, 4000, 15):
        p = pel[i:i + 15]
        h = tho[(tho[:, 0] >= i / 1000.0) & (tho[:, 0] < (i + 15) / 1000.0)]
        c = aligner.update(p, h)
        emitted.append(c)
        if len(c):
            lag.append(p[-1, 0] - c.t_s[-1])
    t = np.concatenate([c.t_s for c in emitted])
    th = np.concatenate([c.thorax_acc_g for c in emitted])
    np.testing.assert_array_equal(t, pel[1:, 0])     # pelvis t=0 precedes the thorax
    assert np.isnan(th[t > 1.5]).all() and not np.isnan(th[t < 1.49]).any()
    assert lag[-1] < 1e-9        # long absent: no more waiting for the thorax
