"""Headless output of the live app: one line per stride, per cue and per fault."""

from __future__ import annotations

from typing import Callable

from pi_app.records import CueKind


class StridePrinter:
    """A session hook for headless runs: one line per stride, per cue and per fault. Times are
    printed in seconds since `t0_s` (the session's start on the sample clock). With
    `buzzer_kind` ("active"/"passive": a simulated buzzer), each played cue also shows what
    that buzzer does (its on/off rhythm, and the pitches of a passive one)."""

    def __init__(self, write: Callable[[str], None] = print, t0_s: float = 0.0,
                 buzzer_kind: str | None = None):
        self.write = write
        self.t0_s = float(t0_s)
        self.buzzer_kind = buzzer_kind

    def on_chunk(self, chunk) -> None:
        pass

    def on_update(self, update) -> None:
        for s, v in zip(update.strides, update.verdicts):
            def deg(x):
                return "   -" if x is None else f"{x:4.0f}"
            state = v.state
            if v.state == "building_baseline":
                state = f"building baseline {v.progress * 100:3.0f}%"
            elif v.state == "drifting":
                state = f"DRIFTING {v.metric} ({v.direction})"
            flags = f"  [{','.join(sorted(s.quality))}]" if s.quality else ""
            self.write(f"t={s.t_end_s - self.t0_s:8.2f} s  stride {s.index:4d}  cadence "
                       f"{s.cadence_spm:5.1f} spm  rel {deg(s.rel_phase_deg)}°  pelvis "
                       f"{deg(s.pelvis_phase_deg)}°  thorax {deg(s.thorax_phase_deg)}°  "
                       f"{state}{flags}")

    def on_cue(self, cue) -> None:
        what = "CUE" if cue.played else "cue withheld"
        latency = "" if cue.latency_ms is None else f", latency {cue.latency_ms:.1f} ms"
        reason = f" ({cue.reason})" if cue.reason else ""
        buzz = ""
        if cue.played and self.buzzer_kind is not None:
            buzz = f"  buzzer: {buzzer_rhythm(cue.kind, cue.intensity, self.buzzer_kind)}"
        self.write(f"t={cue.t_s - self.t0_s:8.2f} s  {what}: {cue.kind}, "
                   f"intensity {cue.intensity:.2f}"
                   f"{latency}{reason}{buzz}")

    def on_event(self, kind, detail) -> None:
        if kind in ("start", "stop"):
            return
        if isinstance(detail, dict):
            t = detail.get("t_s")
            text = detail.get("detail") or ", ".join(f"{k}={v}" for k, v in detail.items()
                                                     if k != "t_s")
        else:
            t, text = None, str(detail)
        stamp = "t=       - s" if t is None else f"t={t - self.t0_s:8.2f} s"
        self.write(f"{stamp}  {kind.replace('_', ' ')}: {text}")



def buzzer_rhythm(kind: CueKind, intensity: float, buzzer_kind: str) -> str:
    """What a buzzer plays for a cue, as text: "70 ms on, 70 ms off, 70 ms on" (active: its
    own pitch), with each tone's pitch for a passive one ("70 ms at 2800 Hz, 70 ms off, ...")."""
    from pi_app.cues.patterns import PATTERNS, render
    pattern = PATTERNS.get(kind)
    if pattern is None:
        return "-"
    parts = []
    end_ms = 0.0
    for seg in render(pattern, intensity):
        if seg.start_ms > end_ms:
            parts.append(f"{seg.start_ms - end_ms:g} ms off")
        parts.append(f"{seg.duration_ms:g} ms " + (f"at {seg.freq_hz:g} Hz"
                                                   if buzzer_kind == "passive" else "on"))
        end_ms = seg.end_ms
    return ", ".join(parts)
