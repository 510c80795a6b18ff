#!/usr/bin/env bash
# virtio-rng hotplug with the default guest (tests/integration/hotplug_rng.lua):
# the VM boots with rng = true; a second virtio-rng is added at runtime
# (vm:add_rng): the guest's hw_random lists another virtio_rng.N, which
# the guest selects (rng_current) and reads 16 KiB from through /dev/hwrng;
# vm:info().devices counts those bytes; device_added fires. Then the
# hotplugged one is removed (device_removed; gone from rng_available and
# from vm:info().devices) and the boot-time one after it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir hotplug_rng)
log=$work/hotplug_rng.log

# Linux passes at most 32 words after "--" to init: ship the script base64'd.
guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
guest=$(cat <<'SH'
hw=/sys/class/misc/hw_random
avail() { echo $(cat $hw/rng_available 2>/dev/null); } # one line, single spaces
count() { n=0; for r in $(avail); do case $r in virtio_rng.*) n=$((n + 1)) ;; esac; done; echo $n; }
wait_count() {
	t=0
	while [ "$(count)" != "$1" ]; do
		t=$((t + 1)); [ $t -lt 3000 ] || { echo "hp-timeout count=$1 available=$(avail)"; exit 1; }
		sleep 0.1
	done
}
wait_count 1
boot=$(avail)
echo "hp-ready available=$boot current=$(cat $hw/rng_current)"
wait_count 2
new=
for r in $(avail); do case " $boot " in *" $r "*) ;; *) new=$r ;; esac; done
echo "hp-plugged available=$(avail) new=$new"
echo "$new" >$hw/rng_current
echo "hp-current=$(cat $hw/rng_current)"
echo "hp-bytes=$(dd if=/dev/hwrng bs=1024 count=16 2>/dev/null | wc -c)"
echo hp-read-done
wait_count 1
after=$(avail)
[ "$after" = "$boot" ] && same=yes || same=no
echo "hp-unplugged available=$after same=$same current=$(cat $hw/rng_current)"
wait_count 0
echo "hp-none available=$(avail) current=$(cat $hw/rng_current)"
# acpiphp unbinds the driver before it runs the slot's _EJ0: wait for the
# host's word that the eject reached it before powering off
while read -r ack </dev/console; do [ "$ack" = ejected ] && break; done
echo "hp-ack $ack"
dmesg | grep -iE 'acpiphp|virtio_rng|hwrng|ACPI Error' | grep -v 'registered$' | tail -20 | sed 's/^/dmesg: /'
echo hp-done
SH
)

rc=0
run_logged 600 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/hotplug_rng.lua" -- "$(guest_cmd "$guest")" || rc=$?
expect_status "moonvisor" 0 "$rc"
expect_line "$log" '^hp-ready available=virtio_rng\.[0-9]+ current=virtio_rng\.[0-9]+$' "the boot-time rng is the guest's hw_random"
expect_line "$log" '^host-boot: id=rng listed=true type=virtio-rng$' "vm:info().devices lists the boot-time rng as 'rng'"
expect_line "$log" '^host-added: id=hwrng2 pci=0000:00:0[0-9a-f]\.0 type=virtio-rng$' "add_rng returned once the driver was up"
expect_line "$log" '^host-event: device_added id=hwrng2 pci=0000:00:0[0-9a-f]\.0 type=virtio-rng$' "device_added event"
expect_line "$log" "^host-err: dup-id: nil vm 'hprng' already has a device with id 'rng'$" "the boot-time id is taken"
expect_line "$log" '^hp-plugged available=virtio_rng\.[0-9]+ virtio_rng\.[0-9]+ new=virtio_rng\.[0-9]+$' "a second virtio_rng in rng_available"
new=$(console_lines "$log" | sed -n 's/^hp-plugged .* new=\(virtio_rng\.[0-9]*\)$/\1/p' | head -n1)
expect_line "$log" "^hp-current=${new:-NONE}\$" "the hotplugged rng is selected as rng_current"
expect_line "$log" '^hp-bytes=16384$' "16 KiB read from /dev/hwrng through the hotplugged rng"
if line=$(console_lines "$log" | grep -E '^host-dev: id=hwrng2 pci=0000:00:0[0-9a-f]\.0 type=virtio-rng '); then
	bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$line")
	errors=$(sed -n 's/.* errors=\([0-9]*\)$/\1/p' <<<"$line")
	say "hwrng2 counters: $line"
	[ "${bytes:-0}" -ge 16384 ] || add_failure "moonvisor counted $bytes bytes for hwrng2, want >= 16384"
	[ "${errors:-1}" = 0 ] || add_failure "moonvisor counted $errors errors for hwrng2"
else
	add_failure "vm:info().devices has no virtio-rng entry 'hwrng2'"
fi
expect_line "$log" '^host-removed: hwrng2 true nil$' "remove_device returned once the guest ejected"
expect_line "$log" '^host-event: device_removed id=hwrng2 pci=0000:00:0[0-9a-f]\.0 type=virtio-rng$' "device_removed event"
expect_line "$log" '^host-info: hwrng2 listed=false$' "vm:info() no longer lists hwrng2"
expect_line "$log" '^hp-unplugged available=virtio_rng\.[0-9]+ same=yes current=virtio_rng\.[0-9]+$' "the guest is back to the boot-time rng"
expect_line "$log" '^host-removed: rng true nil$' "the boot-time rng is removable too"
expect_line "$log" '^host-event: device_removed id=rng pci=0000:00:0[0-9a-f]\.0 type=virtio-rng$' "device_removed for the boot-time rng"
expect_line "$log" '^host-info: rng listed=false$' "vm:info() no longer lists rng"
expect_line "$log" '^hp-none available= current=none$' "no virtio_rng left in the guest"
expect_line "$log" '^hp-ack ejected$' "the guest heard of the eject before powering off"
expect_line "$log" '^host-counts: added=1 removed=2$' "one device_added, two device_removed"
expect_line "$log" '^hp-done$' "guest script finished"
expect_no_line "$log" 'hprng: FAILED' 'hp-timeout' 'ACPI Error' 'DEVICE_NEEDS_RESET|needs reset' 'seccomp'
finish "$log"
