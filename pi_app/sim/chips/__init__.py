"""Register-level emulators of the supported IMU chips."""
