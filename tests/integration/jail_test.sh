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
# writes to. With the netns: NICs on taps made in it (host side
# 10.0.N.1/24): net0 (vhost = false) and, with /dev/vhost-net, net1
# (vhost = true), attached before the jail; on each the guest pings the
# host and moves 4 MiB each way (socat on the host side, same sha256).
# After the inspection point a NIC is hot-plugged on a persistent tap that
# belongs to uid 1000 (JAIL/dev/net/tun made for it) and one on a root's
# tap is refused with the jail's advice; the guest pings through the
# hot-plugged one (and one on net0's tap is busy). The memory is { size = 256M, hotplug = 1G }: it is
# resized to 768M and the guest's MemTotal grows. Then the guest reboots
# (kernel, initrd, /dev/kvm, the disk, the taps and vhost-net come from
# descriptors kept across the jail; the hot-plugged NIC's tap is attached
# again as uid 1000), reads its data back (same checksum), pings through
# every NIC again and powers off.
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
spids=()
cleanup() {
	[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
	for p in "${spids[@]}"; do kill "$p" 2>/dev/null || true; done
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
# ---- NICs: taps in that netns, socat serving 4 MiB on each ----
nics=
vhost=0
if [ -n "$nsfile" ] && [ -c /dev/net/tun ]; then
	PATH=$PATH:/sbin:/usr/sbin
	for tool in ip socat sha256sum nsenter; do command -v "$tool" >/dev/null || fail "$tool not found"; done
	[ -c /dev/vhost-net ] && vhost=1
	nsx() { nsenter --net="$nsfile" "$@"; }
	nsx ip link set lo up
	# tap N OWNER-ARGS...: mvjtapN with 10.0.(N+2).1/24, up
	mktap() {
		local n=$1
		shift
		nsx ip tuntap add dev "mvjtap$n" mode tap "$@"
		nsx ip addr add "10.0.$((n + 2)).1/24" dev "mvjtap$n"
		nsx ip link set "mvjtap$n" up
	}
	mktap 0
	extra+=("tap0=mvjtap0")
	if [ "$vhost" = 1 ]; then
		mktap 1
		extra+=("tap1=mvjtap1")
	else
		say "SKIPPED vhost NIC: no /dev/vhost-net"
	fi
	mktap 2 user 1000 vnet_hdr # the hot-plugged NIC's: uid 1000 may attach to it
	mktap 3 user 0             # root's: a hot-plug on it is refused
	extra+=("hottap=mvjtap2" "denytap=mvjtap3" "busytap=mvjtap0")
	mkdir -p "$jail/dev/net"
	mknod -m 666 "$jail/dev/net/tun" c 10 200
	for n in 0 1; do
		[ "$n" = 0 ] || [ "$vhost" = 1 ] || continue
		head -c 4194304 /dev/urandom >"$base/h2g$n"
		nsx socat -u OPEN:"$base/h2g$n" TCP-LISTEN:5001,bind=10.0.$((n + 2)).1,reuseaddr &
		spids+=($!)
		nsx socat -u TCP-LISTEN:5002,bind=10.0.$((n + 2)).1,reuseaddr CREATE:"$base/g2h$n" &
		spids+=($!)
	done
	nics=1
else
	say "SKIPPED NICs: no netns or no /dev/net/tun"
fi
extra+=("hotplug=1G" "resize=768M")

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
# The script is longer than a kernel command line takes: it goes on the
# disk at 12 MiB, and the command line reads it from there.
gscript=$(cat <<'SH'
mac_if() {
	for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && { echo "${i##*/}"; return 0; }; done
	return 1
}
# net_up MAC ADDR NAME: configures the interface with MAC, pings ADDR's .1
net_up() {
	n=0
	while ! ifc=$(mac_if "$1"); do
		n=$((n + 1)); [ $n -lt 300 ] || { echo "$3_ping=no-interface"; return 1; }
		sleep 0.1
	done
	ip link set "$ifc" up && ip addr add "$2/24" dev "$ifc"
	if ping -c 2 -W 5 "${2%.*}.1" >/dev/null; then echo "$3_ping=ok"; else echo "$3_ping=failed"; return 1; fi
}
# xfer NAME HOST: 4 MiB from HOST:5001, 4 MiB to HOST:5002
xfer() {
	nc "$2" 5001 </dev/null >/tmp/rx
	echo "$1_rx_sha=$(sha256sum </tmp/rx | cut -d' ' -f1) $1_rx_size=$(wc -c </tmp/rx)"
	rm -f /tmp/rx
	head -c 4194304 /dev/urandom >/tmp/tx
	echo "$1_tx_sha=$(sha256sum </tmp/tx | cut -d' ' -f1)"
	nc "$2" 5002 </tmp/tx >/dev/null && echo "$1_tx_done"
	rm -f /tmp/tx
}
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo; }
ip link set lo up
if [ "$(dd if=/dev/vda bs=16 count=1 2>/dev/null)" = "jail-boot1-mark." ]; then
	echo "second_md5=$(dd if=/dev/vda bs=1M skip=1 count=4 2>/dev/null | md5sum | cut -d' ' -f1)"
	if [ "$NICS" = 1 ]; then
		net_up 52:54:00:12:34:01 10.0.2.15 boot2_net0
		[ "$VHOST" = 1 ] && net_up 52:54:00:12:34:02 10.0.3.15 boot2_net1
		net_up 52:54:00:12:34:03 10.0.4.15 boot2_hotnet
	fi
	echo jail-done
	poweroff -f
fi
mem_before=$(memtotal)
echo "mem_before=$mem_before"
head -c 4194304 /dev/urandom >/tmp/d
echo "first_md5=$(md5sum </tmp/d | cut -d' ' -f1)"
dd if=/tmp/d of=/dev/vda bs=1M seek=1 conv=fsync 2>/dev/null
printf 'jail-boot1-mark.' | dd of=/dev/vda bs=16 count=1 conv=fsync 2>/dev/null
sync
rm -f /tmp/d
if [ "$NICS" = 1 ]; then
	net_up 52:54:00:12:34:01 10.0.2.15 net0 && xfer net0 10.0.2.1
	[ "$VHOST" = 1 ] && net_up 52:54:00:12:34:02 10.0.3.15 net1 && xfer net1 10.0.3.1
fi
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
[ "$NICS" = 1 ] && net_up 52:54:00:12:34:03 10.0.4.15 hotnet
# the last block plugged is onlined a moment after the host hears of it
i=0
while [ $i -lt 100 ] && [ "$(memtotal)" -lt $((mem_before + 400000)) ]; do sleep 0.2; i=$((i + 1)); done
echo "mem_after=$(memtotal)"
SH
)
gscript="NICS=${nics:-0} VHOST=$vhost
$gscript
"
printf '%s' "$gscript" | dd of="$disk" bs=1M seek=12 conv=notrunc 2>/dev/null
gcmd="dd if=/dev/vda bs=1M skip=12 count=1 2>/dev/null | head -c ${#gscript} | sh"

# fd 7 is inherited by moonvisor (no close-on-exec): the jail must close it
exec 7<"$marker"
[ -e /proc/$$/fd/7 ] || fail "the test shell could not open fd 7"
say "running: $bin jail.lua $jail $disk ${extra[*]} -- ..."
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	"$bin" -v "$MV_SOURCE_DIR/tests/integration/jail.lua" "$jail" "$disk" "${extra[@]}" -- "$gcmd" \
	</dev/null >"$log" 2>&1 &
pid=$!
exec 7<&-
for _ in $(seq 1200); do
	log_has "$log" '^jailtest: host steps done' && break
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
	if [ -n "$nics" ]; then # the kept taps, vhost-net, the hot-plugged NIC's tap
		for f in /dev/net/tun "$jail/dev/net/tun" /dev/vhost-net; do
			[ ! -e "$f" ] || allowed+=" $(stat -L -c %d:%i "$f")"
		done
	fi
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
		# vhost-net's worker (a kernel thread "vhost-PID" on 6.1, a thread of
		# the VMM on later kernels) is made on the first boot, in the jail
		if [ "$vhost" = 1 ]; then
			local w found=
			for w in /proc/[0-9]*; do
				[ "$(cat "$w/comm" 2>/dev/null)" = "vhost-$pid" ] || continue
				found=${w#/proc/}
				say "vhost worker $found: $(cat "$w/cgroup" 2>/dev/null)"
				log_has "$w/cgroup" '^0::/mvjail$' || add_failure "vhost worker $found is not in cgroup /mvjail"
			done
			[ -n "$found" ] || say "no vhost-$pid worker process found (a thread of the VMM on this kernel?)"
		fi
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
console_lines "$log" >&2
expect_status "moonvisor (jailed)" 0 "$rc"
expect_line "$log" "jailed in $jail as uid 1000 gid 1000" "the jail's log line"
first=$(console_lines "$log" | sed -n 's/^first_md5=\([0-9a-f]*\)$/\1/p' | head -n1)
[ -n "$first" ] || add_failure "the guest did not write its data"
expect_line "$log" "^second_md5=${first:-none}\$" "the data read back after the reboot matches"
expect_line "$log" '^jail-done' "the second boot ran"
expect_line "$log" "^jailtest: hotplug outside ok=false err=.*$outside: No such file or directory" \
	"a host path is not found by a hot-plug after the jail"
expect_line "$log" '^jailtest: hotplug hot pci=0000:00:[0-9a-f]{2}\.0$' "/hot.raw (inside the jail) hot-plugged"
expect_line "$log" '^hot_written=yes$' "the guest wrote to the hot-plugged disk"
[ "$(head -c 13 "$hot")" = hot-disk-data ] || add_failure "$hot does not hold what the guest wrote"
expect_line "$log" '^jailtest: stopped reason=poweroff boots=2$' "one reboot, then poweroff"
# ---- NICs ----
if [ -n "$nics" ]; then
	expect_line "$log" 'attached to existing tap mvjtap0' "net0's tap attached before the jail"
	for n in 0 1; do
		[ "$n" = 0 ] || [ "$vhost" = 1 ] || continue
		expect_line "$log" "^net${n}_ping=ok\$" "net$n: the jailed guest pings 10.0.$((n + 2)).1"
		expect_line "$log" "^net${n}_rx_sha=$(sha256sum <"$base/h2g$n" | cut -d' ' -f1) net${n}_rx_size=4194304\$" \
			"net$n: 4 MiB host->guest, same sha256"
		tx_sha=$(console_lines "$log" | sed -n "s/^net${n}_tx_sha=\([0-9a-f]*\)$/\1/p" | head -n1)
		if [ -n "$tx_sha" ] && [ -f "$base/g2h$n" ]; then
			[ "$(stat -c %s "$base/g2h$n")" = 4194304 ] || add_failure "net$n: the host got $(stat -c %s "$base/g2h$n") bytes, want 4 MiB"
			[ "$(sha256sum <"$base/g2h$n" | cut -d' ' -f1)" = "$tx_sha" ] || add_failure "net$n: guest->host sha256 differs"
		else
			add_failure "net$n: no guest->host transfer (tx_sha '$tx_sha')"
		fi
		expect_line "$log" "^boot2_net${n}_ping=ok\$" "net$n pings after the reboot (kept descriptors)"
	done
	expect_line "$log" "^jailtest: add_net denied failed: .*tap mvjtap3: permission denied \(the VMM is jailed as uid 1000: .*ip tuntap add dev mvjtap3 mode tap user 1000 vnet_hdr\)" \
		"a NIC on root's tap is refused with the jail's advice"
	expect_line "$log" '^jailtest: add_net busy failed: .*tap mvjtap0 is busy \(another NIC of this VM is attached to it\)' \
		"a second NIC on net0's kept tap is refused"
	expect_line "$log" '^jailtest: add_net hotnet pci=0000:00:[0-9a-f]{2}\.0$' "a NIC on uid 1000's tap hot-plugged in the jail"
	expect_line "$log" '^hotnet_ping=ok$' "the guest pings through the hot-plugged NIC"
	expect_line "$log" '^boot2_hotnet_ping=ok$' "the hot-plugged NIC works after the reboot (its tap attached as uid 1000)"
fi
# ---- memory resize ----
expect_line "$log" '^jailtest: resize 768M ok=true ' "resize_memory(768M) in the jail"
before=$(console_lines "$log" | sed -n 's/^mem_before=\([0-9]*\)$/\1/p' | head -n1)
after=$(console_lines "$log" | sed -n 's/^mem_after=\([0-9]*\)$/\1/p' | head -n1)
say "guest MemTotal: ${before:-?} kB -> ${after:-?} kB"
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -ge $((before + 400000)) ] ||
	add_failure "the guest's MemTotal did not grow by 512M (${before:-?} kB -> ${after:-?} kB)"
expect_no_line "$log" 'seccomp' 'I/O error' 'DEVICE_NEEDS_RESET|needs reset' 'vhost-net:' 'broke a queue'
finish "$log"
