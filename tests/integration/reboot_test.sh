#!/usr/bin/env bash
# `reboot` in the guest resets the VM and boots the guest a second time; a
# "reset" handler that returns false vetoes it and the VM stops with reason
# "reset".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir reboot)

log=$work/reboot.log
rc=0
run_logged 300 "$log" "$bin" -v "$MV_SOURCE_DIR/tests/integration/guest.lua" boots=2 -- 'reboot -f' || rc=$?
expect_status "moonvisor (reboot)" 0 "$rc"
# Linux resets through the FADT's reset register first (reboot_type ACPI).
# moonvisor's stderr and the guest's console share the log: no ^ anchors.
expect_line "$log" 'itest: reset event \(acpi reset register\)$' "reset event with its reason"
expect_line "$log" "moonvisor: info: [a-z_]+: vm 'itest': guest reset \\(acpi reset register\\)$" \
	"reset logged at info level with its reason"
expect_line "$log" '^itest: ready marker seen 2 times, boots=2' "second boot"

vlog=$work/veto.log
cat >"$work/veto.lua" <<'LUA'
local mv = require "moonvisor"
local g = (os.getenv("MV_CACHE_DIR") or (os.getenv("HOME") .. "/.cache/moonvisor")) .. "/guest"
local vm = mv.vm { kernel = g .. "/vmlinuz", initrd = g .. "/initrd.img", memory = "256M",
  cmdline = "console=ttyS0 quiet -- reboot -f" }
vm:on("reset", function(ev) print("veto: reset refused (" .. ev.reason .. ")") return false end)
vm:on("stopped", function(ev) print("veto: stopped reason=" .. ev.reason .. " boots=" .. vm:info().boots) end)
assert(vm:start())
LUA
rc=0
run_logged 300 "$vlog" "$bin" "$work/veto.lua" || rc=$?
cat "$vlog" >>"$log"
expect_status "moonvisor (vetoed reboot)" 0 "$rc"
expect_line "$vlog" '^veto: reset refused \(acpi reset register\)$' "veto handler ran, with the reason"
expect_line "$vlog" '^veto: stopped reason=reset boots=1' "VM stopped with reason reset"
finish "$log"
