"""Cue sounds: tones synthesised in numpy, played through pygame.mixer (pygame-ce).

No sound files: each segment is a sine with short raised-cosine (Hann) ramps at both ends, so
the waveform starts and ends at zero with zero slope - a hard-switched sine clicks (its
spectrum splatters), a ramped one does not. A small mixer buffer (256 frames at 44.1 kHz
= 5.8 ms) keeps the output latency well under the ~20-30 ms at which people notice sound lag
(science.md, "Feedback").

The output device is configurable: `driver` sets SDL_AUDIODRIVER (e.g. "alsa" on the Pi,
"dummy" in tests) and `device` is an ALSA PCM name (e.g. "hw:1,0", "plughw:CARD=Headphones"),
which SDL's ALSA driver opens when it is given as AUDIODEV (as `pi-app doctor` probes it);
pygame.mixer.init's `devicename` takes only SDL's own names of the devices it listed, so an
ALSA name there fails to open. When no device
can be opened, `open_audio` returns a `SilentAudio` that records what it would have played and
carries a warning for the dashboard.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import sys
import tempfile
import threading
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from pi_app.clock import Clock
from pi_app.cues.patterns import Segment

DEFAULT_RATE_HZ = 44100
DEFAULT_BUFFER_FRAMES = 256


def synthesize(segments: Iterable[Segment], rate_hz: int = DEFAULT_RATE_HZ,
               volume: float = 1.0, ramp_ms: float = 5.0) -> np.ndarray:
    """Mono float32 samples in [-volume, volume] for the segments (silence between them).

    Each segment is a sine at freq_hz with raised-cosine ramps of ramp_ms (shortened to a
    third of the segment when the segment is short)."""
    segments = list(segments)
    if not segments:
        return np.zeros(0, dtype=np.float32)
    end_ms = max(s.start_ms + s.duration_ms for s in segments)
    out = np.zeros(int(round(end_ms * rate_hz / 1000.0)) + 1, dtype=np.float64)
    for seg in segments:
        i0 = int(round(seg.start_ms * rate_hz / 1000.0))
        n = int(round(seg.duration_ms * rate_hz / 1000.0))
        if n <= 0:
            continue
        t = np.arange(n) / rate_hz
        tone = np.sin(2.0 * np.pi * seg.freq_hz * t)
        n_ramp = max(1, min(int(round(ramp_ms * rate_hz / 1000.0)), n // 3))
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_ramp) / n_ramp)
        envelope = np.ones(n)
        envelope[:n_ramp] = ramp
        envelope[n - n_ramp:] = ramp[::-1]
        out[i0:i0 + n] += tone * envelope
    return (np.clip(out, -1.0, 1.0) * float(volume)).astype(np.float32)


class AudioPlayer(Protocol):
    """Plays segments without blocking. `warning` is a one-line problem for the dashboard
    (None when all is well); output_latency_ms is the player's own buffering delay."""

    warning: str | None
    output_latency_ms: float

    def play(self, segments: Iterable[Segment], volume: float = 1.0,
             start_s: float | None = None, channel: str = "cue") -> float:
        """Schedule segments at start_s (default now; clock s) on channel "cue" or
        "metronome"; a new sound on a channel replaces the one playing there. Returns the
        start time (s)."""
        ...

    def close(self) -> None:
        ...

    def lose(self, why: str) -> None:
        """The output device went away: play nothing more, release it, warn with `why`."""
        ...

    def retry(self, now_s: float) -> bool:
        """After `lose`, try to open the device again (at most every RETRY_EVERY_S of clock
        time); True when it is back."""
        ...


class SilentAudio:
    """No audio device: records (t_s, segments, volume, channel) of every sound it would have
    played (in `played`) and carries `warning`."""

    output_latency_ms = 0.0

    def __init__(self, clock: Clock, warning: str | None = None):
        self.clock = clock
        self.warning = warning
        self.played: list[tuple[float, tuple[Segment, ...], float, str]] = []

    def play(self, segments: Iterable[Segment], volume: float = 1.0,
             start_s: float | None = None, channel: str = "cue") -> float:
        now_s = self.clock.now_s()
        start_s = now_s if start_s is None else max(float(start_s), now_s)
        self.played.append((start_s, tuple(segments), float(volume), channel))
        return start_s

    def close(self) -> None:
        pass

    def lose(self, why: str) -> None:
        """The device went away (see PygameAudio.lose): only the warning changes here."""
        self.warning = why

    def retry(self, now_s: float) -> bool:
        """There is no device to come back."""
        return False


#: What the coach is told when the sound device goes away while the app runs.
DEVICE_LOST = ("the sound device went away: cues play on the buzzer only until it opens "
               "again (pi-app tries every 10 s)")
#: How often (clock s) a lost sound device is opened again.
RETRY_EVERY_S = 10.0


class PygameAudio:
    """Tones through pygame.mixer. Raises pygame.error when no device opens (use
    `open_audio` for the fallback). If the mixer is already initialised (e.g. by
    pygame.init()), it is used as it is; create this first to get the small buffer.
    volume: master volume 0..1, set once as the SDL channel volume of the cue and metronome
    channels."""

    _CHANNELS = {"cue": 0, "metronome": 1}

    def __init__(self, clock: Clock, device: str | None = None, driver: str | None = None,
                 rate_hz: int = DEFAULT_RATE_HZ, buffer_frames: int = DEFAULT_BUFFER_FRAMES,
                 volume: float = 1.0):
        import pygame
        import pygame.mixer
        import pygame.sndarray

        self._pygame = pygame
        self.clock = clock
        self.warning: str | None = None
        if driver:
            os.environ["SDL_AUDIODRIVER"] = driver
        self._device = device
        self._wanted_rate_hz = rate_hz
        self.buffer_frames = buffer_frames
        #: The master volume 0..1 ([audio] volume): SDL scales every sound on our channels
        #: by it, on top of each cue's own intensity-scaled volume.
        self.volume = min(1.0, max(0.0, float(volume)))
        if pygame.mixer.get_init() is None:
            self._open_mixer()
            self._owns_mixer = True
        else:
            self._owns_mixer = False
        self._take_mixer()
        self._cache: dict[tuple, object] = {}
        self._heap: list[tuple[float, int, pygame.mixer.Sound, str]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lost = False
        self._next_retry_s: float | None = None
        self.played: list[tuple[float, str]] = []

    def _open_mixer(self) -> None:
        if self._device:
            os.environ["AUDIODEV"] = self._device
        with _quiet_c_stderr():
            self._pygame.mixer.init(frequency=self._wanted_rate_hz, size=-16, channels=1,
                                    buffer=self.buffer_frames)

    def _take_mixer(self) -> None:
        """Our channels on the open mixer, at the master volume."""
        pygame = self._pygame
        opened = pygame.mixer.get_init()
        if opened is None:
            raise pygame.error("the audio mixer is not open")
        self.rate_hz, _, self._n_channels = opened
        #: The SDL audio driver really in use, in SDL's spelling (e.g. "alsa", "pulseaudio",
        #: "pipewire", "disk", "dummy").
        self.driver = pygame.mixer.get_driver()
        self.output_latency_ms = 1000.0 * self.buffer_frames / self.rate_hz
        pygame.mixer.set_reserved(len(self._CHANNELS))
        self._channels = {name: pygame.mixer.Channel(i) for name, i in self._CHANNELS.items()}
        for ch in self._channels.values():
            ch.set_volume(self.volume)

    def sound(self, segments: Iterable[Segment], volume: float = 1.0):
        """The pygame Sound for segments at volume (cached: patterns repeat)."""
        segments = tuple(segments)
        key = (segments, round(float(volume), 3))
        snd = self._cache.get(key)
        if snd is None:
            pcm = (synthesize(segments, self.rate_hz, volume) * 32767.0).astype(np.int16)
            if self._n_channels > 1:
                pcm = np.repeat(pcm[:, None], self._n_channels, axis=1)
            snd = self._pygame.sndarray.make_sound(np.ascontiguousarray(pcm))
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = snd
        return snd

    def play(self, segments: Iterable[Segment], volume: float = 1.0,
             start_s: float | None = None, channel: str = "cue") -> float:
        now_s = self.clock.now_s()
        if self._lost:
            return now_s if start_s is None else max(float(start_s), now_s)
        snd = self.sound(segments, volume)
        if start_s is None or start_s <= now_s:
            self._channels[channel].play(snd)
            self.played.append((now_s, channel))
            return now_s
        with self._cond:
            heapq.heappush(self._heap, (float(start_s), next(self._seq), snd, channel))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audio-scheduler",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return float(start_s)

    def _run(self) -> None:
        speed = float(getattr(self.clock, "speed", 1.0))
        with self._cond:
            while not self._closed:
                now_s = self.clock.now_s()
                while self._heap and self._heap[0][0] <= now_s:
                    _, _, snd, channel = heapq.heappop(self._heap)
                    self._channels[channel].play(snd)
                    self.played.append((now_s, channel))
                if self._heap:
                    self._cond.wait(min(0.05, max(0.0, (self._heap[0][0] - now_s) / speed)))
                else:
                    self._cond.wait()

    def busy(self) -> bool:
        """True while a sound plays or waits to start."""
        with self._cond:
            if self._heap:
                return True
        return any(ch.get_busy() for ch in self._channels.values())

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._lost:
            return
        for ch in self._channels.values():
            ch.stop()
        if self._owns_mixer:
            self._pygame.mixer.quit()

    def lose(self, why: str) -> None:
        """The device went away (SDL reported it removed): stop playing, close the mixer so
        the kernel can let the device go (an unbound sound card waits for its last user), and
        carry `why` as the warning (the dashboard shows it; the service's journal gets it from
        pi_app.live.service_status)."""
        if self._lost:
            return
        self.close()
        self._lost = True
        if self._owns_mixer:
            self._pygame.mixer.quit()
        self.warning = why
        self._next_retry_s = None

    def retry(self, now_s: float) -> bool:
        """After `lose`: open the device again, at most every RETRY_EVERY_S (clock s; the
        first try one period after the loss). A device that opens takes the cues again and
        the warning goes. Only a mixer this player opened itself is reopened."""
        if not self._lost or not self._owns_mixer:
            return False
        if self._next_retry_s is None:
            self._next_retry_s = now_s + RETRY_EVERY_S
        if now_s < self._next_retry_s:
            return False
        self._next_retry_s = now_s + RETRY_EVERY_S
        try:
            self._open_mixer()
            self._take_mixer()
        except Exception:     # pygame.error: still gone
            self._pygame.mixer.quit()
            return False
        self._cache.clear()   # Sounds belong to the mixer they were made on
        self._lost = False
        self._closed = False
        self._thread = None
        self.warning = None
        return True


@contextlib.contextmanager
def _quiet_c_stderr():
    """Silence what C libraries print on file descriptor 2 meanwhile: ALSA's library prints
    ten lines of "cannot find card '0'" on a machine without a sound card before SDL reports
    the one-line error that the caller turns into its own message."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def open_audio(clock: Clock, device: str | None = None, driver: str | None = None,
               rate_hz: int = DEFAULT_RATE_HZ,
               buffer_frames: int = DEFAULT_BUFFER_FRAMES, volume: float = 1.0,
               fallback: str = "cues go to the buzzer only") -> PygameAudio | SilentAudio:
    """The audio player for the configured device at master `volume` (0..1), or a
    SilentAudio with a warning when the device cannot be opened; `fallback` ends that warning
    with what happens instead (on the Pi the athlete then only gets the buzzer)."""
    try:
        return PygameAudio(clock, device=device, driver=driver, rate_hz=rate_hz,
                           buffer_frames=buffer_frames, volume=volume)
    except Exception as exc:    # pygame.error, or no pygame at all
        where = f"device {device!r}" if device else "the default device"
        drv = driver or os.environ.get("SDL_AUDIODRIVER") or "default driver"
        return SilentAudio(clock, warning=f"no sound: cannot open {where} ({drv}): {exc}; "
                                          f"{fallback}")
