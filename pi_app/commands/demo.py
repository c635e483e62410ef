"""`pi-app demo`: the whole live stack (drivers, sensor thread, analysis, cues, dashboard)
against emulated IMUs on a simulated runner.

    pi-app demo                                   # dashboard window, real time
    pi-app demo --headless --speed 20 --seconds 240 --scenario drift --events-out ev.jsonl

Clocks: with a window, the simulated world runs on a `ScaledClock` (--speed X times real
time) with the sensor and analysis threads. `--headless --speed X` instead steps a
`ManualClock` in one loop (poll the chips, analyse) — deterministic whatever the speed — paced
to X times real time (`--speed 0`: as fast as the CPU allows); `--headless` alone runs the
threads in real time.

Sound: in real time (no --speed, or --speed 1) the cue patterns and the metronome play through
the computer's sound device with the same synthesis as on the Pi (pi_app.cues.audio); faster
than real time, or with --no-sound, or without a sound device, the demo is silent and says so.
The simulated buzzer's pattern is printed with each cue (headless) and shown in the cue log.
Sessions are recorded (see pi-app sessions) unless --no-record.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pi_app.clock import Clock, ManualClock, ScaledClock, WallClock
from pi_app.commands.run import add_recording_options, check_recording_options, config_text
from pi_app.errors import ConfigError, PiAppError
from pi_app.commands import argtypes
from pi_app.commands.common import add_simulation_options
from pi_app.sim.bus import SimulatedBus
from pi_app.sim.scenarios import make_scenario

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
    p.add_argument("--speed", default=None,
                   type=argtypes.speed_factor("as fast as the CPU allows, with --headless"),
                   help="run the simulated world X times faster than real time (with "
                        "--headless: a stepped virtual clock paced to X times real time, or "
                        "as fast as the CPU allows with --speed 0)")
    p.add_argument("--events-out", type=Path, default=None, metavar="F.jsonl",
                   help="write strides, cue decisions and faults as JSON lines")
    p.add_argument("--screenshot", type=Path, default=None, metavar="DIR",
                   help="save dashboard screenshots (baseline building, in band, drifting, "
                        "sensor fault) to DIR and exit")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="config TOML (see config/pi-app.example.toml)")
    p.add_argument("--record", action=argparse.BooleanOptionalAction, default=True,
                   help="store the session in the session database (default; see pi-app "
                        "sessions); --no-record: do not, and the R key says so")
    p.add_argument("--no-sound", action="store_true",
                   help="keep the computer's sound device silent (cues still show)")
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
    from pi_app.ui.display import display_reachable, open_live_ui
    if not display_reachable():
        return None, "no display found (DISPLAY is not set): running headless"
    try:
        return open_live_ui(cfg.display, simulated=True, fullscreen=False), None
    except PiAppError as err:
        return None, f"{str(err).rstrip('.')}; running headless"


def run(args) -> int:
    from pi_app.app import (athlete_and_plan, build_live, coaching_args,
                            recording_args, run_paced, run_threads, simulator_spec,
                            stop_recorder, target_offset)
    from pi_app.config import load_config

    _check_args(args)
    check_recording_options(args)
    cfg = load_config(args.config)
    if args.screenshot is not None:
        from pi_app.screenshots import save_screenshots
        paths = save_screenshots(args.screenshot, cfg=cfg)
        for path in paths:
            print(path)
        return 0

    ui, why = _open_ui(cfg, args.headless)
    headless = ui is None
    if why:
        print(f"pi-app: {why}.", file=sys.stderr)
    args.athlete, cfg, plan = athlete_and_plan(cfg, args.state_dir, args.athlete, ui,
                                               WallClock())
    if plan is not None:
        print(f"pi-app demo: {plan.describe()}.", file=sys.stderr)
    planned = plan.session if plan is not None else None
    target_offset_deg = target_offset(cfg, plan)
    stepped = headless and args.speed is not None
    if not stepped and args.speed == 0:
        if ui is not None:
            ui.close()
        raise ConfigError("--speed 0 (as fast as the CPU allows) needs --headless; with the "
                          "dashboard give a factor > 0, e.g. --speed 5.", key="speed")
    clock: Clock
    if stepped:
        clock = ManualClock()
    elif args.speed is not None and args.speed != 1.0:
        clock = ScaledClock(args.speed)
    else:
        clock = WallClock()
    seconds = args.seconds if args.seconds is not None else (
        planned.duration_s if planned is not None else
        DEFAULT_STEPPED_S if stepped else None)
    sound, sound_why = _sound_wanted(cfg, args)

    t0_s = clock.now_s()
    record = None if not args.record else recording_args(
        state_dir=args.state_dir, athlete=args.athlete, notes=args.notes,
        config_text=config_text(args.config), max_size_mb=args.max_size_mb,
        treadmill_speed_kmh=args.treadmill_kmh, planned=planned,
        target_offset_deg=target_offset_deg, scenario=args.scenario, seed=args.seed)
    parts = None
    try:
        # The simulated runner is built where acquisition runs (its own process unless
        # stepped).
        parts = build_live(
            cfg, clock, scenario=args.scenario,
            bus_spec=simulator_spec(cfg, args.scenario, seed=args.seed, chips=args.chips,
                                    day=args.day),
            simulated_outputs=True, sound=sound,
            stride_lines=(lambda line: print(line, flush=True)) if headless else None,
            t0_s=t0_s,
            events_out=args.events_out, calibration_text="simulated: no calibration needed",
            record=record, recording_off_reason="the demo was started with --no-record",
            coaching=coaching_args(args.state_dir, args.athlete, args.treadmill_kmh),
            target_offset_deg=target_offset_deg)
        session, bus = parts.live, parts.bus
        recorder, coaching, events = parts.recorder, parts.coaching, parts.events
        # Only a sound device that opened has an SDL driver (SilentAudio has none).
        driver = getattr(parts.engine.audio if parts.engine is not None else None, "driver",
                         None)
        if sound and driver:
            sound_why = (f"sound on: cues and the metronome play through SDL audio driver "
                         f"{driver}" + _DRIVER_NOTES.get(driver.lower(), "")
                         + " (`pi-app cues --play` previews every pattern)")
        elif sound:
            sound_why = None          # the warning below says why not
        for warning in parts.warnings:
            print(f"pi-app: {warning}.", file=sys.stderr)
        if recorder is not None and recorder.warning:
            print(f"pi-app: {recorder.warning}", file=sys.stderr)
        if events is not None:
            events.on_event("start", {"t_s": t0_s, "scenario": args.scenario,
                                      "seed": args.seed, "chips": args.chips,
                                      "clock": "stepped virtual" if stepped else
                                      type(clock).__name__,
                                      "drain_interval_s": cfg.sensors.drain_interval_s})
        if stepped and args.speed == 0:
            mode = "stepped virtual clock, as fast as the CPU allows"
        elif stepped:
            mode = (f"stepped virtual clock at up to {args.speed:g}x real time (slower if "
                    "the CPU cannot keep up)")
        else:
            mode = f"{type(clock).__name__}" + (f" x{args.speed:g}" if args.speed else "")
        banner = (f"pi-app demo: simulated runner '{args.scenario}' (seed {args.seed}, chips "
                  f"{args.chips}), {mode}" + (f", {seconds:g} s" if seconds else "")
                  + "; Ctrl-C stops.")
        # In process mode the simulated runner lives in the acquisition process: the same
        # scenario built here only to say when it drifts.
        world = bus.scenario if isinstance(bus, SimulatedBus) else None
        if world is None:
            world = make_scenario(args.scenario, seed=args.seed, start_s=t0_s, day=args.day)
        notes = [first_cue_note(world, t0_s),
                 "recording as a new session (see pi-app sessions; --no-record: off)"
                 if recorder is not None and recorder.warning is None else
                 None if recorder is not None else "not recording (--no-record)"]
        if sound_why:
            notes.append(sound_why)
        banner += "".join(f"\npi-app demo: {n}." for n in notes if n)
        if stepped:
            print(banner, file=sys.stderr, flush=True)
            achieved = run_paced(parts, cfg, clock,
                                 DEFAULT_STEPPED_S if seconds is None else seconds, args.speed)
            if args.speed and achieved is not None and achieved < 0.9 * args.speed:
                print(f"pi-app demo: the CPU kept up only {achieved:.1f}x real "
                      f"time (asked for {args.speed:g}x).", file=sys.stderr)
        else:
            run_threads(parts, cfg, ui=ui, seconds=seconds,
                        started=lambda: print(banner, file=sys.stderr, flush=True))
        stop_recorder(recorder)
        _print_summary(session)
        if coaching is not None:
            coaching.close()
            _print_coaching(coaching, session)
        if recorder is not None and recorder.session_id is not None:
            print(f"pi-app demo: recorded as session {recorder.session_id}"
                  + (f" ({recorder.warning})" if recorder.warning else "") + ".",
                  file=sys.stderr)
        if events is not None:
            events.on_event("summary", _summary(session))
    finally:
        if parts is not None:
            parts.close()
        if ui is not None:
            ui.close()
    return 0


#: SDL audio drivers that open without a sound device: say so rather than claim sound.
_DRIVER_NOTES = {"dummy": ", which plays nothing (SDL_AUDIODRIVER=dummy)",
                 "disk": ", which writes to a file (SDL_DISKAUDIOFILE), not a speaker"}


def _sound_wanted(cfg, args) -> tuple[bool, str | None]:
    """(play through the sound device?, why not). Only in real time: faster, the patterns
    and the metronome would come X times too fast to mean anything."""
    if args.no_sound:
        return False, "sound off (--no-sound): cues show in the cue log"
    if not cfg.audio.enabled:
        return False, "sound off ([audio] enabled = false): cues show in the cue log"
    if args.speed is not None and args.speed != 1.0:
        return False, (f"sound off at --speed {args.speed:g} (sound only makes sense in real "
                       "time): cues show in the cue log")
    return True, None


def first_cue_note(world, t0_s: float) -> str:
    """One line on when this scenario's first cue can come, and how to get one sooner."""
    drift_s = world.params.get("drift_start_s")
    if drift_s is None:
        return ("this runner does not drift, so no cue plays; `pi-app demo --scenario "
                "quick-drift` plays its first cue about 1.5 minutes after the start")
    m, sec = divmod(int(round(drift_s - t0_s)), 60)
    text = f"the runner starts to drift at {m}:{sec:02d}; the first cue follows within seconds"
    if world.name != "quick-drift":
        text += " (`--scenario quick-drift` drifts sooner)"
    return text


def _summary(session) -> dict:
    played = [c for c in session.cues if c.played]
    lat = sorted(c.latency_ms for c in played if c.latency_ms is not None)
    return {"t_s": session.t_s, "strides": session.analyzer.n_strides,
            "cues_played": len(played), "cues_withheld": len(session.cues) - len(played),
            "latency_ms_median": lat[len(lat) // 2] if lat else None,
            "latency_ms_max": lat[-1] if lat else None}


def _print_coaching(coaching, session) -> None:
    note = session.analyzer.drift.stored_note
    print(f"pi-app demo: athlete {coaching.athlete.name!r}"
          + (f"; {note}" if note else "; no remembered baseline to offer")
          + (f"; remembered {len(coaching.remembered)} new baseline(s)"
             if coaching.remembered else "")
          + "".join(f"; {e}" for e in coaching.errors) + ".", file=sys.stderr)


def _print_summary(session) -> None:
    s = _summary(session)
    text = (f"pi-app demo: {s['strides']} strides, {s['cues_played']} cue(s) played, "
            f"{s['cues_withheld']} withheld")
    if s["latency_ms_max"] is not None:
        text += (f"; cue latency (closing sample -> cue) median {s['latency_ms_median']:.1f} "
                 f"ms, max {s['latency_ms_max']:.1f} ms")
    print(text + ".", file=sys.stderr)
