#!/usr/bin/env bash
# The jail (docs/security.md "How to run jailed"), as root: the default
# guest boots with jail = { chroot = JAIL, uid = 1000, gid = 1000, netns,
# cgroup, rlimits } and a disk image inside the jail, with fd 7 inherited
# from this shell. While the guest waits (its first boot, after writing
# 4 MiB of random data to vda), the host checks the VMM through /proc:
# uid/gid 1000 and no groups, NoNewPrivs 1, every capability set empty,
# seccomp filter mode on every thread, its root is JAIL (same inode), fd 7
# and nothing else unexpected is open, the network namespace and the
# cgroup are the given ones, the limits are set. Before that, the script
# hot-plugs a disk by a host path (not found: paths resolve inside the
# jail) and one by its path inside the jail (/hot.raw), which the guest
# writes to. Then the guest reboots (kernel, initrd, /dev/kvm and the disk
# come from descriptors kept across the jail), reads its data back (same
# checksum) and powers off.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest=$(guest_dir)
work=$(test_workdir jail)
[ "$(id -u)" = 0 ] || skip "needs root (the nested runner is root)"
# the jail and its disk in a local file system (the nested VM's shared
# dirs are 9p: no flock); the netns file and the cgroup mount there too
base=$(mktemp -d /tmp/mv-jail.XXXXXX)
jail=$base/root
mkdir -p "$jail"
chmod 755 "$base" "$jail"
disk=$jail/disk.raw
truncate -s 16M "$disk"
hot=$jail/hot.raw
truncate -s 1M "$hot"
chown 1000:1000 "$hot"
outside=$base/outside.raw
truncate -s 1M "$outside"
chmod 666 "$outside"
marker=$work/inherited-fd-marker
echo "an inherited descriptor" >"$marker"
log=$work/jail.log
: >"$log"
pid=
cleanup() {
	[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
	[ -z "${cgmnt:-}" ] || { rmdir "$cgmnt/mvjail" 2>/dev/null || true; umount "$cgmnt" 2>/dev/null || true; }
	[ -z "${nsfile:-}" ] || umount "$nsfile" 2>/dev/null || true
	rm -rf "$base"
}
trap cleanup EXIT

# ---- a network namespace (bound to a file) and a cgroup v2 directory ----
extra=("hot=/hot.raw" "outside=$outside")
nsfile=$base/netns
: >"$nsfile"
if unshare --net="$nsfile" true 2>"$work/unshare.err"; then
	extra+=("netns=$nsfile")
else
	say "SKIPPED netns part: unshare --net=$nsfile failed: $(cat "$work/unshare.err")"
	nsfile=
fi
cgmnt=
if grep -qw cgroup2 /proc/filesystems; then
	if [ -f /sys/fs/cgroup/cgroup.procs ] && grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts; then
		cgroot=/sys/fs/cgroup
	else # the nested VM mounts no cgroup file system: one of our own
		cgmnt=$base/cgroup
		mkdir -p "$cgmnt"
		mount -t cgroup2 none "$cgmnt"
		cgroot=$cgmnt
	fi
	mkdir -p "$cgroot/mvjail"
	extra+=("cgroup=$cgroot/mvjail")
else
	say "SKIPPED cgroup part: this kernel has no cgroup2 file system"
fi

# ---- the guest: first boot writes and waits, second reads back ----
guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
gcmd=$(cat <<'SH'
if [ "$(dd if=/dev/vda bs=16 count=1 2>/dev/null)" = "jail-boot1-mark." ]; then
	echo "second_md5=$(dd if=/dev/vda bs=1M skip=1 count=4 2>/dev/null | md5sum | cut -d' ' -f1)"
	echo jail-done
	poweroff -f
fi
head -c 4194304 /dev/urandom >/tmp/d
echo "first_md5=$(md5sum </tmp/d | cut -d' ' -f1)"
dd if=/tmp/d of=/dev/vda bs=1M seek=1 conv=fsync 2>/dev/null
printf 'jail-boot1-mark.' | dd of=/dev/vda bs=16 count=1 conv=fsync 2>/dev/null
sync
echo jail-holding
i=0
while [ $i -lt 600 ]; do
	echo 3 >/proc/sys/vm/drop_caches
	[ "$(dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | head -c 9)" = "host-done" ] && break
	sleep 1
	i=$((i + 1))
done
echo "host_done_after=$i"
if [ -b /dev/vdb ]; then
	printf 'hot-disk-data' | dd of=/dev/vdb bs=13 count=1 conv=fsync 2>/dev/null && echo hot_written=yes
fi
SH
)

# fd 7 is inherited by moonvisor (no close-on-exec): the jail must close it
exec 7<"$marker"
[ -e /proc/$$/fd/7 ] || fail "the test shell could not open fd 7"
say "running: $bin jail.lua $jail $disk ${extra[*]} -- ..."
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	"$bin" -v "$MV_SOURCE_DIR/tests/integration/jail.lua" "$jail" "$disk" "${extra[@]}" -- "$(guest_cmd "$gcmd")" \
	</dev/null >"$log" 2>&1 &
pid=$!
exec 7<&-
for _ in $(seq 1200); do
	log_has "$log" '^jailtest: hotplug hot ' && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.5
done

# ---- the VMM as seen from the host ----
inspect() {
	local st=/proc/$pid/status f t tgt
	expect_line "$st" $'^Uid:\t1000\t1000\t1000\t1000$' "uid 1000 (real, effective, saved, fs)"
	expect_line "$st" $'^Gid:\t1000\t1000\t1000\t1000$' "gid 1000"
	expect_line "$st" '^Groups:[[:space:]]*$' "no supplementary groups"
	expect_line "$st" $'^NoNewPrivs:\t1$' "no_new_privs"
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect_line "$st" "^$c:"$'\t0000000000000000$' "$c empty"
	done
	for t in /proc/$pid/task/*; do
		log_has "$t/status" $'^Seccomp:\t2$' || add_failure "thread $(cat "$t/comm") of the VMM has no seccomp filter"
		log_has "$t/status" $'^CapEff:\t0000000000000000$' || add_failure "thread $(cat "$t/comm") has capabilities"
	done
	say "VMM threads: $(cat /proc/$pid/task/*/comm | tr '\n' ' ')"
	[ "$(stat -L -c %d:%i "/proc/$pid/root")" = "$(stat -c %d:%i "$jail")" ] ||
		add_failure "the VMM's root is not the jail ($(stat -L -c %d:%i "/proc/$pid/root") vs $(stat -c %d:%i "$jail"))"
	[ -e "/proc/$pid/root/disk.raw" ] || add_failure "disk.raw is not at the root of the VMM's file system"
	[ ! -e "/proc/$pid/root/$(basename "$work")" ] || add_failure "the VMM sees the host's file system"
	# files by inode (a path read from another mount namespace can differ)
	local allowed="" id
	for f in /dev/null "$log" /dev/kvm "$guest/vmlinuz" "$guest/initrd.img" "$disk" "$hot"; do
		allowed+=" $(stat -L -c %d:%i "$f")"
	done
	for f in /proc/$pid/fd/*; do
		tgt=$(readlink "$f" || true)
		say "fd ${f##*/} -> $tgt"
		case $tgt in
		anon_inode:* | pipe:* | socket:*) continue ;;
		esac
		id=$(stat -L -c %d:%i "$f")
		if [ "$id" = "$(stat -c %d:%i "$marker")" ]; then
			add_failure "fd ${f##*/}: the inherited descriptor is still open"
		elif [[ " $allowed " != *" $id "* ]]; then
			add_failure "fd ${f##*/} -> $tgt is not one the VMM should hold"
		fi
	done
	[ ! -e /proc/$pid/fd/7 ] || [ "$(readlink /proc/$pid/fd/7)" != "$marker" ] || add_failure "fd 7 still open"
	if [ -n "$nsfile" ]; then
		[ "$(readlink "/proc/$pid/ns/net")" = "net:[$(stat -L -c %i "$nsfile")]" ] ||
			add_failure "the VMM is in $(readlink "/proc/$pid/ns/net"), not the netns of $nsfile"
	fi
	if [[ " ${extra[*]} " == *" cgroup="* ]]; then
		expect_line "/proc/$pid/cgroup" '^0::/mvjail$' "the VMM is in cgroup /mvjail"
		grep -qx "$pid" "$cgroot/mvjail/cgroup.procs" || add_failure "$pid not in $cgroot/mvjail/cgroup.procs"
	fi
	expect_line "/proc/$pid/limits" '^Max open files +1024 +1024 ' "rlimits.nofile"
	expect_line "/proc/$pid/limits" '^Max file size +1073741824 +1073741824 ' "rlimits.fsize"
}
if log_has "$log" '^jail-holding' && kill -0 "$pid" 2>/dev/null; then
	inspect
else
	add_failure "the guest never reached the inspection point"
fi
printf 'host-done' | dd of="$disk" bs=512 seek=1 conv=notrunc 2>/dev/null

# ---- reboot, read back, power off ----
rc=0
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then
	add_failure "moonvisor still running 300 s after the inspection: killed"
	kill -9 "$pid"
fi
wait "$pid" || rc=$?
pid=
tr -d '\r' <"$log" >&2
expect_status "moonvisor (jailed)" 0 "$rc"
expect_line "$log" "jailed in $jail as uid 1000 gid 1000" "the jail's log line"
first=$(tr -d '\r' <"$log" | sed -n 's/^first_md5=\([0-9a-f]*\)$/\1/p' | head -n1)
[ -n "$first" ] || add_failure "the guest did not write its data"
expect_line "$log" "^second_md5=${first:-none}\$" "the data read back after the reboot matches"
expect_line "$log" '^jail-done' "the second boot ran"
expect_line "$log" "^jailtest: hotplug outside ok=false err=.*$outside: No such file or directory" \
	"a host path is not found by a hot-plug after the jail"
expect_line "$log" '^jailtest: hotplug hot pci=0000:00:[0-9a-f]{2}\.0$' "/hot.raw (inside the jail) hot-plugged"
expect_line "$log" '^hot_written=yes$' "the guest wrote to the hot-plugged disk"
[ "$(head -c 13 "$hot")" = hot-disk-data ] || add_failure "$hot does not hold what the guest wrote"
expect_line "$log" '^jailtest: stopped reason=poweroff boots=2$' "one reboot, then poweroff"
expect_no_line "$log" 'seccomp' 'I/O error' 'DEVICE_NEEDS_RESET|needs reset'
finish "$log"
