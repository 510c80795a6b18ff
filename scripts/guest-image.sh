#!/usr/bin/env bash
# Build the default moonvisor guest (L2): Debian cloud kernel + busybox
# initramfs. See --help.
set -euo pipefail

# shellcheck disable=SC2034 # used by lib/images.sh
PROG=guest-image.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/images.sh
. "$HERE/lib/images.sh"

META=linux-image-cloud-amd64
# Virtio devices, pvpanic, vsock, virtio-fs and ext4 (with what ext4 uses),
# and the ACPI power button with the evdev node busybox acpid reads it from;
# wdat_wdt, the ACPI WDAT watchdog driver (plugins/watchdog.c: the cloud
# kernel has neither i6300esb nor ib700).
# Names that are built in or absent in this kernel are skipped.
MODULES=(
	virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_mmio
	virtio_blk virtio_net virtio_console rng_core virtio_rng
	virtio_mem virtio_balloon virtiofs
	vmw_vsock_virtio_transport
	pvpanic pvpanic_pci pvpanic_mmio
	crc16 crc32c_generic crc32c_intel crc32c mbcache jbd2 ext4
	button evdev
	wdat_wdt
)

usage() {
	cat <<EOF
Usage: scripts/guest-image.sh [--force]

Builds the default moonvisor guest into \$MV_CACHE_DIR/guest
(default ~/.cache/moonvisor/guest) and prints that directory on stdout:

  vmlinuz     bzImage of $META's current kernel (apt-get download + dpkg -x)
  initrd.img  gzip'ed newc cpio: static busybox, virtio/pvpanic/vsock/fs
              and ACPI button/evdev modules with their dependencies, and /init
  VERSION     kernel version (uname -r in the guest)
  PACKAGE     the .deb it came from;  MODULES  the modules /init loads

The image is cached: rebuilt only when missing, when this script or the
guest init changed, or with --force. Logs go to stderr.

Guest /init: mounts proc, sys, devtmpfs, /tmp; loads the modules; starts
busybox acpid, which powers off on the ACPI power button; prints
"moonvisor-guest: ready"; then, if the kernel command line has " -- CMD",
runs sh -c CMD, prints "moonvisor-guest: exit status N" and powers off;
otherwise gives an interactive shell and powers off when it exits.
Add mv.exit=reboot to the command line to end with reboot -f instead.

  --force    rebuild even if cached
  -h, --help this text
EOF
}

build_guest() {
	local out=$1 work=$2 pkg tree=$2/initramfs
	pkg=$(kernel_pkg_of "$META")
	fetch_kernel "$pkg" "$work/kernel"
	install_busybox "$tree"
	copy_module_closure "$tree" "${MODULES[@]}"
	install -m 0755 "$HERE/images/guest-init" "$tree/init"
	printf '%s\n' "$KVER" >"$tree/etc/moonvisor/kernel-version"
	pack_initramfs "$tree" "$out/initrd.img"
	cp "$KROOT/boot/vmlinuz-$KVER" "$out/vmlinuz"
	printf '%s\n' "$KVER" >"$out/VERSION"
	printf '%s\n' "$KDEB" >"$out/PACKAGE"
	cp "$tree/etc/moonvisor/modules" "$out/MODULES"
	log "modules carried: ${MODS_COPIED[*]}"
}

main() {
	local force=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--force) force=1 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
	need_cmds apt-get apt-cache dpkg depmod modprobe cpio gzip busybox flock sha256sum
	cached_image guest "$force" \
		"$(recipe_hash "$HERE/guest-image.sh" "$HERE/lib/images.sh" "$HERE/images/guest-init")" build_guest
}

main "$@"
