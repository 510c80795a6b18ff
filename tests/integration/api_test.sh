#!/usr/bin/env bash
# The REST API driving the default guest with no Lua at all, twice: once
# with `curl --unix-socket` only, once with `moonvisor remote`. Each round
# starts `moonvisor --api-socket S --event-monitor E` (no script), then:
# vm.create (a VmConfig: payload kernel/initramfs/cmdline, 256M of memory
# with a 1G virtio-mem hotplug region, serial to a file), vm.boot; vm.info
# says Running; vm.add-disk hotplugs a disk the guest sees as /dev/vda (it
# has no other) and reads the host's marker from; vm.add-net plugs a NIC
# on a tap that the guest sees as eth0 with the given MAC, and
# vm.remove-device takes it out again (root only: the tap); vm.resize
# desired_ram=512M grows the guest's MemTotal by about 256M; vm.counters;
# vm.shutdown (ACPI power button) stops the guest and vm.info says
# Shutdown; vmm.shutdown ends the process with status 0. Every JSON answer
# is validated against the reduced Cloud Hypervisor schema
# (tests/fixtures/ch_api_schema.json); the event monitor has the lifecycle
# and device events.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest=$(guest_dir)
work=$(test_workdir api)
command -v curl >/dev/null || fail "curl not found (scripts/setup.sh installs it)"
# images need flock and the socket a local file system: the nested VM's
# shared dirs are 9p, its /tmp is local
imgdir=$work
if [ "${MV_VMTEST:-0}" = 1 ]; then
	imgdir=/tmp/api-images
	mkdir -p "$imgdir"
fi
marker="moonvisor-api-disk-4711"
# a tap for vm.add-net (root only: the nested VM, or a root run on the host)
tap=mvapitap0 net=0
if [ "$(id -u)" = 0 ] && ip tuntap add dev "$tap" mode tap 2>/dev/null; then
	net=1
	trap 'ip tuntap del dev "$tap" mode tap 2>/dev/null || true' EXIT
else
	say "cannot create a tap (not root?): vm.add-net is not tested"
fi
U=http://localhost/api/v1

schema_ok() { # schema_ok WHAT NAME FILE
	LUA_PATH="$MV_SOURCE_DIR/tests/lua/?.lua;;" \
		"$bin" --seccomp=off "$MV_SOURCE_DIR/tests/cli/schema_check.lua" "$MV_SOURCE_DIR/tests/fixtures/ch_api_schema.json" \
		"$2" "$3" 2>"$work/schema.err" || add_failure "$1: not a valid $2: $(cat "$work/schema.err")"
}

# Linux passes at most 32 words after "--" to init: ship the script base64'd.
guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
script="net=$net
"$(cat <<'SH'
mt() { awk '/^MemTotal:/ {print $2}' /proc/meminfo; }
upto() { i=0; while ! eval "$1"; do i=$((i + 1)); [ $i -gt 1200 ] && return 1; sleep 0.1; done; }
mt0=$(mt)
echo "api-mt0=$mt0"
upto '[ -e /sys/block/vda ]' && echo "api-vda size=$(cat /sys/block/vda/size) data=$(head -c 23 /dev/vda)"
if [ $net = 1 ]; then
	upto '[ -e /sys/class/net/eth0 ]' && echo "api-eth0 mac=$(cat /sys/class/net/eth0/address)"
	upto '[ ! -e /sys/class/net/eth0 ]' && echo api-eth0-gone
fi
upto '[ $(mt) -gt $((mt0 + 200000)) ]'
echo "api-mt1=$(mt)"
echo api-guest-waiting
sleep 600
SH
)
cmdline="console=ttyS0 quiet panic=-1 no_timer_check -- $(guest_cmd "$script")"

# wait_line FILE ERE SECS
wait_line() {
	local i
	for i in $(seq $(($3 * 2))); do
		[ -f "$1" ] && log_has "$1" "$2" && return 0
		kill -0 "$vmm" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

start_vmm() { # start_vmm ROUND
	sock=$imgdir/$1.sock
	events=$work/$1.events
	serial=$work/$1.serial
	log=$work/$1.log
	rm -f "$sock" "$events" "$serial"
	"$bin" --api-socket "$sock" --event-monitor "$events" >"$log" 2>&1 &
	vmm=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || fail "$1: no API socket (log: $(cat "$log"))"
	disk=$imgdir/$1-hot.raw
	rm -f "$disk"
	truncate -s 8M "$disk"
	printf '%s' "$marker" | dd of="$disk" conv=notrunc 2>/dev/null
	cat >"$work/$1.vmconfig.json" <<JSON
{ "payload": { "kernel": "$guest/vmlinuz", "initramfs": "$guest/initrd.img", "cmdline": "$cmdline" },
  "cpus": { "boot_vcpus": 1, "max_vcpus": 1 },
  "memory": { "size": 268435456, "hotplug_size": 1073741824, "hotplug_method": "VirtioMem" },
  "serial": { "mode": "File", "file": "$serial" }, "console": { "mode": "Off" } }
JSON
}

check_guest() { # check_guest ROUND
	local mt0 mt1
	wait_line "$serial" '^api-guest-waiting' 300 || add_failure "$1: the guest never saw both the disk and the memory"
	expect_line "$serial" "^api-vda size=16384 data=$marker\$" "$1: the guest reads the hotplugged disk as /dev/vda"
	if [ $net = 1 ]; then
		expect_line "$serial" '^api-eth0 mac=52:54:00:aa:bb:01$' "$1: the guest sees the hotplugged NIC with its MAC"
		expect_line "$serial" '^api-eth0-gone$' "$1: the NIC is gone after vm.remove-device"
	fi
	mt0=$(console_lines "$serial" | sed -n 's/^api-mt0=//p')
	mt1=$(console_lines "$serial" | sed -n 's/^api-mt1=//p')
	say "$1: guest MemTotal ${mt0:-?} -> ${mt1:-?} kB; $(console_lines "$serial" | grep -E '^api-(vda|eth0)' | tr '\n' ' ')"
	if [ -n "$mt0" ] && [ -n "$mt1" ]; then
		[ $((mt1 - mt0)) -ge 230000 ] && [ $((mt1 - mt0)) -le 270000 ] ||
			add_failure "$1: MemTotal grew by $((mt1 - mt0)) kB, want ~256M"
	fi
}

finish_vmm() { # finish_vmm ROUND
	local rc=0 i
	for i in $(seq 60); do kill -0 "$vmm" 2>/dev/null || break; sleep 0.5; done
	kill -0 "$vmm" 2>/dev/null && { kill "$vmm"; add_failure "$1: moonvisor still running after vmm.shutdown"; }
	wait "$vmm" || rc=$?
	expect_status "$1: moonvisor after vmm.shutdown" 0 "$rc"
	[ ! -e "$sock" ] || add_failure "$1: the API socket is still there"
	for ev in created started device_added $([ $net = 1 ] && echo device_removed) stopped shutdown; do
		log_has "$events" "\"event\":\"$ev\"" || add_failure "$1: no '$ev' line in the event monitor"
	done
	cat "$serial" >>"$work/all.log" 2>/dev/null || true
	cat "$log" >>"$work/all.log"
}

# ---- round 1: curl only ----
start_vmm curl
api() { # api WHAT WANT METHOD ENDPOINT [SCHEMA] [curl args]
	local what=$1 want=$2 m=$3 e=$4 schema=${5:-} got
	shift 5
	got=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 300 --unix-socket "$sock" -X "$m" "$U/$e" "$@") || true
	[ "$got" = "$want" ] || add_failure "curl $what: HTTP $got, expected $want: $(head -c 300 "$work/body")"
	[ -z "$schema" ] || schema_ok "curl $what" "$schema" "$work/body"
}
api ping 200 GET vmm.ping VmmPingResponse
api create 204 PUT vm.create "" -H 'Content-Type: application/json' --data-binary @"$work/curl.vmconfig.json"
api boot 204 PUT vm.boot ""
api info 200 GET vm.info VmInfo
grep -q '"state":"Running"' "$work/body" || add_failure "curl: vm.info after boot: $(head -c 200 "$work/body")"
wait_line "$serial" '^api-mt0=' 300 || add_failure "curl: the guest's script never started"
api add-disk 200 PUT vm.add-disk PciDeviceInfo -d "{\"path\": \"$disk\", \"id\": \"hot0\"}"
grep -qE '"bdf":"0000:00:[0-9a-f]{2}\.0"' "$work/body" && grep -q '"id":"hot0"' "$work/body" ||
	add_failure "curl: vm.add-disk answered $(cat "$work/body")"
api add-disk-again 409 PUT vm.add-disk "" -d "{\"path\": \"$disk\", \"id\": \"hot0\"}"
if [ $net = 1 ]; then
	api add-net 200 PUT vm.add-net PciDeviceInfo -d "{\"tap\": \"$tap\", \"id\": \"net0\", \"mac\": \"52:54:00:aa:bb:01\"}"
	api remove-net 204 PUT vm.remove-device "" -d '{"id": "net0"}'
fi
api resize 204 PUT vm.resize "" -d '{"desired_ram": 536870912}'
check_guest curl
api info-after 200 GET vm.info VmInfo
grep -q '"memory_actual_size":536870912' "$work/body" || add_failure "curl: memory_actual_size after resize: $(head -c 400 "$work/body")"
grep -q '"hot0"' "$work/body" || add_failure "curl: hot0 not in vm.info's device_tree"
api counters 200 GET vm.counters VmCounters
grep -q '"hot0":{' "$work/body" || add_failure "curl: no counters for hot0: $(head -c 300 "$work/body")"
api shutdown 204 PUT vm.shutdown ""
api info-stopped 200 GET vm.info VmInfo
grep -q '"state":"Shutdown"' "$work/body" || add_failure "curl: vm.info after vm.shutdown: $(head -c 200 "$work/body")"
log_has "$serial" '^moonvisor-guest: exit status' && add_failure "curl: the guest's script ended on its own"
api vmm-shutdown 204 PUT vmm.shutdown ""
finish_vmm curl

# ---- round 2: moonvisor remote ----
start_vmm remote
remote() { # remote WHAT WANT-STATUS [SCHEMA] -- ARGS
	local what=$1 want=$2 schema=$3 rc=0
	shift 4
	"$bin" remote --api-socket "$sock" "$@" >"$work/body" 2>"$work/err" || rc=$?
	[ "$rc" = "$want" ] || add_failure "remote $what: exit $rc, expected $want: $(cat "$work/err")"
	[ -z "$schema" ] || schema_ok "remote $what" "$schema" "$work/body"
}
remote ping 0 VmmPingResponse -- ping
remote create 0 "" -- create "$work/remote.vmconfig.json"
remote create-again 4 "" -- create "$work/remote.vmconfig.json"
remote boot 0 "" -- boot
remote info 0 VmInfo -- info
grep -q '"state":"Running"' "$work/body" || add_failure "remote: info after boot: $(head -c 200 "$work/body")"
wait_line "$serial" '^api-mt0=' 300 || add_failure "remote: the guest's script never started"
remote add-disk 0 PciDeviceInfo -- add-disk "path=$disk,id=hot0"
remote remove-unknown 4 "" -- remove-device nosuchdev
if [ $net = 1 ]; then
	remote add-net 0 PciDeviceInfo -- add-net "tap=$tap,id=net0,mac=52:54:00:aa:bb:01"
	remote remove-net 0 "" -- remove-device net0
fi
remote resize 0 "" -- resize --memory 512M
check_guest remote
remote counters 0 VmCounters -- counters
remote shutdown 0 "" -- shutdown
remote info-stopped 0 VmInfo -- info
grep -q '"state":"Shutdown"' "$work/body" || add_failure "remote: info after shutdown: $(head -c 200 "$work/body")"
remote vmm-shutdown 0 "" -- shutdown-vmm
finish_vmm remote

expect_no_line "$work/all.log" 'seccomp' 'API .* failed' 'DEVICE_NEEDS_RESET'
finish "$work/all.log"
