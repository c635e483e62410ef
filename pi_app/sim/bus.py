"""A simulated I2C bus with the smbus2.SMBus methods drivers use.

Chips are register-level emulators keyed by 7-bit address. Absent addresses raise
`OSError(errno.EREMOTEIO)` as the Linux i2c-dev driver does when nothing ACKs. A `FaultPlan`
(from the scenario) can make a chip vanish for a while (it comes back power-on-reset, as a
real sensor on a loose cable does) or make a fraction of transactions fail with EIO.
"""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence

from pi_app.clock import Clock
from pi_app.sim.faults import FaultPlan

if TYPE_CHECKING:
    from smbus2 import i2c_msg
    from pi_app.sim.scenarios import Scenario

# smbus2 caps SMBus block transfers at 32 bytes (I2C_SMBUS_BLOCK_MAX).
SMBUS_BLOCK_MAX = 32
I2C_M_RD = 0x0001


class EmulatedChip(Protocol):
    """What the bus needs from a chip emulator."""

    address: int

    def read(self, register: int, length: int) -> bytes:
        """Read `length` bytes starting at `register` (the chip applies its own
        auto-increment and FIFO-register rules)."""
        ...

    def write(self, register: int, data: bytes) -> None:
        """Write `data` starting at `register`."""
        ...

    def power_on_reset(self) -> None:
        """Return every register to its power-on value and empty the FIFO."""
        ...


@dataclass
class BusCounters:
    """Traffic on the simulated bus (for the I2C budget and fault tests)."""

    transactions: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    failed_transactions: int = 0


class SimulatedBus:
    """smbus2.SMBus look-alike backed by chip emulators.

    Attributes set by `open_simulated_bus`: `clock`, `scenario` (with `.truth`), `chips`.
    """

    def __init__(self, chips: Iterable[EmulatedChip], clock: Clock,
                 faults: FaultPlan | None = None, bus_number: int = 1):
        self.chips: dict[int, EmulatedChip] = {c.address: c for c in chips}
        self.clock = clock
        self.faults = faults
        self.bus_number = bus_number
        self.counters = BusCounters()
        self.scenario: Scenario | None = None
        self._was_absent: dict[int, bool] = {a: False for a in self.chips}
        self._pointer: dict[int, int] = {}
        self.fd = None
        self.closed = False

    # -- context manager / lifecycle, as smbus2.SMBus -------------------------------------
    def __enter__(self) -> "SimulatedBus":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, bus: int | str) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True

    # -- addressing --------------------------------------------------------------------------
    def _chip(self, address: int) -> EmulatedChip:
        self.counters.transactions += 1
        chip = self.chips.get(address)
        if chip is None:
            self.counters.failed_transactions += 1
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        if self.faults is not None:
            now_s = self.clock.now_s()
            if self.faults.absent(address, now_s):
                self._was_absent[address] = True
                self.counters.failed_transactions += 1
                raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
            if self._was_absent.get(address):
                # Plugged back in: the chip lost power, so it restarts from reset values.
                self._was_absent[address] = False
                chip.power_on_reset()
            if self.faults.transaction_fails(address, now_s):
                self.counters.failed_transactions += 1
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return chip

    # -- SMBus byte/block calls --------------------------------------------------------------
    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        data = self._chip(i2c_addr).read(register, 1)
        self.counters.bytes_read += 1
        return data[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        self._chip(i2c_addr).write(register, bytes([value & 0xFF]))
        self.counters.bytes_written += 2

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        data = self._chip(i2c_addr).read(register, 2)
        self.counters.bytes_read += 2
        return data[0] | (data[1] << 8)

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int,
                            force: bool | None = None) -> list[int]:
        if length > SMBUS_BLOCK_MAX:
            raise ValueError(f"Desired block length over {SMBUS_BLOCK_MAX} bytes")
        data = self._chip(i2c_addr).read(register, length)
        self.counters.bytes_read += length
        return list(data)

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: Sequence[int],
                             force: bool | None = None) -> None:
        if len(data) > SMBUS_BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {SMBUS_BLOCK_MAX} bytes")
        self._chip(i2c_addr).write(register, bytes(d & 0xFF for d in data))
        self.counters.bytes_written += 1 + len(data)

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        chip = self._chip(i2c_addr)
        register = self._pointer.get(i2c_addr, 0)
        self.counters.bytes_read += 1
        return chip.read(register, 1)[0]

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        self._chip(i2c_addr)
        self._pointer[i2c_addr] = value & 0xFF
        self.counters.bytes_written += 1

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        self._chip(i2c_addr)

    # -- combined transactions ----------------------------------------------------------------
    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None:
        """Run smbus2 `i2c_msg` messages as one combined transaction: a write sets the
        register pointer (first byte) and writes the rest; a read fills the message buffer
        from the pointer."""
        if not i2c_msgs:
            return
        chip = self._chip(i2c_msgs[0].addr)
        for msg in i2c_msgs:
            if msg.addr != chip.address:
                chip = self._chip(msg.addr)
            if msg.flags & I2C_M_RD:
                register = self._pointer.get(msg.addr, 0)
                data = chip.read(register, msg.len)
                ctypes.memmove(msg.buf, data, msg.len)
                self.counters.bytes_read += msg.len
            else:
                payload = bytes(msg)
                if not payload:
                    continue
                self._pointer[msg.addr] = payload[0]
                if len(payload) > 1:
                    chip.write(payload[0], payload[1:])
                self.counters.bytes_written += len(payload)
