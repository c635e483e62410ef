"""Validation: the scoring rules of ../shared/data/README.md, reusable by tests and the
accuracy script."""
