"""Config: the documented example is the defaults; bad files give one sentence naming the
file, the key and what is allowed."""

import dataclasses
from pathlib import Path

import pytest

from pi_app.analysis.drift import DriftDetector
from pi_app.config import EXAMPLE_TOML, Config, load_config, loads_config
from pi_app.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_example_file_is_the_documented_defaults():
    text = (REPO / "config" / "pi-app.example.toml").read_text(encoding="utf-8")
    assert text == EXAMPLE_TOML
    cfg = load_config(REPO / "config" / "pi-app.example.toml")
    assert dataclasses.replace(cfg, source="defaults") == Config()
    assert load_config(None) == Config()
    DriftDetector(**cfg.baseline.drift_detector_kwargs())


def test_values_are_read_and_converted(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[sensors]\npelvis_address = 0x6A\nthorax_address = 0x6B\nrate_hz = 833\n'
                    '[cues]\nmode = "faded"\nfade_schedule = [[0, 1], [60, 0.5]]\n'
                    '[baseline]\nk_sd = 3\n', encoding="utf-8")
    cfg = load_config(path)
    assert cfg.sensors.pelvis_address == 0x6A and cfg.sensors.rate_hz == 833.0
    assert isinstance(cfg.baseline.k_sd, float) and cfg.baseline.k_sd == 3.0
    assert cfg.cues.fade_schedule == ((0.0, 1.0), (60.0, 0.5))
    assert cfg.source == str(path)


@pytest.mark.parametrize("text, key, words", [
    ('[cues]\nmode = "loud"', "cues.mode", ["'bandwidth'", "'faded'", "'off'"]),
    ('[cues]\nmodee = "off"', "cues.modee", ["allowed keys", "min_interval_s"]),
    ('[sensor]\nbus = 1', "sensor", ["[sensors]", "[baseline]"]),
    ('[sensors]\nrate_hz = true', "sensors.rate_hz", ["from 50 to 1700"]),
    ('[sensors]\npelvis_address = 0x70', "sensors.pelvis_address", ["0x70", "0x6A"]),
    ('[buzzer]\nkind = "loud"', "buzzer.kind", ["'active'", "'passive'"]),
    ('[sensors]\nbus = 1.5', "sensors.bus", ["from 0 to 99"]),
    ('[cues]\nfade_schedule = [[0, 1], [60, 0.3]]', "cues.fade_schedule", ["after_s"]),
    ('[sensors]\npelvis_address = 0x68\nthorax_address = 0x68', "sensors.thorax_address",
     ["0x68"]),
    ('[baseline]\nbaseline_strides = 10\nwindow_strides = 12', "baseline.window_strides",
     ["baseline_strides >= window_strides"]),
    ('cues = 3', "cues", ["[cues]"]),
])
def test_bad_values_are_one_sentence_naming_file_and_key(text, key, words):
    with pytest.raises(ConfigError) as info:
        loads_config(text, source="my.toml")
    msg = str(info.value)
    assert info.value.key == key
    assert msg.startswith("my.toml")
    assert msg.endswith(".") and "\n" not in msg
    for w in words:
        assert w in msg


def test_syntax_error_and_missing_file_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[cues\nmode=1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML .*line 1"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")


def test_cli_prints_one_line(tmp_path, capsys):
    from pi_app.cli import main
    path = tmp_path / "c.toml"
    path.write_text('[display]\nfps = 1000\n', encoding="utf-8")
    assert main(["demo", "--headless", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "[display] fps = 1000" in err and "c.toml" in err
