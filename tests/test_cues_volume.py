"""`[audio] volume` reaches the sound device: real pygame-ce/SDL mixer, checked on the PCM that
SDL's disk audio driver records (each run in its own process: SDL reads its driver
environment once), and on the mixer's own channel volume under the dummy driver."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pi_app.clock import ManualClock
from pi_app.cues.audio import PygameAudio, open_audio
from pi_app.cues.patterns import PATTERNS
from pi_app.cues.pcm import read_raw_pcm

REPO = Path(__file__).resolve().parents[1]

PLAY_SCRIPT = r"""
import json, sys
from pi_app.analysis.drift import DriftVerdict
from pi_app.analysis.types import StrideMetrics
from pi_app.clock import WallClock
from pi_app.config import loads_config
from pi_app.app import make_cue_engine
from pi_app.records import DriftDirection, DriftState

cfg = loads_config("[audio]\nvolume = %s\n" % sys.argv[1])
clock = WallClock()
engine, warnings = make_cue_engine(cfg, clock, simulated=True, sound=True)
clock.sleep_s(0.3)                       # the device is streaming before the cue starts
verdict = DriftVerdict(DriftState.DRIFTING, 1.0, metric="rel_phase",
                       direction=DriftDirection.COUNTER_ROTATION_LOST, unit="deg",
                       deviation=-30.0, deviation_sd=-3.0, beyond_band=5.0,
                       drifting_metrics=("rel_phase",))
cue = engine.on_stride(StrideMetrics(index=0, t_start_s=0.0, t_end_s=0.7, cadence_spm=170.0),
                       verdict, clock.now_s())
clock.sleep_s(0.6)
engine.close()
print(json.dumps({"warnings": warnings, "played": cue.played, "driver": engine.audio.driver}))
"""


def _peak_played(tmp_path: Path, volume: float) -> float:
    raw = tmp_path / f"vol{volume}.raw"
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_AUDIODRIVER="disk",
               SDL_DISKAUDIOFILE=str(raw))
    proc = subprocess.run([sys.executable, "-c", PLAY_SCRIPT, str(volume)], env=env,
                          cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info == {"warnings": [], "played": True, "driver": "disk"}
    return float(np.abs(read_raw_pcm(raw)).max())


@pytest.mark.slow
def test_config_volume_scales_what_the_device_plays(tmp_path):
    full = _peak_played(tmp_path, 1.0)
    quarter = _peak_played(tmp_path, 0.25)
    assert full > 0.1                                     # the cue was really played
    assert quarter / full == pytest.approx(0.25, abs=0.01)


def test_volume_is_the_mixer_channel_volume_and_survives_playing(monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    import pygame.mixer
    pygame.mixer.quit()                  # this audio must open the mixer (and close it)
    audio = open_audio(ManualClock(), volume=0.5)
    assert isinstance(audio, PygameAudio) and audio.driver == "dummy"
    try:
        channels = [pygame.mixer.Channel(i) for i in range(2)]
        # SDL keeps volumes in 1/128 steps.
        assert [ch.get_volume() for ch in channels] == [pytest.approx(0.5, abs=1 / 128)] * 2
        audio.play(PATTERNS["metronome"].segments, volume=0.4, channel="metronome")
        assert channels[1].get_volume() == pytest.approx(0.5, abs=1 / 128)
    finally:
        audio.close()
