#!/usr/bin/env bash
# The remote REPL against the default guest: `moonvisor --control SOCK`
# runs a VM whose guest prints, twice a second, how far its system clock is
# behind its RTC (the host's time); `moonvisor repl SOCK` reads vm:info()
# and pauses the VM for 3 s. No output arrives while paused, and after the
# resume the guest finds its clock ~3 s behind the RTC: it observed the
# pause. Then the REPL shuts the VM down and moonvisor exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir remote_repl)
sockdir=$(mktemp -d /tmp/mv-remote.XXXXXX) # not $MV_OUT: 9p has no sockets
sock=$sockdir/control.sock
console=$work/console.log
log=$work/moonvisor.log
: >"$console"

cat >"$work/remote.lua" <<LUA
local mv = require "moonvisor"
local g = (os.getenv("MV_CACHE_DIR") or (os.getenv("HOME") .. "/.cache/moonvisor")) .. "/guest"
mv.vm { name = "remote", cpus = 1, memory = "256M", kernel = g .. "/vmlinuz", initrd = g .. "/initrd.img",
  serial = { file = "$console" },
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check -- "
    .. "while :; do echo behind=\$(( \$(cat /sys/class/rtc/rtc0/since_epoch) - \$(date +%s) )); sleep 0.5; done",
}:start()
LUA

# repl CHUNK: runs CHUNK through the client, prints its output
repl() { printf '%s\n' "$1" | timeout 60 "$bin" repl "$sock"; }
count_lines() { console_lines "$console" | grep -c '^behind=' || true; }
last_behind() { console_lines "$console" | sed -n 's/^behind=\(-\{0,1\}[0-9]*\)$/\1/p' | tail -n1; }
# wait_lines N SECS: until the console has more than N behind= lines
wait_lines() {
	local n=$1 secs=$2
	for _ in $(seq $((secs * 10))); do
		[ "$(count_lines)" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

say "running: $bin --control $sock $work/remote.lua"
"$bin" --control "$sock" "$work/remote.lua" >"$log" 2>&1 &
pid=$!
cleanup() {
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$sockdir"
}
trap cleanup EXIT

wait_lines 1 180 || fail "no 'behind=' line from the guest in 180 s (console: $(tail -c 2000 "$console"))"
first=$(last_behind)
[ -n "$first" ] && [ "$first" -ge -1 ] && [ "$first" -le 1 ] ||
	add_failure "before the pause the guest clock should match its RTC (within 1 s), got behind=$first"

got=$(repl 'local i = vm:info() return i.state, i.name, i.cpus') || true
[ "$got" = $'running\tremote\t1' ] || add_failure "repl read vm:info(): got '$got', want 'running<TAB>remote<TAB>1'"
t0=$(date +%s)
got=$(repl 'vm:pause() return vm:state()') || true
[ "$got" = paused ] || add_failure "repl paused the VM: got '$got', want 'paused'"
sleep 0.5 # a line already on its way may land
before=$(count_lines)
sleep 3
during=$(count_lines)
[ "$during" = "$before" ] || add_failure "the guest printed $((during - before)) lines while paused"
got=$(repl 'vm:resume() return vm:state()') || true
t1=$(date +%s)
[ "$got" = running ] || add_failure "repl resumed the VM: got '$got', want 'running'"
wait_lines "$during" 30 || add_failure "no output from the guest after the resume"
sleep 1 # the line after the resume may have started before it
wait_lines "$(count_lines)" 30 || true
after=$(last_behind)
# paused for at least 3 s, at most t1 - t0 (whole seconds: +-1)
max=$((t1 - t0 + 1))
say "guest clock behind its RTC: $first s before the pause, $after s after a pause of 3-$((t1 - t0)) s"
[ -n "$after" ] && [ "$after" -ge 2 ] && [ "$after" -le "$max" ] ||
	add_failure "after the pause the guest should find its clock 2-$max s behind the RTC, got behind=$after"

got=$(repl 'local ev = vm:shutdown { timeout = 60 } return vm:state()') || true
[ "$got" = stopped ] || add_failure "repl shut the VM down: got '$got', want 'stopped'"
rc=0
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" || rc=$?
expect_status "moonvisor" 0 "$rc"
cat "$log" >>"$console"
finish "$console"
