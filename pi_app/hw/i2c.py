"""`I2cBus`: the part of `smbus2.SMBus` the drivers, the bus scan and the reader use.

A real `smbus2.SMBus` and `pi_app.sim.SimulatedBus` both satisfy it, with smbus2's own
parameter names and defaults (tests/test_hw_i2c_protocol.py compares the signatures with the
installed smbus2), so a driver typed against it runs on either and on any third-party
smbus2-compatible bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from smbus2 import i2c_msg


class I2cBus(Protocol):
    """Six smbus2.SMBus methods. Addresses are 7-bit; registers and values are bytes. A
    transfer nobody acknowledges raises OSError(EREMOTEIO), a failed one OSError(EIO)."""

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        """One byte from the current register pointer (the bus scan's probe)."""
        ...

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """One byte from `register`."""
        ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int,
                        force: bool | None = None) -> None:
        """Write one byte to `register`."""
        ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int,
                            force: bool | None = None) -> list[int]:
        """`length` (<= 32) bytes from `register` on, as the chip auto-increments."""
        ...

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None:
        """Combined transaction of `smbus2.i2c_msg` writes/reads (FIFO bursts beyond 32 bytes);
        read messages are filled in place."""
        ...

    def close(self) -> None:
        """Release the bus."""
        ...
