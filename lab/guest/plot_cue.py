"""The recorded cue as a figure: 0.6 s of the loopback recording around the cue decision, with
the decision and the measured onset marked. Runs on the installed app's Python (matplotlib
from the `report` extra).

    plot_cue.py REC.wav CUE_T_S ONSET_T_S|"" OUT.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import analysis  # noqa: E402


def main(argv: list[str]) -> int:
    wav, cue_t = argv[1], float(argv[2])
    onset_t = float(argv[3]) if argv[3] else None
    meta = json.loads(Path(wav + ".json").read_text())
    rate, samples = analysis.read_wav_channel0(wav)
    times = [analysis.frame_time_s(i, meta["segments"], rate) for i in range(len(samples))]
    keep = [(t - cue_t, v) for t, v in zip(times, samples)
            if t is not None and -0.1 <= t - cue_t <= 0.5]
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=100)
    ax.plot([1000 * t for t, _ in keep], [v for _, v in keep], lw=0.6, color="#1f4e79")
    ax.axvline(0, color="#c00000", lw=1.2, label="cue decision (session database)")
    if onset_t is not None:
        ax.axvline(1000 * (onset_t - cue_t), color="#2e7d32", lw=1.2, ls="--",
                   label=f"onset in loopback: {1000 * (onset_t - cue_t):.1f} ms")
    ax.set_xlabel("ms after the cue decision (guest CLOCK_MONOTONIC)")
    ax.set_ylabel("sample (16-bit)")
    ax.set_title("pi-app cue through ALSA snd-aloop, recorded on the capture side")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
