"""`pi-app doctor`: is this Pi ready to run the app? One check per thing that can be wrong,
each with the one-line fix when it fails.

Checks: I2C enabled and its baud rate (config.txt and the running adapter), /dev/i2c-N present
and accessible, both IMUs found (WHO_AM_I) and streaming, effective sample rate vs configured,
display (KMS/DRM available and free), Mesa's DRI drivers for the Pi's GPU, audio device, GPIO chip, state directory writable with
free space, and the systemd service. Every path and probe is a field of `DoctorContext`, so
tests (and `--simulate`) replace them.

Off a Raspberry Pi (no Pi device-tree model, see pi_app.hw.board) the checks that need Pi
hardware cannot pass; they are shown as skipped with "not a Raspberry Pi", not as failures.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pi_app.config import Config
from pi_app.hw.board import pi_model

if TYPE_CHECKING:
    from pi_app.clock import Clock
    from pi_app.hw.i2c import I2cBus

PASS, FAIL, SKIP = "pass", "fail", "skip"
I2C_BAUD_HZ = 400_000
SERVICE = "pi-app.service"
# Raw samples of two IMUs at 1 kHz take ~50 kB/s (~170 MB an hour) in the session database;
# 1 GiB keeps several hours of sessions plus exports.
MIN_FREE_MB = 1024.0
# Effective vs configured rate: MEMS internal oscillators are specified to a few percent
# (MPU-6000/6050 PS 6.4: +-1 % over temperature, +-2..3 % initial); more means a wrong setting
# or lost frames.
RATE_TOLERANCE = 0.05
SETUP_FIX = "run `sudo ./install.sh` from the pi-app checkout, then reboot"
# Where Debian's libgl1-mesa-dri puts the DRI drivers; SDL's KMS/DRM driver needs the Pi's
# (vc4 on a Pi 4 display, v3d for its GPU) to create its window on a console without a desktop.
DRI_DIRS = tuple(Path(p) for p in ("/usr/lib/aarch64-linux-gnu/dri", "/usr/lib/arm-linux-gnueabihf/dri",
                                   "/usr/lib/x86_64-linux-gnu/dri", "/usr/lib/dri"))
PI_DRI_DRIVERS = ("vc4_dri.so", "v3d_dri.so")
# Mesa's software renderer for display-only KMS devices (vkms, simpledrm) with no GPU driver.
SOFTWARE_DRI_DRIVER = "kms_swrast_dri.so"
DRI_FIX = "sudo apt-get install libgl1-mesa-dri (or re-run sudo ./install.sh)"

# Config sections of config.txt that apply to a Pi 4 or 5 (others, like [pi3], do not).
_APPLIES = {None, "all", "pi4", "pi400", "cm4", "cm4s", "pi5", "pi500", "cm5"}


@dataclass
class CheckResult:
    """One check: name, status (pass/fail/skip), what was found, and the fix when it failed."""

    name: str
    status: str
    detail: str
    fix: str = ""


def _run(cmd: list[str], timeout_s: float = 20.0, env: dict | None = None) -> tuple[int, str]:
    """(exit code, stdout+stderr) of a command; 127 when it cannot be run."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except FileNotFoundError:
        return 127, f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"{cmd[0]}: timed out after {timeout_s:g} s"
    return r.returncode, (r.stdout + r.stderr).strip()


# The screen the app opens (on KMS/DRM its OpenGL ES 2 renderer), one frame presented. The
# result is one "probe:" line on stdout, before closing: Mesa and SDL write to stderr too.
_DISPLAY_PROBE = ("import os, sys; os.environ['PYGAME_HIDE_SUPPORT_PROMPT'] = '1'\n"
                  "import pygame\n"
                  "from pi_app.ui.display import open_display\n"
                  "try:\n"
                  "    s = open_display(driver='kmsdrm')\n"
                  "    s.show()\n"
                  "except Exception as err:\n"
                  "    print('probe:', err, flush=True); sys.exit(1)\n"
                  "print('probe:', pygame.display.get_driver(), getattr(s, 'renderer', ''),\n"
                  "      flush=True)\n"
                  "s.close()")
_AUDIO_PROBE = ("import os; os.environ['PYGAME_HIDE_SUPPORT_PROMPT'] = '1'\n"
                "import pygame; pygame.mixer.init(44100, -16, 2, 256); print(pygame.mixer.get_init())")


def _python_probe(code: str, env_add: dict[str, str]) -> tuple[bool, str]:
    """Run a pygame probe in a child process (it takes the device only while it runs, and a
    hang or crash in SDL cannot take doctor down)."""
    env = dict(os.environ, **env_add)
    code_rc, out = _run([sys.executable, "-c", code], env=env)
    last = out.splitlines()[-1] if out else f"exit code {code_rc}"
    return code_rc == 0, last


def probe_display() -> tuple[bool, str]:
    """(ok, "driver renderer" as SDL spells them, e.g. "KMSDRM opengles2", or the error) for
    the dashboard's screen on SDL's KMS/DRM video driver."""
    env = dict(os.environ, SDL_VIDEODRIVER="kmsdrm")
    # Opening the renderer loads Mesa: seconds on a Pi, tens of them under emulation.
    rc, out = _run([sys.executable, "-c", _DISPLAY_PROBE], timeout_s=60.0, env=env)
    said = [line[len("probe:"):].strip() for line in out.splitlines()
            if line.startswith("probe:")]
    if rc == 0 and said:
        return True, said[-1]
    if said and rc > 0:
        return False, said[-1]
    last = out.splitlines()[-1] if out else ""
    how = f"killed by signal {-rc}" if rc < 0 else f"exit code {rc}"
    if said:
        return False, f"the screen opened ({said[-1]}) but the probe then failed ({how}): {last}"
    return False, f"the probe failed ({how}): {last}"


def probe_audio(device: str) -> tuple[bool, str]:
    """(ok, mixer format or error) opening ALSA `device` ("" = default) through SDL."""
    env = {"SDL_AUDIODRIVER": "alsa"}
    if device:
        env["AUDIODEV"] = device
    return _python_probe(_AUDIO_PROBE, env)


class _DrmVersion(ctypes.Structure):
    """struct drm_version of <drm/drm.h> (DRM_IOCTL_VERSION)."""

    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("name_len", ctypes.c_size_t), ("name", ctypes.c_char_p),
                ("date_len", ctypes.c_size_t), ("date", ctypes.c_char_p),
                ("desc_len", ctypes.c_size_t), ("desc", ctypes.c_char_p)]


# _IOWR('d', 0x00, struct drm_version)
_DRM_IOCTL_VERSION = (3 << 30) | (ctypes.sizeof(_DrmVersion) << 16) | (ord("d") << 8)


def drm_driver_names(dev_dir: Path = Path("/dev")) -> list[str]:
    """The kernel driver names of the KMS/DRM devices (/dev/dri/card*), as Mesa's loader asks
    for them (DRM_IOCTL_VERSION): e.g. "vc4", "v3d" on a Pi 4, "vkms" in the lab. Devices that
    cannot be opened are left out."""
    import fcntl
    names = []
    for card in sorted((dev_dir / "dri").glob("card*")):
        try:
            fd = os.open(card, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            version = _DrmVersion()
            fcntl.ioctl(fd, _DRM_IOCTL_VERSION, version)        # the lengths
            name = ctypes.create_string_buffer(version.name_len + 1)
            version = _DrmVersion(name_len=version.name_len,
                                  name=ctypes.cast(name, ctypes.c_char_p))
            fcntl.ioctl(fd, _DRM_IOCTL_VERSION, version)
            names.append(name.value.decode(errors="replace"))
        except OSError:
            continue
        finally:
            os.close(fd)
    return names


@dataclass
class DoctorContext:
    """Everything the checks look at. Defaults are the real system."""

    config: Config
    simulate: bool = False
    dev_dir: Path = Path("/dev")
    boot_configs: tuple[Path, ...] = (Path("/boot/firmware/config.txt"),
                                      Path("/boot/config.txt"))
    i2c_sysfs_dir: Path = Path("/sys/class/i2c-adapter")
    state_dir: Path | None = None
    min_free_mb: float = MIN_FREE_MB
    stream_s: float = 1.0
    run_cmd: Callable[[list[str]], tuple[int, str]] = _run
    display_probe: Callable[[], tuple[bool, str]] = probe_display
    audio_probe: Callable[[str], tuple[bool, str]] = probe_audio
    open_bus: Callable[["DoctorContext"], tuple[I2cBus, Clock]] | None = None
    dri_dirs: tuple[Path, ...] = DRI_DIRS
    drm_drivers: Callable[[Path], list[str]] = drm_driver_names
    #: The Raspberry Pi model string, or None off a Pi (Pi-only checks are then skipped).
    board: str | None = field(default_factory=pi_model)
    service_active: bool = field(default=False, init=False)


# -- I2C configuration ------------------------------------------------------------------------
def _dtparams(text: str) -> dict[str, str]:
    """dtparam values in config.txt lines that apply to a Pi 4/5 (last one wins)."""
    params: dict[str, str] = {}
    section = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        if section not in _APPLIES or not line.startswith("dtparam="):
            continue
        for item in line[len("dtparam="):].split(","):
            key, _, value = item.partition("=")
            params[key.strip()] = value.strip() or "on"
    return params


def _running_baud_hz(ctx: DoctorContext, bus: int) -> int | None:
    """The adapter's clock as the kernel runs it (device-tree clock-frequency, big-endian)."""
    path = ctx.i2c_sysfs_dir / f"i2c-{bus}" / "of_node" / "clock-frequency"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return int.from_bytes(data[:4], "big") if len(data) >= 4 else None


def check_i2c_config(ctx: DoctorContext) -> CheckResult:
    name = "I2C enabled at 400 kHz"
    cfg_path = next((p for p in ctx.boot_configs if p.exists()), None)
    if cfg_path is None:
        return CheckResult(name, FAIL, "no " + " or ".join(map(str, ctx.boot_configs))
                           + " (not Raspberry Pi OS?)", SETUP_FIX)
    params = _dtparams(cfg_path.read_text(errors="replace"))
    if params.get("i2c_arm", params.get("i2c")) != "on":
        return CheckResult(name, FAIL, f"I2C is off in {cfg_path}",
                           "sudo raspi-config nonint do_i2c 0, then reboot")
    baud = params.get("i2c_arm_baudrate")
    if baud != str(I2C_BAUD_HZ):
        shown = f"{baud} Hz" if baud else "not set (100 kHz default)"
        return CheckResult(name, FAIL, f"i2c_arm_baudrate in {cfg_path} is {shown}",
                           f"set dtparam=i2c_arm_baudrate={I2C_BAUD_HZ} in {cfg_path} (or "
                           "sudo ./install.sh), then reboot")
    running = _running_baud_hz(ctx, ctx.config.sensors.bus)
    if running is not None and running != I2C_BAUD_HZ:
        return CheckResult(name, FAIL, f"{cfg_path} says {I2C_BAUD_HZ} Hz but the bus runs "
                           f"at {running} Hz", "reboot to apply config.txt (sudo reboot)")
    running_text = f", running at {running} Hz" if running else ""
    return CheckResult(name, PASS, f"{cfg_path}: i2c_arm=on, {I2C_BAUD_HZ} Hz{running_text}")


def check_i2c_device(ctx: DoctorContext) -> CheckResult:
    bus = ctx.config.sensors.bus
    path = ctx.dev_dir / f"i2c-{bus}"
    name = f"I2C device {path}"
    if not path.exists():
        existing = sorted(p.name for p in ctx.dev_dir.glob("i2c-*"))
        found = f"existing: {', '.join(existing)}" if existing else f"no {ctx.dev_dir}/i2c-*"
        return CheckResult(name, FAIL, f"{path} does not exist ({found})",
                           "sudo raspi-config nonint do_i2c 0 and reboot, or set [sensors] "
                           "bus to an existing bus")
    if not os.access(path, os.R_OK | os.W_OK):
        return CheckResult(name, FAIL, f"{path} is not readable and writable by this user",
                           "sudo usermod -aG i2c $USER, then log out and back in")
    return CheckResult(name, PASS, f"{path} present and accessible")


# -- sensors ----------------------------------------------------------------------------------
def _open_bus(ctx: DoctorContext) -> tuple[I2cBus, Clock]:
    """(bus, clock): the simulated runner on a virtual clock, or the real bus and wall clock."""
    from pi_app.acquisition.setup import open_bus
    from pi_app.clock import ManualClock, WallClock
    if ctx.simulate:
        clock = ManualClock()
        return open_bus(True, ctx.config.sensors.bus, clock=clock), clock
    return open_bus(False, ctx.config.sensors.bus), WallClock()


def check_sensors(ctx: DoctorContext) -> list[CheckResult]:
    """IMUs found (WHO_AM_I) and a short live read; then effective vs configured rate. The
    IMUs are those `pi-app run` reads: the configured addresses, else whatever answers."""
    from pi_app.acquisition.sensor_thread import SensorSpec
    from pi_app.acquisition.setup import open_reader, probe_bus
    from pi_app.errors import PiAppError
    from pi_app.hw.detect import open_imu
    from pi_app.hw.imu import ImuSettings

    imu_name, rate_name = "IMUs (WHO_AM_I and live read)", "sample rate"
    if ctx.service_active and not ctx.simulate:
        why = "the pi-app service owns the I2C bus"
        fix = "sudo systemctl stop pi-app, run pi-app doctor again, then start it"
        return [CheckResult(imu_name, SKIP, why, fix), CheckResult(rate_name, SKIP, why, fix)]
    s = ctx.config.sensors
    settings = ImuSettings(rate_hz=s.rate_hz, acc_range_g=s.acc_range_g,
                           gyro_range_dps=s.gyro_range_dps, dlpf=s.dlpf)
    not_run = CheckResult(rate_name, SKIP, "no IMU streamed", "fix the IMU check first")
    try:
        bus, clock = (ctx.open_bus or _open_bus)(ctx)
    except PiAppError as err:
        return [CheckResult(imu_name, FAIL, str(err), "fix the I2C checks above first"), not_run]
    try:
        if s.pelvis_address:
            specs = [SensorSpec("pelvis", s.pelvis_address, settings),
                     SensorSpec("thorax", s.thorax_address, settings)]
        else:
            specs = probe_bus(bus, s.bus, settings).specs
        found = []
        for spec in specs:
            driver = open_imu(bus, spec.address, bus_number=s.bus, sleep_s=clock.sleep_s)
            found.append(f"{spec.role} {driver.model} at 0x{spec.address:02X} "
                         f"(WHO_AM_I 0x{driver.who_am_i:02X})")
        reader = open_reader(bus, clock, specs, bus_number=s.bus, settings=settings)
        end_s = clock.now_s() + ctx.stream_s
        while clock.now_s() < end_s:
            reader.poll()
            clock.sleep_s(s.drain_interval_s)
        reader.poll()
        health = reader.snapshot()["sensors"]
    except PiAppError as err:
        return [CheckResult(imu_name, FAIL, str(err),
                            "check power, SDA/SCL wiring and the address pins"), not_run]
    finally:
        bus.close()
    where = " (simulated)" if ctx.simulate else ""
    silent = [role for role, h in health.items() if h["samples"] == 0]
    if len(specs) < 2:
        imu = CheckResult(imu_name, FAIL, f"only one IMU{where}: {'; '.join(found)}",
                          "connect the thorax IMU with the other address pin setting "
                          "(AD0/SA0 high)")
    elif silent:
        imu = CheckResult(imu_name, FAIL, f"no samples from {', '.join(silent)}{where} in "
                          f"{ctx.stream_s:g} s", "check that IMU's power and wiring")
    else:
        imu = CheckResult(imu_name, PASS, "; ".join(found) + where)
    return [imu, rate_result(health, s.rate_hz, where) or not_run]


def rate_result(health: dict, requested_hz: float, where: str = "") -> CheckResult | None:
    """The rate check from sensor health dicts (SensorHealth.to_dict()): every streaming
    sensor's fitted rate within RATE_TOLERANCE of the rate its chip was set to, and no FIFO
    overflow. None when no sensor streamed."""
    rates, bad = [], []
    for role, h in health.items():
        if h["samples"] == 0:
            continue
        configured, effective = h["configured_rate_hz"], h["effective_rate_hz"]
        rates.append(f"{role} {effective:.1f} Hz of {configured:g} Hz")
        if configured <= 0 or abs(effective - configured) > RATE_TOLERANCE * configured:
            bad.append(role)
        if h["overflows"]:
            bad.append(f"{role} ({h['overflows']} FIFO overflows)")
    if not rates:
        return None
    detail = ", ".join(rates) + f" (requested {requested_hz:g} Hz){where}"
    if bad:
        return CheckResult("sample rate", FAIL, detail + "; off: " + ", ".join(bad),
                           "check the I2C baud rate (400 kHz) and that nothing else uses "
                           "the bus or the CPU")
    return CheckResult("sample rate", PASS, detail)


# -- display, audio, GPIO ---------------------------------------------------------------------
def check_display(ctx: DoctorContext) -> CheckResult:
    name = "display (KMS/DRM)"
    if not ctx.config.display.enabled:
        return CheckResult(name, SKIP, "[display] enabled = false")
    if ctx.service_active:
        return CheckResult(name, SKIP, "the pi-app service owns the display",
                           "sudo systemctl stop pi-app to test it")
    cards = sorted((ctx.dev_dir / "dri").glob("card*"))
    if not cards:
        return CheckResult(name, FAIL, f"no {ctx.dev_dir}/dri/card* (no KMS driver)",
                           "keep dtoverlay=vc4-kms-v3d in config.txt and reboot")
    if not any(os.access(c, os.R_OK | os.W_OK) for c in cards):
        return CheckResult(name, FAIL, f"{', '.join(map(str, cards))} not accessible",
                           "sudo usermod -aG video,render $USER, then log in again")
    ok, detail = ctx.display_probe()
    # SDL names the driver "KMSDRM"; the names are case-insensitive.
    if not ok or (detail.split() or [""])[0].lower() != "kmsdrm":
        return CheckResult(name, FAIL, f"KMS/DRM did not start: {detail}",
                           "boot to the console so no desktop holds DRM (sudo raspi-config "
                           "nonint do_boot_behaviour B1; reboot)")
    return CheckResult(name, PASS, f"KMS/DRM available and free ({cards[0]}, SDL driver "
                       f"{' and renderer '.join(detail.split())})")


def check_dri_drivers(ctx: DoctorContext) -> CheckResult:
    """The Mesa DRI driver the KMS/DRM device needs, without which SDL cannot open a KMS/DRM
    window: on a Pi (vc4, and v3d for the GPU) vc4_dri.so or v3d_dri.so; for a display-only
    device (vkms, simpledrm) its own or Mesa's software kms_swrast_dri.so. With no device to
    ask, what a Pi needs."""
    name = "Mesa DRI drivers"
    if not ctx.config.display.enabled:
        return CheckResult(name, SKIP, "[display] enabled = false")
    drivers = ctx.drm_drivers(ctx.dev_dir)
    kernel = [k for k in drivers if k not in ("vc4", "v3d")]
    is_pi = not drivers or len(kernel) < len(drivers)
    wanted = (PI_DRI_DRIVERS if is_pi
              else tuple(f"{k}_dri.so" for k in kernel) + (SOFTWARE_DRI_DRIVER,))
    found = [d / f for d in ctx.dri_dirs for f in wanted if (d / f).exists()]
    for_what = "" if is_pi else f" for KMS/DRM driver {', '.join(kernel)}"
    if not found:
        return CheckResult(name, FAIL, f"no {' or '.join(wanted)}{for_what} in "
                           f"{', '.join(map(str, ctx.dri_dirs))}", DRI_FIX)
    software = "" if is_pi or found[0].name != SOFTWARE_DRI_DRIVER else \
        " (software rendering)"
    return CheckResult(name, PASS, ", ".join(map(str, found)) + for_what + software)


def check_audio(ctx: DoctorContext) -> CheckResult:
    name = "audio device"
    audio = ctx.config.audio
    if not audio.enabled:
        return CheckResult(name, SKIP, "[audio] enabled = false")
    if ctx.service_active:
        return CheckResult(name, SKIP, "the pi-app service may hold the audio device",
                           "sudo systemctl stop pi-app to test it")
    device = audio.device or "default"
    if not any((ctx.dev_dir / "snd").glob("pcmC*")):
        return CheckResult(name, FAIL, f"no sound card ({ctx.dev_dir}/snd/pcm*)",
                           "connect HDMI audio, a USB sound card or an I2S DAC (the Pi 5 has "
                           "no 3.5 mm jack), or set [audio] enabled = false")
    ok, detail = ctx.audio_probe(audio.device)
    if not ok:
        return CheckResult(name, FAIL, f"ALSA device {device!r} does not open: {detail}",
                           "list devices with `aplay -l` and set [audio] device (e.g. "
                           "\"hw:1,0\"); add the user to group audio")
    return CheckResult(name, PASS, f"ALSA device {device!r} opens ({detail})")


def check_gpio(ctx: DoctorContext) -> CheckResult:
    name = "GPIO chip"
    if not ctx.config.buzzer.enabled:
        return CheckResult(name, SKIP, "[buzzer] enabled = false")
    chips = sorted(ctx.dev_dir.glob("gpiochip*"))
    if not chips:
        return CheckResult(name, FAIL, f"no {ctx.dev_dir}/gpiochip*",
                           "this is not a Raspberry Pi (or the kernel lacks GPIO); set "
                           "[buzzer] enabled = false to run without the buzzer")
    usable = [c for c in chips if os.access(c, os.R_OK | os.W_OK)]
    if not usable:
        return CheckResult(name, FAIL, f"{', '.join(c.name for c in chips)} not accessible",
                           "sudo usermod -aG gpio $USER, then log out and back in")
    return CheckResult(name, PASS, f"{', '.join(c.name for c in usable)} accessible "
                       f"(buzzer on BCM {ctx.config.buzzer.pin_bcm})")


# -- state and service ------------------------------------------------------------------------
def check_state_dir(ctx: DoctorContext) -> CheckResult:
    from pi_app.paths import state_dir
    path = ctx.state_dir if ctx.state_dir is not None else state_dir()
    name = f"state directory {path}"
    # It may not exist yet (writers create it): then its nearest existing parent must do.
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return CheckResult(name, FAIL, f"{existing} is not writable by this user",
                           f"sudo install -d -o $USER {path} (the service uses "
                           "/var/lib/pi-app), or pass --state-dir")
    free_mb = shutil.disk_usage(existing).free / 1e6
    if free_mb < ctx.min_free_mb:
        return CheckResult(name, FAIL, f"only {free_mb:.0f} MB free (need "
                           f"{ctx.min_free_mb:.0f} MB)",
                           "delete old sessions (pi-app sessions; export them first) or use "
                           "a bigger SD card")
    hours = free_mb / 180.0     # ~180 MB per hour of raw two-IMU samples
    state = "writable" if existing == path else f"will be created (in {existing})"
    return CheckResult(name, PASS, f"{state}, {free_mb / 1000:.1f} GB free "
                       f"(~{hours:.0f} h of sessions)")


def check_service(ctx: DoctorContext) -> CheckResult:
    name = "service pi-app"
    code, out = ctx.run_cmd(["systemctl", "is-active", SERVICE])
    if code == 127:
        return CheckResult(name, SKIP, "systemctl is not available (no systemd)")
    state = out.splitlines()[-1].strip() if out else "unknown"
    ctx.service_active = state == "active"
    if state == "active":
        return CheckResult(name, PASS, "active (running)")
    _, enabled = ctx.run_cmd(["systemctl", "is-enabled", SERVICE])
    enabled = enabled.splitlines()[-1].strip() if enabled else "unknown"
    if enabled in ("not-found", "") or "No such file" in enabled:
        return CheckResult(name, FAIL, "pi-app.service is not installed", SETUP_FIX)
    if state == "failed":
        return CheckResult(name, FAIL, f"failed ({enabled})",
                           "see why: journalctl -u pi-app -e; then sudo systemctl restart "
                           "pi-app")
    return CheckResult(name, FAIL, f"{state} ({enabled})",
                       "sudo systemctl enable --now pi-app")


def run_checks(ctx: DoctorContext) -> list[CheckResult]:
    """Every check in display order. The service is asked first: while it runs it owns the
    bus, display and audio, and probing them would disturb a live session."""
    service = check_service(ctx)
    results = [check_i2c_config(ctx), check_i2c_device(ctx)]
    results += check_sensors(ctx)
    results += [check_display(ctx), check_dri_drivers(ctx), check_audio(ctx), check_gpio(ctx),
                check_state_dir(ctx), service]
    if ctx.board is None:
        results = [_off_a_pi(r, ctx) for r in results]
    return results


def _pi_only(name: str, ctx: DoctorContext) -> bool:
    if name in ("sample rate", "IMUs (WHO_AM_I and live read)"):
        return not ctx.simulate  # the simulated bus runs anywhere
    return name.startswith(("I2C ", "display", "Mesa DRI", "GPIO", "service"))


def _off_a_pi(r: CheckResult, ctx: DoctorContext) -> CheckResult:
    """A failed Pi-only check on a machine that is not a Pi: expected, so skipped and said."""
    if r.status != FAIL or not _pi_only(r.name, ctx):
        return r
    return CheckResult(r.name, SKIP, f"not a Raspberry Pi, expected here: {r.detail}", r.fix)

def all_passed(results: list[CheckResult]) -> bool:
    """True when no check failed (skipped checks do not fail the doctor)."""
    return all(r.status != FAIL for r in results)


def to_json(results: list[CheckResult]) -> dict:
    return {"ok": all_passed(results), "checks": [asdict(r) for r in results]}


def format_text(results: list[CheckResult]) -> str:
    mark = {PASS: "ok  ", FAIL: "FAIL", SKIP: "skip"}
    lines = []
    for r in results:
        lines.append(f"[{mark[r.status]}] {r.name}: {r.detail}")
        if r.status != PASS and r.fix:
            lines.append(f"       fix: {r.fix}")
    failed = sum(r.status == FAIL for r in results)
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    if any(r.detail.startswith("not a Raspberry Pi") for r in results):
        lines.append("this machine is not a Raspberry Pi (no Pi model in the device tree): the "
                     "checks marked 'not a Raspberry Pi' only pass on the Pi itself")
    return "\n".join(lines)
