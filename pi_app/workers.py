"""The app's workers as the heartbeats name them, and how to say them to a person.

The names are keys (`pi_app.live.session.Heartbeats`, the systemd watchdog, stored "stall"
events); the descriptions are what the dashboard and `systemctl status` show. "sensors" is the
FIFO drain, which runs in its own process or in a thread of the app
(`[sensors] acquisition`): "sensor reading" is true of both.
"""

from __future__ import annotations

SENSORS = "sensors"
ANALYSIS = "analysis"
UI = "ui"

_DESCRIPTIONS = {SENSORS: "sensor reading", ANALYSIS: "analysis thread", UI: "display loop"}


def describe(names) -> str:
    """`names` (heartbeat names) as one phrase, e.g. "sensor reading, analysis thread"."""
    return ", ".join(_DESCRIPTIONS.get(name, f"{name} thread") for name in names)
