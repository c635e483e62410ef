"""Acquisition benchmark: CPU cost of FIFO bytes -> ring buffer, and the I2C bus budget.

    .venv/bin/python bench/acquisition.py [--chips mpu6050] [--seconds 20] [--drain-interval 0.015]

Prints one JSON object.

CPU: the real drivers and SensorReader run on the simulated bus with a virtual clock, while a
recording proxy keeps every bus response. Then the same run is replayed on a bus that only hands
back the recorded bytes, with a fresh reader and an identical virtual clock: that replay costs
driver drain + conversion + clock fit + ring write, without the emulator's cost (reported
separately as the difference). Per sample pair = per (pelvis + thorax) sample.

I2C: every recorded transaction of the streaming phase is counted in bit times on a 400 kHz bus:
START, address byte + ACK, register byte + ACK, repeated START, address + ACK, data bytes + ACK
each, STOP. Clock stretching and controller gaps between bytes are not counted (the Pi's
controller adds some), so treat the result as a lower bound.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pi_app.acquisition.sensor_thread import SensorReader  # noqa: E402
from pi_app.acquisition.setup import open_bus, probe_bus  # noqa: E402
from pi_app.clock import ManualClock  # noqa: E402

I2C_M_RD = 0x0001
BUS_HZ = 400_000
BYTE_BITS = 9          # 8 data bits + ACK/NACK
START_BITS = 1         # START, repeated START and STOP each take about one bit time
TARGET_CPU_PCT = 5.0


def transaction_bits(method: str, args: tuple, result) -> int:
    """Bit times of one smbus2 call on the wire."""
    s, p = START_BITS, START_BITS
    if method == "read_byte_data":
        return s + 2 * BYTE_BITS + s + 2 * BYTE_BITS + p
    if method == "read_word_data":
        return s + 2 * BYTE_BITS + s + 3 * BYTE_BITS + p
    if method == "read_i2c_block_data":
        return s + 2 * BYTE_BITS + s + BYTE_BITS * (1 + args[2]) + p
    if method == "write_byte_data":
        return s + 3 * BYTE_BITS + p
    if method == "write_i2c_block_data":
        return s + BYTE_BITS * (2 + len(args[2])) + p
    if method in ("read_byte", "write_byte"):
        return s + 2 * BYTE_BITS + p
    if method == "write_quick":
        return s + BYTE_BITS + p
    if method == "i2c_rdwr":
        bits = 0
        for msg in args:
            bits += s + BYTE_BITS * (1 + msg.len)       # (repeated) START, address, bytes
        return bits + p
    raise ValueError(method)


_METHODS = ("read_byte_data", "write_byte_data", "read_word_data", "read_i2c_block_data",
            "write_i2c_block_data", "read_byte", "write_byte", "write_quick", "i2c_rdwr")


class RecordingBus:
    """Passes calls to the simulated bus and records (method, response, bits)."""

    def __init__(self, bus):
        self._bus = bus
        self.bus_number = bus.bus_number
        self.log: list[tuple[str, object, int]] = []
        for name in _METHODS:
            setattr(self, name, self._recorder(name))

    def _recorder(self, name):
        target = getattr(self._bus, name)

        def call(*args, **kwargs):
            try:
                result = target(*args, **kwargs)
            except OSError as err:
                self.log.append((name, err, transaction_bits(name, args, None)))
                raise
            if name == "i2c_rdwr":
                result = [bytes(m) if m.flags & I2C_M_RD else None for m in args]
            self.log.append((name, result, transaction_bits(name, args, result)))
            return None if name == "i2c_rdwr" else result
        return call

    def close(self):
        self._bus.close()


class ReplayBus:
    """Hands back recorded responses in order: the cheapest possible bus."""

    def __init__(self, log, bus_number):
        self._log = log
        self._i = 0
        self.bus_number = bus_number
        for name in _METHODS:
            setattr(self, name, self._replayer(name))

    def _replayer(self, name):
        def call(*args, **kwargs):
            method, result, _ = self._log[self._i]
            self._i += 1
            if method != name:
                raise RuntimeError(f"replay diverged: {name} where {method} was recorded")
            if isinstance(result, OSError):
                raise result
            if name == "i2c_rdwr":
                for msg, data in zip(args, result):
                    if data is not None:
                        ctypes.memmove(msg.buf, data, msg.len)
                return None
            return result
        return call


def run_reader(bus, clock, specs, seconds: float, drain_interval_s: float):
    """Open the reader and poll for `seconds` of virtual time; returns (reader, CPU seconds of
    the streaming phase, index into the bus log where streaming began (or None))."""
    reader = SensorReader(bus, specs, clock, bus_number=bus.bus_number)
    reader.open()
    start_log = len(bus.log) if hasattr(bus, "log") else None
    polls = int(round(seconds / drain_interval_s))
    t0 = time.process_time()
    for _ in range(polls):
        clock.advance(drain_interval_s)
        reader.poll()
    return reader, time.process_time() - t0, start_log


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", default="mpu6050")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain-interval", type=float, default=0.015)
    parser.add_argument("--repeat", type=int, default=3, help="replays; the fastest counts")
    args = parser.parse_args(argv)

    clock = ManualClock(0.0)
    sim = open_bus(True, scenario="steady", seed=0, chips=args.chips, clock=clock)
    specs = probe_bus(sim).specs
    recording = RecordingBus(sim)
    start_s = clock.now_s()
    reader, full_cpu_s, stream_from = run_reader(recording, clock, specs, args.seconds,
                                                 args.drain_interval)
    log = list(recording.log)
    snap = reader.snapshot()["sensors"]
    samples = sum(h["samples"] for h in snap.values())
    pairs = samples / 2.0

    replay_cpu_s = []
    for _ in range(max(1, args.repeat)):
        replay_clock = ManualClock(start_s)
        replay = ReplayBus(log, sim.bus_number)
        replay_reader, cpu_s, _ = run_reader(replay, replay_clock, specs, args.seconds,
                                             args.drain_interval)
        got = sum(h.samples for h in replay_reader.health.sensors.values())
        if got != samples:
            raise RuntimeError(f"replay produced {got} samples, the recording {samples}")
        replay_cpu_s.append(cpu_s)
    acq_cpu_s = min(replay_cpu_s)

    us_per_pair = acq_cpu_s / pairs * 1e6
    rates_hz = [h["configured_rate_hz"] for h in snap.values()]
    pair_rate_hz = min(rates_hz)
    cpu_pct = us_per_pair * 1e-6 * 1000.0 * 100.0     # 2 x 1 kHz = 1000 pairs per second

    stream_log = log[stream_from:]
    bits = sum(b for _, _, b in stream_log)
    bits_per_s = bits / args.seconds
    bytes_read = 0
    for method, result, _ in stream_log:
        if method == "i2c_rdwr" and not isinstance(result, OSError):
            bytes_read += sum(len(d) for d in result if d is not None)
    # Reference: reading every sample on its own, one 14-byte burst of the data registers
    # (accel, temperature, gyro) per sample and sensor at the same rates, as DESIGN.md compares.
    per_sample_bits = transaction_bits("read_i2c_block_data", (0, 0, 14), None)
    per_sample_bits_per_s = per_sample_bits * sum(rates_hz)

    print(json.dumps({
        "chips": args.chips,
        "sensors": {role: {"model": h["model"], "configured_rate_hz": h["configured_rate_hz"],
                           "effective_rate_hz": round(h["effective_rate_hz"], 3),
                           "samples": h["samples"], "overflows": h["overflows"]}
                    for role, h in snap.items()},
        "virtual_seconds": args.seconds,
        "drain_interval_s": args.drain_interval,
        "sample_pairs": pairs,
        "cpu": {
            "acquisition_us_per_pair": round(us_per_pair, 2),
            "acquisition_cpu_pct_one_core_at_2x1kHz": round(cpu_pct, 3),
            "pair_rate_hz": pair_rate_hz,
            "emulator_us_per_pair": round((full_cpu_s - acq_cpu_s) / pairs * 1e6, 2),
            "target_cpu_pct": TARGET_CPU_PCT,
            "within_target": cpu_pct <= TARGET_CPU_PCT,
            "measured_on": os.uname().machine,
        },
        "i2c": {
            "bus_hz": BUS_HZ,
            "transactions_per_s": round(len(stream_log) / args.seconds, 1),
            "fifo_bytes_read_per_s": round(bytes_read / args.seconds, 1),
            "bits_per_s": round(bits_per_s),
            "utilisation_pct": round(bits_per_s / BUS_HZ * 100.0, 1),
            "per_sample_polling_utilisation_pct": round(per_sample_bits_per_s / BUS_HZ * 100, 1),
        },
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
