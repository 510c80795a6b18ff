#!/usr/bin/env bash
# examples/memory-autoscale.lua with its demo workload (awk allocating 500M
# of anonymous memory, 8M a second) in a guest that boots with 256M:
#  - with --off (the same VM, no policy) the guest's OOM killer kills awk,
#    which never prints alloc=ok;
#  - with the policy, memory_pressure events grow the guest in 256M steps
#    (vm:resize_memory) and awk finishes (alloc=ok); the guest's MemTotal
#    then is larger than at boot; once the pressure has been gone for 10 s
#    (the workload idles 25 s) the policy shrinks the guest back to 256M.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir memory_autoscale)
example=$MV_SOURCE_DIR/examples/memory-autoscale.lua
# the example's demo workload, then MemTotal and what the OOM killer said
workload='awk '"'"'BEGIN { c = "x"; for (k = 0; k < 20; k++) c = c c; for (i = 0; i < 500; i++) { a[i] = c i; if (i % 8 == 7) system("sleep 1") } print "alloc=ok" }'"'"'; echo "awk_status=$?"; grep MemTotal /proc/meminfo; sleep 25; dmesg | grep -iE "out of memory|oom-kill" | head -n3'

off=$work/off.log
rc=0
run_logged 900 "$off" "$bin" "$example" --off "$workload" || rc=$?
expect_status "moonvisor (--off)" 0 "$rc"
log_has "$off" '^alloc=ok' && add_failure "without the policy the allocation succeeded: the test does not show anything"
expect_line "$off" 'Out of memory|oom-kill' "without the policy the guest OOM-kills awk"
expect_line "$off" '^awk_status=(137|[1-9][0-9]*)$' "awk failed without the policy"

on=$work/on.log
rc=0
run_logged 900 "$on" "$bin" "$example" "$workload" || rc=$?
expect_status "moonvisor (policy)" 0 "$rc"
expect_line "$on" '^autoscale: pressure (medium|critical)' "memory_pressure events reached the policy"
expect_line "$on" '^autoscale: grow: 256M -> 512M' "the policy grew the guest"
expect_line "$on" '^autoscale: now (512|768|1024|1280|1536)M' "a resize completed"
expect_line "$on" '^alloc=ok$' "with the policy the allocation succeeded"
expect_line "$on" '^awk_status=0$' "awk exited 0"
expect_line "$on" '^autoscale: shrink: [0-9]+M -> 256M$' "the policy shrank the guest once calm"
expect_line "$on" '^autoscale: now 256M$' "back at 256M"
mt=$(console_lines "$on" | sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' | tail -n1)
[ "${mt:-0}" -gt 400000 ] || add_failure "MemTotal at the end is ${mt:-?} kB: the guest did not grow"
expect_no_line "$on" 'resize failed' 'Out of memory|oom-kill' 'DEVICE_NEEDS_RESET' 'seccomp'
cat "$off" "$on" >"$work/all.log"
finish "$work/all.log"
