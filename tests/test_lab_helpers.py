"""The reality lab's helper code that runs without QEMU: the measurements the guest job makes
from raw evidence (lab/guest/analysis.py), the PNG writer of the KMS read-back
(lab/guest/drmgrab.py) and how lab/run judges the job's results."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
import wave
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parent.parent / "lab"


def _load(name: str, path: Path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


analysis = _load("lab_analysis", LAB / "guest" / "analysis.py")
drmgrab = _load("lab_drmgrab", LAB / "guest" / "drmgrab.py")
labrun = _load("lab_run", LAB / "run")

RATE = 48000


def _tone(n: int, freq_hz: float = 2800.0, amp: int = 12000) -> list[int]:
    return [int(amp * math.sin(2 * math.pi * freq_hz * i / RATE)) for i in range(n)]


def test_onsets_are_the_starts_of_tone_bursts_not_zero_crossings():
    samples = [0] * 4800 + _tone(3360) + [0] * 3360 + _tone(3360) + [0] * 9600 + _tone(480)
    onsets = analysis.find_onsets(samples, RATE, threshold=2000, min_silence_s=0.05)
    # The second beep comes 70 ms after the first ends (> 50 ms of silence): its own onset.
    assert len(onsets) == 3
    assert 4800 <= onsets[0] <= 4800 + 10
    assert 4800 + 6720 <= onsets[1] <= 4800 + 6720 + 10


def test_frame_times_follow_each_recorder_segment():
    segments = [{"first_frame": 0, "t0_s": 100.0}, {"first_frame": 48000, "t0_s": 102.5}]
    assert analysis.frame_time_s(24000, segments, RATE) == pytest.approx(100.5)
    assert analysis.frame_time_s(48000 + 4800, segments, RATE) == pytest.approx(102.6)
    assert analysis.frame_time_s(10, [{"first_frame": 0, "t0_s": None}], RATE) is None


def test_first_after_picks_the_onset_in_the_window():
    assert analysis.first_after([9.0, 10.03, 10.5], 10.0, window_s=1.0) == 10.03
    assert analysis.first_after([9.0, 12.0], 10.0, window_s=1.0) is None


def test_pattern_timing_of_a_double_beep():
    cue_t = 50.0
    delay = 0.012
    edges = [(49.0, 0), (cue_t + delay, 1), (cue_t + delay + 0.071, 0),
             (cue_t + delay + 0.139, 1), (cue_t + delay + 0.212, 0)]
    timing = analysis.pattern_timing(analysis.pulses(edges), cue_t, [(0, 70), (140, 70)])
    assert timing["first_delay_ms"] == pytest.approx(12.0, abs=0.01)
    assert timing["pulses_found"] == 2
    assert timing["max_error_ms"] == pytest.approx(3.0, abs=0.01)


def test_pattern_timing_with_a_missing_pulse_has_no_error_figure():
    edges = [(10.01, 1), (10.08, 0)]
    timing = analysis.pattern_timing(analysis.pulses(edges), 10.0, [(0, 70), (140, 70)])
    assert timing["pulses_found"] == 1 and timing["max_error_ms"] is None


def test_largest_gap_includes_the_window_edges():
    assert analysis.largest_gap_s([1.0, 2.0, 3.0], 0.0, 10.0) == pytest.approx(7.0)
    assert analysis.largest_gap_s([], 0.0, 4.0) == pytest.approx(4.0)


def test_wav_channel0_round_trip(tmp_path):
    path = tmp_path / "rec.wav"
    frames = bytearray()
    for left, right in [(1, -1), (300, 7), (-32768, 32767)]:
        frames += left.to_bytes(2, "little", signed=True) + right.to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    rate, ch0 = analysis.read_wav_channel0(str(path))
    assert rate == RATE and list(ch0) == [1, 300, -32768]


def test_kms_png_reads_back_with_the_real_image_loader(tmp_path):
    pygame = pytest.importorskip("pygame")
    w, h = 5, 3
    rgb = b"".join(bytes((x * 40, y * 80, 200)) for y in range(h) for x in range(w))
    path = tmp_path / "shot.png"
    drmgrab.write_png(str(path), w, h, rgb)
    img = pygame.image.load(str(path))
    assert img.get_size() == (w, h)
    assert tuple(img.get_at((4, 2)))[:3] == (160, 160, 200)


def test_ioctl_numbers_match_the_kernel_uapi():
    # The values DRM_IOCTL_MODE_* have when a C program includes the 6.1 kernel uapi
    # drm.h/drm_mode.h (printed by gcc on the lab host).
    assert drmgrab.GETRESOURCES == 0xC04064A0
    assert drmgrab.GETCRTC == 0xC06864A1
    assert drmgrab.GETFB2 == 0xC06864CE
    assert drmgrab.MAP_DUMB == 0xC01064B3


def test_lab_run_fails_when_a_check_is_missing_or_failed():
    every = {name: {"ok": True} for name in labrun.EXPECTED_CHECKS}
    assert labrun.summarize({"checks": dict(every)}, {})["ok"] is True
    missing = dict(every)
    missing.pop("cue_sound")
    s = labrun.summarize({"checks": missing}, {})
    assert s["ok"] is False and s["checks"]["cue_sound"]["ok"] is False
    failed = dict(every, cue_gpio={"ok": False, "max_error_ms": 80.0})
    assert labrun.summarize({"checks": failed}, {})["ok"] is False
    assert labrun.summarize({"checks": dict(every), "errors": ["boom"]}, {})["ok"] is False


def test_the_lab_guest_config_is_valid_for_the_app():
    from pi_app.config import loads_config
    text = (LAB / "guest" / "pi-app-lab.toml").read_text().replace("@I2C_BUS@", "1")
    cfg = loads_config(text, source="lab/guest/pi-app-lab.toml")
    assert cfg.sensors.simulate == "drift" and cfg.buzzer.enabled and cfg.audio.enabled


def test_the_lab_reads_stalled_threads_from_the_apps_own_status_line():
    """The lab parses STATUS as pi_app.live.service_status.status_text writes it."""
    from pi_app.live.service_status import status_text
    from pi_app.live.snapshot import LiveSnapshot
    line = status_text(LiveSnapshot(stalled_threads=("sensor reading", "ui"),
                                    warnings=("the disk is almost full: 40 MB left on /x",)),
                       n_strides=12)
    assert analysis.stalled_names(line) == ["sensor reading", "ui"]
    assert analysis.stalled_names(status_text(LiveSnapshot(), n_strides=3)) == []


def test_the_recorder_takes_the_playback_parameters_the_kernel_reports():
    """/proc/asound/<card>/pcm0p/sub0/hw_params as sound/core/pcm.c writes it."""
    arec = _load("lab_arec", LAB / "guest" / "arec.py")
    text = ("access: RW_INTERLEAVED\nformat: S16_LE\nsubformat: STD\nchannels: 1\n"
            "rate: 44100 (44100/1)\nperiod_size: 256\nbuffer_size: 512\n")
    assert arec.parse_hw_params(text) == (arec.SND_PCM_FORMAT_S16_LE, 44100, 1)
    assert arec.parse_hw_params("closed\n") is None
    assert arec.parse_hw_params(text.replace("S16_LE", "S24_3LE")) is None
