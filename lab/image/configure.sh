#!/usr/bin/env bash
# Turn the debootstrapped tree into the lab guest: the out-of-tree modules, boot from virtio
# with the host's share at /lab, the shape of Raspberry Pi OS where pi_app looks (config.txt,
# raspi-config, groups and udev rules for i2c/gpio, a sudo user `pi`), pip's wheelhouse, the
# virtual-hardware unit and the unit that runs the lab job. Safe to re-run.
#
#   lab/image/configure.sh ROOTFS KVER KMOD_DIR WHEELS_DIR
set -euo pipefail
r="${1:?usage: configure.sh ROOTFS KVER KMOD_DIR WHEELS_DIR}"
kver="${2:?}"
kmod="${3:?}"
wheels="${4:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
files="$here/files"
. "$here/chroot.sh"
chroot_mount "$r"
trap 'chroot_umount "$r"' EXIT

install -D -m 0644 "$kmod/vkms.ko" "$r/lib/modules/$kver/extra/vkms.ko"
install -D -m 0644 "$kmod/gpio-sim.ko" "$r/lib/modules/$kver/extra/gpio-sim.ko"
chroot "$r" depmod -a "$kver"

echo raspberrypi > "$r/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n' > "$r/etc/hosts"
cat > "$r/etc/fstab" <<'FSTAB'
/dev/vda  /     ext4  rw,noatime  0 1
lab       /lab  9p    trans=virtio,version=9p2000.L,msize=262144,nofail,x-systemd.device-timeout=10s  0 0
FSTAB
mkdir -p "$r/lab"
printf '%s\n' virtio_pci virtio_blk 9pnet_virtio 9p > "$r/etc/initramfs-tools/modules"
chroot "$r" update-initramfs -u -k "$kver"
chroot "$r" passwd -d root >/dev/null
: > "$r/etc/machine-id"

# Raspberry Pi OS shape.
install -D -m 0644 "$files/config.txt" "$r/boot/firmware/config.txt"
install -m 0755 "$files/raspi-config" "$r/usr/bin/raspi-config"
# What a Pi 4's /proc/device-tree/model holds (NUL-terminated). An x86 guest has no device
# tree, so the lab points the installer's documented override (PI_APP_BOARD_MODEL_FILE) here.
mkdir -p "$r/usr/local/share/pi-lab/device-tree"
printf 'Raspberry Pi 4 Model B Rev 1.5\0' > "$r/usr/local/share/pi-lab/device-tree/model"
for g in i2c gpio spi; do
    chroot "$r" getent group "$g" >/dev/null || chroot "$r" groupadd --system "$g"
done
install -m 0644 "$files/99-pi-lab-devices.rules" "$r/etc/udev/rules.d/99-pi-lab-devices.rules"
if ! chroot "$r" getent passwd pi >/dev/null; then
    chroot "$r" useradd --create-home --shell /bin/bash \
        --groups sudo,video,audio,render,input,i2c,gpio,spi pi
fi
echo 'pi ALL=(ALL) NOPASSWD: ALL' > "$r/etc/sudoers.d/010_pi-nopasswd"
chmod 0440 "$r/etc/sudoers.d/010_pi-nopasswd"

# ALSA's default device as on Raspberry Pi OS Lite (no dmix; see the file).
install -m 0644 "$files/asound.conf" "$r/etc/asound.conf"

# pip without network.
install -m 0644 "$files/pip.conf" "$r/etc/pip.conf"
rm -rf "$r/var/cache/pi-app-lab/wheels"
mkdir -p "$r/var/cache/pi-app-lab/wheels"
cp "$wheels"/*.whl "$r/var/cache/pi-app-lab/wheels/"

# Virtual hardware and the job runner.
install -m 0755 "$files/lab-devices" "$r/usr/local/sbin/lab-devices"
install -m 0644 "$files/lab-devices.service" "$r/etc/systemd/system/lab-devices.service"
install -m 0644 "$files/lab-job.service" "$r/etc/systemd/system/lab-job.service"
chroot "$r" systemctl enable lab-devices.service lab-job.service
chroot "$r" systemctl set-default multi-user.target
# No getty on the serial console: the console carries the job's progress.
chroot "$r" systemctl mask serial-getty@ttyS0.service getty@tty1.service
chroot "$r" apt-get clean
