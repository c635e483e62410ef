#!/usr/bin/env bash
# Install linux-image-KVER into the debootstrapped ROOTFS with apt sources like the host's
# (debootstrap only reads the release suite; the current kernel is in the updates/security ones).
#
#   lab/image/kernel.sh ROOTFS KVER
set -euo pipefail
rootfs="${1:?usage: kernel.sh ROOTFS KVER}"
kver="${2:?usage: kernel.sh ROOTFS KVER}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/chroot.sh"
chroot_mount "$rootfs"
trap 'chroot_umount "$rootfs"' EXIT

# Only the Debian sources of the host, not third-party repositories.
rm -f "$rootfs/etc/apt/sources.list"
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [ -f "$f" ] || continue
    if grep -q 'debian.org' "$f"; then
        cp "$f" "$rootfs/etc/apt/sources.list.d/$(basename "$f")"
    fi
done
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" apt-get update -q
DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -q --no-install-recommends "linux-image-$kver"
chroot "$rootfs" apt-get clean
