"""`pi-app record`: acquire both IMUs through the real sensor path and write a recording CSV.

    pi-app record --seconds 60 -o run.csv                 # the IMUs on /dev/i2c-1
    pi-app record --simulate --scenario steady --seed 3 --seconds 60 -o run.csv

With --simulate the simulated runner is read by the same drivers and `SensorReader`, on a
virtual clock advanced one drain interval at a time (fast and deterministic); its ground truth
is written next to the recording (run.steps.csv, run.strides.csv). Ctrl-C stops the recording
and keeps what was recorded: rows are flushed to the file as they come.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from pi_app.clock import ManualClock, WallClock
from pi_app.drain import DRAIN_INTERVAL_S
from pi_app.errors import ConfigError
from pi_app.frames import FrameChunk
from pi_app.hw.imu import ImuSettings
from pi_app.recording.csv_writer import RecordingWriter, write_steps_csv, write_strides_csv
from pi_app.sim.bus import SimulatedBus
from pi_app.commands import argtypes
from pi_app.commands.common import add_simulation_options, rate_notes

# Write to disk about twice a second rather than every drain.
WRITE_INTERVAL_S = 0.5
# After the requested duration, keep polling this long so the aligner releases the last rows
# it held back waiting for the thorax (FrameAligner.max_wait_s is 0.25 s).
TAIL_S = 0.5


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "record", help="record the IMUs (or a simulated runner) to a recording CSV",
        description="Acquire the pelvis and thorax IMUs through the live sensor path and "
                    "write a recording CSV (../shared/spec/recording-csv.md). Ctrl-C stops "
                    "and keeps what was recorded.")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE.csv",
                   help="recording CSV to write")
    p.add_argument("--seconds", type=argtypes.duration_s("--seconds 60"), default=None,
                   help="how long to record, s (default: until Ctrl-C; required with "
                        "--simulate)")
    p.add_argument("--rate-hz", type=float, default=1000.0,
                   help="requested output data rate of each IMU, Hz (default 1000)")
    add_simulation_options(p)
    p.add_argument("--quiet", action="store_true", help="print nothing when done")
    p.set_defaults(func=run)
    return p


def truth_paths(output: Path) -> tuple[Path, Path]:
    """run.csv -> (run.steps.csv, run.strides.csv)."""
    stem = output.name[:-4] if output.name.lower().endswith(".csv") else output.name
    return output.with_name(stem + ".steps.csv"), output.with_name(stem + ".strides.csv")


def _check_args(args) -> None:
    if args.simulate and args.seconds is None:
        raise ConfigError("--simulate needs --seconds (the simulated run has no Ctrl-C "
                          "moment); add e.g. --seconds 60.", key="seconds")
    if not 1.0 <= args.rate_hz <= 8000.0:
        raise ConfigError(f"--rate-hz is {args.rate_hz:g}; give an IMU output rate such as "
                          "1000.", key="rate_hz")
    argtypes.check_output_file(args.output, "-o")


class _Recorder:
    """The acquisition loop: poll the sensors, align the two streams, write rows."""

    def __init__(self, reader, clock, writer: RecordingWriter, t0_s: float,
                 has_thorax: bool):
        from pi_app.acquisition.align import FrameAligner
        self.reader = reader
        self.clock = clock
        self.writer = writer
        self.t0_s = t0_s
        self.has_thorax = has_thorax
        self.aligner = FrameAligner()
        self.cursors = {role: reader.rings[role].reader(from_start=True)
                        for role in reader.roles}
        self.pending: list[FrameChunk] = []
        self.pending_since_s = clock.now_s()
        self.first_t_s: float | None = None
        self.last_t_s: float | None = None

    def poll(self, until_t_s: float | None) -> None:
        """One drain: read the chips, align, keep rows with t <= until_t_s (relative)."""
        self.reader.poll()
        rows = {role: cursor.read().rows for role, cursor in self.cursors.items()}
        chunk = self.aligner.update(rows.get("pelvis"), rows.get("thorax"))
        if len(chunk):
            chunk.t_s = chunk.t_s - self.t0_s
            if until_t_s is not None:
                chunk = chunk.slice(0, int(np.searchsorted(chunk.t_s, until_t_s, "right")))
            if len(chunk):
                self.pending.append(chunk)
                self.first_t_s = (float(chunk.t_s[0]) if self.first_t_s is None
                                  else self.first_t_s)
                self.last_t_s = float(chunk.t_s[-1])
        if self.clock.now_s() - self.pending_since_s >= WRITE_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        for chunk in self.pending:
            self.writer.write(chunk)
        self.pending = []
        self.pending_since_s = self.clock.now_s()


def run(args) -> int:
    from pi_app.acquisition.setup import open_bus, open_reader

    _check_args(args)
    clock = ManualClock() if args.simulate else WallClock()
    t0_s = clock.now_s()
    bus = open_bus(simulate=args.simulate, bus_number=args.bus, scenario=args.scenario,
                   seed=args.seed, chips=args.chips, clock=clock, day=args.day)
    reader = open_reader(bus, clock, bus_number=args.bus,
                         settings=ImuSettings(rate_hz=args.rate_hz))
    for note in rate_notes(reader, args.rate_hz):
        print(f"pi-app: {note}", file=sys.stderr)
    has_thorax = "thorax" in reader.roles
    sensors = []
    for role in reader.roles:
        driver = reader.driver(role)
        if driver is not None:
            sensors.append(f"{role}: {driver.describe()} at {driver.output_rate_hz:g} Hz")
    source = (f"simulated runner, scenario {args.scenario}, seed {args.seed}, "
              f"chips {args.chips}" if args.simulate else f"I2C bus {args.bus}")
    comments = [f"source: pi-app record, {source}", "sensors: " + "; ".join(sensors),
                "time_s: chip sample-clock time since the start of the recording"]

    interrupted = False
    writer = RecordingWriter(args.output, has_thorax=has_thorax, has_gyro=True,
                             comments=comments)
    try:
        recorder = _Recorder(reader, clock, writer, t0_s, has_thorax)
        start_s = clock.now_s()
        end_s = None if args.seconds is None else start_s + args.seconds + TAIL_S
        until_t_s = None if args.seconds is None else (start_s - t0_s) + args.seconds
        next_s = start_s
        try:
            while end_s is None or clock.now_s() < end_s:
                next_s += DRAIN_INTERVAL_S
                if isinstance(clock, ManualClock):
                    clock.advance(max(0.0, next_s - clock.now_s()))
                else:
                    clock.sleep_s(next_s - clock.now_s())
                recorder.poll(until_t_s)
        except KeyboardInterrupt:
            interrupted = True
        recorder.flush()
    finally:
        writer.close()
        bus.close()

    rows = writer.rows_written
    first, last = recorder.first_t_s, recorder.last_t_s
    duration = 0.0 if first is None or last is None else last - first
    health = reader.snapshot()["sensors"]
    problems = [f"{role}: {h['gaps']} gap(s), {h['i2c_errors']} I2C error(s)"
                for role, h in health.items() if h["gaps"] or h["i2c_errors"]]
    message = (f"pi-app: {'stopped; kept' if interrupted else 'recorded'} {duration:.1f} s "
               f"({rows} rows, {'pelvis + thorax' if has_thorax else 'pelvis only'}) "
               f"in {args.output}")
    if (isinstance(bus, SimulatedBus) and bus.scenario is not None and first is not None
            and last is not None):
        steps_path, strides_path = truth_paths(args.output)
        truth = bus.scenario.truth
        # Truth is on the bus clock; the recording's time is relative to t0_s.
        lo, hi = first + t0_s, last + t0_s
        steps = [dataclasses.replace(s, t_s=s.t_s - t0_s) for s in truth.steps_between(lo, hi)]
        strides = [dataclasses.replace(s, index=k, t_start_s=s.t_start_s - t0_s,
                                       t_end_s=s.t_end_s - t0_s)
                   for k, s in enumerate(truth.strides_between(lo, hi))]
        write_steps_csv(steps_path, steps)
        write_strides_csv(strides_path, strides)
        message += f"; truth in {steps_path.name} and {strides_path.name}"
    if problems:
        message += "; " + "; ".join(problems)
    if not args.quiet:
        print(message + ".", file=sys.stderr if interrupted else sys.stdout)
    return 0
