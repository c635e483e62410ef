"""Health of the acquisition: what each sensor is, how fast it really runs, and what went wrong.

The sensor thread updates these; the dashboard, `pi-app sensors` and the watchdog read
snapshots (`to_dict()`), never the live objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SensorHealth:
    """One sensor. Rates in Hz; counters since the reader started."""

    role: str
    address: int
    model: str = ""
    configured_rate_hz: float = 0.0
    effective_rate_hz: float = 0.0      # fitted true frame rate of the chip's oscillator
    present: bool = False
    samples: int = 0
    overflows: int = 0                  # FIFO filled before it was read (the reader was late)
    i2c_errors: int = 0
    fifo_restarts_after_error: int = 0  # FIFO reset because a read failed mid-burst (cable)
    gaps: int = 0
    reconnects: int = 0
    exceptions: int = 0                 # unexpected exceptions caught (bugs, not wiring)
    last_error: str = ""
    last_sample_t_s: float | None = None
    latest_acc_g: tuple[float, float, float] | None = None
    latest_gyro_dps: tuple[float, float, float] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["address_hex"] = f"0x{self.address:02X}"
        return d


@dataclass
class AcquisitionHealth:
    """All sensors plus the thread's heartbeat (monotonic seconds of the last poll)."""

    sensors: dict[str, SensorHealth] = field(default_factory=dict)
    heartbeat_s: float | None = None
    polls: int = 0
    exceptions: int = 0
    last_error: str = ""

    def to_dict(self) -> dict:
        return {
            "heartbeat_s": self.heartbeat_s,
            "polls": self.polls,
            "exceptions": self.exceptions,
            "last_error": self.last_error,
            "sensors": {role: h.to_dict() for role, h in self.sensors.items()},
        }
