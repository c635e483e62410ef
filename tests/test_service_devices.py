"""Start-up waits (bounded, with STATUS= lines) for the device nodes udev creates at boot."""

from __future__ import annotations

from pi_app.clock import ManualClock
from pi_app.service.devices import DeviceWait, live_devices


def test_waits_until_udev_creates_the_nodes():
    clock = ManualClock()
    appears_s = {"/dev/i2c-1": 2.0, "/dev/dri/card*": 4.5}
    statuses: list[str] = []
    wait = DeviceWait(clock, timeout_s=30.0, status=statuses.append,
                      exists=lambda p: clock.now_s() >= appears_s[p])
    assert wait.wait(live_devices(1, want_drm=True)) == []
    assert 4.5 <= wait.waited_s < 4.7
    assert statuses[0].startswith("waiting for /dev/i2c-1, /dev/dri/card*")
    assert any(s.startswith("waiting for /dev/dri/card* (") for s in statuses)
    assert 4 <= len(statuses) <= 6        # about one line a second, not one per look


def test_gives_up_after_the_timeout_and_names_what_is_missing():
    clock = ManualClock()
    wait = DeviceWait(clock, timeout_s=30.0, exists=lambda p: p.startswith("/dev/i2c"))
    assert wait.wait(live_devices(1, want_drm=True)) == ["/dev/dri/card*"]
    assert wait.waited_s == 30.0


def test_present_devices_cost_no_wait(tmp_path):
    (tmp_path / "i2c-3").touch()
    clock = ManualClock()
    wait = DeviceWait(clock)                         # the real glob
    assert wait.wait(live_devices(3, want_drm=False, dev_dir=str(tmp_path))) == []
    assert wait.waited_s == 0.0 and clock.now_s() == 0.0


def test_service_run_waits_for_i2c_and_for_drm_only_when_kms_is_asked_for(monkeypatch):
    from conftest import real_kmsdrm_name
    from pi_app.commands import run
    from pi_app.config import load_config

    class Status:
        def __init__(self, enabled=True):
            self.enabled = enabled            # NOTIFY_SOCKET set: started by systemd
            self.lines = []

        def status(self, text):
            self.lines.append(text)

    cfg = load_config(None)
    seen = {}
    monkeypatch.setattr("pi_app.service.devices.DeviceWait.wait",
                        lambda self, patterns: seen.setdefault("p", list(patterns)) and [])
    monkeypatch.setenv("SDL_VIDEODRIVER", real_kmsdrm_name())     # the service's, any case
    run._wait_for_devices(cfg, False, ManualClock(), Status())
    assert seen.pop("p") == [f"/dev/i2c-{cfg.sensors.bus}", "/dev/dri/card*"]
    run._wait_for_devices(cfg, True, ManualClock(), Status())      # --headless
    assert seen.pop("p") == [f"/dev/i2c-{cfg.sensors.bus}"]
    run._wait_for_devices(cfg, False, ManualClock(), Status(enabled=False))  # by hand: no wait
    assert "p" not in seen
