"""Finding cue tones in recorded sound: what a sound device really played.

Used to check the audio path end to end (SDL's disk audio driver, or an ALSA loopback on the
Pi, records the PCM the mixer sent): `find_tones` returns each tone's start, end and pitch,
which can be compared with the pattern's segments (pi_app.cues.patterns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tone:
    """One tone found in the PCM: start_s / end_s from the first sample (s), freq_hz."""

    start_s: float
    end_s: float
    freq_hz: float

    @property
    def duration_ms(self) -> float:
        return (self.end_s - self.start_s) * 1000.0


def read_raw_pcm(path, channels: int = 1) -> np.ndarray:
    """Signed 16-bit little-endian PCM (SDL's disk driver writes the mixer's format) as float
    in [-1, 1], first channel only."""
    data = np.fromfile(path, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        data = data[: len(data) - len(data) % channels].reshape(-1, channels)[:, 0]
    return data


def find_tones(pcm: np.ndarray, rate_hz: float, window_ms: float = 2.0,
               threshold: float = 0.5, min_gap_ms: float = 10.0) -> list[Tone]:
    """The tones in `pcm` (float samples at rate_hz). A tone is where the RMS over window_ms
    exceeds `threshold` times the loudest window's RMS (0.5: half amplitude, the middle of
    the raised-cosine ramps, so a tone is found one ramp length (5 ms) shorter than its
    segment and starts half a ramp after it); silences shorter than min_gap_ms do not split
    a tone. Pitch: the FFT peak of the tone."""
    pcm = np.asarray(pcm, dtype=np.float64)
    n_win = max(1, int(round(window_ms * rate_hz / 1000.0)))
    if pcm.size < n_win:
        return []
    rms = np.sqrt(np.convolve(pcm * pcm, np.ones(n_win) / n_win, mode="same"))
    peak = float(rms.max())
    if peak <= 1e-4:
        return []
    # An RMS of half the steady tone's RMS marks the ramps' midpoints (amplitude 1/2).
    on = rms > threshold * peak
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    starts = list(edges[~on[edges]] + 1) if edges.size else []
    ends = list(edges[on[edges]] + 1) if edges.size else []
    if on[0]:
        starts.insert(0, 0)
    if on[-1]:
        ends.append(pcm.size)
    runs: list[list[int]] = []
    min_gap = min_gap_ms * rate_hz / 1000.0
    for a, b in zip(starts, ends):
        if runs and a - runs[-1][1] < min_gap:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    tones = []
    for a, b in runs:
        seg = pcm[a:b] * np.hanning(b - a)
        spectrum = np.abs(np.fft.rfft(seg, n=max(8192, 1 << int(np.ceil(np.log2(b - a))))))
        freqs = np.fft.rfftfreq(max(8192, 1 << int(np.ceil(np.log2(b - a)))), 1.0 / rate_hz)
        tones.append(Tone(a / rate_hz, b / rate_hz, float(freqs[int(np.argmax(spectrum))])))
    return tones
