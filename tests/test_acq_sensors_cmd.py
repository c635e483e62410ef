"""`pi-app sensors` on the simulated bus with a virtual clock (acquisition, engineer D1)."""

import io
import json

import pytest

from pi_app.acquisition.setup import open_bus
from pi_app.cli import main
from pi_app.clock import ManualClock
from pi_app.commands.sensors import check

pytest.importorskip("pi_app.sim.scenarios")


def test_json_summary_is_one_object_with_every_sensor():
    clock = ManualClock(0.0)
    bus = open_bus(True, scenario="i2c-noise", seed=1, chips="mpu6050+mpu6500", clock=clock)
    out, live = io.StringIO(), io.StringIO()
    code = check(bus, clock, 4.0, bus_number=1, simulated=True, as_json=True, out=out,
                 live=live, threaded=False)
    assert code == 0
    result = json.loads(out.getvalue())
    assert result["answered"] == ["0x68", "0x69"]
    by_role = {s["role"]: s for s in result["sensors"]}
    assert by_role["pelvis"]["model"] == "MPU-6050" and by_role["thorax"]["model"] == "MPU-6500"
    for role, s in by_role.items():
        true_rate_hz = bus.chips[int(s["address"], 16)].sample_clock.true_rate_hz
        assert abs(s["effective_rate_hz"] / true_rate_hz - 1) < 0.002
        assert s["configured_rate_hz"] == 1000.0 and s["present"]
        assert {"overflows", "i2c_errors", "gaps"} <= set(s)
    assert sum(s["i2c_errors"] for s in result["sensors"]) > 0      # 1 % EIO was counted
    text = live.getvalue()
    assert "devices at 0x68 0x69" in text and text.count("pelvis MPU-6050") >= 7


def test_missing_bus_is_one_sentence(capsys):
    assert main(["sensors", "--bus", "97", "--seconds", "1"]) == 2   # fails before streaming
    err = capsys.readouterr().err.strip()
    assert err.startswith("pi-app: ") and "i2c-97" in err and "\n" not in err
