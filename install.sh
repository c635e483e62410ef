#!/usr/bin/env bash
# pi_app installer.
#
#   sudo ./install.sh [--system]
#                    Raspberry Pi OS Bookworm (Pi 4/5): I2C on at 400 kHz, apt packages, user
#                    pi-app, venv in /opt/pi-app (extras `pi`, `report`), /etc/pi-app/config.toml,
#                    the systemd unit pi-app.service enabled; ends with a summary (reboot?).
#   ./install.sh --system --root DIR
#                    the same into a staging root DIR (files only: apt, useradd, systemctl,
#                    raspi-config and the venv are printed as skipped).
#   sudo ./install.sh --uninstall [--purge]
#                    remove what the system install added; sessions in /var/lib/pi-app and
#                    the user pi-app are kept unless --purge.
#   ./install.sh --dev
#                    developer / laptop set-up: .venv in this checkout with the package
#                    (editable) and the test tools. No root needed, except for the apt
#                    packages it names when they are missing.
#   --dry-run        (with any mode) print every action, change nothing.
#
# Idempotent: a second run with nothing changed only checks and exits quickly. The system
# install runs on a 64-bit Raspberry Pi OS only (it checks uname -m and the device-tree model).
# For tests and the hardware lab: PI_APP_BOARD_MODEL_FILE names another device-tree model file,
# PI_APP_BOOT_ID_FILE another boot id, PI_APP_TEST_UNAME_M another machine architecture.
# Sourcing this file only defines its functions (tests call them one by one).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode=""
dry_run=0
root=""
uninstall=0
purge=0

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# numpy, scipy, pygame-ce and matplotlib publish no 32-bit ARM wheels: pip would try to compile
# them for hours, or fail.
check_arch() {
    local arch="${PI_APP_TEST_UNAME_M:-$(uname -m)}"
    case "$arch" in
        armv6l|armv7l|armv8l|armhf)
            echo "install.sh: this is a 32-bit system ($arch), for which numpy, scipy, pygame-ce and matplotlib have no ready-made packages: install the 64-bit Raspberry Pi OS (Bookworm, arm64) and run install.sh there." >&2
            exit 1
            ;;
    esac
}

# The device-tree model ("Raspberry Pi 4 Model B Rev 1.5"); fails where there is none.
board_model() {
    local f
    for f in ${PI_APP_BOARD_MODEL_FILE:-/proc/device-tree/model /sys/firmware/devicetree/base/model}; do
        if [ -r "$f" ]; then
            tr -d '\0' < "$f"
            return 0
        fi
    done
    return 1
}

check_pi() {
    local model
    model="$(board_model || true)"
    case "$model" in
        "Raspberry Pi"*) return 0 ;;
    esac
    echo "install.sh: this machine is not a Raspberry Pi (${model:-no device-tree model}), so the system install stops here: use ./install.sh --dev for a laptop or developer set-up, or --root DIR to stage the Pi's files into a directory." >&2
    exit 1
}

# Is systemd running this system (not a chroot or an image being built)? sd_booted(3).
sd_booted() { [ -d /run/systemd/system ]; }

current_boot_id() { cat "${PI_APP_BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}" 2>/dev/null || true; }

# ---- Raspberry Pi system install ----------------------------------------------------------
# Paths on the target; with --root they are written under $root instead.
opt_dir="/opt/pi-app"
etc_dir="/etc/pi-app"
state_dir_sys="/var/lib/pi-app"
unit_path="/etc/systemd/system/pi-app.service"
wants_link="/etc/systemd/system/multi-user.target.wants/pi-app.service"
service_user="pi-app"
service_groups="i2c gpio video render audio input"
i2c_baud=400000
# python3-venv for /opt/pi-app/venv (a venv brings its own pip); i2c-tools for i2cdetect;
# libgbm1/libdrm2/libegl1/libgles2 are what pygame-ce's bundled SDL loads for KMS/DRM without a
# desktop, libegl-mesa0 is EGL's Mesa vendor library and libgl1-mesa-dri holds the vc4/v3d
# drivers it loads (missing on Raspberry Pi OS Lite); libasound2 for ALSA.
apt_packages="python3-venv i2c-tools libgbm1 libdrm2 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libasound2 alsa-utils"
# Written when config.txt is changed; holds that boot's id. While the id is still the running
# boot's, the reboot the change needs has not happened (kept across failed or repeated runs).
reboot_marker="$opt_dir/.reboot-pending"

reboot_needed=0
reboot_why=""
notes=()

# A line for the summary: the first text says what was done; the second, if given, is said
# instead on a dry run (nothing done: never "installed").
note() {
    if [ "$dry_run" -eq 1 ] && [ $# -gt 1 ]; then
        notes+=("$2")
    else
        notes+=("$1")
    fi
}

# Print every action; run it unless --dry-run.
run() {
    echo "+ $*"
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

# An action on the running system itself (apt, users, systemd, kernel modules): skipped,
# with a note, when installing into a staging root.
sys_run() {
    if [ -n "$root" ]; then
        echo "- skipped (staging root): $*"
    else
        run "$@"
    fi
}

# A path on the target system.
t() { echo "${root}$1"; }

same_file() { [ -f "$1" ] && [ -f "$2" ] && cmp -s "$1" "$2"; }

boot_config() {
    local c
    for c in /boot/firmware/config.txt /boot/config.txt; do
        if [ -f "$(t "$c")" ]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

# The new content of config.txt (on stdout) with I2C on and at $i2c_baud: uncomments or fixes
# existing dtparam lines, else appends them under [all] so no [pi3]-style filter hides them.
i2c_config_text() {
    local file="$1"
    local text
    text="$(sed -E \
        -e 's/^[#[:space:]]*dtparam=i2c_arm=(on|off)[[:space:]]*$/dtparam=i2c_arm=on/' \
        -e "s/^([[:space:]]*dtparam=([^#]*,)?i2c_arm_baudrate=)[0-9]+/\\1${i2c_baud}/" \
        "$file")"
    local add=""
    if ! grep -Eq '^[[:space:]]*dtparam=([^#]*,)?i2c_arm=on' <<<"$text"; then
        add+="dtparam=i2c_arm=on"$'\n'
    fi
    if ! grep -Eq "^[[:space:]]*dtparam=([^#]*,)?i2c_arm_baudrate=${i2c_baud}" <<<"$text"; then
        add+="dtparam=i2c_arm_baudrate=${i2c_baud}"$'\n'
    fi
    printf '%s\n' "$text"
    if [ -n "$add" ]; then
        printf '\n# pi-app: I2C for the two IMUs at 400 kHz\n[all]\n%s' "$add"
    fi
}

setup_i2c() {
    local cfg file orig new
    if ! cfg="$(boot_config)"; then
        echo "install.sh: no /boot/firmware/config.txt or /boot/config.txt${root:+ under $root}: not Raspberry Pi OS? I2C not configured"
        note "I2C: NOT configured (no config.txt found); enable it and set dtparam=i2c_arm_baudrate=${i2c_baud} by hand"
        return 0
    fi
    file="$(t "$cfg")"
    orig="$(cat "$file")"
    new="$(i2c_config_text "$file")"
    # Back up the original before anything (raspi-config included) edits it.
    if [ "$new" != "$orig" ] && [ ! -e "$file.pi-app.bak" ]; then
        run cp -p "$file" "$file.pi-app.bak"
    fi
    if [ -z "$root" ] && command -v raspi-config >/dev/null 2>&1; then
        # 0 = enable: also loads i2c-dev now and at boot.
        run raspi-config nonint do_i2c 0
    else
        sys_run modprobe i2c-dev
    fi
    if [ "$dry_run" -eq 0 ]; then
        new="$(i2c_config_text "$file")"
    fi
    if [ "$new" = "$orig" ]; then
        echo "= $cfg: I2C already on at ${i2c_baud} Hz"
        return 0
    fi
    echo "+ edit $cfg: dtparam=i2c_arm=on, dtparam=i2c_arm_baudrate=${i2c_baud}"
    if [ "$dry_run" -eq 0 ]; then
        if [ "$new" != "$(cat "$file")" ]; then
            printf '%s\n' "$new" > "$file.pi-app.new"
            mv "$file.pi-app.new" "$file"
        fi
        mkdir -p "$(dirname "$(t "$reboot_marker")")"
        current_boot_id > "$(t "$reboot_marker")"
    fi
    reboot_needed=1
    note "I2C: $cfg set to ${i2c_baud} Hz (original kept as $cfg.pi-app.bak)" \
         "I2C: $cfg would be set to ${i2c_baud} Hz (the original to be kept as $cfg.pi-app.bak)"
}

# A reboot still owed by an earlier run (config.txt changed in this same boot)?
check_pending_reboot() {
    local marker
    marker="$(t "$reboot_marker")"
    if [ ! -f "$marker" ]; then
        return 0
    fi
    if [ -n "$(current_boot_id)" ] && [ "$(cat "$marker")" = "$(current_boot_id)" ]; then
        reboot_needed=1
        reboot_why=" (config.txt was changed by an earlier run; the I2C setting applies after a reboot)"
    else
        run rm -f "$marker"
    fi
}

install_apt() {
    local missing=() p
    for p in $apt_packages; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    if [ -n "$root" ]; then
        echo "- skipped (staging root): apt-get install -y $apt_packages"
    elif [ ${#missing[@]} -eq 0 ]; then
        echo "= apt packages already installed"
    else
        run apt-get update -qq
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

setup_user() {
    local g
    for g in $service_groups; do
        if [ -n "$root" ] || ! getent group "$g" >/dev/null; then
            sys_run groupadd --system "$g"
        fi
    done
    if [ -n "$root" ] || ! getent passwd "$service_user" >/dev/null; then
        sys_run useradd --system --user-group --home-dir "$state_dir_sys" --no-create-home \
            --shell /usr/sbin/nologin "$service_user"
    fi
    # Also in the groups outside the service, so `sudo -u pi-app pi-app doctor` sees devices.
    sys_run usermod -a -G "${service_groups// /,}" "$service_user"
}

source_stamp() {
    (cd "$here" && find pyproject.toml README.md pi_app -type f \( -name '*.py' -o -name '*.toml' -o -name '*.md' \) -print0 \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

install_venv() {
    local venv="$opt_dir/venv" stamp
    run mkdir -p "$(t "$opt_dir")"
    if ! same_file "$here/README.md" "$(t "$opt_dir/README.md")"; then
        run install -m 0644 "$here/README.md" "$(t "$opt_dir/README.md")"
    fi
    if [ -n "$root" ]; then
        echo "- skipped (staging root): python3 -m venv $venv && $venv/bin/pip install '${here}[pi,report]'"
        return 0
    fi
    stamp="$(source_stamp)"
    if [ -x "$venv/bin/pi-app" ] && [ "$(cat "$opt_dir/.installed-source" 2>/dev/null || true)" = "$stamp" ]; then
        echo "= $venv is up to date"
        return 0
    fi
    if [ ! -x "$venv/bin/python" ]; then
        run python3 -m venv "$venv"
    fi
    run "$venv/bin/python" -m pip install --quiet --upgrade pip
    pip_install_copy "$venv/bin/python" "pi,report" --upgrade
    if [ "$dry_run" -eq 0 ]; then
        echo "$stamp" > "$opt_dir/.installed-source"
    fi
    note "app: installed into $venv" "app: would be put into $venv (pip, from a copy of this checkout)"
}

# pip builds a source directory in place (build/, pi_app.egg-info/): run as root, that leaves
# root-owned files in the checkout that break a later ./install.sh --dev. Build from a copy.
# Usage: pip_install_copy PYTHON EXTRAS [pip options...]
pip_install_copy() {
    local py="$1" extras="$2" copy rc=0
    shift 2
    if [ "$dry_run" -eq 1 ]; then
        echo "+ $py -m pip install --quiet $* <copy of ${here}>[${extras}]"
        return 0
    fi
    copy="$(mktemp -d "${TMPDIR:-/tmp}/pi-app-source.XXXXXX")"
    cp -R "$here/pyproject.toml" "$here/README.md" "$here/pi_app" "$copy/"
    run "$py" -m pip install --quiet "$@" "${copy}[${extras}]" || rc=$?
    rm -rf "$copy"
    return "$rc"
}

install_config() {
    local dst
    dst="$(t "$etc_dir/config.toml")"
    if [ -f "$dst" ]; then
        echo "= $etc_dir/config.toml exists (kept; the example is $opt_dir/pi-app.example.toml)"
    else
        run install -d -m 0755 "$(t "$etc_dir")"
        run install -m 0644 "$here/config/pi-app.example.toml" "$dst"
        note "config: $etc_dir/config.toml (defaults; edit it, then: sudo systemctl restart pi-app)" \
             "config: $etc_dir/config.toml would be written (defaults)"
    fi
    if ! same_file "$here/config/pi-app.example.toml" "$(t "$opt_dir/pi-app.example.toml")"; then
        run install -m 0644 "$here/config/pi-app.example.toml" "$(t "$opt_dir/pi-app.example.toml")"
    fi
}

install_unit() {
    local dst changed=0
    dst="$(t "$unit_path")"
    if same_file "$here/systemd/pi-app.service" "$dst"; then
        echo "= $unit_path is up to date"
    else
        run install -d -m 0755 "$(dirname "$dst")"
        run install -m 0644 "$here/systemd/pi-app.service" "$dst"
        changed=1
    fi
    if [ -n "$root" ]; then
        # What `systemctl enable` does for WantedBy=multi-user.target.
        if [ ! -L "$(t "$wants_link")" ]; then
            run install -d -m 0755 "$(dirname "$(t "$wants_link")")"
            run ln -s "$unit_path" "$(t "$wants_link")"
        fi
        echo "- skipped (staging root): systemctl daemon-reload; systemctl enable pi-app.service"
    else
        if [ "$changed" -eq 1 ] && sd_booted; then
            run systemctl daemon-reload
        fi
        run systemctl enable pi-app.service
    fi
    if [ "$changed" -eq 1 ]; then
        note "service: pi-app.service installed and enabled (starts at boot)" \
             "service: pi-app.service would be put in place and enabled (starts at boot)"
    fi
}

start_service() {
    if [ -n "$root" ]; then
        return 0
    fi
    if ! sd_booted; then
        note "service: not started (systemd is not running here); it starts at the next boot"
    elif [ "$reboot_needed" -eq 1 ]; then
        note "service: starts after the reboot"
    elif [ ${#notes[@]} -gt 0 ]; then
        run systemctl restart pi-app.service
    fi
    display_note
}

# Will a desktop hold the screen (KMS/DRM needs the console)? Say only what is known.
display_note() {
    if ! command -v systemctl >/dev/null 2>&1; then
        return 0
    fi
    if sd_booted; then
        if systemctl is-active --quiet display-manager.service 2>/dev/null; then
            note "display: a desktop is running (display-manager.service) and owns the screen; boot to the console (sudo raspi-config nonint do_boot_behaviour B1) so pi-app can use KMS/DRM"
            reboot_needed=1
        fi
    elif systemctl is-enabled --quiet display-manager.service 2>/dev/null; then
        note "display: systemd is not running here (chroot or image build), and a desktop is enabled to start at boot (display-manager.service); it would hold the screen: make the system boot to the console (raspi-config nonint do_boot_behaviour B1)"
    else
        note "display: systemd is not running here (chroot or image build), so whether a desktop will hold the screen was not checked; pi-app needs the Pi to boot to the console"
    fi
}

summary() {
    local n
    echo
    echo "install.sh: summary${root:+ (staging root $root)}"
    if [ "$dry_run" -eq 1 ]; then
        echo "  dry run: nothing was changed; a real run would do this:"
    fi
    if [ ${#notes[@]} -eq 0 ]; then
        echo "  nothing to do: everything is already in place"
    fi
    for n in "${notes[@]}"; do
        echo "  $n"
    done
    if [ "$uninstall" -eq 1 ]; then
        return 0
    fi
    if [ "$reboot_needed" -eq 1 ]; then
        echo "  reboot needed: yes${reboot_why} (sudo reboot), then check with: $opt_dir/venv/bin/pi-app doctor"
    else
        echo "  reboot needed: no; check with: $opt_dir/venv/bin/pi-app doctor"
    fi
}

system_uninstall() {
    if [ -e "$(t "$unit_path")" ] || [ -L "$(t "$wants_link")" ]; then
        if [ -n "$root" ]; then
            echo "- skipped (staging root): systemctl disable --now pi-app.service"
            if [ -L "$(t "$wants_link")" ]; then
                run rm -f "$(t "$wants_link")"
            fi
        else
            run systemctl disable --now pi-app.service
        fi
        if [ -e "$(t "$unit_path")" ]; then
            run rm -f "$(t "$unit_path")"
        fi
        if sd_booted; then
            sys_run systemctl daemon-reload
        fi
        note "service: pi-app.service stopped, disabled and removed" \
             "service: pi-app.service would be stopped, disabled and removed"
    fi
    if [ -d "$(t "$opt_dir")" ]; then
        run rm -rf "$(t "$opt_dir")"
        note "app: $opt_dir removed" "app: $opt_dir would be removed"
    fi
    local cfg
    cfg="$(t "$etc_dir/config.toml")"
    if [ -f "$cfg" ]; then
        if [ "$purge" -eq 1 ] || same_file "$here/config/pi-app.example.toml" "$cfg"; then
            run rm -rf "$(t "$etc_dir")"
            note "config: $etc_dir removed" "config: $etc_dir would be removed"
        else
            note "config: $etc_dir/config.toml kept (you edited it; --purge removes it)"
        fi
    fi
    if [ "$purge" -eq 1 ]; then
        if [ -d "$(t "$state_dir_sys")" ]; then
            run rm -rf "$(t "$state_dir_sys")"
            note "sessions: $state_dir_sys removed (--purge)" "sessions: $state_dir_sys would be removed (--purge)"
        fi
        if [ -n "$root" ] || getent passwd "$service_user" >/dev/null; then
            sys_run userdel "$service_user"
            note "user: $service_user removed (--purge)" "user: $service_user would be removed (--purge)"
        fi
    else
        if [ -d "$(t "$state_dir_sys")" ]; then
            note "sessions: kept in $state_dir_sys (--purge removes them)"
        fi
    fi
    local boot_cfg
    if boot_cfg="$(boot_config)" && [ -e "$(t "$boot_cfg").pi-app.bak" ]; then
        note "I2C: left enabled (the original $boot_cfg is kept as $boot_cfg.pi-app.bak)"
    else
        note "I2C: left as it is in ${boot_cfg:-config.txt}"
    fi
}

system_main() {
    if [ -n "$root" ]; then
        if [ ! -d "$root" ]; then
            echo "install.sh: the staging root '$root' does not exist; create it first (mkdir -p '$root')" >&2
            exit 2
        fi
        root="$(cd "$root" && pwd)"
        if [ "$root" = "/" ]; then
            root=""
        fi
    fi
    if [ -z "$root" ] && [ "$uninstall" -eq 0 ]; then
        check_arch
        check_pi
    fi
    if [ -z "$root" ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
        echo "install.sh: the system install changes /etc, /opt and systemd: run it as root (sudo ./install.sh), or try --dry-run or --root DIR" >&2
        exit 1
    fi
    if [ "$uninstall" -eq 1 ]; then
        system_uninstall
        summary
        return 0
    fi
    check_pending_reboot
    setup_i2c
    install_apt
    setup_user
    install_venv
    install_config
    install_unit
    start_service
    summary
}

# ---- developer install --------------------------------------------------------------------
dev_main() {
    local python venv stamp want have
    python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "install.sh: $python not found; install it with: sudo apt-get install python3 python3-venv" >&2
        exit 1
    fi
    if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
        echo "install.sh: pi_app needs Python >= 3.11 (found $("$python" --version 2>&1)); Raspberry Pi OS Bookworm and Debian 12 ship 3.11." >&2
        exit 1
    fi

    venv="$here/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
                run apt-get update -qq
                run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
            else
                echo "install.sh: Python's venv module is missing; install it with: sudo apt-get install python3-venv" >&2
                exit 1
            fi
        fi
        run "$python" -m venv "$venv"
    fi

    # Re-install only when the dependency list changed (keeps a second run fast and a no-op).
    stamp="$venv/.pi-app-dev-install"
    want="$(sha256sum < "$here/pyproject.toml" | cut -d' ' -f1)"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
        run "$venv/bin/python" -m pip install --quiet --upgrade pip
        run "$venv/bin/python" -m pip install --quiet -e "${here}[dev]"
        if [ "$dry_run" -eq 0 ]; then
            echo "$want" > "$stamp"
        fi
        echo "install.sh: developer environment ready in .venv"
    else
        echo "install.sh: .venv is up to date (nothing to do)"
    fi
    echo "install.sh: try '.venv/bin/pi-app --help'; run the tests with '.venv/bin/python -m pytest'"
}

main() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --dev) mode="dev" ;;
            --system) mode="system" ;;
            --dry-run) dry_run=1 ;;
            --uninstall) uninstall=1 ;;
            --purge) purge=1 ;;
            --root)
                if [ $# -lt 2 ] || [ -z "$2" ]; then
                    echo "install.sh: --root needs a directory, e.g. --root /tmp/stage" >&2
                    exit 2
                fi
                root="$2"
                shift
                ;;
            --root=*) root="${1#--root=}" ;;
            -h|--help) usage; exit 0 ;;
            *) echo "install.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
        esac
        shift
    done

    if [ -z "$mode" ] && { [ "$uninstall" -eq 1 ] || [ -n "$root" ] || [ "$(id -u)" -eq 0 ]; }; then
        mode="system"
    fi
    if [ -z "$mode" ]; then
        echo "install.sh: say what to install: --dev (laptop/developer set-up) or, as root, --system (the Raspberry Pi service; see --help)" >&2
        exit 2
    fi
    if [ "$mode" = "dev" ] && { [ "$uninstall" -eq 1 ] || [ -n "$root" ] || [ "$purge" -eq 1 ]; }; then
        echo "install.sh: --uninstall, --purge and --root belong to the system install, not --dev" >&2
        exit 2
    fi
    if [ "$mode" = "system" ]; then
        system_main
        exit 0
    fi
    check_arch
    dev_main
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
