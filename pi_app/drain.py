"""The FIFO drain period: how often the live path empties the IMU FIFOs (s).

Every drain-sized piece of the app (the sensor thread, the acquisition process, the
stepped demo, `record`, `calibrate`, `sensors --watch`, the live-sized chunks of `analyze`,
replay and import) uses this one number or the `[sensors] drain_interval_s` key whose
default it is.
"""

from __future__ import annotations

#: Seconds between FIFO drains. Reading the FIFOs in batches every 10-20 ms keeps two IMUs
#: at 1 kHz to ~56 % of a 400 kHz I2C bus (one burst per sample would need ~78 %), and an
#: MPU-6500 FIFO (512 B = 42 frames at 1 kHz) overflows past ~40 ms: 15 ms leaves room for
#: a late drain on a busy Pi 4 without an overflow.
DRAIN_INTERVAL_S = 0.015
