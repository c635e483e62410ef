"""The acquisition path end to end: real drivers on the simulated bus, virtual clock
(acquisition, engineer D1)."""

import numpy as np
import pytest

from pi_app.acquisition.align import FrameAligner
from pi_app.acquisition.setup import open_bus, open_reader, probe_bus, specs_for_addresses
from pi_app.clock import ManualClock
from pi_app.errors import DeviceNotFoundError
from pi_app.sim.bus import SimulatedBus

pytest.importorskip("pi_app.sim.scenarios")


def stream(reader, clock, seconds, aligner=None, readers=None):
    chunks = []
    end_s = clock.now_s() + seconds
    while clock.now_s() < end_s:
        clock.advance(0.015)
        reader.poll()
        if aligner is not None:
            chunks.append(aligner.update(readers["pelvis"].read().rows,
                                         readers["thorax"].read().rows))
    return chunks


@pytest.mark.parametrize("chips", ["mpu6050", "lsm6dsox"])
def test_steady_both_sensors_fitted_and_aligned(chips):
    clock = ManualClock(0.0)
    bus = open_bus(True, scenario="steady", seed=2, chips=chips, clock=clock)
    reader = open_reader(bus, clock)
    assert reader.roles == ["pelvis", "thorax"]
    readers = {role: ring.reader() for role, ring in reader.rings.items()}
    chunks = stream(reader, clock, 6.0, FrameAligner(), readers)
    snap = reader.snapshot()
    for role in ("pelvis", "thorax"):
        h = snap["sensors"][role]
        true_rate_hz = bus.chips[h["address"]].sample_clock.true_rate_hz
        assert abs(h["effective_rate_hz"] / true_rate_hz - 1.0) < 0.001
        assert h["overflows"] == 0 and h["gaps"] == 0 and h["i2c_errors"] == 0
    t = np.concatenate([c.t_s for c in chunks])
    th = np.concatenate([c.thorax_acc_g for c in chunks])
    assert np.all(np.diff(t) > 0) and t[-1] - t[0] > 5.0
    assert not np.isnan(th).any()
    # Standing at first: gravity is ~1 g on both sensors.
    assert 0.9 < np.median(np.linalg.norm(th[:1000], axis=1)) < 1.1


@pytest.mark.slow
def test_dropout_scenario_recovers_and_marks_gap():
    clock = ManualClock(0.0)
    bus = open_bus(True, scenario="dropout", seed=0, chips="mpu6500", clock=clock)
    reader = open_reader(bus, clock)
    thorax = reader.rings["thorax"].reader()
    seen_absent = False
    back_s = None
    while clock.now_s() < 51.5:
        clock.advance(0.015)
        reader.poll()
        present = reader.health.sensors["thorax"].present
        seen_absent = seen_absent or not present
        if seen_absent and present and back_s is None:
            back_s = clock.now_s()
        thorax.read()
    h = reader.health.sensors["thorax"]
    assert seen_absent and back_s is not None and h.reconnects == 1 and h.present
    assert h.gaps >= 1 and reader.health.exceptions == 0
    assert abs(h.effective_rate_hz / bus.chips[h.address].sample_clock.true_rate_hz - 1) < 0.001
    # The pelvis kept streaming while the thorax chip restarted (its 100 ms reset wait is
    # spent draining the pelvis: an MPU-6500 FIFO holds only 42 ms).
    p = reader.health.sensors["pelvis"]
    assert p.gaps == 0 and p.overflows == 0


def test_probe_lists_imus_and_fails_with_one_sentence_when_none():
    clock = ManualClock(0.0)
    bus = open_bus(True, scenario="stand", seed=0, chips="lsm6ds3", clock=clock)
    probe = probe_bus(bus)
    assert [s.address for s in probe.specs] == [0x6A, 0x6B]
    assert [s.role for s in probe.specs] == ["pelvis", "thorax"]
    assert [s.role for s in specs_for_addresses([0x69])] == ["pelvis"]
    with pytest.raises(DeviceNotFoundError) as err:
        open_reader(SimulatedBus([], clock), clock)
    assert "0x68" in str(err.value) and "\n" not in str(err.value)
