#!/usr/bin/env bash
# mv.on("host_memory_pressure"): moonvisor runs tests/integration/psi.lua in
# a cgroup v2 of its own, so the PSI trigger goes on that cgroup's
# memory.pressure (found from /proc/self/cgroup); the script sets the
# cgroup's memory.high 48M above its own usage and allocates past it, the
# kernel throttles it (a memory stall) and the trigger fires. Needs root and
# cgroup v2 with the memory controller (in the nested VM: mounted here if it
# is not); else skipped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
work=$(test_workdir host_pressure)
[ "$(id -u)" = 0 ] || skip "needs root (cgroups)"
root=/sys/fs/cgroup
if ! grep -q " $root cgroup2 " /proc/mounts; then
	[ "${MV_VMTEST:-0}" = 1 ] || skip "no cgroup v2 at $root"
	mount -t cgroup2 none "$root" || skip "cannot mount cgroup v2"
fi
grep -qw memory "$root/cgroup.controllers" || skip "no memory controller in cgroup v2"
echo +memory >"$root/cgroup.subtree_control" 2>/dev/null || true
cg=$root/mv-psi-$$
mkdir "$cg" || skip "cannot create a cgroup under $root"
trap 'rmdir "$cg" 2>/dev/null || true' EXIT
[ -w "$cg/memory.high" ] || skip "no memory.high in $cg"
log=$work/psi.log
rc=0
run_logged 300 "$log" sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3"' sh "$cg" "$bin" \
	"$MV_SOURCE_DIR/tests/integration/psi.lua" || rc=$?
expect_status "moonvisor psi.lua" 0 "$rc"
expect_line "$log" "^psi: path=$cg/memory.pressure trigger=some 50000 1000000\$" "the trigger went on the VMM's own cgroup"
expect_line "$log" '^psi: memory.high=current\+48M \(current [0-9]+ MiB\)$' "the script limited its cgroup"
expect_line "$log" '^psi: fired after [0-9]+ MiB some.avg10=[0-9.]+ some.total=[0-9]+ ' "the PSI trigger fired"
expect_line "$log" '^psi: cancel=true$' "the subscription cancels"
finish "$log"
