#!/usr/bin/env bash
# virtio-mem and virtio-balloon with the default guest (tests/integration/mem.lua
# drives it; default seccomp, on):
#  - the guest starts at 256M with a 2G hotplug region; its command line got
#    memhp_default_state=online_movable from the validator;
#  - vm:resize_memory(1G) returns true and the guest's MemTotal grows by
#    ~768M (700M to 800M);
#  - the guest fills a 600M tmpfs file (in the new memory) and frees it;
#  - vm:resize_memory(256M) returns true, MemTotal is back (within 8M) and
#    the VMM's VmRSS (/proc/PID/status) drops by at least 400M;
#  - balloon statistics arrive; the guest fills tmpfs at once until
#    MemAvailable is about 12% of MemTotal, and a memory_pressure event with
#    level medium or critical comes (from a statistics sample taken during
#    the fill, or from the first or second one after it); freeing the file
#    brings the level back to "low" (hysteresis).
#  - the balloon inflates to 64M and deflates again (vm:set_balloon);
# Run twice: private memory; then memfd-backed (shared = true), whose
# unplugged blocks are punched out of the memfd, with free page reporting
# (the balloon's "reported" counter grows).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir virtio_mem)

guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
script=$(cat <<'SH'
mt() { awk '/^MemTotal:/ {print $2}' /proc/meminfo; }
av() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
# the script itself comes through stdin: the host's answers through the console
wait_go() { while read -r x </dev/console; do [ "$x" = go ] && return 0; done; }
echo "cmdline=$(cat /proc/cmdline)"
for d in /sys/bus/pci/devices/*; do
	echo "pci_dev=$(basename $d) $(cat $d/vendor):$(cat $d/device) driver=$(basename "$(readlink $d/driver)")"
done
mt0=$(mt)
echo "mt0=$mt0"
echo step:boot; wait_go
# plugged is what the device acked; the guest adds and onlines a memory
# block right after plugging its sub-blocks: give the last one a moment
i=0
while [ "$(mt)" -lt $((mt0 + 716800)) ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
echo "mt1=$(mt)"
mkdir -p /mnt/t && mount -t tmpfs -o size=700M tmpfs /mnt/t
dd if=/dev/zero of=/mnt/t/f bs=1M count=600 2>/dev/null && echo "fill=ok"
echo "filled_kib=$(du -k /mnt/t/f | cut -f1)"
echo step:filled; wait_go
rm -f /mnt/t/f && umount /mnt/t && echo "freed=ok"
echo step:freed; wait_go
echo "mt2=$(mt)"
mount -t tmpfs -o size=400M tmpfs /mnt/t
echo step:fill
dd if=/dev/zero of=/mnt/t/p bs=1M count=$(( ($(av) - $(mt) * 12 / 100) / 1024 )) 2>/dev/null
echo "low_avail=$(av) low_total=$(mt)"
echo step:low; wait_go
rm -f /mnt/t/p && umount /mnt/t && echo "relieved=ok"
echo step:relieved; wait_go
dmesg | grep -iE 'virtio_mem|virtio-mem|balloon|oom' | sed 's/^/dmesg: /'
SH
)

run_one() {
	local name=$1 shared=$2 reporting=$3 log=$work/$1.log rc=0
	MV_MEM_SHARED=$shared MV_MEM_REPORTING=$reporting run_logged 900 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/mem.lua" -- "$(guest_cmd "$script")" || rc=$?
	expect_status "moonvisor ($name)" 0 "$rc"
	expect_line "$log" 'memhp_default_state=online_movable' "($name) the validator added memhp_default_state=online_movable"
	expect_line "$log" '^pci_dev=.* 0x1af4:0x1058 driver=virtio-pci$' "($name) virtio-mem (1af4:1058) bound"
	expect_line "$log" '^pci_dev=.* 0x1af4:0x1045 driver=virtio-pci$' "($name) virtio-balloon (1af4:1045) bound"
	expect_line "$log" '^memtest: resize 1G: true' "($name) resize_memory(1G) returned true"
	expect_line "$log" '^memtest: grown size=268435456 max=2415919104 requested=1073741824 plugged=1073741824$' "($name) vm.memory after growing"
	expect_line "$log" '^fill=ok$' "($name) 600M tmpfs file written"
	expect_line "$log" '^memtest: resize 256M: true' "($name) resize_memory(256M) returned true"
	expect_line "$log" '^memtest: shrunk size=268435456 max=2415919104 requested=268435456 plugged=268435456$' "($name) vm.memory after shrinking"
	local mt0 mt1 mt2 drop
	mt0=$(console_lines "$log" | sed -n 's/^mt0=\([0-9]*\)$/\1/p' | head -n1)
	mt1=$(console_lines "$log" | sed -n 's/^mt1=\([0-9]*\)$/\1/p' | head -n1)
	mt2=$(console_lines "$log" | sed -n 's/^mt2=\([0-9]*\)$/\1/p' | head -n1)
	drop=$(console_lines "$log" | sed -n 's/^memtest: rss_shrunk_kib=[0-9]* drop_kib=\(-\?[0-9]*\)$/\1/p' | head -n1)
	say "$name: MemTotal ${mt0:-?} -> ${mt1:-?} -> ${mt2:-?} kB; VmRSS drop ${drop:-?} kB"
	if [ -n "$mt0" ] && [ -n "$mt1" ] && [ -n "$mt2" ]; then
		[ $((mt1 - mt0)) -ge 716800 ] && [ $((mt1 - mt0)) -le 819200 ] ||
			add_failure "($name) MemTotal grew by $((mt1 - mt0)) kB, want ~768M (700M-800M)"
		[ $((mt2 - mt0)) -le 8192 ] && [ $((mt0 - mt2)) -le 8192 ] ||
			add_failure "($name) MemTotal after shrinking is $mt2 kB, want ~$mt0 kB"
	else
		add_failure "($name) the guest did not print MemTotal at every step"
	fi
	[ "${drop:-0}" -ge 409600 ] || add_failure "($name) VmRSS dropped by ${drop:-?} kB after shrinking, want >= 400M"
	expect_line "$log" '^memtest: stats total=[0-9]+ available=[0-9]+ free=[0-9]+' "($name) balloon statistics arrived"
	expect_line "$log" '^memtest: pressure_event level=(medium|critical) samples_after_low=[012]$' "($name) memory_pressure >= medium within 2 samples"
	expect_line "$log" '^memtest: eased=true$' "($name) the level went back to low"
	expect_line "$log" '^memtest: balloon target=67108864 actual=67108864 inflated=(6[7-9]|[7-9][0-9])[0-9]{6} ' "($name) the balloon inflated to 64M"
	expect_line "$log" '^memtest: balloon target=0 actual=0 inflated=[0-9]+ deflated=(6[7-9]|[7-9][0-9])[0-9]{6} ' "($name) and deflated"
	if [ "$reporting" = 1 ]; then
		expect_line "$log" '^memtest: balloon target=0 .* reported=[1-9][0-9]{6,}$' "($name) free page reporting gave pages back"
	fi
	expect_line "$log" '^moonvisor-guest: exit status 0' "($name) guest script ran"
	expect_line "$log" '^memtest: stopped reason=poweroff' "($name) guest powered off"
	expect_no_line "$log" 'DEVICE_NEEDS_RESET|needs reset' 'broke a queue' 'seccomp' 'Out of memory' 'virtio_mem.*(fail|error)'
	cat "$log" >>"$work/all.log"
}

run_one private 0 0
run_one shared 1 1
finish "$work/all.log"
