#!/usr/bin/env bash
# Build the lab's guest image once: Debian bookworm amd64 shaped like Raspberry Pi OS Lite where
# pi_app's installer and service look, plus the virtual devices Debian's kernel leaves out.
#
#   lab/image/build.sh CACHE_DIR
#
# Writes CACHE_DIR/image/{disk.img,vmlinuz,initrd.img,kver,times.json}; CACHE_DIR/build holds the
# intermediate rootfs, module sources and wheels. Each stage leaves a stamp, so an interrupted
# build resumes. Needs root (debootstrap, chroot) and the Debian registry as apt is configured.
set -euo pipefail

cache="${1:?usage: build.sh CACHE_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$cache/build"
rootfs="$build/rootfs"
out="$cache/image"
mkdir -p "$build" "$out"

say() { echo "lab image: $*"; }
die() { echo "lab image: $*" >&2; exit 1; }
stamp() { [ -e "$build/.done-$1" ]; }
mark() { touch "$build/.done-$1"; }
now() { date +%s.%N; }

[ "$(id -u)" -eq 0 ] || die "building the guest image needs root (debootstrap and chroot); run lab/run as root"
command -v apt-get >/dev/null || die "apt-get not found: the lab builds its guest from the Debian registry and needs a Debian host"

# The guest kernel is whatever linux-image-amd64 points at in the registry today; the
# out-of-tree modules are built against exactly that version's headers.
if [ ! -s "$build/kver" ]; then
    apt-get update -q >/dev/null || die "apt-get update failed: is the Debian registry reachable (see /etc/apt/sources.list*)?"
    kver="$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-\(6\.1\.[0-9-]*-amd64\)$/\1/p' | head -1)"
    [ -n "$kver" ] || die "could not tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
    echo "$kver" > "$build/kver"
fi
kver="$(cat "$build/kver")"
say "guest kernel $kver"

t0=$(now)
if ! stamp host-packages; then
    say "host packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 qemu-utils debootstrap \
        linux-source-6.1 "linux-headers-$kver" build-essential bc flex bison libelf-dev python3-pip \
        >/dev/null || die "apt-get install of the host packages failed (qemu-system-x86, debootstrap, linux-source-6.1, linux-headers-$kver)"
    mark host-packages
fi

# What Raspberry Pi OS Lite has that pi_app touches: systemd/udev, Python 3.11 with venv/pip,
# ALSA, libdrm/gbm/EGL/GLES and the Mesa DRI drivers, i2c-tools, sudo. Plus the lab's own tools
# (modetest from libdrm-tests, gpiod) and the kernel.
pkgs="systemd,systemd-sysv,udev,kmod,dbus,sudo,procps,iproute2,util-linux,e2fsprogs,sqlite3"
pkgs+=",python3,python3-venv,python3-pip,alsa-utils,libasound2"
pkgs+=",libdrm2,libdrm-tests,libgbm1,libegl1,libgles2,libgl1-mesa-dri"
pkgs+=",i2c-tools,gpiod,initramfs-tools"
mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
mirror="${mirror:-http://deb.debian.org/debian}"
t_debootstrap=0
if ! stamp debootstrap; then
    say "debootstrap bookworm from $mirror (a few minutes)"
    rm -rf "$rootfs"
    t=$(now)
    debootstrap --variant=minbase --include="$pkgs" bookworm "$rootfs" "$mirror" > "$build/debootstrap.log" 2>&1 \
        || die "debootstrap failed (log: $build/debootstrap.log)"
    t_debootstrap=$(echo "$(now) - $t" | bc)
    mark debootstrap
fi

# The kernel comes from the point-release/security suites, which debootstrap does not read:
# install it with the guest's apt configured like the host's.
t_kernel=0
if ! stamp kernel; then
    say "guest kernel linux-image-$kver"
    t=$(now)
    "$here/kernel.sh" "$rootfs" "$kver" > "$build/kernel.log" 2>&1 || die "installing the guest kernel failed (log: $build/kernel.log)"
    t_kernel=$(echo "$(now) - $t" | bc)
    mark kernel
fi

t_kmod=0
if ! stamp kmod; then
    say "vkms and gpio-sim out of tree from linux-source-6.1 against $kver"
    t=$(now)
    "$here/kmod.sh" "$kver" "$build/kmod" > "$build/kmod.log" 2>&1 || die "building vkms/gpio-sim failed (log: $build/kmod.log)"
    t_kmod=$(echo "$(now) - $t" | bc)
    mark kmod
fi

t_wheels=0
if ! stamp wheels; then
    say "wheels for the guest from PyPI (the guest has no network)"
    t=$(now)
    "$here/wheels.sh" "$build/wheels" > "$build/wheels.log" 2>&1 || die "downloading wheels from PyPI failed (log: $build/wheels.log)"
    t_wheels=$(echo "$(now) - $t" | bc)
    mark wheels
fi

say "configure the guest"
t=$(now)
"$here/configure.sh" "$rootfs" "$kver" "$build/kmod" "$build/wheels" > "$build/configure.log" 2>&1 \
    || die "configuring the guest failed (log: $build/configure.log)"
t_configure=$(echo "$(now) - $t" | bc)

say "disk image"
t=$(now)
rm -f "$out/disk.img.new"
truncate -s 4G "$out/disk.img.new"
mkfs.ext4 -q -F -L pilab -d "$rootfs" "$out/disk.img.new" || die "mkfs.ext4 -d failed"
cp "$rootfs/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$out/initrd.img"
echo "$kver" > "$out/kver"
mv "$out/disk.img.new" "$out/disk.img"
t_disk=$(echo "$(now) - $t" | bc)
total=$(echo "$(now) - $t0" | bc)
printf '{"total_s": %.1f, "debootstrap_s": %.1f, "kernel_s": %.1f, "kmod_s": %.1f, "wheels_s": %.1f, "configure_s": %.1f, "disk_s": %.1f, "disk_used_mb": %d}\n' \
    "$total" "$t_debootstrap" "$t_kernel" "$t_kmod" "$t_wheels" "$t_configure" "$t_disk" "$(du -sm "$out/disk.img" | cut -f1)" > "$out/times.json"
say "done: $(cat "$out/times.json")"
