#!/usr/bin/env bash
# Prepare a Debian 12 machine for building and testing moonvisor.
# See --help.
set -euo pipefail

PROG=setup.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)

# Build, unit/Lua tests, guest images, integration tests, dev tools.
PACKAGES=(
	# build
	build-essential cmake pkg-config clang
	lua5.4 liblua5.4-dev libev-dev libseccomp-dev libfdt-dev liblz4-dev
	libedit-dev libjansson-dev liburing-dev acpica-tools libhttp-parser-dev
	libcap-ng-dev
	# unit and Lua tests
	libcmocka-dev lua-busted
	# guest images (scripts/guest-image.sh, scripts/l1-image.sh)
	apt dpkg busybox-static cpio kmod gzip xz-utils zstd util-linux coreutils
	# integration tests, nested runner, reference peers
	qemu-system-x86 qemu-utils e2fsprogs iproute2 procps
	# (tests/integration/virtio_net_test.sh also uses socat, listed below)
	# benchmarks (scripts/bench-blk: fio, scripts/bench-net: iperf3; on the
	# host, copied into the guest)
	fio iperf3
	# by hand
	tmux curl socat
)

usage() {
	cat <<EOF
Usage: scripts/setup.sh [--packages-only | --no-build] [--no-images]

1. Installs the Debian packages needed to build and test moonvisor, if
   dpkg-query says any is missing (apt-get update, then apt-get install;
   through sudo when not root; DEBIAN_FRONTEND=noninteractive):
   ${PACKAGES[*]}
2. Configures and builds into build/:
   cmake -S . -B build -DMV_WERROR=\${MV_WERROR:-OFF}; cmake --build build -j2
3. Builds the guest images (scripts/guest-image.sh, scripts/l1-image.sh;
   no-ops when cached in \${MV_CACHE_DIR:-~/.cache/moonvisor}).

  --packages-only  step 1 only
  --no-build       skip step 2
  --no-images      skip step 3
  -h, --help       this text
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "not root and no sudo: cannot run $*"
	fi
}

install_packages() {
	local p missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "all ${#PACKAGES[@]} packages installed"
		return 0
	fi
	log "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" ||
		die "apt-get install failed"
}

build() {
	log "configuring and building into $SRC/build (MV_WERROR=${MV_WERROR:-OFF})"
	cmake -S "$SRC" -B "$SRC/build" -DMV_WERROR="${MV_WERROR:-OFF}" ||
		die "cmake configure failed"
	cmake --build "$SRC/build" -j2 || die "build failed"
}

images() {
	"$HERE/guest-image.sh" >/dev/null || die "scripts/guest-image.sh failed"
	"$HERE/l1-image.sh" >/dev/null || die "scripts/l1-image.sh failed"
}

main() {
	local do_build=1 do_images=1
	while [ $# -gt 0 ]; do
		case "$1" in
		--packages-only) do_build=0 do_images=0 ;;
		--no-build) do_build=0 ;;
		--no-images) do_images=0 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
	command -v dpkg-query >/dev/null || die "this script needs Debian (dpkg-query not found)"
	install_packages
	[ $do_build = 0 ] || build
	[ $do_images = 0 ] || images
	log "done"
}

main "$@"
