"""The live app's event log (`pi-app demo --events-out F.jsonl`): one JSON object per line.

Every line has "type" and "t_s" (sample-clock seconds, the time base of the sensors' samples):

    {"type": "stride", "t_s": 163.42, "index": 85, "t_start_s": ..., "cadence_spm": ...,
     "rel_phase_deg": ..., "state": "in_band", "drift": false, ...}
    {"type": "cue", "t_s": 201.07, "kind": "counter_rotation_lost", "played": true,
     "intensity": 0.6, "reason": "", "latency_ms": 1.2, "stride_end_t_s": ...,
     "strike_to_cue_ms": ...}
    {"type": "fault", "t_s": 45.01, "kind": "sensor_lost", "detail": "thorax ..."}
    {"type": "info", ...}   (session start / stop, summaries)

`EventLog` is a session hook (see pi_app.live.session.SessionHook): give it to the app and it
writes what the analysis thread reports. Lines are flushed as written, so a crash keeps them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import IO

from pi_app.errors import ConfigError

#: Event kinds passed to on_event that are faults (the others are logged as "info").
FAULT_KINDS = frozenset({"sensor_lost", "sensor_back", "overflow", "fifo_restart", "gap",
                         "i2c_errors", "stall", "stall_cleared", "hook_error",
                         "analysis_error", "acquisition_restart", "acquisition_fault",
                         "audio_device_lost", "display_lost", "display_back"})


def _num(value):
    if value is None:
        return None
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def stride_record(stride, verdict) -> dict:
    """The JSON object of one analysed stride and its drift verdict."""
    rec = {
        "type": "stride", "t_s": _num(stride.t_end_s), "index": stride.index,
        "t_start_s": _num(stride.t_start_s), "t_end_s": _num(stride.t_end_s),
        "cadence_spm": _num(stride.cadence_spm),
        "pelvis_rom_deg": _num(stride.pelvis_rom_deg),
        "thorax_rom_deg": _num(stride.thorax_rom_deg),
        "pelvis_phase_deg": _num(stride.pelvis_phase_deg),
        "thorax_phase_deg": _num(stride.thorax_phase_deg),
        "rel_phase_deg": _num(stride.rel_phase_deg),
        "quality": sorted(stride.quality), "drift": bool(stride.drift),
    }
    if verdict is not None:
        rec.update(state=verdict.state, progress=_num(verdict.progress),
                   metric=verdict.metric, direction=verdict.direction,
                   deviation=_num(verdict.deviation), deviation_sd=_num(verdict.deviation_sd))
    return rec


def cue_record(cue, stride=None) -> dict:
    """The JSON object of one cue decision; with the stride that caused it, also the time
    from that stride's closing foot strike to the cue (strike_to_cue_ms, which includes the
    step detector's confirmation delay)."""
    rec = {"type": "cue", "t_s": _num(cue.t_s), "kind": cue.kind,
           "intensity": _num(cue.intensity), "played": bool(cue.played),
           "reason": cue.reason, "latency_ms": _num(cue.latency_ms)}
    if stride is not None:
        rec["stride_index"] = stride.index
        rec["stride_end_t_s"] = _num(stride.t_end_s)
        rec["strike_to_cue_ms"] = _num((cue.t_s - stride.t_end_s) * 1000.0)
    return rec


class EventLog:
    """Writes strides, cue decisions and faults as JSON lines to `target` (a path or an open
    text file). `clock_t_s` is a callable giving the newest sample-clock time, used to stamp
    events that carry no time of their own."""

    def __init__(self, target: str | Path | IO[str], clock_t_s=None):
        self._file: IO[str]
        if isinstance(target, (str, Path)):
            path = Path(target)
            if not path.parent.is_dir():
                raise ConfigError(f"the folder of --events-out {path} does not exist; create "
                                  f"{path.parent} first or choose another path.",
                                  key="events-out")
            self._file = open(path, "w", encoding="utf-8")
            self._owns = True
        else:
            self._file = target
            self._owns = False
        self._clock_t_s = clock_t_s or (lambda: None)
        self._last_stride = None
        self.lines = 0

    def write(self, record: dict) -> None:
        """Write one record as a JSON line and flush it."""
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        self.lines += 1

    # -- the session hook -----------------------------------------------------------------
    def on_chunk(self, chunk) -> None:
        """Raw samples are not logged (the session store records them)."""

    def on_update(self, update) -> None:
        for stride, verdict in zip(update.strides, update.verdicts):
            self._last_stride = stride
            self.write(stride_record(stride, verdict))

    def on_cue(self, cue) -> None:
        self.write(cue_record(cue, self._last_stride))

    def on_event(self, kind: str, detail) -> None:
        rec = {"type": "fault" if kind in FAULT_KINDS else "info", "kind": kind}
        if isinstance(detail, dict):
            rec.update(detail)
        else:
            rec["detail"] = str(detail)
        rec.setdefault("t_s", _num(self._clock_t_s()))
        self.write(rec)

    def close(self) -> None:
        if self._owns and not self._file.closed:
            self._file.close()


def read_events(path: str | Path) -> list[dict]:
    """All records of an events file (for tests and summaries)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
