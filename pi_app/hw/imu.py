"""The one small interface every IMU driver implements.

A driver owns one chip at one address on one bus. It configures the chip, drains its FIFO in
whole frames and converts them to physical units in the sensor's own axes:
accelerometer in g (specific force: an axis pointing up reads about +1 at rest) and gyroscope
in deg/s (right-handed). It never shifts axes by a misaligned frame: on overflow it resets the
FIFO and says so in the returned batch.

The bus is an `I2cBus` (pi_app.hw.i2c): a real `smbus2.SMBus` or `pi_app.sim.SimulatedBus`; the
driver cannot tell which. Waits (a device reset) go through `wait_s`, given by whoever opens
the driver (the simulated runner's clock, or `time.sleep`), never looked up on the bus.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pi_app.hw.i2c import I2cBus


@dataclass(frozen=True)
class ImuSettings:
    """Requested chip configuration. Drivers pick the nearest supported value and report the
    one they actually set (`ImuDriver.output_rate_hz` etc.)."""

    rate_hz: float = 1000.0          # output data rate = FIFO frame rate
    acc_range_g: int = 8             # accelerometer full scale, +-g
    gyro_range_dps: int = 1000       # gyroscope full scale, +-deg/s
    dlpf: bool = True                # chip's digital low-pass filter on (anti-alias)


@dataclass
class FifoBatch:
    """Whole FIFO frames read in one drain, oldest first.

    `acc_g` and `gyro_dps` have shape (n, 3), float64, sensor axes. `overflowed` is True when
    the FIFO had filled before this drain (the reader was late): frames were lost, the FIFO
    was reset, and the frames here (possibly none) start after a gap.
    `restarted_after_error` is True when the FIFO was reset because an earlier read failed
    mid-burst (an I2C error, not an overflow: bytes may have left the FIFO unaccounted for):
    the frames here start after a gap as well. `frames_lost_estimate` is a lower bound on
    lost frames when known, else 0.
    """

    acc_g: np.ndarray
    gyro_dps: np.ndarray
    overflowed: bool = False
    frames_lost_estimate: int = 0
    restarted_after_error: bool = False

    @property
    def n_frames(self) -> int:
        return int(self.acc_g.shape[0])

    @property
    def gap(self) -> bool:
        """Frames were lost before the ones in this batch (either reason)."""
        return self.overflowed or self.restarted_after_error

    @staticmethod
    def empty(overflowed: bool = False) -> "FifoBatch":
        return FifoBatch(np.zeros((0, 3)), np.zeros((0, 3)), overflowed)

    @staticmethod
    def after_read_error() -> "FifoBatch":
        """No frames: the FIFO was restarted after a failed read (see the class doc)."""
        return FifoBatch(np.zeros((0, 3)), np.zeros((0, 3)), restarted_after_error=True)


@dataclass
class DriverStats:
    """Counters kept by a driver across drains."""

    frames_read: int = 0
    overflows: int = 0
    restarts_after_error: int = 0     # FIFO resets because a read failed mid-burst
    bytes_read: int = 0
    partial_frame_bytes_left: int = field(default=0)   # bytes left in the FIFO (< 1 frame)


class ImuDriver(abc.ABC):
    """One IMU chip behind the common interface."""

    #: Human-readable model, e.g. "MPU-6050" or "LSM6DSOX" (set from WHO_AM_I).
    model: str
    #: 7-bit I2C address.
    address: int
    #: WHO_AM_I value read at detection.
    who_am_i: int
    #: FIFO size in bytes and bytes per accel+gyro frame.
    fifo_capacity_bytes: int
    frame_bytes: int

    def __init__(self, bus: I2cBus, address: int, who_am_i: int, model: str,
                 sleep_s: Callable[[float], None] = time.sleep):
        self.bus = bus
        self.address = address
        self.who_am_i = who_am_i
        self.model = model
        self.stats = DriverStats()
        self.settings = ImuSettings()
        # How the driver waits during configure() (e.g. after a device reset), seconds.
        # The sensor reader replaces it with a wait that keeps draining the other chips,
        # whose FIFOs would otherwise overflow while this one restarts.
        self.wait_s: Callable[[float], None] = sleep_s

    @abc.abstractmethod
    def configure(self, settings: ImuSettings = ImuSettings()) -> None:
        """Reset and wake the chip, set ranges, output rate and low-pass, enable the FIFO in
        stream mode with accelerometer + gyroscope only, and reset the FIFO."""

    @property
    @abc.abstractmethod
    def output_rate_hz(self) -> float:
        """Nominal output data rate actually configured, Hz (the chip's true rate differs by its
        oscillator error; the sensor thread fits it)."""

    @property
    @abc.abstractmethod
    def acc_range_g(self) -> int:
        """Accelerometer full scale actually configured, +-g."""

    @property
    @abc.abstractmethod
    def gyro_range_dps(self) -> int:
        """Gyroscope full scale actually configured, +-deg/s."""

    @abc.abstractmethod
    def drain(self) -> FifoBatch:
        """Read every whole frame now in the FIFO (in bursts via `i2c_rdwr`), convert to g and
        deg/s. On overflow: reset the FIFO and return `overflowed=True`; after a read that
        failed mid-burst: reset it and return `restarted_after_error=True`."""

    @abc.abstractmethod
    def reset_fifo(self) -> None:
        """Discard the FIFO contents and restart it in stream mode."""

    @abc.abstractmethod
    def read_latest(self) -> tuple[np.ndarray, np.ndarray]:
        """The latest sample from the data output registers: (acc_g (3,), gyro_dps (3,))."""

    def describe(self) -> str:
        return f"{self.model} at 0x{self.address:02X}"
