"""pi-app doctor: every check's pass and fail path on fake /dev, /boot and /sys trees, the
sensor checks on the simulated bus (virtual clock), and the command's exit code and JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pi_app import doctor
from pi_app.clock import ManualClock
from pi_app.config import load_config, loads_config
from pi_app.doctor import FAIL, PASS, SKIP, DoctorContext

from conftest import real_kmsdrm_name

PI4 = "Raspberry Pi 4 Model B Rev 1.5"


def systemctl(active="active", enabled="enabled"):
    def run(cmd):
        if cmd[1] == "is-active":
            return (0 if active == "active" else 3), active
        return (0 if enabled == "enabled" else 1), enabled
    return run


@pytest.fixture
def ctx(tmp_path):
    dev = tmp_path / "dev"
    (dev / "dri").mkdir(parents=True)
    (dev / "snd").mkdir()
    boot = tmp_path / "boot" / "firmware"
    boot.mkdir(parents=True)
    dri = tmp_path / "usr/lib/aarch64-linux-gnu/dri"
    dri.mkdir(parents=True)
    return DoctorContext(
        config=load_config(None), simulate=True, dev_dir=dev,
        boot_configs=(boot / "config.txt", tmp_path / "boot" / "config.txt"),
        i2c_sysfs_dir=tmp_path / "sys", state_dir=tmp_path / "state", min_free_mb=1.0,
        stream_s=0.5, run_cmd=systemctl("inactive", "enabled"),
        display_probe=lambda: (True, real_kmsdrm_name()),
        audio_probe=lambda device: (True, "(44100, -16, 2)"), dri_dirs=(dri,), board=PI4)


def no_access(monkeypatch):
    # Tests may run as root, for whom every file is accessible: fake the permission check.
    monkeypatch.setattr(doctor.os, "access", lambda path, mode: False)


# -- I2C config --------------------------------------------------------------------------------
def test_i2c_config_missing_file(ctx):
    r = doctor.check_i2c_config(ctx)
    assert r.status == FAIL and "install.sh" in r.fix


@pytest.mark.parametrize("text, status, words", [
    ("dtparam=i2c_arm=on\ndtparam=i2c_arm_baudrate=400000\n", PASS, "400000"),
    ("dtparam=i2c_arm=on,i2c_arm_baudrate=400000\n", PASS, "400000"),
    ("#dtparam=i2c_arm=on\n", FAIL, "do_i2c 0"),
    ("[pi3]\ndtparam=i2c_arm=on\n[all]\ndtparam=i2c_arm_baudrate=400000\n", FAIL, "do_i2c 0"),
    ("dtparam=i2c_arm=on\n", FAIL, "i2c_arm_baudrate=400000"),
    ("dtparam=i2c_arm=on\ndtparam=i2c_arm_baudrate=100000\n", FAIL, "i2c_arm_baudrate=400000"),
])
def test_i2c_config_text(ctx, text, status, words):
    ctx.boot_configs[0].write_text(text)
    r = doctor.check_i2c_config(ctx)
    assert r.status == status
    assert words in (r.fix if status == FAIL else r.detail)


def test_i2c_config_not_applied_until_reboot(ctx):
    ctx.boot_configs[1].write_text("dtparam=i2c_arm=on\ndtparam=i2c_arm_baudrate=400000\n")
    node = ctx.i2c_sysfs_dir / "i2c-1" / "of_node"
    node.mkdir(parents=True)
    (node / "clock-frequency").write_bytes((100_000).to_bytes(4, "big"))
    r = doctor.check_i2c_config(ctx)
    assert r.status == FAIL and "reboot" in r.fix and "100000" in r.detail
    (node / "clock-frequency").write_bytes((400_000).to_bytes(4, "big"))
    assert doctor.check_i2c_config(ctx).status == PASS


# -- /dev/i2c-N --------------------------------------------------------------------------------
def test_i2c_device(ctx, monkeypatch):
    r = doctor.check_i2c_device(ctx)
    assert r.status == FAIL and "does not exist" in r.detail
    (ctx.dev_dir / "i2c-1").touch()
    assert doctor.check_i2c_device(ctx).status == PASS
    no_access(monkeypatch)
    r = doctor.check_i2c_device(ctx)
    assert r.status == FAIL and "usermod -aG i2c" in r.fix


# -- sensors on the simulated bus -------------------------------------------------------------
def test_sensors_pass_on_the_simulated_runner(ctx):
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == PASS and "pelvis" in imu.detail and "thorax" in imu.detail
    assert "WHO_AM_I 0x68" in imu.detail
    assert rate.status == PASS and "of 1000 Hz" in rate.detail


def test_sensors_lsm6ds_pair(ctx):
    from pi_app.sim import open_simulated_bus
    clock = ManualClock()
    ctx.open_bus = lambda c: (open_simulated_bus(chips="lsm6ds3", clock=clock), clock)
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == PASS and "LSM6DS3" in imu.detail and rate.status == PASS


def test_sensors_nothing_on_the_bus(ctx):
    from pi_app.sim.bus import SimulatedBus
    clock = ManualClock()
    ctx.open_bus = lambda c: (SimulatedBus([], clock=clock), clock)
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == FAIL and "no IMU answered" in imu.detail and rate.status == SKIP


def test_sensors_one_imu(ctx):
    from pi_app.sim import open_simulated_bus
    from pi_app.sim.bus import SimulatedBus
    clock = ManualClock()
    full = open_simulated_bus(clock=clock)
    pelvis_only = [full.chips[0x68]]
    ctx.open_bus = lambda c: (SimulatedBus(pelvis_only, clock=clock), clock)
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == FAIL and "only one IMU" in imu.detail and "thorax" in imu.fix
    assert rate.status == PASS


def test_sensors_checks_the_configured_addresses_not_what_else_answers(ctx):
    # Found by the lab (i2c-stub): with pelvis_address/thorax_address set, doctor scanned the
    # bus and judged the chips at 0x68/0x69 instead of saying that nothing answers at the
    # configured 0x6A, which is what `pi-app run` then fails on.
    ctx.config = loads_config("[sensors]\npelvis_address = 0x6A\nthorax_address = 0x6B\n")
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == FAIL and imu.detail.startswith("no device answered at address 0x6A")
    assert rate.status == SKIP


def test_sensors_configured_addresses_that_answer_pass(ctx):
    # The simulated MPU-6050 pair answers at 0x68/0x69: configured the other way round, the
    # roles follow the config.
    ctx.config = loads_config("[sensors]\npelvis_address = 0x69\nthorax_address = 0x68\n")
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == PASS and "pelvis MPU-6050 at 0x69" in imu.detail
    assert "thorax MPU-6050 at 0x68" in imu.detail and rate.status == PASS


def test_sensors_bus_error(ctx):
    from pi_app.errors import BusError
    def fail(c):
        raise BusError("I2C bus 1 is not available", bus=1)
    ctx.open_bus = fail
    imu, rate = doctor.check_sensors(ctx)
    assert imu.status == FAIL and "not available" in imu.detail and rate.status == SKIP


def test_sensors_skipped_while_the_service_owns_the_bus(ctx):
    ctx.simulate = False
    ctx.service_active = True
    assert [r.status for r in doctor.check_sensors(ctx)] == [SKIP, SKIP]


def test_rate_result():
    h = {"samples": 500, "configured_rate_hz": 1000.0, "effective_rate_hz": 1004.0,
         "overflows": 0}
    assert doctor.rate_result({"pelvis": h}, 1000.0).status == PASS
    slow = dict(h, effective_rate_hz=900.0)
    r = doctor.rate_result({"pelvis": h, "thorax": slow}, 1000.0)
    assert r.status == FAIL and "thorax" in r.detail
    r = doctor.rate_result({"pelvis": dict(h, overflows=3)}, 1000.0)
    assert r.status == FAIL and "3 FIFO overflows" in r.detail
    assert doctor.rate_result({"pelvis": dict(h, samples=0)}, 1000.0) is None


# -- display, audio, GPIO ----------------------------------------------------------------------
def test_display(ctx, monkeypatch):
    assert doctor.check_display(ctx).status == FAIL          # no /dev/dri/card*
    (ctx.dev_dir / "dri" / "card1").touch()
    assert doctor.check_display(ctx).status == PASS
    ctx.display_probe = lambda: (False, "pygame.error: kmsdrm not available")
    r = doctor.check_display(ctx)
    assert r.status == FAIL and "do_boot_behaviour B1" in r.fix
    ctx.display_probe = lambda: (True, "offscreen")
    assert doctor.check_display(ctx).status == FAIL
    no_access(monkeypatch)
    assert "video,render" in doctor.check_display(ctx).fix
    ctx.config = loads_config("[display]\nenabled = false\n")
    assert doctor.check_display(ctx).status == SKIP



def test_display_accepts_sdls_own_spelling_of_kmsdrm(ctx):
    (ctx.dev_dir / "dri/card1").touch()
    for name in (real_kmsdrm_name(), real_kmsdrm_name().lower()):
        ctx.display_probe = lambda name=name: (True, name)
        r = doctor.check_display(ctx)
        assert r.status == PASS and name in r.detail


def test_mesa_dri_drivers(ctx):
    r = doctor.check_dri_drivers(ctx)
    assert r.status == FAIL and "libgl1-mesa-dri" in r.fix and "vc4_dri.so" in r.detail
    (ctx.dri_dirs[0] / "v3d_dri.so").touch()
    r = doctor.check_dri_drivers(ctx)
    assert r.status == PASS and "v3d_dri.so" in r.detail
    ctx.config = loads_config("[display]\nenabled = false\n")
    assert doctor.check_dri_drivers(ctx).status == SKIP


def test_mesa_dri_driver_for_the_kms_device_there_is(ctx):
    # The lab's guest (x86, vkms) has no vc4/v3d DRI drivers and needs none: Mesa renders for
    # a display-only device with kms_swrast. A Pi's vc4 device still needs vc4/v3d.
    dri = ctx.dri_dirs[0]
    ctx.drm_drivers = lambda dev_dir: ["vkms"]
    r = doctor.check_dri_drivers(ctx)
    assert r.status == FAIL and "kms_swrast_dri.so for KMS/DRM driver vkms" in r.detail
    (dri / "kms_swrast_dri.so").touch()
    r = doctor.check_dri_drivers(ctx)
    assert r.status == PASS and r.detail.endswith("for KMS/DRM driver vkms (software rendering)")
    ctx.drm_drivers = lambda dev_dir: ["v3d", "vc4"]
    r = doctor.check_dri_drivers(ctx)
    assert r.status == FAIL and "vc4_dri.so or v3d_dri.so" in r.detail
    (dri / "v3d_dri.so").touch()
    assert doctor.check_dri_drivers(ctx).status == PASS


def test_drm_driver_names_without_devices_is_empty(tmp_path):
    (tmp_path / "dri").mkdir()
    (tmp_path / "dri" / "card0").write_text("")      # a plain file: the ioctl fails
    assert doctor.drm_driver_names(tmp_path) == []


def test_off_a_pi_the_pi_only_checks_are_expected_not_failed(ctx):
    ctx.board = None            # a laptop: nothing of the Pi is there, but a sound card
    (ctx.dev_dir / "snd/pcmC0D0p").touch()
    ctx.run_cmd = systemctl("inactive", "not-found")
    results = doctor.run_checks(ctx)
    by_name = {r.name: r for r in results}
    pi_only = [r for r in results if r.detail.startswith("not a Raspberry Pi")]
    assert {r.name for r in pi_only} >= {"I2C enabled at 400 kHz", "I2C device " + str(
        ctx.dev_dir / "i2c-1"), "display (KMS/DRM)", "Mesa DRI drivers", "GPIO chip",
        "service pi-app"}
    assert all(r.status == SKIP and r.fix for r in pi_only)
    # The simulated sensors still have to work anywhere.
    assert by_name["IMUs (WHO_AM_I and live read)"].status == PASS
    assert doctor.all_passed(results)
    assert "is not a Raspberry Pi" in doctor.format_text(results)
    ctx.board = PI4             # the same findings on a Pi are failures
    assert sum(r.status == FAIL for r in doctor.run_checks(ctx)) >= 6


def test_board_model_from_the_device_tree(tmp_path):
    from pi_app.hw.board import MODEL_FILE_ENV, pi_model
    model = tmp_path / "model"
    model.write_bytes(PI4.encode() + b"\0")
    assert pi_model({MODEL_FILE_ENV: str(model)}) == PI4
    model.write_bytes(b"Generic x86 board\0")
    assert pi_model({MODEL_FILE_ENV: str(model)}) is None
    assert pi_model({MODEL_FILE_ENV: str(tmp_path / "missing")}) is None


def test_audio(ctx):
    r = doctor.check_audio(ctx)
    assert r.status == FAIL and "sound card" in r.detail
    (ctx.dev_dir / "snd" / "pcmC0D0p").touch()
    assert doctor.check_audio(ctx).status == PASS
    seen = []
    ctx.config = loads_config('[audio]\ndevice = "hw:1,0"\n')
    ctx.audio_probe = lambda device: (seen.append(device), (False, "ALSA: no such device"))[1]
    r = doctor.check_audio(ctx)
    assert r.status == FAIL and seen == ["hw:1,0"] and "aplay -l" in r.fix
    ctx.config = loads_config("[audio]\nenabled = false\n")
    assert doctor.check_audio(ctx).status == SKIP


def test_gpio(ctx, monkeypatch):
    assert doctor.check_gpio(ctx).status == FAIL
    (ctx.dev_dir / "gpiochip0").touch()
    r = doctor.check_gpio(ctx)
    assert r.status == PASS and "gpiochip0" in r.detail
    no_access(monkeypatch)
    assert "usermod -aG gpio" in doctor.check_gpio(ctx).fix
    ctx.config = loads_config("[buzzer]\nenabled = false\n")
    assert doctor.check_gpio(ctx).status == SKIP


# -- state dir, service ------------------------------------------------------------------------
def test_state_dir(ctx, monkeypatch):
    r = doctor.check_state_dir(ctx)
    assert r.status == PASS and "will be created" in r.detail
    ctx.state_dir.mkdir()
    assert "writable" in doctor.check_state_dir(ctx).detail
    ctx.min_free_mb = 1e12
    r = doctor.check_state_dir(ctx)
    assert r.status == FAIL and "free" in r.detail
    ctx.min_free_mb = 1.0
    no_access(monkeypatch)
    assert doctor.check_state_dir(ctx).status == FAIL


@pytest.mark.parametrize("active, enabled, status, fix", [
    ("active", "enabled", PASS, ""),
    ("failed", "enabled", FAIL, "journalctl -u pi-app"),
    ("inactive", "disabled", FAIL, "enable --now"),
    ("inactive", "not-found", FAIL, "install.sh"),
])
def test_service(ctx, active, enabled, status, fix):
    ctx.run_cmd = systemctl(active, enabled)
    r = doctor.check_service(ctx)
    assert r.status == status and fix in r.fix
    assert ctx.service_active == (active == "active")


def test_service_without_systemd(ctx):
    ctx.run_cmd = lambda cmd: (127, "systemctl: not found")
    assert doctor.check_service(ctx).status == SKIP


# -- all together --------------------------------------------------------------------------------
def healthy(ctx):
    ctx.boot_configs[0].write_text("dtparam=i2c_arm=on\ndtparam=i2c_arm_baudrate=400000\n")
    for name in ("i2c-1", "gpiochip0", "dri/card0", "snd/pcmC0D0p"):
        (ctx.dev_dir / name).touch()
    (ctx.dri_dirs[0] / "vc4_dri.so").touch()


def test_run_checks_all_pass_then_one_fails(ctx):
    healthy(ctx)
    ctx.run_cmd = lambda cmd: (127, "")
    results = doctor.run_checks(ctx)
    assert [r.status for r in results if r.status != PASS] == [SKIP]     # no systemd here
    assert doctor.all_passed(results)
    assert "all checks passed" in doctor.format_text(results)
    os.remove(ctx.dev_dir / "gpiochip0")
    results = doctor.run_checks(ctx)
    assert not doctor.all_passed(results)
    text = doctor.format_text(results)
    assert "[FAIL] GPIO chip" in text and "fix:" in text and "1 check(s) failed" in text


def test_service_running_skips_the_hardware_probes(ctx):
    healthy(ctx)
    ctx.simulate = False
    ctx.run_cmd = systemctl("active")
    called = []
    ctx.display_probe = lambda: called.append("display") or (True, real_kmsdrm_name())
    results = {r.name: r.status for r in doctor.run_checks(ctx)}
    assert results["display (KMS/DRM)"] == SKIP and results["audio device"] == SKIP
    assert results["IMUs (WHO_AM_I and live read)"] == SKIP and not called


def test_command_json_and_exit_code(capsys, tmp_path):
    from pi_app.cli import main
    code = main(["doctor", "--simulate", "--json", "--seconds", "0.3",
                 "--state-dir", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    names = {c["name"]: c for c in out["checks"]}
    assert names["IMUs (WHO_AM_I and live read)"]["status"] == PASS
    # This machine is no Pi: something fails, and the exit code says so.
    assert code == (0 if out["ok"] else 1)
    assert all(c["fix"] for c in out["checks"] if c["status"] == FAIL)


@pytest.mark.skipif(Path("/dev/dri").exists(), reason="this machine has a KMS/DRM device")
def test_the_display_probe_opens_the_apps_screen_and_reports_its_sentence():
    """The probe runs the app's own open_display in a child: without a DRM device the real
    SDL refuses KMS/DRM and the probe's detail is the app's one sentence, no traceback."""
    from pi_app.doctor import probe_display
    ok, detail = probe_display()
    assert not ok and "SDL video driver kmsdrm" in detail and "--headless" in detail
    assert "Traceback" not in detail
