"""`[sensors] simulate`: the explicit setting that makes `pi-app run` read the simulator
(for the reality lab), and nothing else does."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pi_app import app as app_root
from pi_app.commands import run as run_cmd
from pi_app.config import loads_config
from pi_app.errors import BusError, ConfigError
from pi_app.store import SessionStore


def _args(config: Path, state_dir: Path) -> argparse.Namespace:
    """`pi-app run --headless` arguments from the real parser (every option at its default)."""
    from pi_app.cli import build_parser
    return build_parser().parse_args(["run", "--config", str(config), "--headless",
                                      "--state-dir", str(state_dir)])


def test_simulate_accepts_only_scenario_names():
    assert loads_config('[sensors]\nsimulate = "drift"').sensors.simulate == "drift"
    assert loads_config("").sensors.simulate == ""
    with pytest.raises(ConfigError) as err:
        loads_config('[sensors]\nsimulate = "yes"', source="lab.toml")
    assert err.value.key == "sensors.simulate"
    assert 'lab.toml: [sensors] simulate = "yes" is not allowed' in str(err.value)
    assert '"drift"' in str(err.value)


@pytest.mark.slow
def test_run_with_simulate_reads_the_simulator_and_says_so(tmp_path, monkeypatch, capsys):
    config = tmp_path / "lab.toml"
    config.write_text('[sensors]\nsimulate = "steady"\n[buzzer]\nenabled = false\n'
                      '[audio]\nenabled = false\n', encoding="utf-8")
    seen = {}
    real_run_live = app_root.run_live

    def short_run_live(cfg, clock, bus, **kwargs):
        seen["bus"] = bus
        seen["scenario"] = kwargs.get("scenario")
        kwargs.update(seconds=1.0, install_signals=False)
        return real_run_live(cfg, clock, bus, **kwargs)

    def no_bus(*_args, **_kwargs):
        raise AssertionError("the I2C bus must not be opened when [sensors] simulate is set")

    monkeypatch.setattr(app_root, "run_live", short_run_live)
    monkeypatch.setattr("pi_app.hw.bus.open_i2c_bus", no_bus)
    assert run_cmd.run(_args(config, tmp_path)) == 0
    # No bus is opened here: acquisition opens the simulator where it runs.
    assert seen["bus"] is None and seen["scenario"] == "steady"
    err = capsys.readouterr().err
    assert f'{config}: [sensors] simulate = "steady": the IMUs are emulated chips' in err
    with SessionStore.open(tmp_path, read_only=True) as store:
        (summary,) = store.list_sessions()
        assert summary.simulated and summary.scenario == "steady"


def test_run_without_simulate_never_falls_back_to_the_simulator(tmp_path, monkeypatch):
    config = tmp_path / "pi.toml"
    config.write_text("[sensors]\nbus = 7\n", encoding="utf-8")

    def missing_bus(bus_number, *_args, **_kwargs):
        raise BusError(f"I2C bus {bus_number} is not available", bus=bus_number)

    monkeypatch.setattr("pi_app.hw.bus.open_i2c_bus", missing_bus)
    # Acquisition in this process, so the missing bus above is the one it meets.
    config.write_text('[sensors]\nbus = 7\nacquisition = "thread"\n', encoding="utf-8")
    with pytest.raises(BusError, match="bus 7 is not available"):
        run_cmd.run(_args(config, tmp_path))


def test_doctor_checks_the_simulator_when_the_config_simulates(tmp_path, monkeypatch, capsys):
    """`pi-app doctor` with `[sensors] simulate` set checks the IMUs `pi-app run` will read
    (the emulated chips), not a bus the app does not use."""
    from pi_app.commands import doctor as doctor_cmd
    from pi_app import doctor

    config = tmp_path / "lab.toml"
    config.write_text('[sensors]\nsimulate = "steady"\n', encoding="utf-8")
    monkeypatch.setattr("pi_app.hw.bus.open_i2c_bus", lambda *a, **k: pytest.fail(
        "doctor opened the I2C bus although the config simulates the IMUs"))
    monkeypatch.setattr(doctor, "run_checks", lambda ctx: doctor.check_sensors(ctx))
    args = argparse.Namespace(config=config, simulate=False, state_dir=tmp_path,
                              seconds=0.2, json=True)
    doctor_cmd.run(args)
    imu = next(r for r in json.loads(capsys.readouterr().out)["checks"]
               if r["name"].startswith("IMUs"))
    assert imu["status"] == "pass" and "(simulated)" in imu["detail"]


@pytest.mark.parametrize("simulate, waits_for_i2c", [("drift", False), ("", True)])
def test_boot_wait_skips_the_i2c_node_only_when_simulating(monkeypatch, simulate, waits_for_i2c):
    """Under systemd `pi-app run` waits for its device nodes; with [sensors] simulate the IMUs
    are not on a bus, so /dev/i2c-N is not one of them (the DRM card still is)."""
    from pi_app.clock import ManualClock
    from pi_app.service import devices

    waited = []
    monkeypatch.setattr(devices.DeviceWait, "wait",
                        lambda self, patterns: waited.extend(patterns) or [])
    monkeypatch.setenv("SDL_VIDEODRIVER", "kmsdrm")

    class Notifier:
        enabled = True

        def status(self, text):
            pass

    cfg = loads_config(f'[sensors]\nbus = 3\nsimulate = "{simulate}"\n')
    run_cmd._wait_for_devices(cfg, False, ManualClock(), Notifier())
    assert ("/dev/i2c-3" in waited) is waits_for_i2c
    assert "/dev/dri/card*" in waited


def test_an_smbus_only_adapter_is_one_clear_error_not_endless_read_errors():
    """i2c-stub (and SMBus-only USB adapters) answer WHO_AM_I but lack I2C_RDWR: opening the
    sensors says so instead of counting failed FIFO reads forever (found by the reality lab)."""
    import smbus2

    from pi_app.acquisition.setup import open_reader
    from pi_app.clock import ManualClock
    from pi_app.sim import open_simulated_bus

    clock = ManualClock()
    bus = open_simulated_bus("steady", clock=clock, bus_number=5)
    # What the kernel's i2c-stub reports (i2cdetect -F): SMBus quick/byte/word/block only.
    bus.funcs = (smbus2.I2cFunc.SMBUS_QUICK | smbus2.I2cFunc.SMBUS_BYTE
                 | smbus2.I2cFunc.SMBUS_BYTE_DATA | smbus2.I2cFunc.SMBUS_WORD_DATA
                 | smbus2.I2cFunc.SMBUS_BLOCK_DATA | smbus2.I2cFunc.SMBUS_I2C_BLOCK)
    with pytest.raises(BusError, match=r"I2C bus 5.*cannot do plain I2C transfers \(I2C_RDWR\)"):
        open_reader(bus, clock, bus_number=5)
    bus.funcs |= smbus2.I2cFunc.I2C
    assert open_reader(bus, clock, bus_number=5) is not None
