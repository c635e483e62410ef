"""Cue outputs: simulated buzzer timing on a virtual clock, the GPIO buzzer against a fake
RPi.GPIO, tone synthesis (frequency, no clicks) and audio with its silent fallback."""

import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest

from pi_app.clock import ManualClock
from pi_app.cues.audio import SilentAudio, open_audio, synthesize
from pi_app.cues.buzzer import (CueDeviceError, GpioBuzzer, SimulatedBuzzer, Timeline,
                               TimelinePlayer)
from pi_app.cues.patterns import PATTERNS, Segment, render


def test_simulated_buzzer_plays_pattern_on_time():
    clock = ManualClock(100.0)
    buzzer = SimulatedBuzzer(clock, kind="passive")
    start = buzzer.play(PATTERNS["thorax_early"].segments)
    assert start == 100.0
    assert buzzer.log == [(100.0, True, 1200.0)]          # nothing after "now" yet
    clock.advance(0.1)
    assert buzzer.log[-1] == (pytest.approx(100.08), False, None) and not buzzer.is_on()
    clock.advance(1.0)
    log = buzzer.log
    assert [(round(t - 100.0, 6), on, f) for t, on, f in log] == [
        (0.0, True, 1200.0), (0.08, False, None), (0.16, True, 2400.0), (0.4, False, None)]


def test_active_buzzer_has_no_pitch_and_new_cue_preempts():
    clock = ManualClock()
    buzzer = SimulatedBuzzer(clock, kind="active")
    buzzer.play(PATTERNS["more_anti_phase"].segments)       # 350 ms tone
    clock.advance(0.1)
    buzzer.play(PATTERNS["counter_rotation_lost"].segments)
    clock.advance(1.0)
    times = [(round(t, 6), on, f) for t, on, f in buzzer.log]
    assert times == [(0.0, True, None), (0.1, True, None), (0.17, False, None),
                     (0.24, True, None), (0.31, False, None)]


def test_timeline_future_notes_and_stop():
    tl = Timeline()
    tl.add(1.0, [Segment(0, 30, 1800)])
    tl.add(2.0, [Segment(0, 30, 1800)])
    assert tl.state_at(1.01) == 1800 and tl.state_at(1.5) is None
    assert tl.next_change_after(1.5) == 2.0
    tl.clear_from(1.5)
    assert tl.next_change_after(1.5) is None


class FakePwm:
    def __init__(self, calls, pin, freq):
        self.calls = calls
        calls.append(("PWM", pin, freq))

    def start(self, duty):
        self.calls.append(("start", duty))

    def ChangeFrequency(self, f):        # noqa: N802 (RPi.GPIO's names)
        self.calls.append(("freq", f))

    def ChangeDutyCycle(self, d):        # noqa: N802
        self.calls.append(("duty", d))

    def stop(self):
        self.calls.append(("stop",))


def fake_gpio():
    calls = []
    g = types.SimpleNamespace(BCM="BCM", OUT="OUT", HIGH=1, LOW=0, calls=calls)
    g.setwarnings = lambda flag: calls.append(("setwarnings", flag))
    g.setmode = lambda mode: calls.append(("setmode", mode))
    g.setup = lambda pin, mode, initial=None: calls.append(("setup", pin, mode, initial))
    g.output = lambda pin, level: calls.append(("output", pin, level))
    g.input = lambda pin: 0
    g.cleanup = lambda pin=None: calls.append(("cleanup", pin))
    g.PWM = lambda pin, freq: FakePwm(calls, pin, freq)
    return g


def _play(player, wake_times_s):
    """What a player that wakes at `wake_times_s` switches: [(t_s, freq_hz or None)]."""
    out, state = [], None
    for t in wake_times_s:
        wanted, _ = player.step(t)
        if wanted != state:
            out.append((round(t, 4), wanted))
            state = wanted
    return out


def test_a_late_player_keeps_the_rhythm_of_a_cue():
    # Two 50 ms beeps 50 ms apart. The player wakes 70 ms late for the first beep's end:
    # before, it saw the second beep already sounding and never switched off (one 150 ms
    # pulse, what the lab recorded on the GPIO line under emulation).
    timeline = Timeline()
    timeline.add(1.0, [Segment(0, 50, 2000.0), Segment(100, 50, 2000.0)])
    player = TimelinePlayer(timeline, start_s=1.0)
    switched = _play(player, [1.0, 1.12, 1.1705, 1.2205, 1.3])
    assert switched == [(1.0, 2000.0), (1.12, None), (1.1705, 2000.0), (1.2205, None)]
    assert player.slips == 1 and player.slipped_s == pytest.approx(0.07)


def test_a_punctual_player_changes_nothing():
    timeline = Timeline()
    timeline.add(1.0, [Segment(0, 50, 2000.0), Segment(100, 50, 2000.0)])
    player = TimelinePlayer(timeline, start_s=1.0)
    # Ordinary wake-up jitter (1 ms) moves no boundary.
    assert _play(player, [1.0, 1.051, 1.1, 1.151, 1.2]) == [
        (1.0, 2000.0), (1.051, None), (1.1, 2000.0), (1.151, None)]
    assert player.slips == 0


def test_a_late_start_plays_the_whole_cue():
    # Woken 40 ms after a cue should have started: the first beep still lasts 50 ms.
    timeline = Timeline()
    timeline.add(2.0, [Segment(0, 50, 1500.0), Segment(100, 50, 1500.0)])
    player = TimelinePlayer(timeline, start_s=1.99)
    assert _play(player, [1.99, 2.04, 2.0905, 2.1405, 2.1905]) == [
        (2.04, 1500.0), (2.0905, None), (2.1405, 1500.0), (2.1905, None)]


def test_gpio_passive_buzzer_drives_pwm_tones():
    g = fake_gpio()
    buzzer = GpioBuzzer(18, kind="passive", gpio=g)
    try:
        buzzer.play([Segment(0, 20, 1200), Segment(30, 20, 2400)])
        assert buzzer.wait_idle(5.0)
    finally:
        buzzer.close()
    assert ("setmode", "BCM") in g.calls and ("setup", 18, "OUT", 0) in g.calls
    tones = [c for c in g.calls if c[0] in ("freq", "duty")]
    assert tones == [("freq", 1200), ("duty", 50.0), ("duty", 0), ("freq", 2400),
                     ("duty", 50.0), ("duty", 0)]
    assert g.calls[-1] == ("cleanup", 18)


def test_gpio_active_buzzer_switches_the_pin():
    g = fake_gpio()
    buzzer = GpioBuzzer(23, kind="active", gpio=g)
    try:
        buzzer.play([Segment(0, 20, 1200)])
        assert buzzer.wait_idle(5.0)
    finally:
        buzzer.close()
    outputs = [c for c in g.calls if c[0] == "output"]
    assert outputs[:2] == [("output", 23, 1), ("output", 23, 0)]


def test_a_gpio_chip_that_goes_away_between_cues_is_told_and_clears_when_it_answers():
    """The buzzer reads its pin back while idle: with the gpio-sim chip removed in the lab,
    rpi-lgpio raised lgpio.error('bad lineinfo IOCTL'). The warning names the pin and the
    error and reaches the cue engine's warnings."""
    import lgpio

    from pi_app.cues.engine import CueEngine
    from pi_app.cues.policy import CuePolicy
    g = fake_gpio()
    gone = threading.Event()

    def read_back(pin):
        if gone.is_set():
            raise lgpio.error("bad lineinfo IOCTL")
        return 0
    g.input = read_back
    buzzer = GpioBuzzer(18, kind="active", gpio=g)
    buzzer._worker.check_every_s = 0.01
    engine = CueEngine(CuePolicy(), buzzer, None, ManualClock())
    try:
        assert buzzer.warning is None
        gone.set()
        assert wait_until(lambda: buzzer.warning is not None)
        assert buzzer.warning.startswith(
            "the buzzer on GPIO18 does not respond (bad lineinfo IOCTL)")
        assert engine.warnings == (buzzer.warning,)
        gone.clear()
        assert wait_until(lambda: buzzer.warning is None)
    finally:
        buzzer.close()


def wait_until(condition, timeout_s=5.0):
    done = threading.Event()
    for _ in range(int(timeout_s / 0.005)):
        if condition():
            return True
        done.wait(0.005)
    return False


def test_gpio_buzzer_off_a_pi_says_what_to_do(monkeypatch):
    # Importing RPi.GPIO off a Pi raises RuntimeError (rpi-lgpio's behaviour).
    import importlib.abc
    import importlib.machinery

    rpi = types.ModuleType("RPi")
    rpi.__path__ = []
    monkeypatch.setitem(sys.modules, "RPi", rpi)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "RPi.GPIO":
                return importlib.machinery.ModuleSpec(name, Loader())
            return None

    class Loader(importlib.abc.Loader):
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise RuntimeError("This module can only be run on a Raspberry Pi!")

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    monkeypatch.delitem(sys.modules, "RPi.GPIO", raising=False)
    with pytest.raises(CueDeviceError) as err:
        GpioBuzzer(18)
    text = str(err.value)
    assert "only be run on a Raspberry Pi" in text and "simulated buzzer" in text
    assert "pi-app[pi]" in text


def test_gpio_setup_failure_names_the_pin():
    g = fake_gpio()

    def refuse(*args, **kwargs):
        raise PermissionError("/dev/gpiochip0: permission denied")
    g.setup = refuse
    with pytest.raises(CueDeviceError, match="GPIO17.*gpio"):
        GpioBuzzer(17, gpio=g)


def dominant_hz(x, rate_hz):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate_hz)[int(np.argmax(spectrum))]


def test_synthesis_frequency_and_ramps():
    rate = 44100
    x = synthesize([Segment(0, 100, 1000), Segment(150, 100, 2400)], rate, volume=0.8)
    assert x.dtype == np.float32
    assert len(x) == pytest.approx(0.25 * rate, abs=2)
    first, second = x[: int(0.1 * rate)], x[int(0.15 * rate): int(0.25 * rate)]
    assert dominant_hz(first, rate) == pytest.approx(1000, abs=15)
    assert dominant_hz(second, rate) == pytest.approx(2400, abs=15)
    assert np.max(np.abs(x)) <= 0.8 + 1e-6
    assert np.max(np.abs(x)) > 0.79
    assert np.all(x[int(0.1 * rate) + 1: int(0.15 * rate)] == 0)   # silent gap


def test_synthesis_has_no_clicks():
    rate = 44100
    x = synthesize([Segment(0, 80, 2800)], rate).astype(np.float64)
    # Starts and ends at zero; no sample-to-sample jump bigger than the sine's own slope.
    assert abs(x[0]) < 1e-6 and abs(x[-2]) < 0.01
    max_sine_step = 2 * np.pi * 2800 / rate
    assert np.max(np.abs(np.diff(x))) <= max_sine_step * 1.01
    # A hard-switched tone splatters energy far from its frequency; the ramped one does not.
    hard = np.zeros_like(x)
    n = int(0.08 * rate)
    hard[:n] = np.sin(2 * np.pi * 2800 * np.arange(n) / rate)

    def splatter(sig):
        padded = np.concatenate([np.zeros(2000), sig, np.zeros(2000)])
        spec = np.abs(np.fft.rfft(padded)) ** 2
        f = np.fft.rfftfreq(len(padded), 1 / rate)
        return spec[np.abs(f - 2800) > 1000].sum() / spec.sum()
    assert splatter(x) < splatter(hard) / 10


def test_audio_through_dummy_driver():
    clock = ManualClock(5.0)
    audio = open_audio(clock, driver="dummy", buffer_frames=256)
    try:
        assert audio.warning is None, audio.warning
        assert audio.output_latency_ms == pytest.approx(1000 * 256 / audio.rate_hz)
        assert audio.output_latency_ms < 10
        start = audio.play(render(PATTERNS["cadence_low"], 0.9), volume=0.7)
        assert start == 5.0 and audio.played == [(5.0, "cue")]
        snd = audio.sound(PATTERNS["cadence_low"].segments, 0.5)
        assert snd.get_length() == pytest.approx(0.44, abs=0.01)
    finally:
        audio.close()


def test_no_audio_device_falls_back_silently_with_warning(monkeypatch):
    """The real SDL ALSA driver refuses an ALSA device that does not exist."""
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")     # restored after open_audio sets it
    monkeypatch.delenv("AUDIODEV", raising=False)
    clock = ManualClock(2.0)
    audio = open_audio(clock, device="no-such-card", driver="alsa")
    try:
        assert isinstance(audio, SilentAudio)
        assert "no-such-card" in audio.warning and "buzzer" in audio.warning
        assert "\n" not in audio.warning
        audio.play(PATTERNS["thorax_late"].segments, volume=0.5)
        clock.advance(1.0)
        audio.play(PATTERNS["metronome"].segments, start_s=3.5, channel="metronome")
        assert [(t, ch) for t, _, _, ch in audio.played] == [(2.0, "cue"), (3.5, "metronome")]
    finally:
        audio.close()


def test_lgpio_in_an_unwritable_working_directory_is_one_sentence(tmp_path):
    """The real lgpio: imported in a directory this user cannot write, with LG_WD unset, it
    raises FileNotFoundError for its notification pipe. pi-app says what to set instead."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    pytest.importorskip("lgpio", reason="lgpio is not installed (pip install lgpio)")
    prefix: list[str] = []
    if os.geteuid() == 0:           # root writes anywhere: drop to nobody for the import
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop privileges")
        prefix = [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    cwd = tempfile.mkdtemp(prefix="pi-app-ro-")
    os.chmod(cwd, 0o555)
    env = {k: v for k, v in os.environ.items() if k != "LG_WD"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    probe = ("import lgpio\n")
    code = ("from pi_app.cues.buzzer import _import_gpio\n"
            "from pi_app.errors import PiAppError\n"
            "try:\n    _import_gpio()\nexcept PiAppError as err:\n    print('ERR', err)\n")
    try:
        raw = subprocess.run([*prefix, sys.executable, "-c", probe], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=60)
        # What lgpio itself does there (the bug this guards against).
        assert raw.returncode != 0 and "FileNotFoundError" in raw.stderr and ".lgd-nfy" in raw.stderr
        r = subprocess.run([*prefix, sys.executable, "-c", code], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=60)
    finally:
        os.chmod(cwd, 0o755)
        shutil.rmtree(cwd)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.startswith("ERR the GPIO library lgpio could not create its notification "
                               f"pipe in {cwd}")
    assert "set LG_WD" in r.stdout and r.stdout.count("\n") == 1


def test_sdl_reporting_the_sound_output_removed_becomes_one_command():
    import pygame
    from pi_app.records import CoachCommand
    from pi_app.ui.keys import commands_from_events
    # The event type and its fields as pygame-ce's SDL defines them.
    out = pygame.event.Event(pygame.AUDIODEVICEREMOVED, which=2, iscapture=0)
    mic = pygame.event.Event(pygame.AUDIODEVICEREMOVED, which=3, iscapture=1)
    assert commands_from_events([out, mic]) == [CoachCommand("audio_device_lost")]


def test_a_lost_sound_device_is_released_and_said_and_cues_go_on(monkeypatch):
    # Found in the lab: unbinding the sound card blocked in the kernel while the app kept the
    # device open, and nothing told the coach the sound was gone.
    import pygame
    from pi_app.cues.audio import PygameAudio
    from pi_app.cues.engine import CueEngine
    from pi_app.cues.policy import CuePolicy
    from pi_app.records import CoachCommand
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    clock = ManualClock()
    audio = PygameAudio(clock)
    engine = CueEngine(CuePolicy(), SimulatedBuzzer(clock, kind="active"), audio, clock)
    try:
        assert pygame.mixer.get_init() is not None and engine.warnings == ()
        assert engine.apply_command(CoachCommand("audio_device_lost"))
        assert pygame.mixer.get_init() is None                 # the device is let go
        assert engine.warnings and "sound device went away" in engine.warnings[0]
        # Later cues find a player that plays nothing and never raises.
        assert audio.play(render(PATTERNS["counter_rotation_lost"], 1.0)) == clock.now_s()
    finally:
        audio.close()
        pygame.mixer.quit()


def test_a_lost_sound_device_is_opened_again_when_it_answers(monkeypatch):
    """A lost device is tried again every 10 s of clock time from the cue engine's tick; with
    the real SDL ALSA driver, a device that does not open stays lost ("no-such-card"), one that
    opens takes the cues again (ALSA's "null" device, present wherever alsa-lib is)."""
    import pygame
    from pi_app.cues.audio import RETRY_EVERY_S, PygameAudio
    from pi_app.cues.engine import CueEngine
    from pi_app.cues.policy import CuePolicy
    from pi_app.records import CoachCommand
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    monkeypatch.delenv("AUDIODEV", raising=False)
    clock = ManualClock(100.0)
    try:
        audio = PygameAudio(clock, device="null", driver="alsa")
    except pygame.error as err:
        pytest.skip(f"SDL's ALSA driver cannot load here ({err}): install libasound2")
    engine = CueEngine(CuePolicy(), None, audio, clock)
    try:
        engine.apply_command(CoachCommand("audio_device_lost"))
        assert pygame.mixer.get_init() is None and engine.warnings
        audio._device = "no-such-card"           # the card is still gone
        engine.tick(100.0)
        engine.tick(100.0 + RETRY_EVERY_S)
        assert pygame.mixer.get_init() is None and engine.warnings
        audio._device = "null"                   # it is back
        engine.tick(100.0 + RETRY_EVERY_S + 1.0)   # not due yet
        assert pygame.mixer.get_init() is None
        engine.tick(100.0 + 2 * RETRY_EVERY_S)
        assert pygame.mixer.get_init() is not None and engine.warnings == ()
        assert audio.play(render(PATTERNS["counter_rotation_lost"], 1.0)) == clock.now_s()
        assert audio.played[-1] == (clock.now_s(), "cue")
    finally:
        audio.close()
        pygame.mixer.quit()
