"""Argument types and output-path checks for the `pi-app` command line.

Numbers are validated when argparse parses them (`type=`), so a bad value stops the command
in its first millisecond with argparse's usual "argument --seconds: ..." line, never after
minutes of work. Output paths are checked before any work starts (`check_output_file`,
`check_output_dir`): a folder given where a file is written, a file given where a folder is
written, or a missing parent folder is one sentence naming the flag and the fix.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Callable

from pi_app.errors import ConfigError

#: The longest a recording or stream may be asked to run: a week, in seconds. Longer is a
#: typo (1e12 s is 31 000 years) that would only show as an absurd end time.
MAX_DURATION_S = 7 * 24 * 3600.0


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(example: str, maximum: float | None = None,
                   unit: str = "") -> Callable[[str], float]:
    """argparse type: a finite number > 0 (and <= `maximum`); the error names an example."""
    def parse(text: str) -> float:
        value = _number(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(
                f"{text} is not positive; give a number > 0, e.g. {example}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(
                f"{text} is more than the maximum {maximum:g}{unit}; give e.g. {example}")
        return value
    parse.__name__ = "positive number"
    return parse


def speed_factor(zero_means: str) -> Callable[[str], float]:
    """argparse type for --speed: a finite factor >= 0 times real time; the error says what 0
    means for the command (`zero_means`)."""
    def parse(text: str) -> float:
        value = _number(text)
        if value < 0:
            raise argparse.ArgumentTypeError(
                f"{text} is negative; give a factor > 0, e.g. --speed 20 (0 = {zero_means})")
        return value
    parse.__name__ = "speed factor"
    return parse


def duration_s(example: str) -> Callable[[str], float]:
    """argparse type: a duration in seconds, > 0 and at most `MAX_DURATION_S` (a week)."""
    return positive_float(example, MAX_DURATION_S, " s (a week)")


def seed(text: str) -> int:
    """argparse type: a simulation seed, a whole number >= 0 (numpy's generators take no
    negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number; give a seed such as 0 or 7") from None
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{value} is negative; give a seed >= 0, e.g. {-value}")
    return value


def check_output_file(path: Path | str | None, flag: str, *,
                      creates_folder: bool = False) -> None:
    """Raise `ConfigError` unless `path` can be created or replaced as a file: not a folder,
    its folder exists (or, with `creates_folder`, can be created) and is writable. None
    (option not given) passes."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file name, e.g. "
                          f"{flag} {path / 'out'}{_suffix_hint(flag)}.", key=flag)
    parent = path.parent
    if creates_folder and not parent.exists():
        check_output_dir(parent, flag)
        return
    if not parent.is_dir():
        raise ConfigError(f"the folder of {flag} {path} does not exist; create "
                          f"{parent} first or choose another path.", key=flag)
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists()
                                                    and not os.access(path, os.W_OK)):
        raise ConfigError(f"{flag} {path} cannot be written (permission denied); choose a "
                          "path in a folder you can write to.", key=flag)


def check_output_dir(path: Path | str | None, flag: str) -> None:
    """Raise `ConfigError` unless `path` is a writable folder or can be created as one (its
    nearest existing ancestor is a writable folder). None passes."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file, but {flag} takes a folder; give a folder "
                          "name (it is created if missing).", key=flag)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"{flag} {path}: {existing} is a file, not a folder; choose another "
                          "folder.", key=flag)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path} cannot be written (permission denied on "
                          f"{existing}); choose a folder you can write to.", key=flag)


def _suffix_hint(flag: str) -> str:
    if "events" in flag:
        return ".jsonl"
    if "profile" in flag:
        return ".toml"
    return ".csv"


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are a `ConfigError` (one sentence, exit code 2,
    printed by the CLI like every other error) instead of a usage block and `SystemExit`."""

    def error(self, message: str):
        raise ConfigError(f"{message} (see `{self.prog} --help`).")


def check_figure_output(path: Path, what: str) -> None:
    """Refuse, before any work, an -o path for `what` (e.g. "the report") that is not a .pdf
    or .png file name or whose folder does not exist (ConfigError naming the path)."""
    if path.suffix.lower() not in (".pdf", ".png"):
        raise ConfigError(f"-o {path}: {what} is written as PDF or PNG; end the file name with "
                          ".pdf or .png.", key="output")
    if not path.parent.is_dir():
        raise ConfigError(f"the folder of {path} does not exist; create it first or choose "
                          "another -o path.", key="output")
