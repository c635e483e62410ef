"""The cues are audible: `pi-app cues --play` and the demo's cue engine write the real pattern
to the sound device, checked on the PCM that SDL's own disk audio driver records
(SDL_AUDIODRIVER=disk, SDL_DISKAUDIOFILE); and without a device the demo says so and runs
silent. Real pygame-ce/SDL throughout (each case in its own process: SDL reads its driver
environment once)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pi_app.cli import main
from pi_app.cues.patterns import PATTERNS
from pi_app.cues.pcm import find_tones, read_raw_pcm

REPO = Path(__file__).resolve().parents[1]
RAMP_MS = 5.0     # synthesize()'s raised-cosine ramps: a tone is found one ramp shorter


def disk_env(raw: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), SDL_AUDIODRIVER="disk",
                SDL_DISKAUDIOFILE=str(raw))


def assert_is_pattern(tones, kind, tol_ms=3.0):
    """The tones have the pattern's rhythm and pitches, whatever their offset in the file."""
    segments = PATTERNS[kind].segments
    assert len(tones) == len(segments), tones
    t0 = tones[0].start_s
    s0 = segments[0].start_ms
    for tone, seg in zip(tones, segments):
        assert (tone.start_s - t0) * 1000 == pytest.approx(seg.start_ms - s0, abs=tol_ms)
        assert tone.duration_ms == pytest.approx(seg.duration_ms - RAMP_MS, abs=tol_ms)
        assert tone.freq_hz == pytest.approx(seg.freq_hz, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["counter_rotation_lost", "thorax_early"])
def test_cues_play_writes_the_pattern_to_the_sound_device(tmp_path, kind):
    raw = tmp_path / "out.raw"
    proc = subprocess.run([sys.executable, "-m", "pi_app", "cues", "--play", kind],
                          env=disk_env(raw), cwd=str(REPO), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    # SDL names the driver it really opened.
    assert "SDL audio driver disk at 44100 Hz" in proc.stderr
    assert proc.stdout.splitlines()[-1].startswith(kind)
    assert_is_pattern(find_tones(read_raw_pcm(raw), 44100), kind)


ENGINE_SCRIPT = r"""
import json, os, sys
from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.clock import WallClock
from pi_app.config import Config
from pi_app.app import make_cue_engine

clock = WallClock()
engine, warnings = make_cue_engine(Config(), clock, simulated=True, sound=True)
t_open_s = clock.now_s()
clock.sleep_s(0.3)
verdict = DriftVerdict("drifting", 1.0, metric="rel_phase", direction="counter-rotation lost",
                       unit="deg", deviation=-30.0, deviation_sd=-3.0, beyond_band=5.0,
                       drifting_metrics=("rel_phase",))
stride = StrideMetrics(index=0, t_start_s=0.0, t_end_s=0.7, cadence_spm=170.0)
path = os.environ["SDL_DISKAUDIOFILE"]
size = os.path.getsize(path)
while os.path.getsize(path) == size:        # decide right after a flush of the stdio buffer
    clock.sleep_s(0.0005)
written = os.path.getsize(path)
t_decision_s = clock.now_s()
cue = engine.on_stride(stride, verdict, t_decision_s)
clock.sleep_s(0.6)
engine.close()
print(json.dumps({"warnings": warnings, "driver": engine.audio.driver,
                  "rate_hz": engine.audio.rate_hz, "kind": cue.kind, "played": cue.played,
                  "intensity": cue.intensity, "written_at_decision_bytes": written,
                  "engine_latency_ms": cue.latency_ms}))
"""


@pytest.mark.slow
def test_the_demo_cue_engine_plays_the_decided_cue_through_the_device(tmp_path):
    """The demo's wiring (simulated buzzer + the computer's sound device): a drifting
    stride's cue lands in the PCM after the decision, with the pattern's rhythm and pitch."""
    raw = tmp_path / "engine.raw"
    proc = subprocess.run([sys.executable, "-c", ENGINE_SCRIPT], env=disk_env(raw),
                          cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["warnings"] == [] and info["driver"] == "disk" and info["played"]
    assert info["kind"] == "counter_rotation_lost" and info["intensity"] < 0.5  # one repetition
    tones = find_tones(read_raw_pcm(raw), info["rate_hz"])
    assert_is_pattern(tones, "counter_rotation_lost")
    # What the device had written when the cue was decided cannot contain it: the pattern
    # starts after that point of the stream (bench/audio_onset.py measures by how much).
    onset_s = tones[0].start_s - RAMP_MS / 2000.0
    written_s = info["written_at_decision_bytes"] / 2 / info["rate_hz"]
    assert onset_s >= written_s
    print(f"cue onset in the stream {1000 * (onset_s - written_s):.1f} ms after the decision "
          f"(engine's own estimate {info['engine_latency_ms']:.1f} ms)")


def test_demo_without_a_sound_device_says_so_and_runs_silent(tmp_path, capsys, monkeypatch):
    """SDL's real ALSA driver refuses an ALSA device that does not exist (with or without a
    sound card here): one line, then the demo runs with the cue log only."""
    monkeypatch.setenv("SDL_AUDIODRIVER", "alsa")
    monkeypatch.delenv("AUDIODEV", raising=False)      # the app sets it from the config
    config = tmp_path / "c.toml"
    config.write_text('[audio]\ndevice = "no-such-card"\n', encoding="utf-8")
    assert main(["demo", "--headless", "--seconds", "0.5", "--no-record",
                 "--config", str(config)]) == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "no sound" in x)
    assert "no-such-card" in line and "the demo runs silent" in line
    assert "Traceback" not in err and "sound on" not in err


def test_an_alsa_device_name_reaches_sdls_alsa_driver(monkeypatch):
    """[audio] device is an ALSA name (as `pi-app doctor` probes it): SDL opens it when
    given as AUDIODEV. ALSA's "null" device exists on every machine with alsa-lib, card or
    not; as pygame.mixer.init(devicename="null") the real SDL says "No such device"."""
    import pygame

    from pi_app.clock import WallClock
    from pi_app.cues.audio import PygameAudio
    monkeypatch.delenv("AUDIODEV", raising=False)
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")     # restored after PygameAudio sets it
    try:
        audio = PygameAudio(WallClock(), device="null", driver="alsa")
    except pygame.error as err:
        if "not available" in str(err):
            pytest.skip(f"SDL's ALSA driver cannot load here ({err}): install libasound2")
        raise
    try:
        assert audio.driver == "alsa" and audio.warning is None
    finally:
        audio.close()


def test_demo_faster_than_real_time_is_silent_and_says_why(capsys):
    assert main(["demo", "--headless", "--speed", "50", "--seconds", "1", "--no-record"]) == 0
    err = capsys.readouterr().err
    assert "sound off at --speed 50" in err


@pytest.mark.slow
@pytest.mark.skipif(Path("/dev/snd").exists(), reason="this machine has a sound card")
def test_no_sound_card_is_one_sentence_without_alsa_noise(tmp_path):
    """Real SDL on a machine with no card: its ALSA driver fails and libasound prints ten
    lines of its own on stderr; the user sees one sentence naming the driver and the fix."""
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_AUDIODRIVER="alsa")
    proc = subprocess.run([sys.executable, "-m", "pi_app", "cues", "--play", "metronome"],
                          env=env, cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "ALSA" in lines[0] and "connect headphones" in lines[0]
    assert "ALSA lib" not in proc.stderr and "Traceback" not in proc.stderr


def test_demo_on_sdl_dummy_audio_does_not_claim_sound(capsys):
    """SDL's dummy driver (the tests' default) opens without any device: the demo says it
    plays nothing instead of claiming sound."""
    assert main(["demo", "--headless", "--seconds", "0.3", "--no-record"]) == 0
    line = next(x for x in capsys.readouterr().err.splitlines() if "sound on" in x)
    assert "SDL audio driver dummy, which plays nothing" in line
