#!/usr/bin/env bash
# virtio-net over a tap, default seccomp (on), vhost off and on. Needs root
# (the nested VM's shell is): the test makes a network namespace with a
# persistent tap (host side 10.0.2.1/24) and runs moonvisor inside it
# (ip netns exec), with socat listeners on the host side: port 5001 sends
# a 64 MiB random file to whoever connects, port 5002 stores what it
# receives. The guest (busybox) configures 10.0.2.15/24 on eth0, pings
# 10.0.2.1, fetches the 64 MiB with nc, makes 64 MiB of its own and sends
# them back; both ends' sha256 must match both ways. Run 1: vhost = false,
# the NIC's counters must show >= 128 MiB and no errors. Run 2: vhost =
# true, same transfers, then the guest reboots (the NIC and vhost are torn
# down and set up again) and pings once more. The netns and tap go at exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir virtio_net)
PATH=$PATH:/sbin:/usr/sbin
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace and a tap (the nested VM runs tests as root)"
for tool in ip socat sha256sum; do
	command -v "$tool" >/dev/null || fail "$tool not found"
done
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
# 64 MiB files: in the nested VM, its private /tmp (not the 9p share)
datadir=$work
[ "${MV_VMTEST:-0}" = 1 ] && datadir=$(mktemp -d /tmp/mv-net.XXXXXX)
ns=mvnet$$
tap=mvtap0
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	[ "$datadir" = "$work" ] || rm -rf "$datadir"
}
trap cleanup EXIT
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev "$tap" mode tap
nsx ip addr add 10.0.2.1/24 dev "$tap"
nsx ip link set "$tap" up
head -c 67108864 /dev/urandom >"$datadir/h2g"
h2g_sha=$(sha256sum <"$datadir/h2g" | cut -d' ' -f1)

# Linux passes at most 32 words after "--" to init: ship scripts base64'd.
guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
guest=$(cat <<'SH'
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && echo eth0=up
echo "mac=$(cat /sys/class/net/eth0/address)"
echo "vfeatures=$(cat /sys/class/net/eth0/device/features)"
if ping -c 3 -W 5 10.0.2.1 >/dev/null; then echo ping=ok; else echo ping=failed; fi
nc 10.0.2.1 5001 </dev/null >/tmp/rx
echo "rx_sha=$(sha256sum </tmp/rx | cut -d' ' -f1) rx_size=$(wc -c </tmp/rx)"
if [ -s /tmp/rx ]; then
	rm -f /tmp/rx
	head -c 67108864 /dev/urandom >/tmp/tx
	echo "tx_sha=$(sha256sum </tmp/tx | cut -d' ' -f1)"
	nc 10.0.2.1 5002 </tmp/tx >/dev/null && echo tx_done
	rm -f /tmp/tx
fi
ip -s link show eth0 | sed 's/^/eth0: /'
dmesg | grep -iE 'virtio_net|eth0' | sed 's/^/dmesg: /'
echo net-report
SH
)

# one_run NAME VHOST RUNS: listeners up, moonvisor in the netns, checks
one_run() {
	local name=$1 vhost=$2 runs=$3 log=$work/$1.log rc=0 g2h=$datadir/g2h-$1 tx_sha
	nsx socat -u OPEN:"$datadir/h2g" TCP-LISTEN:5001,bind=10.0.2.1,reuseaddr &
	pids+=($!)
	nsx socat -u TCP-LISTEN:5002,bind=10.0.2.1,reuseaddr CREATE:"$g2h" &
	pids+=($!)
	MV_NET_RUNS=$runs run_logged 480 "$log" ip netns exec "$ns" "$bin" ${MV_NET_VERBOSE:--v} "$MV_SOURCE_DIR/tests/integration/net.lua" "$tap" "$vhost" \
		-- "$(guest_cmd "$guest")" || rc=$?
	expect_status "moonvisor ($name)" 0 "$rc"
	expect_line "$log" "attached to existing tap $tap" "($name) the log says the tap existed"
	expect_line "$log" '^eth0=up$' "($name) eth0 configured"
	expect_line "$log" '^mac=52:54:00:12:34:56$' "($name) the MAC from the config"
	expect_line "$log" '^vfeatures=[01]{15}1' "($name) MRG_RXBUF negotiated"
	expect_line "$log" '^ping=ok$' "($name) the guest pings 10.0.2.1"
	expect_line "$log" "^rx_sha=$h2g_sha rx_size=67108864\$" "($name) 64 MiB host->guest, same sha256"
	tx_sha=$(console_lines "$log" | sed -n 's/^tx_sha=\([0-9a-f]*\)$/\1/p' | head -n1)
	if [ -n "$tx_sha" ] && [ -f "$g2h" ]; then
		[ "$(stat -c %s "$g2h")" = 67108864 ] || add_failure "($name) the host got $(stat -c %s "$g2h") bytes, want 64 MiB"
		[ "$(sha256sum <"$g2h" | cut -d' ' -f1)" = "$tx_sha" ] || add_failure "($name) guest->host sha256 differs"
	else
		add_failure "($name) no guest->host transfer (tx_sha '$tx_sha')"
	fi
	expect_line "$log" '^tx_done$' "($name) the guest's nc finished"
	expect_line "$log" "^host-dev: run=1 pci=0000:00:[0-9a-f]{2}\\.0 type=virtio-net id=net0 vendor=0x1af4 device=0x1041 " \
		"($name) vm:info().devices lists net0 with its PCI address"
	rm -f "$g2h"
	cat "$log" >>"$work/all.log"
}

: >"$work/all.log"
one_run userspace 0 1
line=$(console_lines "$work/userspace.log" | grep -E '^host-dev: run=1 .*type=virtio-net' || true)
bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$line")
errors=$(sed -n 's/.* errors=\([0-9]*\)$/\1/p' <<<"$line")
[ "${bytes:-0}" -ge 134217728 ] || add_failure "(userspace) vm:info() counted ${bytes:-no} bytes, want >= 128 MiB"
for dir in rx tx; do
	n=$(sed -n "s/.* ${dir}_bytes=\([0-9]*\) .*/\1/p" <<<"$line")
	[ "${n:-0}" -ge 67108864 ] || add_failure "(userspace) vm:info() counted ${n:-no} ${dir}_bytes, want >= 64 MiB"
done
[ "${errors:-1}" = 0 ] || add_failure "(userspace) vm:info() counted ${errors:-no} errors"
expect_line "$work/userspace.log" '^nettest: stopped reason=poweroff' "(userspace) guest powered off"

one_run vhost 1 2
[ "$(console_lines "$work/vhost.log" | grep -cx 'ping=ok')" = 2 ] ||
	add_failure "(vhost) expected the guest to ping in both boots (the NIC works after a reboot)"
expect_line "$work/vhost.log" '^nettest: stopped reason=killed boots=2$' "(vhost) the guest rebooted once and ran again"
expect_no_line "$work/all.log" 'needs reset' 'broke a queue' 'seccomp' 'vhost-net:' 'rx error' 'tx timeout'
finish "$work/all.log"
