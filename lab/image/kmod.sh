#!/usr/bin/env bash
# vkms (a virtual KMS/DRM display) and gpio-sim (a virtual GPIO chip set up through configfs)
# as out-of-tree modules: Debian's bookworm kernel config switches both off.
#
#   lab/image/kmod.sh KVER OUT_DIR      -> OUT_DIR/vkms.ko, OUT_DIR/gpio-sim.ko
#
# Sources come from Debian's linux-source-6.1, built against linux-headers-KVER. gpio-sim
# needs the kernel's interrupt simulator (CONFIG_IRQ_SIM, also off), so irq_sim.c is linked
# into the module; it calls irq_to_desc(), which is not exported to modules, so that one call
# goes through the exported generic_handle_irq() instead (same effect for a simple irq).
set -euo pipefail
kver="${1:?usage: kmod.sh KVER OUT_DIR}"
out="${2:?usage: kmod.sh KVER OUT_DIR}"
headers="/usr/src/linux-headers-$kver"
tarball="$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -1)"
[ -d "$headers" ] || { echo "kmod.sh: $headers missing (apt-get install linux-headers-$kver)" >&2; exit 1; }
[ -n "$tarball" ] || { echo "kmod.sh: /usr/src/linux-source-6.1.tar.* missing (apt-get install linux-source-6.1)" >&2; exit 1; }

work="$out/src"
rm -rf "$work"
mkdir -p "$work"
tar -C "$work" -xf "$tarball" --strip-components=1 \
    linux-source-6.1/drivers/gpu/drm/vkms \
    linux-source-6.1/drivers/gpio/gpio-sim.c \
    linux-source-6.1/drivers/gpio/gpiolib.h \
    linux-source-6.1/kernel/irq/irq_sim.c

vkms="$work/drivers/gpu/drm/vkms"
sed -i 's/^obj-\$(CONFIG_DRM_VKMS)/obj-m/' "$vkms/Makefile"

gs="$work/gpio-sim"
mkdir -p "$gs"
cp "$work/drivers/gpio/gpio-sim.c" "$gs/gpio_sim_drv.c"
cp "$work/drivers/gpio/gpiolib.h" "$gs/"
cp "$work/kernel/irq/irq_sim.c" "$gs/irq_sim.c"
grep -q 'handle_simple_irq(irq_to_desc(irqnum))' "$gs/irq_sim.c" \
    || { echo "kmod.sh: irq_sim.c changed upstream; re-check the irq_to_desc replacement" >&2; exit 1; }
sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$gs/irq_sim.c"
cat > "$gs/Makefile" <<'MK'
obj-m := gpio-sim.o
gpio-sim-y := gpio_sim_drv.o irq_sim.o
MK

for dir in "$vkms" "$gs"; do
    make -C "$headers" M="$dir" modules -j"$(nproc)"
done
cp "$vkms/vkms.ko" "$gs/gpio-sim.ko" "$out/"
modinfo -F vermagic "$out/vkms.ko" "$out/gpio-sim.ko"
