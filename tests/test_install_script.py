"""install.sh: the system install into a staging root (--root), --dry-run, idempotence,
--uninstall/--purge, and shellcheck. Nothing here touches the real system."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "install.sh"
STOCK_CONFIG_TXT = ("# For more options see config.txt(5)\n#dtparam=i2c_arm=on\n#dtparam=spi=on\n"
                    "dtparam=audio=on\n[cm4]\notg_mode=1\n[all]\n")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not available")


def install(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=120, cwd=REPO, env=dict(os.environ, **(env or {})))
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
    for action in ("edit /boot/firmware/config.txt", "apt-get install", "libgl1-mesa-dri",
                   "useradd --system",
                   "/etc/pi-app/config.toml", "/etc/systemd/system/pi-app.service",
                   "systemctl enable pi-app.service", "dry run: nothing was changed",
                   "reboot needed: yes"):
        assert action in out, action
    assert "python3-pip" not in out     # a venv brings its own pip


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


def boot(tmp_path, boot_id: str) -> dict:
    """The environment of a boot with this id (install.sh reads PI_APP_BOOT_ID_FILE)."""
    path = tmp_path / f"boot_id-{boot_id}"
    path.write_text(boot_id + "\n")
    return {"PI_APP_BOOT_ID_FILE": str(path)}


def test_second_run_is_a_no_op(stage, tmp_path):
    first_boot = boot(tmp_path, "1111")
    install("--system", "--root", str(stage), env=first_boot)
    before = tree(stage)
    out = install("--system", "--root", str(stage), env=first_boot).stdout
    assert tree(stage) == before
    # Nothing left to do, but config.txt's change still waits for the reboot.
    assert "nothing to do" in out and "reboot needed: yes (config.txt was changed" in out
    out = install("--system", "--root", str(stage), env=boot(tmp_path, "2222")).stdout
    assert "nothing to do" in out and "reboot needed: no" in out
    assert not (stage / "opt/pi-app/.reboot-pending").exists()


def test_reboot_flag_survives_a_failed_first_run(stage, tmp_path):
    this_boot = boot(tmp_path, "1111")
    (stage / "etc").mkdir()
    (stage / "etc/pi-app").write_text("in the way")      # makes the run fail after config.txt
    r = install("--system", "--root", str(stage), check=False, env=this_boot)
    assert r.returncode != 0
    assert "i2c_arm_baudrate=400000" in (stage / "boot/firmware/config.txt").read_text()
    (stage / "etc/pi-app").unlink()
    out = install("--system", "--root", str(stage), env=this_boot).stdout
    assert "reboot needed: yes" in out


def source_and_run(script: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run bash `script` after sourcing install.sh (which then only defines its functions)."""
    # Never source a script that would run its install when sourced (as root: on this machine).
    assert 'if [ "${BASH_SOURCE[0]}" = "$0" ]; then\n    main "$@"' in SCRIPT.read_text()
    return subprocess.run(["bash", "-c", f"source {SCRIPT}\n{script}"], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=dict(os.environ, **(env or {})))


def test_config_txt_is_backed_up_before_raspi_config_edits_it(stage, tmp_path):
    cfg = stage / "boot/firmware/config.txt"
    # raspi-config's do_i2c uncomments dtparam=i2c_arm=on in config.txt itself.
    r = source_and_run(f"""
        t() {{ echo "{stage}$1"; }}
        raspi-config() {{ sed -i 's/^#dtparam=i2c_arm=on/dtparam=i2c_arm=on/' {cfg}; }}
        setup_i2c
        printf '%s\\n' "${{notes[@]}}"
    """, env=boot(tmp_path, "1111"))
    assert r.returncode == 0, r.stderr
    assert (stage / "boot/firmware/config.txt.pi-app.bak").read_text() == STOCK_CONFIG_TXT
    assert "dtparam=i2c_arm_baudrate=400000" in cfg.read_text()
    assert (stage / "opt/pi-app/.reboot-pending").read_text().strip() == "1111"


def test_32_bit_arm_is_told_to_use_the_64_bit_os(stage):
    for args in (("--dev", "--dry-run"), ("--system", "--dry-run")):
        r = install(*args, check=False, env={"PI_APP_TEST_UNAME_M": "armv7l",
                                             "PI_APP_BOARD_MODEL_FILE": "/nonexistent"})
        assert r.returncode == 1 and r.stdout == "", r.stdout
        assert "32-bit system (armv7l)" in r.stderr and "64-bit Raspberry Pi OS" in r.stderr
        assert r.stderr.count("\n") == 1


def test_not_a_pi_stops_the_system_install(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"QEMU Virtual Machine\0")
    for env in ({"PI_APP_BOARD_MODEL_FILE": str(model)},
                {"PI_APP_BOARD_MODEL_FILE": str(tmp_path / "missing")}):
        r = install("--system", "--dry-run", check=False, env=env)
        assert r.returncode == 1 and r.stdout == ""
        assert "not a Raspberry Pi" in r.stderr and "--dev" in r.stderr and "--root DIR" in r.stderr


def test_dry_run_summary_never_reads_as_done(stage):
    install("--system", "--root", str(stage))          # so the uninstall has work to plan
    fresh = stage.parent / "fresh"
    (fresh / "boot/firmware").mkdir(parents=True)
    (fresh / "boot/firmware/config.txt").write_text(STOCK_CONFIG_TXT)
    for args in (("--system", "--root", str(fresh)), ("--uninstall", "--root", str(stage)),
                 ("--uninstall", "--purge", "--root", str(stage))):
        out = install(*args, "--dry-run").stdout
        summary = out[out.index("install.sh: summary"):]
        assert "dry run: nothing was changed" in summary and "would be" in summary
        assert "installed" not in summary, summary
        assert all("would be" in line for line in summary.splitlines() if "removed" in line)


def test_uninstall_dry_run_names_no_backup_that_does_not_exist(stage):
    out = install("--uninstall", "--root", str(stage), "--dry-run").stdout
    assert ".pi-app.bak" not in out
    install("--system", "--root", str(stage))
    out = install("--uninstall", "--root", str(stage), "--dry-run").stdout
    assert "config.txt.pi-app.bak" in out and "would be removed" in out


def test_app_is_built_from_a_copy_not_in_the_checkout(tmp_path):
    """pip builds a directory in place; a root install must leave no build/ or egg-info in
    the checkout (a later ./install.sh --dev as a user could not write them)."""
    r = source_and_run(f"""
        run() {{
            local target="${{!#}}" copy
            copy="${{target%%\\[*}}"
            echo "pip target: $target"
            ls "$copy"
        }}
        pip_install_copy /venv/bin/python pi,report --upgrade
        echo "left: $(ls -d "${{TMPDIR}}"/pi-app-source.* 2>/dev/null | wc -l)"
    """, env={"TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    target = next(l for l in r.stdout.splitlines() if l.startswith("pip target:")).split()[-1]
    assert target.startswith(str(tmp_path)) and target.endswith("[pi,report]")
    assert not target.startswith(str(REPO))
    assert {"pyproject.toml", "README.md", "pi_app"} <= set(r.stdout.split())
    assert "left: 0" in r.stdout                          # the copy is removed afterwards


def test_offline_systemd_says_what_is_known(tmp_path):
    """In a chroot or image build systemd is not running: no claim that a desktop owns the
    screen, and no systemctl call that needs a running systemd."""
    base = """
        root=""
        sd_booted() { return 1; }
        run() { echo "+ $*"; }
    """
    for enabled, words in ((1, "was not checked"), (0, "a desktop is enabled to start at boot")):
        r = source_and_run(base + f"""
            systemctl() {{ echo "systemctl $*" >&2; return {enabled}; }}
            start_service
            printf 'NOTE %s\\n' "${{notes[@]}}"
        """)
        assert r.returncode == 0, r.stderr
        assert words in r.stdout and "owns the screen" not in r.stdout
        assert "restart" not in r.stdout and "is-active" not in r.stderr


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
