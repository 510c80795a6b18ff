# shellcheck shell=bash
# Shared code for scripts/guest-image.sh and scripts/l1-image.sh: resolve a
# Debian kernel through its meta package, unpack it without installing it,
# and pack a busybox initramfs with the closure of the modules it needs.
# Sourced, not executed. Callers set `set -euo pipefail` and PROG.

MV_CACHE_DIR=${MV_CACHE_DIR:-$HOME/.cache/moonvisor}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root (or sudo) to run: $*"
	fi
}

need_cmds() {
	local c missing=()
	for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
	[ ${#missing[@]} -eq 0 ] ||
		die "missing commands: ${missing[*]} (run scripts/setup.sh, or apt-get install busybox-static cpio kmod xz-utils zstd)"
}

# kernel_pkg_of META: print the real linux-image package META depends on.
kernel_pkg_of() {
	local meta=$1 pkg
	pkg=$(apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n1)
	if [ -z "$pkg" ]; then
		log "apt-cache knows no dependency of $meta; running apt-get update"
		as_root apt-get update -q >&2 || die "apt-get update failed"
		pkg=$(apt-cache depends "$meta" 2>/dev/null |
			sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n1)
	fi
	[ -n "$pkg" ] || die "cannot resolve the kernel package behind $meta (is Debian's archive in sources.list?)"
	printf '%s\n' "$pkg"
}

# fetch_kernel PKG DIR: download PKG's .deb into DIR and unpack it into
# DIR/root (dpkg -x, nothing installed). Sets KVER, KROOT, KMODS, KDEB.
fetch_kernel() {
	local pkg=$1 dir=$2 deb moddirs sandbox=()
	mkdir -p "$dir/dl"
	# As root, apt downloads as _apt, who cannot write into a private dir.
	if [ "$(id -u)" -eq 0 ]; then sandbox=(-o APT::Sandbox::User=root); fi
	log "downloading $pkg"
	(cd "$dir/dl" && apt-get "${sandbox[@]}" download -q "$pkg" >&2) ||
		die "apt-get download $pkg failed"
	deb=$(find "$dir/dl" -maxdepth 1 -name '*.deb' | head -n1)
	[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
	KDEB=$(basename "$deb")
	dpkg -x "$deb" "$dir/root" || die "dpkg -x $deb failed"
	KROOT=$dir/root
	# Modules live in lib/modules (bookworm) or usr/lib/modules (usrmerged).
	if [ ! -d "$KROOT/lib/modules" ] && [ -d "$KROOT/usr/lib/modules" ]; then
		ln -s usr/lib "$KROOT/lib"
	fi
	moddirs=("$KROOT"/lib/modules/*/)
	[ ${#moddirs[@]} -eq 1 ] && [ -d "${moddirs[0]}" ] ||
		die "$KDEB: expected exactly one lib/modules/<version> directory"
	KVER=$(basename "${moddirs[0]}")
	KMODS=$KROOT/lib/modules/$KVER
	[ -f "$KROOT/boot/vmlinuz-$KVER" ] || die "$KDEB: no boot/vmlinuz-$KVER"
	depmod -b "$KROOT" "$KVER" || die "depmod -b on the unpacked $KDEB failed"
	log "kernel $KVER ($KDEB)"
}

# copy_module_closure TREE MOD...: copy each module that exists (and what it
# depends on, per modules.dep) from the unpacked kernel into TREE's
# lib/modules, decompressed so busybox insmod/modprobe can load it. Writes
# the names of the loadable requested modules, in order, to
# TREE/etc/moonvisor/modules. Sets MODS_COPIED (all .ko files copied).
copy_module_closure() {
	local tree=$1 mod line path rel dst out
	shift
	local dstmods=$tree/lib/modules/$KVER
	mkdir -p "$dstmods" "$tree/etc/moonvisor"
	: >"$tree/etc/moonvisor/modules"
	MODS_COPIED=()
	for mod in "$@"; do
		if ! out=$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$mod" 2>/dev/null); then
			log "module $mod: not in $KVER, skipped"
			continue
		fi
		case "$out" in builtin\ *)
			log "module $mod: built into $KVER"
			continue ;;
		esac
		while IFS= read -r line; do
			case "$line" in insmod\ *) ;; *) continue ;; esac
			path=${line#insmod }
			path=${path%% *}
			rel=${path#"$KMODS"/}
			dst=$dstmods/${rel%.xz}
			dst=${dst%.zst}
			dst=${dst%.gz}
			[ -e "$dst" ] && continue
			mkdir -p "$(dirname "$dst")"
			case "$path" in
			*.ko) cp "$path" "$dst" ;;
			*.ko.xz) xz -dc "$path" >"$dst" ;;
			*.ko.zst) zstd -qdc "$path" >"$dst" ;;
			*.ko.gz) gzip -dc "$path" >"$dst" ;;
			*) die "module $mod: unexpected file $path" ;;
			esac
			MODS_COPIED+=("$(basename "$dst" .ko)")
		done <<<"$out"
		printf '%s\n' "$mod" >>"$tree/etc/moonvisor/modules"
	done
	local f
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -f "$KMODS/$f" ] && cp "$KMODS/$f" "$dstmods/"
	done
	depmod -b "$tree" "$KVER" || die "depmod -b on the initramfs tree failed"
}

# install_busybox TREE: static busybox plus a symlink for every applet.
install_busybox() {
	local tree=$1 bb applet
	bb=$(command -v busybox || true)
	[ -n "$bb" ] || die "busybox not found (apt-get install busybox-static)"
	# ldd fails on static executables; /init runs before any libc exists.
	if ldd "$bb" >/dev/null 2>&1; then
		die "$bb is dynamically linked; install busybox-static"
	fi
	mkdir -p "$tree/bin" "$tree/sbin" "$tree/usr/bin" "$tree/usr/sbin" \
		"$tree/proc" "$tree/sys" "$tree/dev" "$tree/tmp" "$tree/run" \
		"$tree/mnt" "$tree/root" "$tree/etc"
	cp "$bb" "$tree/bin/busybox"
	while IFS= read -r applet; do
		[ -n "$applet" ] || continue
		[ -e "$tree/$applet" ] || [ -L "$tree/$applet" ] && continue
		mkdir -p "$tree/$(dirname "$applet")"
		ln -s /bin/busybox "$tree/$applet"
	done < <("$tree/bin/busybox" --list-full)
	[ -e "$tree/bin/sh" ] || ln -s busybox "$tree/bin/sh"
	chmod 1777 "$tree/tmp"
}

# pack_initramfs TREE OUT: gzip'ed newc cpio, owned by root, sorted.
pack_initramfs() {
	local tree=$1 out=$2
	(cd "$tree" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -9n >"$out" ||
		die "packing the initramfs failed"
}

# recipe_hash FILE...: identifies the recipe an image was built with, so a
# change to the builder or its init script rebuilds the cached image.
recipe_hash() {
	cat "$@" | sha256sum | cut -c1-16
}

# cached_image NAME FORCE RECIPE BUILDER: run BUILDER OUTDIR (under a lock)
# unless $MV_CACHE_DIR/NAME is complete and was built from RECIPE; print
# the directory on stdout.
cached_image() {
	local name=$1 force=$2 recipe=$3 builder=$4
	local dir=$MV_CACHE_DIR/$name lockfd
	# Checked before locking too: the cache may be read-only (nested VM).
	if [ "$force" = 0 ] && image_current "$dir" "$recipe"; then
		log "cached: $dir (kernel $(cat "$dir/VERSION"))"
		printf '%s\n' "$dir"
		return 0
	fi
	mkdir -p "$MV_CACHE_DIR" || die "cannot create $MV_CACHE_DIR"
	exec {lockfd}>"$MV_CACHE_DIR/.$name.lock" ||
		die "cannot write $MV_CACHE_DIR/.$name.lock"
	flock "$lockfd" || die "cannot lock $MV_CACHE_DIR/.$name.lock"
	if [ "$force" = 0 ] && image_current "$dir" "$recipe"; then
		log "cached: $dir (built meanwhile; kernel $(cat "$dir/VERSION"))"
		printf '%s\n' "$dir"
		return 0
	fi
	local tmp
	tmp=$(mktemp -d "$MV_CACHE_DIR/.$name.build.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	mkdir "$tmp/out"
	"$builder" "$tmp/out" "$tmp"
	printf '%s\n' "$recipe" >"$tmp/out/RECIPE"
	image_complete "$tmp/out" || die "internal error: $name image incomplete"
	rm -rf "$dir.old"
	[ -e "$dir" ] && mv "$dir" "$dir.old"
	mv "$tmp/out" "$dir"
	rm -rf "$dir.old" "$tmp"
	trap - EXIT
	log "built: $dir (kernel $(cat "$dir/VERSION"))"
	printf '%s\n' "$dir"
}

image_current() {
	image_complete "$1" && [ "$(cat "$1/RECIPE" 2>/dev/null)" = "$2" ]
}

image_complete() {
	[ -s "$1/vmlinuz" ] && [ -s "$1/initrd.img" ] && [ -s "$1/VERSION" ]
}
