# shellcheck shell=bash
# Adding files to the default guest's initrd without rebuilding the image
# (scripts/guest-image.sh): Linux unpacks concatenated archives in order, a
# later file of the same name winning, so a second gzip'ed newc cpio
# appended to initrd.img adds (or replaces) files. Source this file; the
# functions return non-zero on failure (the caller says what failed).
#
#   initrd_stage_outb STAGE       build the guest's static port writer into
#                                 STAGE/bin/outb (needs cc with a static libc):
#                                 `outb PORT STRING` writes each byte of
#                                 STRING to the I/O port PORT (tests/plugins/outb.c;
#                                 the guest has no /dev/port)
#   initrd_stage_binary STAGE BIN copy the host binary BIN and the shared
#                                 libraries ldd lists for it into STAGE, at
#                                 their host paths (symlinks followed)
#   initrd_append BASE STAGE OUT  OUT = BASE followed by STAGE's tree as a
#                                 gzip'ed newc cpio (owner root)

_MV_INITRD_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

initrd_stage_outb() {
	mkdir -p -- "$1/bin" &&
		cc -static -O2 -Wall -Werror "$_MV_INITRD_SRC/tests/plugins/outb.c" -o "$1/bin/outb"
}

_initrd_copy() { # host path -> same path in STAGE
	mkdir -p -- "$1$(dirname -- "$2")" && cp -L -- "$2" "$1$2"
}

initrd_stage_binary() {
	local stage=$1 bin=$2 libs lib
	_initrd_copy "$stage" "$bin" || return
	# (no process substitution: the nested VM's /dev has no /dev/fd)
	libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u) || return
	for lib in $libs; do
		_initrd_copy "$stage" "$lib" || return
	done
}

initrd_append() {
	local base=$1 stage=$2 out=$3
	cp -- "$base" "$out" &&
		(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >>"$out"
}
