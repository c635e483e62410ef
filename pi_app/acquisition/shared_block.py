"""The shared-memory block the acquisition process writes and the app reads: a header of
float64 slots, a JSON health record, then one `SampleRing` per role."""

from __future__ import annotations

from pi_app.acquisition.ring import SampleRing

#: The roles a process can stream (the pelvis IMU at the lower address, then the thorax).
ROLES = ("pelvis", "thorax")
# Header slots (float64): heartbeat (clock s), health version, health length (bytes), process
# CPU time (s), CPU time inside bus calls (s), polls, pid.
HB, HSEQ, HLEN, CPU, BUS_CPU, POLLS, PID = range(7)
HEADER_SLOTS = 8
HEADER_BYTES = 64
HEALTH_BYTES = 32 * 1024


def layout(capacity: int) -> tuple[int, list[int]]:
    """(total bytes, ring offsets) of the shared block."""
    offsets = []
    at = HEADER_BYTES + HEALTH_BYTES
    for _ in ROLES:
        offsets.append(at)
        at += SampleRing.nbytes(capacity)
    return at, offsets
