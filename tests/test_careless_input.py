"""Careless input at the command line ends in one sentence, before any work is done
(issue 12 §3): output paths that are folders or files of the wrong kind, numbers out of
range, Ctrl-C before the commands are loaded, the pygame banner."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pi_app import cli
from pi_app.cli import main


def one_sentence(capsys, code, *words):
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pi-app: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


def test_ctrl_c_while_the_commands_are_still_loading(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["sessions"]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["pi-app: stopped (Ctrl-C)."]


def test_importing_the_cli_hides_the_pygame_banner():
    pytest.importorskip("pygame")
    env = {k: v for k, v in os.environ.items() if k != "PYGAME_HIDE_SUPPORT_PROMPT"}
    out = subprocess.run([sys.executable, "-c", "import pi_app.cli, pygame"], env=env,
                         capture_output=True, text=True, check=True)
    assert "pygame" not in out.stdout + out.stderr


@pytest.fixture
def no_analysis(monkeypatch):
    """The analysis must not start when an argument is wrong."""
    import pi_app.app as app

    def forbidden(*a, **k):
        raise AssertionError("the analysis ran although the output path is unusable")
    monkeypatch.setattr(app, "offline_analysis", forbidden)


@pytest.mark.parametrize("flag", ["--steps-out", "--strides-out"])
def test_analyze_output_folder_is_refused_before_the_analysis(tmp_path, capsys, no_analysis,
                                                              flag):
    folder = tmp_path / "out"
    folder.mkdir()
    code = main(["analyze", str(tmp_path / "in.csv"), flag, str(folder)])
    one_sentence(capsys, code, flag, "is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no stray out.tmp


def test_analyze_output_in_a_missing_folder_is_refused(tmp_path, capsys, no_analysis):
    code = main(["analyze", str(tmp_path / "in.csv"), "--steps-out",
                 str(tmp_path / "no" / "s.csv")])
    one_sentence(capsys, code, "does not exist")


def test_analyze_missing_calibration_names_the_calibration_flag(tmp_path, capsys,
                                                                no_analysis):
    code = main(["analyze", str(tmp_path / "in.csv"), "--calibration",
                 str(tmp_path / "nope.toml")])
    err = one_sentence(capsys, code, "--calibration")
    assert "--profile" not in err


@pytest.fixture
def no_demo(monkeypatch):
    """Argument errors must stop `demo` before the config is read or the runner starts."""
    import pi_app.config as config

    def forbidden(*a, **k):
        raise AssertionError("demo started although an argument is wrong")
    monkeypatch.setattr(config, "load_config", forbidden)


def test_demo_events_out_folder(tmp_path, capsys, no_demo):
    code = main(["demo", "--headless", "--events-out", str(tmp_path)])
    one_sentence(capsys, code, "--events-out", "is a folder")


def test_demo_screenshot_existing_file(tmp_path, capsys, no_demo):
    existing = tmp_path / "shot.png"
    existing.write_bytes(b"png")
    code = main(["demo", "--screenshot", str(existing)])
    one_sentence(capsys, code, "--screenshot", "takes a folder")
    assert existing.read_bytes() == b"png"


@pytest.fixture
def nothing_runs(monkeypatch, no_demo, no_analysis):
    """No command may reach its work (bus, config, analysis) with a bad number."""
    import pi_app.acquisition.setup as setup
    import pi_app.commands.sensors as sensors

    def forbidden(*a, **k):
        raise AssertionError("the command started although a number is wrong")
    monkeypatch.setattr(setup, "open_bus", forbidden)
    monkeypatch.setattr(sensors, "open_bus", forbidden)


@pytest.mark.parametrize("argv,words", [
    (["demo", "--seed", "-7"], ["--seed", "negative", ">= 0"]),
    (["demo", "--seed", "x"], ["--seed", "whole number"]),
    (["demo", "--seconds", "0"], ["--seconds", "positive"]),
    (["demo", "--speed", "nan"], ["--speed", "finite"]),
    (["demo", "--speed", "-2"], ["--speed", "negative", "as fast as the CPU allows"]),
    (["replay", "1", "--speed", "-2"], ["--speed", "negative", "as fast as possible"]),
    (["sensors", "--simulate", "--seconds", "-3"], ["--seconds", "positive"]),
    (["record", "--simulate", "--seconds", "1e12", "-o", "r.csv"], ["--seconds", "maximum"]),
    (["calibrate", "--simulate", "--seconds", "inf"], ["--seconds", "finite"]),
    (["analyze", "in.csv", "--chunk-s", "-1"], ["--chunk-s", "positive"]),
])
def test_numbers_are_checked_when_parsed(capsys, nothing_runs, argv, words):
    one_sentence(capsys, main(argv), *words)


def test_calibrate_profile_folder_fails_before_standing_still(tmp_path, capsys, monkeypatch):
    import pi_app.acquisition.setup as setup

    def forbidden(*a, **k):
        raise AssertionError("the athlete was asked to stand still for nothing")
    monkeypatch.setattr(setup, "open_bus", forbidden)
    code = main(["calibrate", "--simulate", "--profile", str(tmp_path)])
    one_sentence(capsys, code, "--profile", "is a folder")


def test_rate_rounded_by_the_chip_is_said(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["record", "--simulate", "--seconds", "1", "--rate-hz", "123", "-o",
                 str(out)]) == 0
    err = capsys.readouterr().err
    assert "runs at 125 Hz" in err and "--rate-hz 123" in err
    assert main(["record", "--simulate", "--seconds", "1", "--rate-hz", "1000", "-o",
                 str(out)]) == 0
    assert "runs at" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["report", "last"], ["progress", "someone"]])
def test_figure_output_checked_before_the_store_is_opened(tmp_path, capsys, command):
    """report and progress refuse a wrong -o suffix or a missing folder before any work."""
    one_sentence(capsys, main(command + ["-o", str(tmp_path / "out.txt"),
                                         "--state-dir", str(tmp_path / "none")]),
                 "PDF or PNG", ".pdf or .png")
    one_sentence(capsys, main(command + ["-o", str(tmp_path / "missing" / "out.png"),
                                         "--state-dir", str(tmp_path / "none")]),
                 "does not exist", "-o")
