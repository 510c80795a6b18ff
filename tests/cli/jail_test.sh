#!/usr/bin/env bash
# The jail with tiny guests on the host's /dev/kvm (no Linux needed; the
# Linux guest, netns and cgroup are tests/integration/jail_test.sh):
#  - a jailed guest that prints and halts: from /proc, uid/gid 1000, no
#    groups, NoNewPrivs 1, no capabilities, seccomp on every thread, its
#    root is the jail, the inherited fd 7 is closed, the limits are set;
#  - a jailed guest that resets itself boots 3 times (kernel, initrd and
#    /dev/kvm come from descriptors kept across the jail);
#  - after the jail, paths resolve inside it: vm:add_disk of a host path
#    fails (not found), of "/hot.raw" plugs the disk (the tiny guest has no
#    driver, so it then times out waiting for one); a VM defined with
#    "/hello.bz" boots it, one with a host path is refused;
#  - a jailed guest with a NIC: its tap attached in the jail's netns
#    (not the host's) and kept, over reboots; a NIC on lo fails before
#    the jail, leaving the process as it was;
#  - clear errors: not root, jail directory gone, the seccomp filter
#    already on, another VM already running, a second jailed VM.
set -uo pipefail # no -e: each check reads the status of the command before it
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MV_BUILD_DIR:-$src/build}/moonvisor
work=$(mktemp -d)
chmod 755 "$work"
pid=
nsfile=
cleanup() {
	[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
	[ -z "$nsfile" ] || umount "$nsfile" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
failures=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failures=$((failures + 1)); }
check() { # WHAT: the previous command's status
	if [ "$1" = 0 ]; then ok "$2"; else bad "$2"; fi
}

# LeakSanitizer cannot trace a process that dropped to another uid
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
[ "$(id -u)" = 0 ] || { echo "SKIPPED: the jail needs root"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "FAIL: needs read/write /dev/kvm for tiny guests"; exit 1; }

jail=$work/jail
mkdir -p "$jail"
lua5.4 -e "package.path='$src/tests/lua/?.lua;'..package.path" -e "
  local h = require 'mvtest'
  h.fake_bzimage('$work/halt.bz', { code = h.code.print('up\n') .. '\250\244\235\253', payload = 4096 })
  h.fake_bzimage('$work/reset.bz', { code = h.code.print('boot\n') .. h.code.reset, payload = 4096 })
  h.fake_bzimage('$jail/hello.bz', { code = h.code.print('hello\n') .. h.code.poweroff, payload = 4096 })"
chmod 644 "$work"/*.bz "$jail/hello.bz"
echo initrd >"$work/initrd"
truncate -s 1M "$jail/disk.raw"
truncate -s 1M "$jail/hot.raw" "$work/outside.raw"
chown 1000:1000 "$jail/hot.raw"
chmod 666 "$work/outside.raw"

J="jail = { chroot = '$jail', uid = 1000, gid = 1000, rlimits = { nofile = 512, fsize = '64M' } }"

# ---- a jailed guest, seen from /proc ----
cat >"$work/halt.lua" <<EOF
local mv = require "moonvisor"
local vm = mv.vm { name = "halt", kernel = "$work/halt.bz", initrd = "$work/initrd", memory = "32M",
  serial = "null", disks = { { path = "$jail/disk.raw" } }, $J }
vm:on("console", function(line) print("guest: " .. line) end)
assert(vm:start())
EOF
echo "inherited" >"$work/marker"
exec 7<"$work/marker"
"$bin" "$work/halt.lua" </dev/null >"$work/halt.log" 2>&1 &
pid=$!
exec 7<&-
for _ in $(seq 100); do grep -q '^guest: up' "$work/halt.log" && break; sleep 0.1; done
st=/proc/$pid/status
if grep -q '^guest: up' "$work/halt.log"; then
	grep -qP '^Uid:\t1000\t1000\t1000\t1000$' "$st"; check $? "uid 1000"
	grep -qP '^Gid:\t1000\t1000\t1000\t1000$' "$st"; check $? "gid 1000"
	grep -qP '^Groups:\s*$' "$st"; check $? "no supplementary groups"
	grep -qP '^NoNewPrivs:\t1$' "$st"; check $? "no_new_privs"
	n=$(grep -cP '^Cap(Inh|Prm|Eff|Bnd|Amb):\t0000000000000000$' "$st" || true)
	[ "$n" = 5 ]; check $? "all five capability sets empty"
	n=0
	for t in /proc/$pid/task/*; do grep -qP '^Seccomp:\t2$' "$t/status" || n=$((n + 1)); done
	[ "$n" = 0 ]; check $? "every thread under a seccomp filter"
	[ "$(stat -L -c %d:%i "/proc/$pid/root")" = "$(stat -c %d:%i "$jail")" ]; check $? "root is the jail"
	[ -e "/proc/$pid/root/hello.bz" ] && [ ! -e "/proc/$pid/root/$(basename "$work")" ]; check $? "sees the jail only"
	n=0
	for f in /proc/$pid/fd/*; do [ "$(readlink "$f")" != "$work/marker" ] || n=$((n + 1)); done
	[ "$n" = 0 ]; check $? "inherited fd 7 closed"
	grep -qE '^Max open files +512 +512 ' "/proc/$pid/limits"; check $? "rlimits.nofile"
	grep -qE '^Max file size +67108864 +67108864 ' "/proc/$pid/limits"; check $? "rlimits.fsize"
else
	bad "jailed tiny guest did not print: $(cat "$work/halt.log")"
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 143 ]; check $? "SIGTERM ends the jailed VMM (status $rc, want 143)"

# ---- reboots inside the jail ----
# reboots_twice NAME CONFIG WHAT: a guest that resets at once, with CONFIG
# (Lua table fields) added to its mv.vm{}, boots three times.
reboots_twice() {
	cat >"$work/$1.lua" <<EOF
local mv = require "moonvisor"
local vm = mv.vm { name = "$1", kernel = "$work/reset.bz", initrd = "$work/initrd", memory = "32M",
  serial = "null", $2 }
local boots = 0
vm:on("console", function(line)
  if line == "boot" then boots = boots + 1 end
  if boots == 3 then vm:kill() end
end)
vm:on("stopped", function(ev) print("stopped " .. ev.reason .. " boots=" .. vm:info().boots) end)
assert(vm:start())
EOF
	out=$(timeout 30 "$bin" "$work/$1.lua" 2>&1) || true
	grep -qx 'stopped killed boots=3' <<<"$out"; check $? "$3 ($(tail -n1 <<<"$out"))"
}
reboots_twice reset "$J" "a jailed guest reboots twice"

# ---- paths after the jail resolve inside it ----
cat >"$work/inside.lua" <<EOF
local mv = require "moonvisor"
local vm = mv.vm { name = "a", kernel = "$work/halt.bz", memory = "32M", serial = "null", $J }
assert(vm:start())
local ok, err = pcall(mv.vm, { name = "b", kernel = "$work/reset.bz", memory = "32M", serial = "null" })
print("host path: " .. tostring(ok) .. " " .. tostring(err))
mv.spawn(function()
  local hok, herr = pcall(vm.add_disk, vm, { id = "outside", path = "$work/outside.raw", timeout = 1 })
  print("hot outside: " .. tostring(hok) .. " " .. tostring(herr))
  local dev, derr = vm:add_disk { id = "hot", path = "/hot.raw", timeout = 1 }
  print("hot inside: " .. tostring(dev) .. " " .. tostring(derr))
  local c = mv.vm { name = "c", kernel = "/hello.bz", memory = "32M", serial = "null" }
  c:on("console", function(line) print("c: " .. line) end)
  c:on("stopped", function(ev) print("c stopped " .. ev.reason) vm:kill() end)
  assert(c:start())
end)
EOF
out=$(timeout 30 "$bin" "$work/inside.lua" 2>&1) || true
printf "%s\n" "$out" | grep "^hot" | sed "s/^/  /"
grep -q "^host path: false .*$work/reset.bz: No such file or directory" <<<"$out"; check $? "a host path is not found after the jail"
grep -q "^hot outside: false .*$work/outside.raw: No such file or directory" <<<"$out"
check $? "vm:add_disk of a host path is not found after the jail"
grep -q "^hot inside: nil the guest did not start a driver for hot" <<<"$out"
check $? "vm:add_disk of /hot.raw plugs the jail's file"
grep -qx 'c: hello' <<<"$out" && grep -qx 'c stopped poweroff' <<<"$out"; check $? "/hello.bz is the jail's"

# ---- a NIC: its tap attached in the jail's netns before the jail, kept over reboots ----
nsfile=$work/netns
: >"$nsfile"
if [ -c /dev/net/tun ] && unshare --net="$nsfile" true 2>/dev/null; then
	JN="jail = { chroot = '$jail', uid = 1000, gid = 1000, netns = '$nsfile' }"
	cat >"$work/nic.lua" <<EOF
local mv = require "moonvisor"
local vm = mv.vm { name = "nic", kernel = "$work/halt.bz", memory = "32M", serial = "null",
  nets = { { id = "n0", tap = "mvclitap0" } }, $JN }
vm:on("console", function(line) print("guest: " .. line) end)
assert(vm:start())
EOF
	"$bin" "$work/nic.lua" </dev/null >"$work/nic.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q '^guest: up' "$work/nic.log" && break; sleep 0.1; done
	if grep -q '^guest: up' "$work/nic.log"; then
		nsenter --net="$nsfile" ip link show mvclitap0 >/dev/null 2>&1; check $? "the tap is in the jail's netns"
		! ip link show mvclitap0 >/dev/null 2>&1; check $? "and not in the host's"
		n=$(grep -lP '^iff:\tmvclitap0$' /proc/$pid/fdinfo/* 2>/dev/null | wc -l)
		[ "$n" -ge 2 ]; check $? "the VMM holds the tap twice (kept, and the NIC's duplicate): $n"
	else
		bad "jailed tiny guest with a NIC did not print: $(cat "$work/nic.log")"
	fi
	kill -TERM "$pid"
	wait "$pid"
	pid=
	reboots_twice nicreset "nets = { { id = \"n0\", tap = \"mvclitap0\" } }, $JN" "a jailed guest with a NIC reboots twice"
	# a NIC on an interface that is not a tap: the attach fails before the
	# jail, which leaves the process as it was (an unjailed VM starts)
	cp "$jail/hello.bz" "$work/hello.bz"
	cat >"$work/nicbusy.lua" <<EOF
local mv = require "moonvisor"
local vm = mv.vm { name = "j", kernel = "$work/halt.bz", memory = "32M", serial = "null",
  nets = { { id = "n0", tap = "mvclitap0" }, { id = "n1", tap = "lo" } }, $JN }
print(vm:start())
local c = mv.vm { name = "c", kernel = "$work/hello.bz", memory = "32M", serial = "null" }
c:on("console", function(line) print("c: " .. line) end)
assert(c:start())
EOF
	out=$(timeout 30 "$bin" "$work/nicbusy.lua" 2>&1) || true
	grep -q "^nil	vm 'j' cannot start: jail: nets\[2\] 'n1': lo is not a tap" <<<"$out"
	check $? "a NIC on lo: $(grep -m1 '^nil' <<<"$out")"
	grep -qx 'c: hello' <<<"$out"; check $? "a failed NIC leaves the process unjailed"
else
	echo "SKIPPED the NIC part: no /dev/net/tun or unshare --net failed"
	nsfile=
fi

# ---- errors ----
start_error() { # SCRIPT-BODY: run it, set out to its output
	printf 'local mv = require "moonvisor"\n%s\n' "$1" >"$work/err.lua"
	chmod 644 "$work/err.lua"
	out=$(timeout 30 "${runner[@]}" "$bin" "$work/err.lua" 2>&1) || true
}
runner=(setpriv --reuid=1000 --regid=1000 --clear-groups)
start_error "local vm = mv.vm { name = 'j', kernel = '$work/halt.bz', memory = '32M', serial = 'null', $J }
print(vm:start())"
grep -q "^nil	vm 'j' cannot start: jail: moonvisor runs as uid 1000, not root: the jail needs root" <<<"$out"
check $? "not root: $out"
runner=()
mkdir "$work/gone"
start_error "local vm = mv.vm { name = 'j', kernel = '$work/halt.bz', memory = '32M', serial = 'null',
  jail = { chroot = '$work/gone', uid = 1000, gid = 1000 } }
os.remove('$work/gone')
print(vm:start())"
grep -q "^nil	vm 'j' cannot start: jail: chroot $work/gone: No such file or directory" <<<"$out"
check $? "jail directory gone: $out"
start_error "local vm = mv.vm { name = 'j', kernel = '$work/halt.bz', memory = '32M', serial = 'null', $J }
mv.sleep(0)
print(vm:start())"
grep -q "^nil	vm 'j' cannot start: jail: the loop's seccomp filter is already on" <<<"$out"
check $? "after the first wait: $out"
start_error "local a = mv.vm { name = 'a', kernel = '$work/halt.bz', memory = '32M', serial = 'null' }
local vm = mv.vm { name = 'j', kernel = '$work/halt.bz', memory = '32M', serial = 'null', $J }
assert(a:start())
print(vm:start())
a:kill()"
grep -q "^nil	vm 'j' cannot start: jail: the process has [0-9]* threads: the jail must come first" <<<"$out"
check $? "another VM running: $out"
start_error "local a = mv.vm { name = 'a', kernel = '$work/halt.bz', memory = '32M', serial = 'null', $J }
local vm = mv.vm { name = 'j', kernel = '$work/halt.bz', memory = '32M', serial = 'null', $J }
assert(a:start())
print(vm:start())
a:kill()"
grep -q "^nil	vm 'j' cannot start: jail: the process is already jailed for vm 'a'" <<<"$out"
check $? "second jailed VM: $out"

echo "jail_test: $passed passed, $failures failed"
[ "$failures" = 0 ]
