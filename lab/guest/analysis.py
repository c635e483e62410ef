"""The lab's measurements from raw evidence (a loopback recording, GPIO edges, watchdog
timestamps): pure functions, stdlib only, so the guest's system Python runs them and pytest
checks them on synthetic input without QEMU."""

from __future__ import annotations

import array
import json
import wave


def read_wav_channel0(path: str) -> tuple[int, array.array]:
    """(rate_hz, samples of the first channel) of a 16-bit PCM WAV file."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        data = array.array("h", w.readframes(w.getnframes()))
    return rate, data[0::channels]


def find_onsets(samples, rate_hz: int, threshold: int = 2000,
                min_silence_s: float = 0.05) -> list[int]:
    """Frame indices where |sample| first exceeds `threshold` after at least `min_silence_s`
    below it (the start of each tone burst)."""
    onsets = []
    quiet_needed = int(min_silence_s * rate_hz)
    quiet = quiet_needed
    for i, v in enumerate(samples):
        if v > threshold or v < -threshold:
            if quiet >= quiet_needed:
                onsets.append(i)
            quiet = 0
        else:
            quiet += 1
    return onsets


def frame_time_s(frame: int, segments: list[dict], rate_hz: int) -> float | None:
    """Monotonic time of recorded `frame` from the recorder's segments ({"first_frame",
    "t0_s"}, ascending); None when its segment has no time."""
    seg = None
    for s in segments:
        if s["first_frame"] <= frame:
            seg = s
    if seg is None or seg["t0_s"] is None:
        return None
    return seg["t0_s"] + (frame - seg["first_frame"]) / rate_hz


def first_after(times_s: list[float], t_s: float, window_s: float,
                early_s: float = 0.0) -> float | None:
    """The first time in [t_s - early_s, t_s + window_s], or None."""
    hits = [t for t in times_s if t_s - early_s <= t <= t_s + window_s]
    return min(hits) if hits else None


def read_edges(path: str) -> list[tuple[float, int]]:
    """(t_s, value) lines of gpiowatch.py's log."""
    edges = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if "t_s" in rec:
                edges.append((rec["t_s"], rec["value"]))
    return edges


def pulses(edges: list[tuple[float, int]]) -> list[tuple[float, float]]:
    """(on_s, off_s) of each high pulse; a pulse still high at the end is left out."""
    out, on = [], None
    for t, v in edges:
        if v == 1 and on is None:
            on = t
        elif v != 1 and on is not None:
            out.append((on, t))
            on = None
    return out


def pattern_timing(found: list[tuple[float, float]], cue_t_s: float,
                   rhythm_ms: list[tuple[float, float]], window_s: float = 2.0,
                   early_s: float = 0.005) -> dict:
    """Compare the pulses that follow a cue decision at `cue_t_s` with the pattern's rhythm
    ((start_ms, duration_ms) per segment). Returns the delay of the first pulse after the
    decision, each measured (start_ms, duration_ms) relative to the first pulse, and the
    largest deviation from the rhythm in ms (None when fewer pulses than segments). A pulse
    up to `early_s` before `cue_t_s` counts (the decision time is an estimate)."""
    after = [p for p in found if cue_t_s - early_s <= p[0] <= cue_t_s + window_s]
    n = len(rhythm_ms)
    res = {"pulses_found": len(after), "pulses_expected": n, "first_delay_ms": None,
           "measured_ms": [], "max_error_ms": None}
    if len(after) < n:
        return res
    first = after[0][0]
    measured = [((on - first) * 1000.0, (off - on) * 1000.0) for on, off in after[:n]]
    errors = [max(abs(ms - r_start), abs(md - r_dur))
              for (ms, md), (r_start, r_dur) in zip(measured, rhythm_ms)]
    res.update(first_delay_ms=round((first - cue_t_s) * 1000.0, 2),
               measured_ms=[[round(a, 2), round(b, 2)] for a, b in measured],
               max_error_ms=round(max(errors), 2))
    return res


def largest_gap_s(stamps_s: list[float], start_s: float, end_s: float) -> float:
    """Largest interval between consecutive times in `stamps_s` (plus the window's ends):
    how long the watchdog went without a ping that we saw."""
    pts = sorted([start_s] + [t for t in stamps_s if start_s <= t <= end_s] + [end_s])
    return max(b - a for a, b in zip(pts, pts[1:]))


def stalled_names(status: str) -> list[str]:
    """The thread names of a pi-app STATUS line's "stalled: a, b" part ([] when none)."""
    for part in status.split(";"):
        part = part.strip()
        if part.startswith("stalled: "):
            return [n.strip() for n in part[len("stalled: "):].split(",") if n.strip()]
    return []
