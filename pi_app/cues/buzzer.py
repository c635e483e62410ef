"""The athlete's buzzer: a GPIO piezo (active or passive) on the Pi, a recording fake elsewhere.

Both play a pattern's segments as timed notes without blocking the caller: `play` only puts
the notes on a `Timeline` (times on the buzzer's clock). The real buzzer has a small worker
thread that switches the pin at each note boundary; the simulated one needs no thread - what
it "did" is read back from the timeline up to the clock's current time, so tests on a
`ManualClock` are exact.

Active buzzers have their own oscillator: the pin only switches them on and off, so `freq_hz`
is ignored. Passive buzzers are driven with a PWM square wave at `freq_hz` (50 % duty is the
loudest for a piezo).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from pi_app.clock import Clock, WallClock
from pi_app.cues.patterns import Segment
from pi_app.errors import PiAppError

BUZZER_KINDS = ("active", "passive")


class CueDeviceError(PiAppError):
    """A cue output (GPIO buzzer, audio device) cannot be opened or driven."""


class Timeline:
    """Non-overlapping notes (start_s, end_s, freq_hz) on one clock, oldest first.

    A note added over others wins: notes already sounding are cut at its start, notes that
    would start during it are dropped (a new cue pre-empts the rest of an old one).
    """

    def __init__(self) -> None:
        self._notes: list[tuple[float, float, float]] = []

    def add(self, start_s: float, segments: Iterable[Segment]) -> list[tuple[float, float, float]]:
        """Schedule `segments` relative to start_s (s); returns the notes added."""
        added = []
        for seg in segments:
            a = start_s + seg.start_ms / 1000.0
            b = a + seg.duration_ms / 1000.0
            if b <= a:
                continue
            kept = []
            for s, e, f in self._notes:
                if e <= a or s >= b:
                    kept.append((s, e, f))
                elif s < a:
                    kept.append((s, a, f))
            kept.append((a, b, float(seg.freq_hz)))
            kept.sort()
            self._notes = kept
            added.append((a, b, float(seg.freq_hz)))
        return added

    def clear_from(self, t_s: float) -> None:
        """Silence from t_s on (cut a sounding note, drop later ones)."""
        self._notes = [(s, min(e, t_s), f) for s, e, f in self._notes if s < t_s]

    def state_at(self, t_s: float) -> float | None:
        """freq_hz of the note sounding at t_s, None when silent."""
        for s, e, f in self._notes:
            if s <= t_s < e:
                return f
        return None

    def next_change_after(self, t_s: float) -> float | None:
        """The first note boundary strictly after t_s (s), None if there is none."""
        best = math.inf
        for s, e, _ in self._notes:
            if s > t_s:
                best = min(best, s)
            if e > t_s:
                best = min(best, e)
        return best if math.isfinite(best) else None

    def transitions(self, until_s: float = math.inf) -> list[tuple[float, bool, float | None]]:
        """(t_s, on, freq_hz or None) for every switch up to and including until_s."""
        out: list[tuple[float, bool, float | None]] = []
        for s, e, f in self._notes:
            if s > until_s:
                break
            if out and out[-1][0] == s and not out[-1][1]:
                out.pop()       # back-to-back notes: no off in between
            out.append((s, True, f))
            if e <= until_s:
                out.append((e, False, None))
        return out

    def delay_from(self, t_s: float, delay_s: float) -> None:
        """Move every note boundary at or after t_s later by delay_s (a note sounding across
        t_s lasts that much longer). Notes stay non-overlapping: all later boundaries move
        together."""
        self._notes = [(s + delay_s if s >= t_s else s, e + delay_s if e >= t_s else e, f)
                       for s, e, f in self._notes]

    def prune(self, before_s: float) -> None:
        """Forget notes that ended before before_s."""
        self._notes = [n for n in self._notes if n[1] >= before_s]

    @property
    def notes(self) -> tuple[tuple[float, float, float], ...]:
        return tuple(self._notes)


class Buzzer(Protocol):
    """A buzzer that plays segments without blocking."""

    kind: str

    def play(self, segments: Iterable[Segment], start_s: float | None = None) -> float:
        """Schedule segments from start_s (default: now) on the buzzer's clock; returns the
        start time (s)."""
        ...

    def stop(self) -> None:
        """Silence now and forget what is scheduled."""
        ...

    def close(self) -> None:
        ...


class SimulatedBuzzer:
    """A buzzer that only records: `log` is [(t_s, on, freq_hz or None)] up to clock.now_s()."""

    def __init__(self, clock: Clock, kind: str = "passive"):
        if kind not in BUZZER_KINDS:
            raise ValueError(f"unknown buzzer kind {kind!r}; use active or passive")
        self.kind = kind
        self.clock = clock
        self._timeline = Timeline()
        self._lock = threading.Lock()

    def play(self, segments: Iterable[Segment], start_s: float | None = None) -> float:
        now_s = self.clock.now_s()
        start_s = now_s if start_s is None else max(float(start_s), now_s)
        with self._lock:
            self._timeline.add(start_s, segments)
        return start_s

    def stop(self) -> None:
        with self._lock:
            self._timeline.clear_from(self.clock.now_s())

    def close(self) -> None:
        self.stop()

    @property
    def log(self) -> list[tuple[float, bool, float | None]]:
        with self._lock:
            events = self._timeline.transitions(self.clock.now_s())
        if self.kind == "active":
            return [(t, on, None) for t, on, _ in events]
        return events

    def is_on(self) -> bool:
        with self._lock:
            return self._timeline.state_at(self.clock.now_s()) is not None


class TimelinePlayer:
    """Which state a timeline wants now, for a player that may wake late.

    A cue's meaning is its rhythm (two short beeps is not one long one), so a player that woke
    after a note boundary it should have switched at does not skip it: the boundary happens
    now, and the rest of the timeline slips by the same delay. Without this a wake-up late by
    more than a gap merged the notes around it (seen in the lab under emulation: the first
    beep and the gap of a pattern became one 154 ms pulse)."""

    #: Lateness (clock s) below which a boundary is not moved: ordinary thread wake-up jitter.
    LATE_TOLERANCE_S = 0.002

    def __init__(self, timeline: Timeline, start_s: float):
        self.timeline = timeline
        self._played_until_s = float(start_s)
        #: Boundaries that were late by more than the tolerance and slipped.
        self.slips = 0
        self.slipped_s = 0.0

    def step(self, now_s: float) -> tuple[float | None, float | None]:
        """(freq_hz to sound now or None, the next boundary's time or None)."""
        missed = self.timeline.next_change_after(self._played_until_s)
        if missed is not None and missed < now_s - self.LATE_TOLERANCE_S:
            self.timeline.delay_from(missed, now_s - missed)
            self.slips += 1
            self.slipped_s += now_s - missed
        self._played_until_s = max(self._played_until_s, now_s)
        self.timeline.prune(now_s - 1.0)
        return self.timeline.state_at(now_s), self.timeline.next_change_after(now_s)


class TimelineWorker:
    """A daemon thread that calls `apply(freq_hz or None)` whenever the timeline's state
    changes, on `clock` (a clock with a `speed` attribute runs that much faster than the
    wall clock). Used by the real buzzer and the audio player.

    check(): called every `check_every_s` (wall s) while nothing is scheduled, to find out
    that the output went away before a cue needs it. `last_error` is the newest exception of
    apply or check (None again after one succeeds); `errors` counts them."""

    # Longest single wait (wall s): bounds how late a clock the thread cannot see ahead
    # of (e.g. a manual one) is followed.
    _MAX_WAIT_S = 0.05

    def __init__(self, clock: Clock, apply: Callable[[float | None], None], name: str,
                 check: Callable[[], object] | None = None, check_every_s: float = 2.0):
        self.clock = clock
        self.timeline = Timeline()
        self._apply = apply
        self._check = check
        self.check_every_s = float(check_every_s)
        self._cond = threading.Condition()
        self._closed = False
        self._state: float | None = None
        self.errors = 0
        self.last_error: Exception | None = None
        self.player = TimelinePlayer(self.timeline, clock.now_s())
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def schedule(self, start_s: float, segments: Iterable[Segment]) -> None:
        with self._cond:
            self.timeline.add(start_s, segments)
            self._cond.notify()

    def clear(self) -> None:
        with self._cond:
            self.timeline.clear_from(self.clock.now_s())
            self._cond.notify()

    def idle(self) -> bool:
        """True when nothing sounds and nothing is scheduled."""
        with self._cond:
            now_s = self.clock.now_s()
            return self._state is None and self.timeline.next_change_after(now_s) is None

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait (wall time, at most timeout_s) until idle; True if it became idle."""
        done = threading.Event()
        deadline = WallClock().now_s() + timeout_s
        while not self.idle():
            if WallClock().now_s() > deadline:
                return False
            done.wait(0.005)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=1.0)
        if self._state is not None:
            self._apply(None)
            self._state = None

    def _run(self) -> None:
        speed = float(getattr(self.clock, "speed", 1.0))
        with self._cond:
            while not self._closed:
                now_s = self.clock.now_s()
                wanted, nxt = self.player.step(now_s)
                if wanted != self._state:
                    self._guarded(self._apply, wanted)
                    self._state = wanted
                if nxt is None:
                    if self._check is None:
                        self._cond.wait()
                    elif not self._cond.wait(self.check_every_s):
                        self._guarded(self._check)
                else:
                    self._cond.wait(max(0.0, min(self._MAX_WAIT_S, (nxt - now_s) / speed)))


    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:   # a flaky output must not kill the cue thread
            self.errors += 1
            self.last_error = exc
        else:
            self.last_error = None


def _lgpio_pipe_error(exc: OSError) -> CueDeviceError:
    """lgpio creates notification pipes (.lgd-nfy*) in $LG_WD or else the working directory
    while it is imported; where this user cannot write, the import fails (FileNotFoundError)."""
    where = os.environ.get("LG_WD") or os.getcwd()
    return CueDeviceError(
        f"the GPIO library lgpio could not create its notification pipe in {where} "
        f"({exc.strerror or exc}); set LG_WD to a directory this user can write (the pi-app "
        "service sets LG_WD=/run/pi-app) or start pi-app from a writable directory")


def _import_gpio():
    try:
        # lgpio first, so its own start-up failure is told apart from a missing RPi.GPIO.
        try:
            import lgpio  # noqa: F401
        except ImportError:
            pass
        import RPi.GPIO as GPIO    # rpi-lgpio provides this API on every Pi model
    except OSError as exc:
        raise _lgpio_pipe_error(exc) from None
    except (ImportError, RuntimeError) as exc:
        raise CueDeviceError(
            f"the GPIO buzzer needs the RPi.GPIO API, which is not available here ({exc}); "
            "on a Raspberry Pi install the `pi` extra (pip install 'pi-app[pi]', which brings "
            "rpi-lgpio), anywhere else use the simulated buzzer") from None
    return GPIO


class GpioBuzzer:
    """A piezo buzzer on BCM pin `pin_bcm`: kind "active" (on/off) or "passive" (PWM tone at
    each segment's freq_hz with `duty_pct` duty). `gpio` is the RPi.GPIO module (imported
    lazily when None, so nothing imports it off a Pi). Notes are timed on `clock`."""

    def __init__(self, pin_bcm: int, kind: str = "active", clock: Clock | None = None,
                 duty_pct: float = 50.0, gpio=None):
        if kind not in BUZZER_KINDS:
            raise ValueError(f"unknown buzzer kind {kind!r}; use active or passive")
        self.kind = kind
        self.pin_bcm = int(pin_bcm)
        self.duty_pct = float(duty_pct)
        self.clock = clock if clock is not None else WallClock()
        self._gpio = gpio if gpio is not None else _import_gpio()
        self._pwm = None
        g = self._gpio
        try:
            g.setwarnings(False)
            g.setmode(g.BCM)
            g.setup(self.pin_bcm, g.OUT, initial=g.LOW)
            if kind == "passive":
                self._pwm = g.PWM(self.pin_bcm, 1000)
                self._pwm.start(0)
        except Exception as exc:
            raise CueDeviceError(
                f"cannot drive the buzzer on GPIO{self.pin_bcm} (BCM): {exc}; check the pin "
                "number, that the user is in the `gpio` group and that the working directory "
                "is writable (lgpio puts its pipes there; or set LG_WD)") from None
        # Reading the pin back now and then finds a GPIO chip that went away between cues.
        self._worker = TimelineWorker(self.clock, self._apply, f"buzzer-gpio{self.pin_bcm}",
                                      check=lambda: g.input(self.pin_bcm))

    @property
    def warning(self) -> str | None:
        """One line for the dashboard while the buzzer's GPIO fails (None when it works)."""
        err = self._worker.last_error
        if err is None:
            return None
        # lgpio's error prints its message quoted ('bad handle').
        return (f"the buzzer on GPIO{self.pin_bcm} does not respond "
                f"({str(err).strip(chr(39))}): cues play as "
                "sound only; restart pi-app once the GPIO chip is back (sudo systemctl "
                "restart pi-app)")

    def _apply(self, freq_hz: float | None) -> None:
        g = self._gpio
        if self.kind == "active":
            g.output(self.pin_bcm, g.HIGH if freq_hz is not None else g.LOW)
        elif self._pwm is None:
            raise AssertionError("a passive buzzer has its PWM from __init__")
        elif freq_hz is None:
            self._pwm.ChangeDutyCycle(0)
        else:
            self._pwm.ChangeFrequency(freq_hz)
            self._pwm.ChangeDutyCycle(self.duty_pct)

    def play(self, segments: Iterable[Segment], start_s: float | None = None) -> float:
        now_s = self.clock.now_s()
        start_s = now_s if start_s is None else max(float(start_s), now_s)
        self._worker.schedule(start_s, segments)
        return start_s

    def stop(self) -> None:
        self._worker.clear()

    def wait_idle(self, timeout_s: float) -> bool:
        return self._worker.wait_idle(timeout_s)

    def close(self) -> None:
        self._worker.close()
        g = self._gpio
        try:
            if self._pwm is not None:
                self._pwm.stop()
            g.output(self.pin_bcm, g.LOW)
            g.cleanup(self.pin_bcm)
        except Exception:   # closing at exit: the pin is released by the OS anyway
            pass
