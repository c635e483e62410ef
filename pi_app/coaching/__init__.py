"""Coaching across sessions: remembered baselines and their conditions, programmes,
progress."""
