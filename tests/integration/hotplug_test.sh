#!/usr/bin/env bash
# PCI hotplug (ACPI: GED + the slot objects, acpiphp in the guest) with the
# default guest, driven by tests/integration/hotplug.lua:
#   - error paths on a running VM: an id in use, a path that does not
#     exist, an unknown id, a second removal while one is pending;
#   - a disk hotplugged as /dev/vdb (vda was plugged at boot): the guest
#     writes to it and the data is in the host file; removed: /dev/vdb is
#     gone in the guest and moonvisor has closed the image (/proc/PID/fd);
#   - CYCLES (20) add/remove rounds of another disk: the fd count is the
#     same before and after, and the VMM's RSS is printed (and must not
#     grow by more than 16 MiB: a leak of a few hundred KiB a round would);
#   - a removal while the guest is paused times out with the device still
#     listed; once resumed, the guest ejects it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir hotplug)
cycles=${MV_HOTPLUG_CYCLES:-20}
# flock on the images: the nested VM's shared dirs are 9p, its /tmp is local
imgdir=$work
if [ "${MV_VMTEST:-0}" = 1 ]; then
	imgdir=/tmp/hotplug-images
fi
syncdir=$work/sync
rm -rf "$syncdir" "$imgdir"/*.raw
mkdir -p "$imgdir" "$syncdir"
truncate -s 8M "$imgdir/root.raw" "$imgdir/data.raw" "$imgdir/cycle.raw"
content="moonvisor hotplug data 31337"

# Linux passes at most 32 words after "--" to init: ship the script base64'd.
guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
guest=$(cat <<SH
wait_dev() { # wait_dev present|absent NAME
	n=0 # (sh: a function's variables are global; the caller's loop uses i)
	while :; do
		if [ -b /dev/\$2 ]; then [ \$1 = present ] && return 0; else [ \$1 = absent ] && return 0; fi
		n=\$((n + 1)); [ \$n -lt 3000 ] || { echo "hp-timeout \$1 \$2"; exit 1; }
		sleep 0.1
	done
}
echo hp-ready
wait_dev present vdb
echo "hp-vdb size=\$(cat /sys/block/vdb/size) serial=\$(cat /sys/block/vdb/serial)"
for d in /sys/bus/pci/slots/*; do echo "hp-slot \$(basename \$d) \$(cat \$d/address)"; done | head -3
echo "$content" | dd of=/dev/vdb bs=512 conv=sync,fsync 2>/dev/null && echo hp-written
wait_dev absent vdb
echo hp-gone
i=0
while [ \$i -le $cycles ]; do
	wait_dev present vdb; echo "hp-up \$i"
	wait_dev absent vdb; echo "hp-down \$i"
	i=\$((i + 1))
done
wait_dev present vdb; echo hp-late-up
wait_dev absent vdb; echo hp-late-down
dmesg | grep -iE 'acpiphp|pci 0000:00:|virtio_blk|_EJ0|ACPI Error' | tail -40 | sed 's/^/dmesg: /'
echo hp-done
SH
)

log=$work/hotplug.log
rc=0
run_logged 900 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/hotplug.lua" "$imgdir" "$syncdir" "$cycles" \
	-- "$(guest_cmd "$guest")" &
vmm=$!

sync_point() { host_sync_point "$log" "$vmm" "$1"; }
fd_count() { ls "/proc/$1/fd" | wc -l; }
opens() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c -- "$2" || true; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

if pid=$(sync_point added); then
	[ "$(opens "$pid" "$imgdir/data.raw")" = 1 ] || add_failure "data.raw is not open once plugged"
	touch "$syncdir/added"
else
	add_failure "never reached the 'added' sync point"
fi
if pid=$(sync_point removed); then
	n=$(opens "$pid" "$imgdir/data.raw")
	[ "$n" = 0 ] || add_failure "data.raw is still open ($n fds) after the guest ejected it"
	say "after removal: data.raw open $n times"
	touch "$syncdir/removed"
else
	add_failure "never reached the 'removed' sync point"
fi
if pid=$(sync_point loop-before); then
	fds_before=$(fd_count "$pid") rss_before=$(rss_kib "$pid")
	touch "$syncdir/loop-before"
	if pid=$(sync_point loop-after); then
		fds_after=$(fd_count "$pid") rss_after=$(rss_kib "$pid")
		touch "$syncdir/loop-after"
		say "$cycles add/remove cycles: fds $fds_before -> $fds_after, VmRSS $rss_before -> $rss_after KiB"
		[ "$fds_before" = "$fds_after" ] || add_failure "fd count changed over $cycles cycles: $fds_before -> $fds_after"
		[ "$rss_after" -le $((rss_before + 16384)) ] ||
			add_failure "VmRSS grew by more than 16 MiB over $cycles cycles: $rss_before -> $rss_after KiB"
	else
		add_failure "never reached the 'loop-after' sync point"
	fi
else
	add_failure "never reached the 'loop-before' sync point"
fi
wait "$vmm" || rc=$?
expect_status "moonvisor" 0 "$rc"
expect_line "$log" "^host-err: dup-id: nil vm 'hptest' already has a device with id 'root'$" "an id in use is refused"
expect_line "$log" "^host-err: no-path: false .*vm:add_disk: path: $imgdir/missing.raw: No such file or directory" \
	"a missing image is refused, naming the path"
expect_line "$log" "^host-err: unknown-id: nil vm 'hptest' has no removable device 'nope'$" "an unknown id is refused"
expect_line "$log" '^host-added: id=data pci=0000:00:0[0-9a-f]\.0 type=virtio-blk$' "add_disk returned once the driver was up"
expect_line "$log" '^host-event: device_added id=data pci=0000:00:0[0-9a-f]\.0 type=virtio-blk$' "device_added event"
expect_line "$log" '^hp-vdb size=16384 serial=hotdata$' "the guest sees the hotplugged disk as /dev/vdb"
expect_line "$log" "^host-data: $content\$" "the guest's write landed in the host file"
expect_line "$log" "^host-err: pending: nil the removal of 'data' is already pending" "a second removal while one is pending is refused"
expect_line "$log" '^host-removed: true nil$' "remove_device returned once the guest ejected"
expect_line "$log" '^host-event: device_removed id=data pci=0000:00:0[0-9a-f]\.0$' "device_removed event"
expect_line "$log" '^hp-gone$' "/dev/vdb is gone in the guest"
expect_line "$log" '^host-info: data listed=false$' "vm:info() no longer lists the disk"
expect_line "$log" "^hp-down $cycles\$" "all $cycles cycles ran"
expect_line "$log" '^host-late: nil guest did not eject within 2 s listed=true$' "a removal the guest does not answer times out, the device stays"
expect_line "$log" '^host-late: ejected after resume=late$' "the resumed guest ejects it"
expect_line "$log" "^host-counts: added=$((cycles + 3)) removed=$((cycles + 3))\$" "one event each per plug and per eject"
expect_line "$log" '^hp-done$' "guest script finished"
expect_no_line "$log" 'hptest: FAILED' 'hp-timeout' 'ACPI Error' 'DEVICE_NEEDS_RESET|needs reset' 'seccomp' 'I/O error'
finish "$log"
