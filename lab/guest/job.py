"""The lab job inside the guest (root, the guest's system Python, stdlib only). Run at each
boot by lab-job.service through job-boot.sh; its phase lives on the guest's disk:

  install  (first boot)  the real `sudo ./install.sh` as the user pi, the operator's config
                          edit, then the reboot the installer asks for (exit 100)
  service  (next boot)   the installed pi-app.service at boot: READY, watchdog, dashboard on
                          the KMS device, a drift cue heard on the loopback and seen on the
                          buzzer's GPIO line, SIGKILL recovery, `systemd-analyze security`,
                          `pi-app doctor`, i2c-stub probes, faults through the devices,
                          uninstall

Everything it measures goes to /lab/out/results.json ({"checks": {name: {"ok": ..., numbers}},
"times": {...}}) and the evidence (recording, screenshots, GPIO edges, journal) to /lab/out.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import analysis  # noqa: E402  (beside this file; the guest has no pi_app outside the venv)

SHARE = Path("/lab")
OUT = SHARE / "out"
GUEST = SHARE / "guest"
STATE = Path("/var/lib/pi-lab")
CHECKOUT = Path("/home/pi/pi-app")
VENV_PY = "/opt/pi-app/venv/bin/python"
PI_APP = "/opt/pi-app/venv/bin/pi-app"
UNIT = "pi-app.service"
DB = Path("/var/lib/pi-app/sessions.db")
# What a Pi 4 Model B 4GB's device tree says (/proc/device-tree/system/linux,revision); an
# x86 guest has no device tree, so rpi-lgpio reads its documented override instead.
PI4_REVISION = "c03111"
WATCHDOG_S = 60.0
# The installed unit's WatchdogSec and the lab's allowance: the app pings every half of it,
# so under the allowance a ping is due every 30 s; a gap past that (plus TCG slack) or a STATUS
# naming a stalled thread the watchdog requires (sensor reading, analysis) is a hang the
# installed unit would have killed. A stalled "ui" (no frame for 1 s) is not: the watchdog
# does not require it, and in the lab Mesa rasterises every frame on the emulated CPU; it is
# counted and reported.
UNIT_WATCHDOG_S = 10.0
LAB_WATCHDOG_S = 60.0
PING_GAP_LIMIT_S = LAB_WATCHDOG_S / 2 + 5.0
# Under TCG the guest runs 10-20x slower than native: bounds here are loose on purpose and
# the numbers are reported either way (the design goal for sound is 50 ms).
CUE_SOUND_GOAL_MS = 50.0
CUE_SOUND_BOUND_MS = 400.0
GPIO_FIRST_BOUND_MS = 400.0
GPIO_RHYTHM_BOUND_MS = 40.0
CUE_WAIT_S = 600.0


def uptime_s() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def log(msg: str) -> None:
    line = f"[{uptime_s():8.1f}] {msg}"
    print(line, flush=True)
    try:
        with open("/dev/console", "w") as c:
            c.write("lab: " + line + "\n")
    except OSError:
        pass


def sh(cmd, timeout: float = 120.0, cwd=None, env_add=None, input_text=None,
       stream: Path | None = None) -> tuple[int, str]:
    """(exit code, stdout+stderr) of `cmd`; with `stream`, the output also goes to that file
    as it comes (long steps can be followed from the host)."""
    env = dict(os.environ, **(env_add or {}))
    if stream is not None:
        with open(stream, "w") as f:
            p = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, stdout=f,
                                 stderr=subprocess.STDOUT)
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = 124
        return rc, stream.read_text()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, input=input_text, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           shell=isinstance(cmd, str))
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out + f"\n(timed out after {timeout:g} s)"


def prop(name: str, unit: str = UNIT) -> str:
    return sh(["systemctl", "show", "-p", name, "--value", unit])[1].strip()


def mono_prop_s(name: str) -> float | None:
    v = prop(name)
    return int(v) / 1e6 if v.isdigit() and int(v) > 0 else None


def devices() -> dict:
    env = {}
    for line in Path("/run/pi-lab/devices.env").read_text().splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


class Results:
    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {"checks": {}, "times": {}}

    def check(self, name: str, ok: bool, **numbers) -> None:
        self.data["checks"][name] = dict(ok=bool(ok), **numbers)
        self.save()
        log(f"check {name}: {'PASS' if ok else 'FAIL'} {json.dumps(numbers)[:400]}")

    def time(self, name: str, seconds: float) -> None:
        self.data["times"][name] = round(seconds, 1)
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)


def wait_for(pred, timeout_s: float, every_s: float = 1.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every_s)
    return pred()


def journal_since(t_realtime_s: float) -> str:
    return sh(["journalctl", "-u", UNIT, "--no-pager", "-o", "short-monotonic",
               "--since", f"@{t_realtime_s:.0f}"])[1]


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


# -- phase 1: install --------------------------------------------------------------------------
def phase_install(res: Results) -> int:
    res.time("boot1_to_job_s", uptime_s())
    dev = devices()
    log(f"devices: {dev}")
    if CHECKOUT.exists():
        shutil.rmtree(CHECKOUT)
    shutil.copytree(SHARE / "repo", CHECKOUT, symlinks=True)
    sh(["chown", "-R", "pi:pi", str(CHECKOUT)])
    # The lab's hardware identity for the service (what a Pi's device tree gives it).
    lab_env = json.loads((SHARE / "lab-env.json").read_text())
    dropin = Path("/etc/systemd/system/pi-app.service.d/lab.conf")
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text("# pi-app lab: the guest's virtual hardware comes up in lab-devices.service,\n"
                      "# and rpi-lgpio reads the board revision a Pi's device tree would give.\n"
                      "[Unit]\nAfter=lab-devices.service\n\n"
                      "# Under TCG importing numpy/scipy/pygame alone takes ~50 s: the unit's\n"
                      "# 60 s start timeout is for a Pi. The watchdog gets room too, so a slow\n"
                      "# guest is not killed before the other checks run (ready_and_watchdog\n"
                      "# still fails on a skipped ping or a stalled thread).\n"
                      f"[Service]\nTimeoutStartSec=240\nWatchdogSec={LAB_WATCHDOG_S:g}s\n"
                      f"Environment=RPI_LGPIO_REVISION={PI4_REVISION}\n"

                      + "".join(f"Environment={k}={v}\n"
                                for k, v in lab_env.get("install_env", {}).items()))
    sudo_env = [f"{k}={v}" for k, v in lab_env.get("install_env", {}).items()]
    log("sudo ./install.sh as user pi")
    t0 = time.monotonic()
    rc, out = sh(["runuser", "-u", "pi", "--", "sudo", *sudo_env, "./install.sh"],
                 cwd=CHECKOUT, timeout=2400, stream=OUT / "install.log")
    install_s = time.monotonic() - t0
    reboot = "reboot needed: yes" in out
    res.time("install_s", install_s)
    res.check("install", rc == 0 and not has_traceback(out), exit_code=rc,
              seconds=round(install_s, 1), reboot_needed=reboot,
              tail=out.strip().splitlines()[-6:])
    if rc != 0:
        return 1
    t0 = time.monotonic()
    rc2, out2 = sh(["runuser", "-u", "pi", "--", "sudo", *sudo_env, "./install.sh"],
                   cwd=CHECKOUT, timeout=600, stream=OUT / "install-again.log")
    # Before the reboot a second run changes nothing but still says the reboot is due.
    res.check("install_idempotent", rc2 == 0 and "is up to date" in out2
              and "reboot needed: yes" in out2 and "app: installed" not in out2,
              seconds=round(time.monotonic() - t0, 1), exit_code=rc2,
              tail=out2.strip().splitlines()[-3:])
    # The operator's edit of /etc/pi-app/config.toml.
    cfg = (GUEST / "pi-app-lab.toml").read_text().replace("@I2C_BUS@", dev["I2C_STUB_BUS"])
    Path("/etc/pi-app/config.toml").write_text(cfg)
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "phase").write_text("service")
    if reboot:
        log("rebooting as the installer asks")
        return 100
    log("no reboot asked: restarting the service")
    sh(["systemctl", "restart", "--no-block", UNIT])
    return phase_service(res, rebooted=False)


# -- phase 2: the service ----------------------------------------------------------------------
def wait_active(timeout_s: float) -> bool:
    def state():
        s = prop("ActiveState")
        return s if s in ("active", "failed") else None
    return wait_for(state, timeout_s, 0.5) == "active"


def grab(name: str) -> dict:
    rc, out = sh([sys.executable, str(GUEST / "drmgrab.py"), "/dev/dri/card0",
                  str(OUT / name)], timeout=120)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": out[-300:]}


def plane_fb_ids(samples: int = 20, every_s: float = 0.1) -> list[int]:
    """The primary plane's framebuffer id as the DRM core reports it, sampled: a dashboard
    that presents frames flips between its buffers."""
    state = Path("/sys/kernel/debug/dri/0/state")
    if not state.exists():
        sh(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"])
    ids = []
    for _ in range(samples):
        text = state.read_text()
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("fb=") and line != "fb=0":
                ids.append(int(line[3:]))
                break
        time.sleep(every_s)
    return ids


def db_query(sql: str, args=()) -> list:
    conn = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def first_cue() -> tuple | None:
    if not DB.exists():
        return None
    try:
        rows = db_query("SELECT t_s, kind, latency_ms FROM cues WHERE played = 1 "
                        "ORDER BY t_s LIMIT 1")
    except sqlite3.Error:
        return None
    return rows[0] if rows else None


def phase_service(res: Results, rebooted: bool = True) -> int:
    t_phase = time.monotonic()
    if rebooted:
        res.time("boot2_to_job_s", uptime_s())
    dev = devices()
    stop = Path("/run/pi-lab/stop-recording")
    stop.unlink(missing_ok=True)
    # The app plays into hw:Loopback,0,0 (the guest's ALSA default); its capture twin is
    # hw:Loopback,1,0, opened at the parameters the playback runs at.
    rec = subprocess.Popen([sys.executable, str(GUEST / "arec.py"), "hw:Loopback,1,0",
                            str(OUT / "cue.wav"), str(stop),
                            "/proc/asound/Loopback/pcm0p/sub0/hw_params"],
                           stdout=open(OUT / "arec.log", "w"), stderr=subprocess.STDOUT)
    gpio_value = f"{dev['GPIO_SIM_DIR']}/sim_gpio18/value"
    # Every 5 ms: finer polling takes CPU the app needs under TCG, and the bounds are 40 ms.
    watch = subprocess.Popen([sys.executable, str(GUEST / "gpiowatch.py"), gpio_value,
                              str(OUT / "gpio18.jsonl"), str(stop), "0.005"])

    # READY (Type=notify: active only after READY=1) and the watchdog for a minute.
    ready = wait_active(240)
    start = mono_prop_s("ExecMainStartTimestampMonotonic")
    active = mono_prop_s("ActiveEnterTimestampMonotonic")
    ready_s = round(active - start, 2) if ready and start and active else None
    stamps, states, statuses = [], [], []
    t_ready = time.monotonic()
    restarts0 = prop("NRestarts")
    shot1 = {}
    while ready and time.monotonic() - t_ready < WATCHDOG_S:
        w = mono_prop_s("WatchdogTimestampMonotonic")
        if w is not None and (not stamps or w != stamps[-1]):
            stamps.append(w)
        states.append(prop("ActiveState"))
        status = prop("StatusText")
        if status and status not in statuses:
            statuses.append(status)
        if not shot1 and time.monotonic() - t_ready > 5:
            shot1 = grab("kms-1.png")
        time.sleep(2.0)
    t_end = time.monotonic()
    (OUT / "journal-first-minute.txt").write_text(journal_since(0))
    gap = analysis.largest_gap_s(stamps, t_ready, t_end) if stamps else None
    stalled = [st for st in statuses if "stalled" in st]
    hung = sorted({name for st in stalled for name in analysis.stalled_names(st)} - {"ui"})
    ui_stalled = [st for st in stalled if "ui" in analysis.stalled_names(st)]
    wd_ok = (ready and bool(stamps) and gap is not None and gap < PING_GAP_LIMIT_S
             and not hung
             and all(s == "active" for s in states) and prop("NRestarts") == restarts0)
    res.check("ready_and_watchdog", wd_ok, ready=ready, ready_after_start_s=ready_s,
              watched_s=round(t_end - t_ready, 1), watchdog_pings_seen=len(stamps),
              largest_ping_gap_s=None if gap is None else round(gap, 2),
              restarts=prop("NRestarts"), unit_watchdog_s=UNIT_WATCHDOG_S,
              lab_watchdog_allowance_s=LAB_WATCHDOG_S, ping_gap_limit_s=PING_GAP_LIMIT_S,
              stalled_required_threads=hung, statuses_with_ui_stalled=len(ui_stalled),
              stalled_statuses=stalled[:3], statuses_seen=statuses[-4:])

    # The dashboard on the KMS/DRM device.
    ids = plane_fb_ids()
    shot2 = grab("kms-2.png")
    display_ok = (shot1.get("ok") and shot2.get("ok") and shot1.get("distinct_colours", 0) > 4
                  and len(set(ids)) >= 2 and shot1.get("crc32") != shot2.get("crc32"))
    res.check("display_kms", bool(display_ok), screenshot_1=shot1, screenshot_2=shot2,
              plane_fb_ids_seen=sorted(set(ids)), fb_samples=len(ids),
              driver_line=next((l for l in journal_since(0).splitlines() if "KMSDRM" in l
                                or "kmsdrm" in l), ""))

    # A drift cue: decided (session database), heard (loopback), felt (GPIO line).
    log("waiting for the drift cue")
    cue = wait_for(first_cue, CUE_WAIT_S, 5.0) if ready else "not ready"
    if cue and cue != "not ready":
        time.sleep(4.0)
        res.data["cue_screenshot"] = grab("kms-cue.png")
    stop.touch()
    for p in (rec, watch):
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()

    # One failing step must not hide the others.
    for step in (lambda r: check_cue(r, cue), check_realtime, check_kill, check_security, check_doctor, lambda r: check_i2c_stub(r, dev),
                 lambda r: check_faults(r, dev), check_install_after_reboot, check_uninstall):
        try:
            step(res)
        except Exception:
            res.data.setdefault("errors", []).append(traceback.format_exc())
            res.save()
            log("step failed:\n" + traceback.format_exc())
    (OUT / "journal-pi-app.txt").write_text(journal_since(0))
    res.time("service_phase_s", time.monotonic() - t_phase)
    return 0


def check_cue(res: Results, cue) -> None:
    if not cue or cue == "not ready":
        why = ("the service never became ready" if cue else
               f"no cue decided within {CUE_WAIT_S:g} s of READY")
        res.check("cue_sound", False, error=why)
        res.check("cue_gpio", False, error=why)
        return
    cue_t, kind, latency_ms = cue
    if not (OUT / "cue.wav.json").exists():
        res.check("cue_sound", False, cue_kind=kind, cue_t_s=round(cue_t, 4),
                  error="no loopback recording: " + (OUT / "arec.log").read_text()[-300:])
        meta = None
    else:
        meta = json.loads((OUT / "cue.wav.json").read_text())
    # The event log's t_s is the sample that closed the stride; latency_ms runs from there
    # to the sound's start as the app states it (hand-off to SDL plus the mixer buffer). The
    # decision is the hand-off, the same moment for the buzzer.
    decision_t = cue_t + ((latency_ms or 0.0) - audio_buffer_ms()) / 1000.0
    if meta is not None:
        check_cue_sound(res, cue_t, decision_t, kind, latency_ms, meta)
    check_cue_gpio(res, cue_t, decision_t, kind)


def audio_buffer_ms() -> float:
    """The installed app's mixer buffer (ms) under the lab config: the part of the cue's
    stated latency that comes after the app hands the cue to SDL."""
    rc, out = sh([VENV_PY, "-c", "from pi_app.config import load_config; "
                  "from pi_app.cues.audio import DEFAULT_RATE_HZ as r; "
                  "c = load_config('/etc/pi-app/config.toml'); "
                  "print(1000.0 * c.audio.buffer_frames / r)"])
    return float(out.strip().splitlines()[-1]) if rc == 0 else 0.0


def check_cue_sound(res: Results, cue_t: float, decision_t: float, kind: str, latency_ms,
                    meta: dict) -> None:
    """The goal: the sound within 50 ms of the decision."""
    rate, samples = analysis.read_wav_channel0(str(OUT / "cue.wav"))
    onsets = analysis.find_onsets(samples, rate)
    onset_t = [analysis.frame_time_s(f, meta["segments"], rate) for f in onsets]
    onset_t = [t for t in onset_t if t is not None]
    buffer_ms = audio_buffer_ms()
    heard = analysis.first_after(onset_t, decision_t, window_s=2.0, early_s=0.05)
    sound_ms = None if heard is None else round((heard - decision_t) * 1000.0, 1)
    res.check("cue_sound", sound_ms is not None and -5.0 <= sound_ms <= CUE_SOUND_BOUND_MS,
              cue_kind=kind, closing_sample_t_s=round(cue_t, 4),
              decision_after_closing_sample_ms=round((decision_t - cue_t) * 1000.0, 1),
              stated_latency_ms=latency_ms, mixer_buffer_ms=round(buffer_ms, 1),
              onset_after_decision_ms=sound_ms,
              onset_after_closing_sample_ms=None if heard is None
              else round((heard - cue_t) * 1000.0, 1),
              goal_ms=CUE_SOUND_GOAL_MS,
              meets_goal=sound_ms is not None and sound_ms <= CUE_SOUND_GOAL_MS,
              bound_under_tcg_ms=CUE_SOUND_BOUND_MS, onsets_in_recording=len(onset_t),
              recorded_s=round(meta["frames"] / rate, 1), xruns=meta["xruns"])
    sh([VENV_PY, str(GUEST / "plot_cue.py"), str(OUT / "cue.wav"), str(decision_t),
        "" if heard is None else str(heard), str(OUT / "cue-waveform.png")], timeout=300)


def check_cue_gpio(res: Results, cue_t: float, decision_t: float, kind: str) -> None:
    rc, out = sh([VENV_PY, "-c", "import json,sys; from pi_app.cues.patterns import PATTERNS; "
                  "print(json.dumps(PATTERNS[sys.argv[1]].rhythm_ms()))", kind])
    rhythm = json.loads(out.strip().splitlines()[-1]) if rc == 0 else []
    edges = analysis.read_edges(str(OUT / "gpio18.jsonl"))
    # The decision time is the audio hand-off, which comes just after the buzzer's.
    timing = analysis.pattern_timing(analysis.pulses(edges), decision_t, rhythm, early_s=0.05)
    res.check("cue_gpio", timing["max_error_ms"] is not None
              and timing["first_delay_ms"] <= GPIO_FIRST_BOUND_MS
              and timing["max_error_ms"] <= GPIO_RHYTHM_BOUND_MS,
              pattern_ms=rhythm, **timing, edges_logged=len(edges),
              decision_after_closing_sample_ms=round((decision_t - cue_t) * 1000.0, 1),
              bounds_under_tcg_ms={"first": GPIO_FIRST_BOUND_MS, "rhythm": GPIO_RHYTHM_BOUND_MS})


def check_kill(res: Results) -> None:
    pid = prop("MainPID")
    if not pid.isdigit() or int(pid) <= 1:
        # `kill -KILL 0` would hit the job's own process group.
        res.check("sigkill_restart", False, error=f"no main process to kill (MainPID {pid!r}, "
                  f"state {prop('ActiveState')})")
        return
    n0 = int(prop("NRestarts") or 0)
    sessions0 = db_query("SELECT id, n_samples FROM sessions ORDER BY id") if DB.exists() else []
    t0 = time.monotonic()
    sh(["kill", "-KILL", pid])
    back = wait_for(lambda: int(prop("NRestarts") or 0) > n0 and prop("ActiveState") == "active",
                    180, 0.5)
    restart_s = time.monotonic() - t0
    integrity = sh(["sqlite3", str(DB), "PRAGMA integrity_check;"])[1].strip()
    sessions1 = db_query("SELECT id, n_samples, end_reason FROM sessions ORDER BY id")
    killed = [s for s in sessions1 if sessions0 and s[0] == sessions0[-1][0]]
    res.check("sigkill_restart", bool(back) and integrity == "ok" and bool(killed)
              and killed[0][1] > 0 and len(sessions1) == len(sessions0) + 1,
              killed_pid=pid, active_again_after_s=round(restart_s, 1),
              restarts=prop("NRestarts"), integrity_check=integrity,
              killed_session=killed[0] if killed else None, sessions_before=len(sessions0),
              sessions_after=len(sessions1))


def check_realtime(res: Results) -> None:
    """The unit grants the acquisition process (the main process's child) SCHED_FIFO 50."""
    pid = prop("MainPID")
    kids = []
    if pid.isdigit() and int(pid) > 1:
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            kids += task.read_text().split()
    policies = {}
    for kid in kids:
        rc, out = sh(["chrt", "-p", kid])
        policies[kid] = " ".join(l.split(":", 1)[1].strip() for l in out.splitlines()
                                 if ":" in l) if rc == 0 else f"chrt exit {rc}"
    res.check("acquisition_realtime", any(v == "SCHED_FIFO 50" for v in policies.values()),
              main_pid=pid, children=policies, expected="SCHED_FIFO 50")


def check_security(res: Results) -> None:
    rc, out = sh(["systemd-analyze", "security", "--no-pager", UNIT], timeout=120)
    (OUT / "security.txt").write_text(out)
    line = next((l for l in out.splitlines() if "Overall exposure level" in l), "")
    try:
        exposure = float(line.split(":")[1].split()[0])
    except (IndexError, ValueError):
        exposure = None
    res.check("systemd_security", exposure is not None and exposure <= 2.0,
              exposure=exposure, rating=line.split()[-1] if line else None, bound=2.0)


def board_env() -> list[str]:
    """`env` arguments that give pi-app the board identity a Pi's device tree would."""
    model = json.loads((SHARE / "lab-env.json").read_text()).get("board_model_file")
    return ["env", f"PI_APP_BOARD_MODEL_FILE={model}"] if model else []


def doctor_json(args=()) -> tuple[int, dict, str]:
    rc, out = sh(["runuser", "-u", "pi", "--", *board_env(), PI_APP, "doctor", "--json", *args],
                 timeout=300)
    try:
        return rc, json.loads(out.strip().splitlines()[-1]), out
    except (ValueError, IndexError):
        return rc, {}, out


def check_doctor(res: Results) -> None:
    rc, running, out = doctor_json()
    fails = [c["name"] for c in running.get("checks", []) if c["status"] == "fail"]
    res.check("doctor_service_running", rc == 0 and not fails and not has_traceback(out),
              exit_code=rc, failed=fails,
              checks={c["name"]: c["status"] for c in running.get("checks", [])})
    sh(["systemctl", "stop", UNIT])
    rc, stopped, out = doctor_json()
    (OUT / "doctor-stopped.json").write_text(json.dumps(stopped, indent=1))
    fails = [c for c in stopped.get("checks", []) if c["status"] == "fail"]
    only_service = [c["name"] for c in fails] == ["service pi-app"]
    res.check("doctor_service_stopped", only_service and not has_traceback(out),
              exit_code=rc, failed={c["name"]: c["detail"] for c in fails},
              checks={c["name"]: c["status"] for c in stopped.get("checks", [])})


def stub_run(cmd: list[str], config: str) -> dict:
    path = Path("/run/pi-lab/probe.toml")
    path.write_text(config)
    os.chmod(path, 0o644)
    user = ["runuser", "-u", "pi", "--", *board_env(), PI_APP]
    rc, out = sh([*user, *cmd, "--config", str(path)] if cmd[0] == "doctor" else [*user, *cmd],
                 timeout=180)
    return {"exit_code": rc, "traceback": has_traceback(out),
            "output": out.strip().splitlines()[-8:]}


def check_i2c_stub(res: Results, dev: dict) -> None:
    bus = dev["I2C_STUB_BUS"]
    _, funcs = sh(["i2cdetect", "-F", bus])
    rdwr = next((l.split()[-1] for l in funcs.splitlines() if l.startswith("I2C ")), "?")
    # MPU-6050 WHO_AM_I (register 0x75) reads 0x68 whatever the address pin says.
    sh(["i2cset", "-y", bus, "0x68", "0x75", "0x68"])
    sh(["i2cset", "-y", bus, "0x69", "0x75", "0x68"])
    both = f"[sensors]\nbus = {bus}\npelvis_address = 0x68\nthorax_address = 0x69\n"
    # Each start of pi-app costs ~45 s under TCG: three cases cover present/wrong/absent.
    cases = {"present_no_i2c_rdwr": stub_run(["sensors", "--bus", bus, "--seconds", "2"], "")}
    sh(["i2cset", "-y", bus, "0x69", "0x75", "0x12"])
    # A wrong WHO_AM_I through doctor, which identifies the chips before anything streams:
    # `pi-app sensors` stops first at the adapter's missing I2C_RDWR (the case above).
    cases["doctor_wrong_who_am_i"] = stub_run(["doctor", "--json"], both)
    absent = f"[sensors]\nbus = {bus}\npelvis_address = 0x6A\nthorax_address = 0x6B\n"
    cases["doctor_absent"] = stub_run(["doctor", "--json"], absent)
    (OUT / "i2c-stub.json").write_text(json.dumps(cases, indent=1))
    said = {"present_no_i2c_rdwr": "I2C_RDWR", "doctor_wrong_who_am_i": "0x12",
            "doctor_absent": "no device answered at address 0x6A"}
    clear = all(c["exit_code"] != 0 and not c["traceback"]
                and said[k].lower() in "\n".join(c["output"]).lower() for k, c in cases.items())
    res.check("i2c_stub_probes", clear, adapter_i2c_rdwr=rdwr, bus=int(bus),
              cases={k: {"exit_code": v["exit_code"], "traceback": v["traceback"],
                         "last_line": (v["output"] or [""])[-1][:300]}
                     for k, v in cases.items()})


def fault(res: Results, name: str, inject, revert, said: tuple[str, ...],
          observe_s: float = 15.0) -> None:
    """Inject a fault while the service runs, then revert it. Passes when the app said what
    happened (a journal line of the app with one of the words in `said`), is active again
    after the revert, and printed no traceback."""
    sh(["systemctl", "reset-failed", UNIT])
    if prop("ActiveState") != "active":
        sh(["systemctl", "start", UNIT], timeout=120)
        wait_active(120)
    n0 = int(prop("NRestarts") or 0)
    t_real = time.time()
    injected = inject()
    time.sleep(observe_s)
    during = prop("ActiveState")
    reverted = revert()
    back = wait_active(150)
    text = journal_since(t_real - 1)
    lines = [l for l in text.splitlines() if "pi-app[" in l or "systemd[" in l]
    app_lines = [l.lower() for l in text.splitlines() if "pi-app[" in l]
    told = any(word in line for line in app_lines for word in said)
    res.check(f"fault_{name}", back and told and not has_traceback(text), said_words=said,
              app_said_it=told,
              injected=injected, reverted=reverted, state_during=during,
              restarts=int(prop("NRestarts") or 0) - n0, active_after_revert=back,
              traceback=has_traceback(text), journal=lines[-8:])


def check_faults(res: Results, dev: dict) -> None:
    sh(["systemctl", "start", UNIT], timeout=120)
    wait_active(150)

    def write(path: str, value: str, wait_s: float = 20.0):
        # In a thread: unbinding a sound card blocks in the kernel until every process has
        # closed its device files (a run hung here for 10 minutes while the app held the
        # PCM open), so the job reports that instead of waiting for ever.
        done: list[str] = []

        def work():
            try:
                Path(path).write_text(value)
                done.append(f"{path} <- {value}")
            except OSError as e:
                done.append(f"{path} <- {value}: {e}")
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(wait_s)
        return done[0] if done else f"{path} <- {value}: still blocked after {wait_s:g} s"

    fault(res, "sound_card_unbound",
          lambda: write("/sys/bus/platform/drivers/snd_aloop/unbind", "snd_aloop.0"),
          lambda: write("/sys/bus/platform/drivers/snd_aloop/bind", "snd_aloop.0"),
          said=("sound", "audio"))
    connector = next(iter(sorted(Path("/sys/class/drm").glob("card0-*/status"))), None)
    if connector is not None:
        fault(res, "display_unplugged", lambda: write(str(connector), "off"),
              lambda: write(str(connector), "detect"), said=("display", "screen"))
    fault(res, "gpio_chip_removed",
          lambda: sh(["/usr/local/sbin/lab-devices", "gpio-down"])[0] == 0,
          lambda: sh(["/usr/local/sbin/lab-devices", "gpio-up"])[0] == 0,
          said=("buzzer", "gpio"))
    fill = Path("/var/lib/pi-lab-fill")

    def fill_disk():
        free = shutil.disk_usage("/var/lib/pi-app").free
        rc, out = sh(["fallocate", "-l", str(free), str(fill)])
        return {"filled_bytes": free, "free_after": shutil.disk_usage("/").free,
                "rc": rc, "out": out.strip()[:200]}

    def unfill():
        fill.unlink(missing_ok=True)
        return True
    fault(res, "state_filesystem_full", fill_disk, unfill, said=("disk", "space", "full"),
          observe_s=20.0)


def check_install_after_reboot(res: Results) -> None:
    """After the reboot, the installer has nothing left to do and leaves the service alone."""
    lab_env = json.loads((SHARE / "lab-env.json").read_text())
    sudo_env = [f"{k}={v}" for k, v in lab_env.get("install_env", {}).items()]
    pid = prop("MainPID")
    t0 = time.monotonic()
    rc, out = sh(["runuser", "-u", "pi", "--", "sudo", *sudo_env, "./install.sh"],
                 cwd=CHECKOUT, timeout=600, stream=OUT / "install-after-reboot.log")
    res.check("install_after_reboot", rc == 0 and "nothing to do" in out
              and "reboot needed: no" in out and prop("MainPID") == pid,
              seconds=round(time.monotonic() - t0, 1), exit_code=rc,
              service_untouched=prop("MainPID") == pid, tail=out.strip().splitlines()[-3:])


def check_uninstall(res: Results) -> None:
    sessions = db_query("SELECT COUNT(*) FROM sessions")[0][0]
    lab_env = json.loads((SHARE / "lab-env.json").read_text())
    sudo_env = [f"{k}={v}" for k, v in lab_env.get("install_env", {}).items()]
    rc, out = sh(["runuser", "-u", "pi", "--", "sudo", *sudo_env, "./install.sh", "--uninstall"],
                 cwd=CHECKOUT, timeout=300)
    (OUT / "uninstall.log").write_text(out)
    kept = DB.exists() and db_query("SELECT COUNT(*) FROM sessions")[0][0] == sessions
    gone = not Path("/etc/systemd/system/pi-app.service").exists() and \
        not Path("/opt/pi-app").exists()
    res.check("uninstall_keeps_sessions", rc == 0 and kept and gone, exit_code=rc,
              sessions_kept=sessions if kept else None, unit_and_venv_removed=gone,
              service_state=prop("ActiveState"))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    res = Results(OUT / "results.json")
    phase_file = STATE / "phase"
    phase = phase_file.read_text().strip() if phase_file.exists() else "install"
    log(f"phase {phase}")
    try:
        if phase == "install":
            return phase_install(res)
        if phase == "service":
            phase_file.write_text("done")
            return phase_service(res)
        log("nothing left to do (phase done)")
        return 0
    except Exception:
        res.data.setdefault("errors", []).append(traceback.format_exc())
        res.save()
        log("job failed:\n" + traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main())
