"""ShortGapFiller: gaps of at most 50 ms between good samples are interpolated, longer ones
and a gap at the very start stay NaN, and the output does not depend on chunking."""

import numpy as np

from pi_app.analysis.gap_fill import ShortGapFiller
from pi_app.frames import FrameChunk


def make(n=2000, rate_hz=1000.0):
    t = np.arange(n) / rate_hz
    sig = np.stack([np.sin(2 * np.pi * 1.4 * t), np.cos(2 * np.pi * 1.4 * t), t], axis=1)
    return FrameChunk(t, sig.copy(), sig.copy() * 10, sig.copy(), None)


def run(chunk, sizes):
    filler = ShortGapFiller(0.05)
    outs, start = [], 0
    for size in sizes:
        outs.append(filler.update(chunk.slice(start, start + size)))
        start += size
    outs.append(filler.update(chunk.slice(start, len(chunk))))
    outs.append(filler.flush())
    t = np.concatenate([o.t_s for o in outs])
    return t, {f: np.concatenate([getattr(o, f) for o in outs if len(o)])
               for f in ("pelvis_acc_g", "pelvis_gyro_dps", "thorax_acc_g")}


def test_short_gaps_filled_long_gaps_and_start_kept():
    clean = make()
    chunk = make()
    chunk.pelvis_acc_g[0:5] = np.nan          # start of stream: nothing to interpolate from
    chunk.pelvis_acc_g[100:130] = np.nan      # 30 ms: filled
    chunk.thorax_acc_g[500:700] = np.nan      # 200 ms: stays a gap
    chunk.pelvis_gyro_dps[1000:1049, 1] = np.nan   # one axis, 49 ms: filled
    t, out = run(chunk, [len(chunk)])
    assert np.array_equal(t, clean.t_s)
    assert np.isnan(out["pelvis_acc_g"][0:5]).all()
    # Linear interpolation of a sine of amplitude A over a gap d: error <= A (w d)^2 / 8.
    chord = lambda amp, gap_s: amp * (2 * np.pi * 1.4 * gap_s) ** 2 / 8
    assert np.allclose(out["pelvis_acc_g"][100:130], clean.pelvis_acc_g[100:130],
                       atol=chord(1.0, 0.031))
    assert np.isnan(out["thorax_acc_g"][500:700]).all()
    assert np.allclose(out["pelvis_gyro_dps"][1000:1049], clean.pelvis_gyro_dps[1000:1049],
                       atol=chord(10.0, 0.05))


def test_output_does_not_depend_on_chunking():
    chunk = make(5000)
    rng = np.random.default_rng(3)
    for start in rng.integers(0, 4900, 25):
        chunk.pelvis_acc_g[start:start + rng.integers(1, 90)] = np.nan
        chunk.thorax_acc_g[start + 7:start + 7 + rng.integers(1, 90)] = np.nan
    t1, one = run(chunk, [len(chunk)])
    t2, many = run(chunk, [15] * 300)
    t3, odd = run(chunk, list(rng.integers(1, 60, 100)))
    for t, other in ((t2, many), (t3, odd)):
        assert np.array_equal(t1, t)
        for field in one:
            assert np.array_equal(np.isnan(one[field]), np.isnan(other[field]))
            assert np.allclose(one[field], other[field], equal_nan=True)


def test_an_open_gap_is_held_only_while_it_could_be_bridged():
    chunk = make(400)
    chunk.pelvis_acc_g[390:] = np.nan
    filler = ShortGapFiller(0.05)
    out = filler.update(chunk)
    assert len(out) == 390                   # the open 10 ms run is held back
    more = make(400)
    more = FrameChunk(more.t_s + 0.4, *(np.full((400, 3), np.nan) if i == 0 else a
                                         for i, a in enumerate((more.pelvis_acc_g,
                                                                more.pelvis_gyro_dps,
                                                                more.thorax_acc_g, None))))
    out2 = filler.update(more)
    assert len(out) + len(out2) == 800       # the run grew past 50 ms: released as a gap
    assert np.isnan(out2.pelvis_acc_g).all()
