"""The coach dashboard (pygame-ce): `Dashboard` renders `LiveSnapshot`s, `display` opens the
screen (KMS/DRM on a Pi console, a window on a desktop, dummy for screenshots), `keys` turns
the coach's key presses into `CoachCommand`s, `screenshots` saves PNGs of the states."""
