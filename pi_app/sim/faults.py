"""Scenario faults for the simulated I2C bus: the `FaultPlan` protocol the bus asks, and plans.

Faults are given per role, not per address: the pelvis IMU sits at the lower address of its
family (0x68 InvenSense AD0=0, 0x6A ST SA0=0), the thorax IMU at the higher (0x69, 0x6B).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

PELVIS_ADDRESSES = (0x68, 0x6A)
THORAX_ADDRESSES = (0x69, 0x6B)


def role_of_address(address: int) -> str | None:
    """'pelvis', 'thorax' or None for an address no IMU of ours uses."""
    if address in PELVIS_ADDRESSES:
        return "pelvis"
    if address in THORAX_ADDRESSES:
        return "thorax"
    return None


class FaultPlan(Protocol):
    """Scenario-driven faults. Both calls get the bus clock's time in seconds."""

    def absent(self, address: int, now_s: float) -> bool:
        """True while the chip at `address` does not answer at all (unplugged)."""
        ...

    def transaction_fails(self, address: int, now_s: float) -> bool:
        """True if this one transaction fails with a transient EIO."""
        ...


class Dropout:
    """The `role` sensor does not answer from `t_start_s` for `duration_s` seconds (a loose
    cable); the bus power-on-resets the chip when it comes back."""

    def __init__(self, role: str, t_start_s: float, duration_s: float):
        self.role = role
        self.t_start_s = float(t_start_s)
        self.t_end_s = float(t_start_s) + float(duration_s)

    def absent(self, address: int, now_s: float) -> bool:
        return (role_of_address(address) == self.role
                and self.t_start_s <= now_s < self.t_end_s)

    def transaction_fails(self, address: int, now_s: float) -> bool:
        return False


class RandomTransactionFailures:
    """Each transaction to a sensor of `roles` (default both) fails with EIO with probability
    `probability` (electrical noise on a long cable). Seeded: the same sequence of calls gives
    the same failures."""

    def __init__(self, probability: float, seed: int = 0,
                 roles: tuple[str, ...] = ("pelvis", "thorax"), t_start_s: float = -np.inf):
        self.probability = float(probability)
        self.roles = tuple(roles)
        self.t_start_s = float(t_start_s)
        self._rng = np.random.default_rng([seed, 0xE10])

    def absent(self, address: int, now_s: float) -> bool:
        return False

    def transaction_fails(self, address: int, now_s: float) -> bool:
        if now_s < self.t_start_s or role_of_address(address) not in self.roles:
            return False
        return bool(self._rng.random() < self.probability)


class CombinedFaults:
    """Several fault plans at once: absent if any says absent, fails if any says fails."""

    def __init__(self, *plans):
        self.plans = tuple(plans)

    def absent(self, address: int, now_s: float) -> bool:
        return any(p.absent(address, now_s) for p in self.plans)

    def transaction_fails(self, address: int, now_s: float) -> bool:
        return any(p.transaction_fails(address, now_s) for p in self.plans)
