"""`pi-app demo`: the whole live stack (drivers, sensor thread, analysis, cues, dashboard)
against emulated IMUs on a simulated runner.

    pi-app demo                                   # dashboard window, real time
    pi-app demo --headless --speed 20 --seconds 240 --scenario drift --events-out ev.jsonl

Clocks: with a window, the simulated world runs on a `ScaledClock` (--speed X times real
time) with the sensor and analysis threads. `--headless --speed X` instead steps a
`ManualClock` in one loop (poll the chips, analyse) — deterministic and as fast as the CPU
allows, whatever X is; `--headless` alone runs the threads in real time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pi_app.clock import ManualClock, ScaledClock, WallClock
from pi_app.commands.run import add_recording_options, check_recording_options, config_text
from pi_app.errors import ConfigError, PiAppError
from pi_app.commands import argtypes
from pi_app.commands.common import add_simulation_options

# Headless stepped runs without --seconds: long enough for warm-up, baseline and a drift.
DEFAULT_STEPPED_S = 300.0


def register(subparsers) -> argparse.ArgumentParser:
    from pi_app.sim.scenarios import SCENARIOS
    p = subparsers.add_parser(
        "demo", help="the live app against a simulated runner (dashboard or headless)",
        description="Run the whole live stack against emulated IMUs on a simulated runner. "
                    "Scenarios: " + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()))
    add_simulation_options(p, with_switch=False, with_bus=False)
    p.add_argument("--headless", action="store_true",
                   help="no window: print one line per stride")
    p.add_argument("--seconds", type=argtypes.duration_s("--seconds 240"), default=None,
                   help="simulated seconds to run (default: until Ctrl-C or the coach quits; "
                        f"{DEFAULT_STEPPED_S:g} for --headless --speed)")
    p.add_argument("--speed", type=argtypes.positive_float("--speed 20"), default=None,
                   help="run the simulated world X times faster than real time (with "
                        "--headless: a stepped virtual clock, as fast as the CPU allows)")
    p.add_argument("--events-out", type=Path, default=None, metavar="F.jsonl",
                   help="write strides, cue decisions and faults as JSON lines")
    p.add_argument("--screenshot", type=Path, default=None, metavar="DIR",
                   help="save dashboard screenshots (baseline building, in band, drifting, "
                        "sensor fault) to DIR and exit")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML (see config/pi-app.example.toml)")
    p.add_argument("--record", action="store_true",
                   help="store the session in the session database (see pi-app sessions)")
    add_recording_options(p)
    p.set_defaults(func=run)
    return p


def _check_args(args) -> None:
    argtypes.check_output_dir(args.screenshot, "--screenshot")
    argtypes.check_output_file(args.events_out, "--events-out")


def _open_ui(cfg, headless: bool):
    """(ui, message): the dashboard window, or None with the reason when there is none."""
    if headless or not cfg.display.enabled:
        return None, None
    try:
        from pi_app.ui.display import display_reachable, open_live_ui
    except ImportError:
        return None, "the dashboard is not part of this checkout: running headless"
    if not display_reachable():
        return None, "no display found (DISPLAY is not set): running headless"
    try:
        return open_live_ui(cfg.display, simulated=True, fullscreen=False), None
    except PiAppError as err:
        return None, f"{str(err).rstrip('.')}; running headless"


def run(args) -> int:
    from pi_app.acquisition.sensor_thread import SensorThread
    from pi_app.config import load_config
    from pi_app.live.printer import StridePrinter
    from pi_app.live.session import run_stepped
    from pi_app.live.threads import LiveApp
    from pi_app.live.wiring import make_cue_engine, open_session, start_recorder, stop_recorder
    from pi_app.live.events import EventLog
    from pi_app.sim import open_simulated_bus

    _check_args(args)
    check_recording_options(args)
    cfg = load_config(args.config)
    if args.screenshot is not None:
        try:
            from pi_app.ui.screenshots import save_screenshots
        except ImportError:
            raise ConfigError("--screenshot needs the dashboard (pi_app.ui), which is not "
                              "part of this checkout; update pi-app.",
                              key="screenshot") from None
        paths = save_screenshots(args.screenshot)
        for path in paths:
            print(path)
        return 0

    ui, why = _open_ui(cfg, args.headless)
    headless = ui is None
    if why:
        print(f"pi-app: {why}.", file=sys.stderr)
    stepped = headless and args.speed is not None
    if stepped:
        clock = ManualClock()
    elif args.speed is not None and args.speed != 1.0:
        clock = ScaledClock(args.speed)
    else:
        clock = WallClock()
    seconds = args.seconds if args.seconds is not None else (
        DEFAULT_STEPPED_S if stepped else None)

    bus = open_simulated_bus(scenario=args.scenario, seed=args.seed, chips=args.chips,
                             clock=clock, bus_number=cfg.sensors.bus)
    t0_s = clock.now_s()
    engine, warnings = make_cue_engine(cfg, clock, simulated=True)
    hooks = []
    if headless:
        hooks.append(StridePrinter(lambda line: print(line, flush=True), t0_s=t0_s))
    events = None
    session = None
    recorder = None
    if args.events_out is not None:
        events = EventLog(args.events_out,
                          clock_t_s=lambda: session.t_s if session is not None else None)
        hooks.append(events)
    try:
        session, reader = open_session(
            cfg, clock, bus, cue_engine=engine, hooks=hooks, simulated=True,
            scenario=args.scenario, warnings=warnings,
            calibration_text="simulated: no calibration needed")
        if args.record:
            recorder = start_recorder(
                session, state_dir=args.state_dir, athlete=args.athlete, notes=args.notes,
                config_text=config_text(args.config), scenario=args.scenario, seed=args.seed,
                max_size_mb=args.max_size_mb)
            if recorder.warning:
                print(f"pi-app: {recorder.warning}", file=sys.stderr)
        if events is not None:
            events.on_event("start", {"t_s": t0_s, "scenario": args.scenario,
                                      "seed": args.seed, "chips": args.chips,
                                      "clock": "stepped virtual" if stepped else
                                      type(clock).__name__,
                                      "drain_interval_s": cfg.sensors.drain_interval_s})
        mode = ("stepped virtual clock, as fast as the CPU allows" if stepped else
                f"{type(clock).__name__}" + (f" x{args.speed:g}" if args.speed else ""))
        banner = (f"pi-app demo: simulated runner '{args.scenario}' (seed {args.seed}, chips "
                  f"{args.chips}), {mode}" + (f", {seconds:g} s" if seconds else "")
                  + "; Ctrl-C stops.")
        if stepped:
            import signal
            import threading
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *a: stop.set())
            signal.signal(signal.SIGTERM, lambda *a: stop.set())
            print(banner, file=sys.stderr, flush=True)
            run_stepped(session, clock, seconds, cfg.sensors.drain_interval_s, stop=stop)
        else:
            sensor_thread = SensorThread(reader, cfg.sensors.drain_interval_s)
            app = LiveApp(session, sensor_thread,
                          analysis_interval_s=cfg.sensors.drain_interval_s, ui=ui,
                          ui_fps=cfg.display.fps)
            app.install_signal_handlers()
            app.start()
            print(banner, file=sys.stderr, flush=True)
            try:
                app.run_main(seconds)
            finally:
                clean = app.stop(2.0)
                if not clean:
                    print("pi-app: a thread did not stop within 2 s.", file=sys.stderr)
        stop_recorder(recorder)
        _print_summary(session, bus, t0_s)
        if recorder is not None and recorder.session_id is not None:
            print(f"pi-app demo: recorded as session {recorder.session_id}"
                  + (f" ({recorder.warning})" if recorder.warning else "") + ".",
                  file=sys.stderr)
        if events is not None:
            events.on_event("summary", _summary(session))
    finally:
        stop_recorder(recorder)
        if ui is not None:
            ui.close()
        if events is not None:
            events.close()
    return 0


def _summary(session) -> dict:
    played = [c for c in session.cues if c.played]
    lat = sorted(c.latency_ms for c in played if c.latency_ms is not None)
    return {"t_s": session.t_s, "strides": session.analyzer.n_strides,
            "cues_played": len(played), "cues_withheld": len(session.cues) - len(played),
            "latency_ms_median": lat[len(lat) // 2] if lat else None,
            "latency_ms_max": lat[-1] if lat else None}


def _print_summary(session, bus, t0_s: float) -> None:
    s = _summary(session)
    text = (f"pi-app demo: {s['strides']} strides, {s['cues_played']} cue(s) played, "
            f"{s['cues_withheld']} withheld")
    if s["latency_ms_max"] is not None:
        text += (f"; cue latency (closing sample -> cue) median {s['latency_ms_median']:.1f} "
                 f"ms, max {s['latency_ms_max']:.1f} ms")
    print(text + ".", file=sys.stderr)
