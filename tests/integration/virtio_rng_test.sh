#!/usr/bin/env bash
# virtio-rng over the modern virtio PCI transport: the default guest with
# rng = true finds a 1af4:1044 function, binds virtio_rng (MSI-X), makes it
# the current hw_random source, and reads 64 KiB from /dev/hwrng; the
# counters in moonvisor's vm:info().devices account for at least those
# bytes, with no errors. The guest then reboots and does it all again on
# the rebuilt machine (new device, new I/O thread and ioeventfds).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir virtio_rng)
log=$work/virtio_rng.log
# Linux passes at most 32 words after "--" to init: ship the script base64'd.
script=$(cat <<'SH'
for d in /sys/bus/pci/devices/*; do
	echo "pci_dev=$(basename $d) $(cat $d/vendor):$(cat $d/device) driver=$(basename "$(readlink $d/driver)")"
done
for d in /sys/bus/virtio/devices/*; do
	echo "virtio_dev=$(basename $d) device=$(cat $d/device) features=$(cat $d/features) driver=$(basename "$(readlink $d/driver)")"
done
echo "rng_current=$(cat /sys/class/misc/hw_random/rng_current)"
echo "rng_available=$(cat /sys/class/misc/hw_random/rng_available)"
grep -iE 'virtio' /proc/interrupts | sed 's/^/irq: /'
n=$(dd if=/dev/hwrng bs=1024 count=64 2>/dev/null | wc -c)
echo "hwrng_bytes=$n"
echo "hwrng_distinct=$(dd if=/dev/hwrng bs=1024 count=4 2>/dev/null | od -An -tx1 -v | tr -s ' ' '\n' | sort -u | grep -c .)"
dmesg | grep -iE 'virtio|rng' | sed 's/^/dmesg: /'
echo rng-done
SH
)
cmd="echo $(printf '%s\n' "$script" | base64 -w0) | base64 -d | sh"

rc=0
run_logged 300 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/rng.lua" -- "$cmd" || rc=$?
expect_status "moonvisor" 0 "$rc"
expect_line "$log" '^pci_dev=0000:00:0[1-9a-f]\.0 0x1af4:0x1044 driver=virtio-pci$' "1af4:1044 bound to virtio-pci"
expect_line "$log" '^virtio_dev=virtio[0-9]+ device=0x0004 features=1[01]*1 ?.* driver=virtio_rng$|^virtio_dev=virtio[0-9]+ device=0x0004 .*driver=virtio_rng$' "virtio device 4 bound to virtio_rng"
expect_line "$log" '^rng_current=virtio_rng' "virtio_rng is the current hw_random source"
expect_line "$log" '^irq: .*virtio[0-9]+-(requests|input|config)' "MSI-X vectors in /proc/interrupts"
expect_line "$log" '^hwrng_bytes=65536$' "64 KiB read from /dev/hwrng"
expect_line "$log" '^hwrng_distinct=(2[0-9][0-9])$' "random-looking bytes (most of 256 byte values in 4 KiB)"
[ "$(console_lines "$log" | grep -cE '^hwrng_bytes=65536$')" = 2 ] || add_failure "expected 64 KiB read in both boots"
expect_line "$log" '^moonvisor-guest: exit status 0' "guest script ran"
expect_line "$log" '^rngtest: stopped reason=killed boots=2$' "the guest rebooted once and ran again"
for run in 1 2; do
	if line=$(console_lines "$log" | grep -E "^host-dev: run=$run pci=0000:00:[0-9a-f]{2}\.0 type=virtio-rng id=rng vendor=0x1af4 device=0x1044 "); then
		bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$line")
		errors=$(sed -n 's/.* errors=\([0-9]*\) .*/\1/p' <<<"$line")
		[ "${bytes:-0}" -ge 65536 ] || add_failure "run $run: moonvisor counted $bytes bytes, want >= 65536"
		[ "${errors:-1}" = 0 ] || add_failure "run $run: moonvisor counted $errors errors"
	else
		add_failure "run $run: vm:info().devices has no virtio-rng entry with its PCI address"
	fi
done
expect_no_line "$log" 'DEVICE_NEEDS_RESET|needs reset' 'virtio_rng: probe.*failed' 'BAR .* no space' 'broke a queue'
finish "$log"
