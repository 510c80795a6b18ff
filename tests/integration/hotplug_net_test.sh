#!/usr/bin/env bash
# NIC hotplug with the default guest (tests/integration/hotplug_net.lua):
# a virtio-net NIC over a tap is added to a running guest, whose eth0
# appears and pings the host side of the tap (10.0.2.1); the NIC is
# removed: eth0 disappears and moonvisor has closed the tap (/proc/PID/fd:
# no /dev/net/tun left open, as before the plug). Needs root (a network
# namespace and a tap; the nested VM runs tests as root).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir hotplug_net)
PATH=$PATH:/sbin:/usr/sbin
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace and a tap (the nested VM runs tests as root)"
command -v ip >/dev/null || fail "ip not found"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ns=mvhpnet$$
tap=mvhptap0
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev "$tap" mode tap
nsx ip addr add 10.0.2.1/24 dev "$tap"
nsx ip link set "$tap" up
syncdir=$work/sync
rm -rf "$syncdir"
mkdir -p "$syncdir"

guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
guest=$(cat <<'SH'
wait_if() { # wait_if present|absent
	n=0
	while :; do
		if [ -e /sys/class/net/eth0 ]; then [ $1 = present ] && return 0; else [ $1 = absent ] && return 0; fi
		n=$((n + 1)); [ $n -lt 3000 ] || { echo "hp-timeout $1 eth0"; exit 1; }
		sleep 0.1
	done
}
echo hp-ready
wait_if present
echo "hp-eth0 mac=$(cat /sys/class/net/eth0/address)"
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
if ping -c 3 -W 5 10.0.2.1 >/dev/null; then echo ping=ok; else echo ping=failed; fi
wait_if absent
echo hp-net-gone
# acpiphp removes eth0 before it runs the slot's _EJ0: wait for the host to
# say the eject reached it, or a quick poweroff can overtake the eject
# (from the console: this script's stdin is the pipe it arrives through)
while read -r ack </dev/console; do [ "$ack" = ejected ] && break; done
echo "hp-ack $ack"
echo hp-done
SH
)

log=$work/hotplug_net.log
rc=0
nsx timeout -k 5 600 "$bin" "$MV_SOURCE_DIR/tests/integration/hotplug_net.lua" "$tap" "$syncdir" \
	-- "$(guest_cmd "$guest")" </dev/null >"$log" 2>&1 &
vmm=$!

sync_point() { host_sync_point "$log" "$vmm" "$1"; }
tuns() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'net/tun' || true; }

before=
if pid=$(sync_point before); then
	before=$(tuns "$pid")
	touch "$syncdir/before"
else
	add_failure "never reached the 'before' sync point"
fi
if pid=$(sync_point added); then
	added=$(tuns "$pid")
	say "/dev/net/tun fds: $before before the plug, $added plugged"
	[ "$added" -gt "${before:-0}" ] || add_failure "no tap fd open while the NIC is plugged"
	touch "$syncdir/added"
else
	add_failure "never reached the 'added' sync point"
fi
if pid=$(sync_point removed); then
	after=$(tuns "$pid")
	say "/dev/net/tun fds after the removal: $after"
	[ "$after" = "$before" ] || add_failure "tap fds after removal: $after, before the plug: $before"
	touch "$syncdir/removed"
else
	add_failure "never reached the 'removed' sync point"
fi
wait "$vmm" || rc=$?
cat "$log"
expect_status "moonvisor" 0 "$rc"
expect_line "$log" '^host-added: id=n1 pci=0000:00:0[0-9a-f]\.0 type=virtio-net$' "add_net returned once the driver was up"
expect_line "$log" "^host-err: dup-id: nil vm 'hpnet' already has a device with id 'n1'$" "an id in use is refused"
expect_line "$log" '^hp-eth0 mac=52:54:00:12:34:56$' "eth0 appeared with the given MAC"
expect_line "$log" '^ping=ok$' "the guest pings through the hotplugged NIC"
expect_line "$log" '^host-removed: true nil$' "remove_device returned once the guest ejected"
expect_line "$log" '^hp-net-gone$' "eth0 is gone in the guest"
expect_line "$log" '^hp-ack ejected$' "the guest heard of the eject before powering off"
expect_line "$log" '^hp-done$' "guest script finished"
expect_no_line "$log" 'hpnet: FAILED' 'hp-timeout' 'ACPI Error' 'needs reset' 'seccomp'
finish "$log"
