# Sourced by the image scripts: bind /proc, /sys, /dev into a rootfs for chroot, and undo it.
chroot_mount() {
    local r="$1" d
    for d in proc sys dev; do
        mountpoint -q "$r/$d" || mount --bind "/$d" "$r/$d"
    done
}
chroot_umount() {
    local r="$1" d
    for d in dev sys proc; do
        if mountpoint -q "$r/$d"; then umount -l "$r/$d"; fi
    done
}
