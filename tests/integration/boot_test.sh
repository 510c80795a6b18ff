#!/usr/bin/env bash
# The default guest boots under moonvisor with 1, 2 and 4 vCPUs and 128M, 1G
# and 5G of memory (5G puts RAM above the 4 GiB hole); the guest sees that
# many CPUs and about that much memory, its clock is within a minute of the
# host's, and `poweroff` in the guest ends moonvisor with status 0. The
# 1- and 4-CPU boots enter the kernel unpacked on the host (PVH, the
# default), the 2-CPU boot lets the bzImage decompress itself
# (kernel_unpack = false); moonvisor -v says which it did. Every vCPU
# offers the TSC-deadline LAPIC timer mode (cpuinfo flag tsc_deadline_timer).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir boot)
cmd='echo cpus=$(grep -c ^processor /proc/cpuinfo); echo memtotal_kb=$(awk "/MemTotal/{print \$2}" /proc/meminfo); echo epoch=$(date +%s); echo tscdl=$(grep -c tsc_deadline_timer /proc/cpuinfo)'

check_boot() {
	local cpus=$1 mem=$2 mem_kb=$3 unpack=$4 log=$work/boot-$1-$2.log rc=0 got
	run_logged 300 "$log" "$bin" -v "$MV_SOURCE_DIR/tests/integration/guest.lua" "cpus=$cpus" "memory=$mem" \
		"unpack=$unpack" -- "$cmd" || rc=$?
	if [ "$unpack" = true ]; then
		expect_line "$log" 'LZ4 payload unpacked on the host \([0-9]+ MiB vmlinux\), entered through PVH' \
			"kernel unpacked on the host, cpus=$cpus"
	elif log_has "$log" 'unpacked on the host'; then
		add_failure "kernel_unpack = false still unpacked the kernel (cpus=$cpus)"
	fi
	expect_status "moonvisor (cpus=$cpus memory=$mem)" 0 "$rc"
	expect_line "$log" '^moonvisor-guest: ready' "marker, cpus=$cpus memory=$mem"
	expect_line "$log" "^cpus=$cpus\$" "guest sees $cpus CPUs"
	expect_line "$log" "^tscdl=$cpus\$" "every CPU has the TSC-deadline timer (CPUID.1:ECX[24])"
	expect_line "$log" '^moonvisor-guest: exit status 0' "command ran, cpus=$cpus memory=$mem"
	got=$(console_lines "$log" | sed -n 's/^memtotal_kb=//p' | head -n1)
	# MemTotal excludes the kernel image, reserved memory and the memory map
	# (about 2%): expect at most mem, at least 90% of it minus 48 MiB (for
	# 5G that is above 4 GiB, so RAM above the MMIO hole is in use)
	local min_kb=$((mem_kb * 90 / 100 - 48 * 1024))
	if [ -z "$got" ] || [ "$got" -gt "$mem_kb" ] || [ "$got" -lt "$min_kb" ]; then
		_mv_failures+=("memory=$mem: guest MemTotal ${got:-missing} kB, expected $min_kb..$mem_kb kB")
	fi
	local guest_epoch host_epoch
	guest_epoch=$(console_lines "$log" | sed -n 's/^epoch=//p' | head -n1)
	host_epoch=$(date +%s)
	if [ -z "$guest_epoch" ] || [ $((host_epoch - guest_epoch)) -gt 60 ] || [ $((guest_epoch - host_epoch)) -gt 60 ]; then
		_mv_failures+=("guest clock ${guest_epoch:-missing} is not within 60 s of the host's $host_epoch")
	fi
	cat "$log" >>"$work/all.log"
}

: >"$work/all.log"
check_boot 1 128M $((128 * 1024)) true
check_boot 2 1G $((1024 * 1024)) false
check_boot 4 5G $((5 * 1024 * 1024)) true
finish "$work/all.log"
