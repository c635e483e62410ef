"""Record an ALSA capture device (the far side of snd-aloop: what the athlete would hear) to
a WAV file, with the CLOCK_MONOTONIC time of every read so sample times can be mapped onto
the app's clock. Stdlib only (libasound through ctypes).

    python3 arec.py DEVICE OUT.wav STOP_FILE     records until STOP_FILE exists

Writes OUT.wav and OUT.wav.json: {"rate_hz", "channels", "segments": [{"first_frame",
"t0_s"}], "xruns"}; t0_s is the monotonic time of the segment's first frame, estimated as
min(t_read - frames_read_so_far / rate) over the segment's reads (a frame is read only after
it was captured, so every read bounds t0 from above; prompt reads make the bound tight).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
import wave

RATE_HZ, CHANNELS, CHUNK = 48000, 2, 960
SND_PCM_STREAM_CAPTURE, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED = 1, 2, 3


def main(argv: list[str]) -> int:
    device, out, stop_file = argv[1], argv[2], argv[3]
    lib = ctypes.CDLL("libasound.so.2")
    pcm = ctypes.c_void_p()
    err = lib.snd_pcm_open(ctypes.byref(pcm), device.encode(), SND_PCM_STREAM_CAPTURE, 0)
    if err < 0:
        print(f"arec: cannot open {device}: error {err}", file=sys.stderr)
        return 1
    # snd-aloop's capture side must use the format its playback side already runs at (the
    # app's mixer opens first): try the usual ones. A 1 s buffer: reads under emulation come
    # late, and an overrun loses the time mapping.
    for rate_hz, channels in ((RATE_HZ, CHANNELS), (44100, 1), (44100, 2), (48000, 1)):
        err = lib.snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
                                     channels, rate_hz, 0, 1000000)
        if err == 0:
            break
    else:
        print(f"arec: {device} accepts none of the S16_LE formats tried: error {err}",
              file=sys.stderr)
        return 1
    buf = (ctypes.c_int16 * (CHUNK * channels))()
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
            w.writeframes(bytes(buf)[: n * channels * 2])
            total += n
            seg_frames += n
            bound = t - seg_frames / rate_hz
            seg = segments[-1]
            if seg["t0_s"] is None or bound < seg["t0_s"]:
                seg["t0_s"] = bound
    lib.snd_pcm_close(pcm)
    with open(out + ".json", "w") as f:
        json.dump({"rate_hz": rate_hz, "channels": channels, "frames": total,
                   "segments": segments, "xruns": xruns}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
