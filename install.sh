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
# Idempotent: a second run with nothing changed only checks and exits quickly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode=""
dry_run=0
root=""
uninstall=0
purge=0

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

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
# python3-venv for /opt/pi-app/venv; i2c-tools for i2cdetect; libgbm1/libdrm2/libegl1/libgles2
# are what pygame-ce's bundled SDL loads for KMS/DRM without a desktop; libasound2 for ALSA.
apt_packages="python3-venv python3-pip i2c-tools libgbm1 libdrm2 libegl1 libgles2 libasound2 alsa-utils"

reboot_needed=0
notes=()

note() { notes+=("$1"); }

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
    local cfg
    if ! cfg="$(boot_config)"; then
        echo "install.sh: no /boot/firmware/config.txt or /boot/config.txt${root:+ under $root}: not Raspberry Pi OS? I2C not configured"
        note "I2C: NOT configured (no config.txt found); enable it and set dtparam=i2c_arm_baudrate=${i2c_baud} by hand"
        return 0
    fi
    if [ -z "$root" ] && command -v raspi-config >/dev/null 2>&1; then
        # 0 = enable: also loads i2c-dev now and at boot.
        run raspi-config nonint do_i2c 0
    else
        sys_run modprobe i2c-dev
    fi
    local file new
    file="$(t "$cfg")"
    new="$(i2c_config_text "$file")"
    if [ "$new" = "$(cat "$file")" ]; then
        echo "= $cfg: I2C already on at ${i2c_baud} Hz"
        return 0
    fi
    if [ ! -e "$file.pi-app.bak" ]; then
        run cp -p "$file" "$file.pi-app.bak"
    fi
    echo "+ edit $cfg: dtparam=i2c_arm=on, dtparam=i2c_arm_baudrate=${i2c_baud}"
    if [ "$dry_run" -eq 0 ]; then
        printf '%s\n' "$new" > "$file.pi-app.new"
        mv "$file.pi-app.new" "$file"
    fi
    reboot_needed=1
    note "I2C: $cfg set to ${i2c_baud} Hz (original kept as $cfg.pi-app.bak)"
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
    run "$venv/bin/python" -m pip install --quiet --upgrade "${here}[pi,report]"
    if [ "$dry_run" -eq 0 ]; then
        echo "$stamp" > "$opt_dir/.installed-source"
    fi
    note "app: installed into $venv"
}

install_config() {
    local dst
    dst="$(t "$etc_dir/config.toml")"
    if [ -f "$dst" ]; then
        echo "= $etc_dir/config.toml exists (kept; the example is $opt_dir/pi-app.example.toml)"
    else
        run install -d -m 0755 "$(t "$etc_dir")"
        run install -m 0644 "$here/config/pi-app.example.toml" "$dst"
        note "config: $etc_dir/config.toml (defaults; edit it, then: sudo systemctl restart pi-app)"
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
        if [ "$changed" -eq 1 ]; then
            run systemctl daemon-reload
        fi
        run systemctl enable pi-app.service
    fi
    if [ "$changed" -eq 1 ]; then
        note "service: pi-app.service installed and enabled (starts at boot)"
    fi
}

start_service() {
    if [ -n "$root" ]; then
        return 0
    fi
    if [ "$reboot_needed" -eq 1 ]; then
        note "service: starts after the reboot"
    elif [ ${#notes[@]} -gt 0 ]; then
        run systemctl restart pi-app.service
    fi
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet display-manager.service 2>/dev/null; then
        note "display: a desktop owns the screen; boot to the console (sudo raspi-config nonint do_boot_behaviour B1) so pi-app can use KMS/DRM"
        reboot_needed=1
    fi
}

summary() {
    local n
    echo
    echo "install.sh: summary${root:+ (staging root $root)}"
    if [ "$dry_run" -eq 1 ]; then
        echo "  dry run: nothing was changed"
    fi
    if [ ${#notes[@]} -eq 0 ]; then
        echo "  nothing to do: everything was already installed"
    fi
    for n in "${notes[@]}"; do
        echo "  $n"
    done
    if [ "$uninstall" -eq 1 ]; then
        return 0
    fi
    if [ "$reboot_needed" -eq 1 ]; then
        echo "  reboot needed: yes (sudo reboot), then check with: $opt_dir/venv/bin/pi-app doctor"
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
        sys_run systemctl daemon-reload
        note "service: pi-app.service stopped, disabled and removed"
    fi
    if [ -d "$(t "$opt_dir")" ]; then
        run rm -rf "$(t "$opt_dir")"
        note "app: $opt_dir removed"
    fi
    local cfg
    cfg="$(t "$etc_dir/config.toml")"
    if [ -f "$cfg" ]; then
        if [ "$purge" -eq 1 ] || same_file "$here/config/pi-app.example.toml" "$cfg"; then
            run rm -rf "$(t "$etc_dir")"
            note "config: $etc_dir removed"
        else
            note "config: $etc_dir/config.toml kept (you edited it; --purge removes it)"
        fi
    fi
    if [ "$purge" -eq 1 ]; then
        if [ -d "$(t "$state_dir_sys")" ]; then
            run rm -rf "$(t "$state_dir_sys")"
            note "sessions: $state_dir_sys removed (--purge)"
        fi
        if [ -n "$root" ] || getent passwd "$service_user" >/dev/null; then
            sys_run userdel "$service_user"
            note "user: $service_user removed (--purge)"
        fi
    else
        if [ -d "$(t "$state_dir_sys")" ]; then
            note "sessions: kept in $state_dir_sys (--purge removes them)"
        fi
    fi
    note "I2C: left enabled (the original config.txt is kept as config.txt.pi-app.bak)"
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
    if [ -z "$root" ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
        echo "install.sh: the system install changes /etc, /opt and systemd: run it as root (sudo ./install.sh), or try --dry-run or --root DIR" >&2
        exit 1
    fi
    if [ "$uninstall" -eq 1 ]; then
        system_uninstall
        summary
        return 0
    fi
    setup_i2c
    install_apt
    setup_user
    install_venv
    install_config
    install_unit
    start_service
    summary
}

if [ "$mode" = "system" ]; then
    system_main
    exit 0
fi

# ---- developer install --------------------------------------------------------------------
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
