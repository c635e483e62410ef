"""Record an ALSA capture device (the far side of snd-aloop: what the athlete would hear) to
a WAV file, with the CLOCK_MONOTONIC time of every read so sample times can be mapped onto
the app's clock. Stdlib only (libasound through ctypes).

    python3 arec.py DEVICE OUT.wav STOP_FILE [PLAYBACK_HW_PARAMS]
                                        records until STOP_FILE exists; with the playback
                                        substream's /proc hw_params file, at its parameters

Writes OUT.wav and OUT.wav.json: {"rate_hz", "channels", "segments": [{"first_frame",
"t0_s"}], "xruns"}; t0_s is the monotonic time of the segment's first frame, estimated as
min(t_read - frames_read_so_far / rate) over the segment's reads (a frame is read only after
it was captured, so every read bounds t0 from above; prompt reads make the bound tight).
"""

from __future__ import annotations

import array
import ctypes
import json
import os
import sys
import time
import wave

RATE_HZ, CHANNELS, CHUNK = 48000, 2, 960
SND_PCM_STREAM_CAPTURE, SND_PCM_ACCESS_RW_INTERLEAVED = 1, 3
# <alsa/pcm.h> format codes -> (bytes per sample, how to turn a chunk into int16 samples).
SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S32_LE, SND_PCM_FORMAT_FLOAT_LE = 2, 10, 14
FORMATS = {
    SND_PCM_FORMAT_S16_LE: ("S16_LE", 2, lambda raw: raw),
    SND_PCM_FORMAT_S32_LE: ("S32_LE", 4, lambda raw: _to_s16(raw, "i", 1.0 / 65536.0)),
    SND_PCM_FORMAT_FLOAT_LE: ("FLOAT_LE", 4, lambda raw: _to_s16(raw, "f", 32767.0)),
}


def _to_s16(raw: bytes, code: str, scale: float) -> bytes:
    values = array.array(code, raw)
    return array.array("h", (max(-32768, min(32767, int(v * scale))) for v in values)).tobytes()


def parse_hw_params(text: str) -> tuple[int, int, int] | None:
    """(format code, rate Hz, channels) from a substream's /proc/asound/.../hw_params as the
    kernel writes it ("format: S16_LE", "channels: 1", "rate: 44100 (44100/1)"); None when
    the substream is closed or the format is not one this recorder converts."""
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    codes = {name: code for code, (name, _, _) in FORMATS.items()}
    if fields.get("format") not in codes or "rate" not in fields or "channels" not in fields:
        return None
    return codes[fields["format"]], int(fields["rate"].split()[0]), int(fields["channels"])


def playback_params(hw_params: str, wait_s: float = 120.0) -> tuple[int, int, int] | None:
    """The running playback side's (format, rate, channels), waiting up to wait_s for it to
    be opened: snd-aloop stops the playback (the app's next write gets EIO, which SDL calls
    unrecoverable) when its capture side is set up with other parameters, so the recorder
    must not probe."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            found = parse_hw_params(open(hw_params).read())
        except OSError:
            found = None
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    device, out, stop_file = argv[1], argv[2], argv[3]
    lib = ctypes.CDLL("libasound.so.2")
    pcm = ctypes.c_void_p()
    err = lib.snd_pcm_open(ctypes.byref(pcm), device.encode(), SND_PCM_STREAM_CAPTURE, 0)
    if err < 0:
        print(f"arec: cannot open {device}: error {err}", file=sys.stderr)
        return 1
    # snd-aloop's capture side must use the parameters its playback side runs at (the app's
    # mixer opens first): read them (/proc), or, without them, try the usual ones. A 1 s
    # buffer: reads under emulation come late, and an overrun loses the time mapping.
    running = playback_params(argv[4]) if len(argv) > 4 else None
    print(f"arec: playback side runs at {running}", file=sys.stderr)
    tried = [running] if running is not None else [
        (fmt, rate_hz, channels) for fmt in FORMATS
        for rate_hz, channels in ((RATE_HZ, CHANNELS), (44100, 2), (44100, 1), (48000, 1))]
    for fmt, rate_hz, channels in tried:
        err = lib.snd_pcm_set_params(pcm, fmt, SND_PCM_ACCESS_RW_INTERLEAVED,
                                     channels, rate_hz, 0, 1000000)
        if err == 0:
            break
    else:
        names = ", ".join(v[0] for v in FORMATS.values())
        print(f"arec: {device} accepts none of the formats tried ({names}; 44.1/48 kHz, "
              f"mono/stereo): error {err}", file=sys.stderr)
        return 1
    fmt_name, width, to_s16 = FORMATS[fmt]
    buf = ctypes.create_string_buffer(CHUNK * channels * width)
    segments = [{"first_frame": 0, "t0_s": None}]
    seg_frames = 0
    total = 0
    xruns = 0
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        lib.snd_pcm_start(pcm)
        while not os.path.exists(stop_file):
            n = lib.snd_pcm_readi(pcm, buf, CHUNK)
            t = time.monotonic()
            if n < 0:
                xruns += 1
                lib.snd_pcm_prepare(pcm)
                lib.snd_pcm_start(pcm)
                segments.append({"first_frame": total, "t0_s": None})
                seg_frames = 0
                continue
            w.writeframes(to_s16(buf.raw[: n * channels * width]))
            total += n
            seg_frames += n
            bound = t - seg_frames / rate_hz
            seg = segments[-1]
            if seg["t0_s"] is None or bound < seg["t0_s"]:
                seg["t0_s"] = bound
    lib.snd_pcm_close(pcm)
    with open(out + ".json", "w") as f:
        json.dump({"rate_hz": rate_hz, "channels": channels, "format": fmt_name,
                   "frames": total,
                   "segments": segments, "xruns": xruns}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
