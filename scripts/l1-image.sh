#!/usr/bin/env bash
# Build the L1 image of the nested runner (scripts/vmtest): Debian generic
# kernel + busybox initramfs. See --help.
set -euo pipefail

# shellcheck disable=SC2034 # used by lib/images.sh
PROG=l1-image.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/images.sh
. "$HERE/lib/images.sh"

META=linux-image-amd64
# KVM (AMD, as TCG emulates SVM), 9p for the host's file system, and the
# devices moonvisor uses: tun/tap, vhost-net, vhost-vsock, veth, bridges.
MODULES=(
	irqbypass ccp kvm kvm_amd
	virtio_pci virtio_rng netfs fscache 9pnet 9pnet_virtio 9p overlay
	tun tap vhost vhost_net vsock vhost_vsock veth bridge loop
)

usage() {
	cat <<EOF
Usage: scripts/l1-image.sh [--force]

Builds the first-level VM image used by scripts/vmtest into
\$MV_CACHE_DIR/l1 (default ~/.cache/moonvisor/l1) and prints that
directory on stdout:

  vmlinuz     bzImage of $META's current kernel (apt-get download + dpkg -x)
  initrd.img  gzip'ed newc cpio: static busybox, kvm-amd, 9p, tun, vhost,
              veth, overlay... with their dependencies, and /init
  VERSION     kernel version;  PACKAGE  the .deb;  MODULES  what /init loads

Its /init loads the modules, mounts the host root (9p tag hostroot)
read-only, the writable shares listed by vmtest at their host paths,
tmpfs/overlays on /tmp, /var/tmp, /run, binds /proc /sys /dev, and runs
the command in a chroot (see scripts/images/l1-init).

Cached: rebuilt only when missing, when this script or the init changed,
or with --force. Logs go to stderr.

  --force    rebuild even if cached
  -h, --help this text
EOF
}

build_l1() {
	local out=$1 work=$2 pkg tree=$2/initramfs
	pkg=$(kernel_pkg_of "$META")
	fetch_kernel "$pkg" "$work/kernel"
	install_busybox "$tree"
	copy_module_closure "$tree" "${MODULES[@]}"
	install -m 0755 "$HERE/images/l1-init" "$tree/init"
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
	cached_image l1 "$force" \
		"$(recipe_hash "$HERE/l1-image.sh" "$HERE/lib/images.sh" "$HERE/images/l1-init")" build_l1
}

main "$@"
