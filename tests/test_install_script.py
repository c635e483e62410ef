"""install.sh: the system install into a staging root (--root), --dry-run, idempotence,
--uninstall/--purge, and shellcheck. Nothing here touches the real system."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "install.sh"
STOCK_CONFIG_TXT = ("# For more options see config.txt(5)\n#dtparam=i2c_arm=on\n#dtparam=spi=on\n"
                    "dtparam=audio=on\n[cm4]\notg_mode=1\n[all]\n")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not available")


def install(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=120, cwd=REPO)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def tree(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = f"-> {p.readlink()}" if p.is_symlink() else (
            p.read_bytes() if p.is_file() else "dir")
    return out


@pytest.fixture
def stage(tmp_path):
    root = tmp_path / "stage"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text(STOCK_CONFIG_TXT)
    return root


def test_dry_run_prints_every_action_and_changes_nothing(stage):
    before = tree(stage)
    out = install("--system", "--root", str(stage), "--dry-run").stdout
    assert tree(stage) == before
    for action in ("edit /boot/firmware/config.txt", "apt-get install", "useradd --system",
                   "/etc/pi-app/config.toml", "/etc/systemd/system/pi-app.service",
                   "systemctl enable pi-app.service", "dry run: nothing was changed",
                   "reboot needed: yes"):
        assert action in out, action


def test_system_install_into_a_staging_root(stage):
    out = install("--system", "--root", str(stage)).stdout
    cfg = (stage / "boot/firmware/config.txt").read_text()
    lines = [l.strip() for l in cfg.splitlines()]
    assert "dtparam=i2c_arm=on" in lines and "#dtparam=i2c_arm=on" not in lines
    # The baud rate goes under [all], never inside the [cm4] filter.
    assert lines.index("dtparam=i2c_arm_baudrate=400000") > max(
        i for i, l in enumerate(lines) if l == "[all]")
    assert (stage / "boot/firmware/config.txt.pi-app.bak").read_text() == STOCK_CONFIG_TXT
    unit = stage / "etc/systemd/system/pi-app.service"
    assert unit.read_bytes() == (REPO / "systemd/pi-app.service").read_bytes()
    link = stage / "etc/systemd/system/multi-user.target.wants/pi-app.service"
    assert link.is_symlink() and str(link.readlink()) == "/etc/systemd/system/pi-app.service"
    installed_cfg = stage / "etc/pi-app/config.toml"
    assert installed_cfg.read_bytes() == (REPO / "config/pi-app.example.toml").read_bytes()
    from pi_app.config import load_config
    assert load_config(installed_cfg).sensors.rate_hz > 0
    assert (stage / "opt/pi-app/README.md").exists()
    for skipped in ("apt-get install", "useradd", "systemctl", "pip install"):
        assert any(l.startswith("- skipped (staging root):") and skipped in l
                   for l in out.splitlines()), skipped
    assert "reboot needed: yes" in out


def test_second_run_is_a_no_op(stage):
    install("--system", "--root", str(stage))
    before = tree(stage)
    out = install("--system", "--root", str(stage)).stdout
    assert tree(stage) == before
    assert "nothing to do" in out and "reboot needed: no" in out


def test_edited_config_and_existing_baud_rate(stage):
    (stage / "boot/firmware/config.txt").write_text(
        "dtparam=i2c_arm=off\ndtparam=i2c_arm_baudrate=100000\n")
    (stage / "etc/pi-app").mkdir(parents=True)
    (stage / "etc/pi-app/config.toml").write_text("[sensors]\nbus = 3\n")
    out = install("--system", "--root", str(stage)).stdout
    assert (stage / "boot/firmware/config.txt").read_text() == (
        "dtparam=i2c_arm=on\ndtparam=i2c_arm_baudrate=400000\n")
    assert (stage / "etc/pi-app/config.toml").read_text() == "[sensors]\nbus = 3\n"
    assert "exists (kept" in out


def test_legacy_boot_config_location(tmp_path):
    root = tmp_path / "old"
    (root / "boot").mkdir(parents=True)
    (root / "boot/config.txt").write_text("dtparam=i2c_arm=on\n")
    install("--system", "--root", str(root))
    assert "dtparam=i2c_arm_baudrate=400000" in (root / "boot/config.txt").read_text()


def test_uninstall_keeps_sessions_unless_purge(stage):
    install("--system", "--root", str(stage))
    sessions = stage / "var/lib/pi-app/sessions.sqlite"
    sessions.parent.mkdir(parents=True)
    sessions.write_bytes(b"data")
    out = install("--uninstall", "--root", str(stage)).stdout
    assert not (stage / "etc/systemd/system/pi-app.service").exists()
    assert not (stage / "etc/systemd/system/multi-user.target.wants/pi-app.service").is_symlink()
    assert not (stage / "opt/pi-app").exists() and not (stage / "etc/pi-app").exists()
    assert sessions.read_bytes() == b"data" and "sessions: kept" in out
    out = install("--uninstall", "--purge", "--root", str(stage)).stdout
    assert not sessions.parent.exists() and "userdel pi-app" in out


def test_uninstall_keeps_an_edited_config(stage):
    install("--system", "--root", str(stage))
    (stage / "etc/pi-app/config.toml").write_text("[cues]\nmode = \"off\"\n")
    out = install("--uninstall", "--root", str(stage)).stdout
    assert (stage / "etc/pi-app/config.toml").exists() and "kept (you edited it" in out


def test_bad_arguments_are_one_sentence(tmp_path):
    r = install("--system", "--root", str(tmp_path / "missing"), check=False)
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = install("--dev", "--uninstall", check=False)
    assert r.returncode == 2 and "system install" in r.stderr
    r = install("--bogus", check=False)
    assert r.returncode == 2 and "unknown option" in r.stderr


def test_dev_dry_run_still_works():
    out = install("--dev", "--dry-run").stdout
    assert ".venv" in out


def test_shellcheck_clean():
    tool = shutil.which("shellcheck")
    if tool is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    result = subprocess.run([tool, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
