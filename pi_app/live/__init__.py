"""The live app: threads wired together, the snapshot the dashboard reads, coach commands."""
