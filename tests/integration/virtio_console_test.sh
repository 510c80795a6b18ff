#!/usr/bin/env bash
# virtio-console (hvc0) over the modern virtio PCI transport, with the
# default seccomp filters: the guest finds a 1af4:1043 function bound to
# virtio_console, /dev/hvc0 appears; the guest writes a line to hvc0 and
# the Lua script sees it (vm.hvc:expect, the "hvc" event) and answers with
# a line into hvc0, which the guest reads and echoes on the serial console.
# hvc0's output also reaches the file sink; vm:info().devices lists the
# device with its counters (both lines' bytes, no errors). The guest then
# reboots and does it all again on the rebuilt machine (new device, same
# host console and Lua object).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir virtio_console)
log=$work/virtio_console.log
hvc_log=$work/hvc0.log
rm -f "$hvc_log"
# Linux passes at most 32 words after "--" to init: ship the script base64'd.
script=$(cat <<'SH'
for d in /sys/bus/pci/devices/*; do
	echo "pci_dev=$(basename $d) $(cat $d/vendor):$(cat $d/device) driver=$(basename "$(readlink $d/driver)")"
done
for d in /sys/bus/virtio/devices/*; do
	echo "virtio_dev=$(basename $d) device=$(cat $d/device) driver=$(basename "$(readlink $d/driver)")"
done
[ -c /dev/hvc0 ] && echo "hvc0=present"
exec 3<>/dev/hvc0
stty raw -echo <&3 && echo "stty=ok"
nonce=$$$(date +%s)$RANDOM
echo "hello from hvc0 $nonce" >&3
read -r line <&3
echo "got $line"
exec 3<&-
grep -iE 'virtio' /proc/interrupts | sed 's/^/irq: /'
dmesg | grep -iE 'virtio|hvc' | sed 's/^/dmesg: /'
SH
)
cmd="echo $(printf '%s\n' "$script" | base64 -w0) | base64 -d | sh"

rc=0
run_logged 500 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/hvc.lua" "$hvc_log" -- "$cmd" || rc=$?
expect_status "moonvisor" 0 "$rc"
expect_line "$log" '^pci_dev=0000:00:0[1-9a-f]\.0 0x1af4:0x1043 driver=virtio-pci$' "1af4:1043 bound to virtio-pci"
expect_line "$log" '^virtio_dev=virtio[0-9]+ device=0x0003 driver=virtio_console$' "virtio device 3 bound to virtio_console"
expect_line "$log" '^hvc0=present$' "/dev/hvc0 exists in the guest"
expect_line "$log" '^host-hvc-line: hello from hvc0 [0-9]+$' "the guest's line on hvc0 reached an \"hvc\" handler"
expect_line "$log" '^irq: .*virtio[0-9]+-(input|output|config)' "MSI-X vectors in /proc/interrupts"
expect_line "$log" '^moonvisor-guest: exit status 0' "guest script ran"
expect_line "$log" '^hvctest: stopped reason=killed boots=2$' "the guest rebooted once and ran again"
for run in 1 2; do
	# the guest's line reached vm.hvc:expect, and the guest read back the
	# host's answer carrying the same nonce
	nonce=$(console_lines "$log" | sed -n "s/^hvctest: run=$run host saw: hello from hvc0 \([0-9]*\)\$/\1/p" | head -n1)
	if [ -z "$nonce" ]; then
		add_failure "run $run: no line from hvc0 reached vm.hvc:expect"
		continue
	fi
	log_has "$log" "^got ping from host $nonce\$" || add_failure "run $run: the guest did not read the host's line (nonce $nonce)"
	log_has "$log" "^hvctest: run=$run tail=.*hello from hvc0 $nonce" || add_failure "run $run: vm.hvc:tail() lacks the line"
	grep -qE "^hello from hvc0 $nonce\$" "$hvc_log" 2>/dev/null ||
		add_failure "run $run: hvc0's file sink $hvc_log lacks the guest's line"
	if line=$(console_lines "$log" | grep -E "^host-dev: run=$run pci=0000:00:[0-9a-f]{2}\.0 type=virtio-console id=console vendor=0x1af4 device=0x1043 "); then
		bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$line")
		errors=$(sed -n 's/.* errors=\([0-9]*\)$/\1/p' <<<"$line")
		requests=$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' <<<"$line")
		# "hello from hvc0 N\n" out and "ping from host N\n" in
		want=$((2 * ${#nonce} + 33))
		[ "${bytes:-0}" -ge "$want" ] || add_failure "run $run: moonvisor counted $bytes bytes, want >= $want"
		[ "${requests:-0}" -ge 2 ] || add_failure "run $run: moonvisor counted $requests requests, want >= 2"
		[ "${errors:-1}" = 0 ] || add_failure "run $run: moonvisor counted $errors errors"
	else
		add_failure "run $run: vm:info().devices has no virtio-console entry with its PCI address"
	fi
done
expect_no_line "$log" 'DEVICE_NEEDS_RESET|needs reset' 'virtio_console.*(probe|failed)' 'broke a queue' 'seccomp|SIGSYS'
finish "$log"
