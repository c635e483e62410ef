"""pi_app: real-time running biofeedback on a Raspberry Pi.

Two I2C IMUs (sacrum = pelvis, upper back = thorax) are read at ~1 kHz; the analysis estimates
how thorax and pelvis counter-rotate and when, and cues the runner when the timing drifts.
"""

__version__ = "0.1.0"
