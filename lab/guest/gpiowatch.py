"""Watch a gpio-sim line from outside the app (its sysfs `value`, the level the simulated pin
is driven to) and log every change with CLOCK_MONOTONIC. Stdlib only.

    python3 gpiowatch.py /sys/.../sim_gpio18/value OUT.jsonl STOP_FILE [PERIOD_S]

Each line: {"t_s": monotonic seconds, "value": 0|1}. Polling period default 1 ms, so an
edge is placed to within a period (plus scheduling delay).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    path, out, stop_file = argv[1], argv[2], argv[3]
    period_s = float(argv[4]) if len(argv) > 4 else 0.001
    last = None
    polls = 0
    with open(out, "w") as f:
        while not os.path.exists(stop_file):
            try:
                with open(path, "rb") as v:
                    value = int(v.read().strip() or b"0")
            except (OSError, ValueError):
                value = -1       # the chip is gone (fault injection)
            t = time.monotonic()
            polls += 1
            if value != last:
                f.write(json.dumps({"t_s": round(t, 6), "value": value}) + "\n")
                f.flush()
                last = value
            time.sleep(period_s)
        f.write(json.dumps({"polls": polls}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
