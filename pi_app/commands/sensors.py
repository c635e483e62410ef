"""`pi-app sensors`: the wiring check.

Probes the I2C bus (lists what answered, like i2cdetect), identifies the IMUs (pelvis = lower
address, thorax = higher), then streams for a few seconds and shows, about twice a second,
each sensor's effective sample rate, latest acceleration and rotation rate and error counts.
`--json` prints exactly one JSON object on stdout at the end (live lines go to stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, TextIO

from pi_app.acquisition.sensor_thread import SensorReader, SensorThread
from pi_app.acquisition.setup import open_bus, open_reader, probe_bus
from pi_app.clock import Clock, WallClock
from pi_app.commands import argtypes
from pi_app.commands.common import add_simulation_options
from pi_app.drain import DRAIN_INTERVAL_S

REPORT_INTERVAL_S = 0.5


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sensors", help="probe the I2C bus, identify the IMUs and show live rates and values",
        description="Wiring check: list what answers on the I2C bus, identify the pelvis "
                    "(lower address) and thorax (higher address) IMUs and stream their "
                    "effective rates, latest values and error counts.")
    add_simulation_options(parser)
    parser.add_argument("--seconds", type=argtypes.duration_s("--seconds 5"), default=5.0,
                        metavar="S",
                        help="how long to stream, default: 5")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object on stdout (live lines go to stderr)")
    parser.set_defaults(func=run)
    return parser


def _fmt3(values) -> str:
    if values is None:
        return "      -      -      -"
    return " ".join(f"{v:+7.2f}" for v in values)


def format_sensor_line(h: dict) -> str:
    """One live line for a sensor health dict."""
    state = "ok" if h["present"] else "ABSENT"
    line = (f"{h['role']:<6} {h['model'] or '?':<11} {h['address_hex']}  "
            f"{h['effective_rate_hz']:7.1f} Hz  acc_g {_fmt3(h['latest_acc_g'])}  "
            f"gyro_dps {_fmt3(h['latest_gyro_dps'])}  ovf {h['overflows']} "
            f"err {h['i2c_errors']} rst {h['fifo_restarts_after_error']} gap {h['gaps']} "
            f"{state}")
    if not h["present"] and h["last_error"]:
        line += f" ({h['last_error']})"
    return line


def summary(reader: SensorReader, answered: list[int], bus_number: int | None,
            simulated: bool) -> dict:
    """The JSON summary: bus facts and each sensor's role, model, address, rates, counters."""
    snap = reader.snapshot()
    sensors = []
    for role, h in snap["sensors"].items():
        sensors.append({
            "role": role,
            "model": h["model"] or None,
            "address": h["address_hex"],
            "present": h["present"],
            "configured_rate_hz": h["configured_rate_hz"],
            "effective_rate_hz": round(h["effective_rate_hz"], 3),
            "samples": h["samples"],
            "overflows": h["overflows"],
            "i2c_errors": h["i2c_errors"],
            # FIFO restarts after a failed read: samples lost to the wiring, not the CPU.
            "fifo_restarts_after_error": h["fifo_restarts_after_error"],
            "gaps": h["gaps"],
            "reconnects": h["reconnects"],
            "last_error": h["last_error"] or None,
        })
    return {"bus": bus_number, "simulated": simulated,
            "answered": [f"0x{a:02X}" for a in answered], "sensors": sensors,
            "exceptions": snap["exceptions"]}


def watch(reader: SensorReader, clock: Clock, seconds: float,
          report: Callable[[dict], None], drain_interval_s: float = DRAIN_INTERVAL_S,
          threaded: bool = True) -> None:
    """Stream for `seconds` and call `report(snapshot)` every REPORT_INTERVAL_S. Threaded, a
    SensorThread owns the bus; unthreaded (tests, virtual clock) polls in this thread."""
    end_s = clock.now_s() + seconds
    next_report_s = clock.now_s() + REPORT_INTERVAL_S
    if threaded:
        thread = SensorThread(reader, drain_interval_s).start()
        try:
            while clock.now_s() < end_s:
                clock.sleep_s(max(0.0, min(next_report_s, end_s) - clock.now_s()))
                if clock.now_s() >= next_report_s:
                    report(reader.snapshot())
                    next_report_s += REPORT_INTERVAL_S
        finally:
            thread.stop()
        return
    while clock.now_s() < end_s:
        reader.poll()
        clock.sleep_s(drain_interval_s)
        if clock.now_s() >= next_report_s:
            report(reader.snapshot())
            next_report_s += REPORT_INTERVAL_S


def check(bus, clock: Clock, seconds: float, *, bus_number: int | None, simulated: bool,
          as_json: bool, out: TextIO, live: TextIO, threaded: bool = True) -> int:
    """The whole check on an open bus. Returns the exit code: 0 when every IMU found is
    present at the end, 1 otherwise."""
    probe = probe_bus(bus, bus_number)
    found = " ".join(f"0x{a:02X}" for a in probe.answered)
    print(f"I2C bus {bus_number}{' (simulated)' if simulated else ''}: "
          f"devices at {found}", file=live)
    reader = open_reader(bus, clock, probe.specs, bus_number=bus_number)
    for role in reader.roles:
        h = reader.health.sensors[role]
        if h.present:
            print(f"{role}: {h.model} at 0x{h.address:02X}, {h.configured_rate_hz:g} Hz",
                  file=live)
        else:
            print(f"{role}: not answering at 0x{h.address:02X} ({h.last_error})", file=live)
    if len(reader.roles) < 2:
        print("only one IMU found: running pelvis-only (no thorax rotation); "
              "give the thorax IMU the other address pin setting", file=live)

    def report(snap: dict) -> None:
        for h in snap["sensors"].values():
            print(format_sensor_line(h), file=live)
        live.flush()

    watch(reader, clock, seconds, report, threaded=threaded)
    result = summary(reader, probe.answered, bus_number, simulated)
    if as_json:
        print(json.dumps(result), file=out)
    else:
        for s in result["sensors"]:
            print(f"{s['role']}: {s['model']} {s['address']} configured "
                  f"{s['configured_rate_hz']:g} Hz, effective {s['effective_rate_hz']:.2f} Hz, "
                  f"{s['samples']} samples, {s['overflows']} overflows, "
                  f"{s['i2c_errors']} I2C errors ({s['fifo_restarts_after_error']} FIFO "
                  f"restarts after them), {s['gaps']} gaps", file=out)
    return 0 if all(s["present"] for s in result["sensors"]) else 1


def run(args) -> int:
    clock = WallClock()
    bus = open_bus(args.simulate, args.bus, scenario=args.scenario, seed=args.seed,
                   chips=args.chips, clock=clock, day=args.day)
    try:
        return check(bus, clock, max(0.0, args.seconds), bus_number=args.bus,
                     simulated=args.simulate, as_json=args.json, out=sys.stdout,
                     live=sys.stderr if args.json else sys.stdout)
    finally:
        bus.close()
