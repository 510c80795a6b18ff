#!/usr/bin/env bash
# vm:power_button() presses the ACPI power button (a GED event): the default
# guest, busy with `sleep 600`, powers off within 30 s and moonvisor exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir power_button)
log=$work/power_button.log

cat >"$work/power_button.lua" <<'LUA'
local mv = require "moonvisor"
local g = (os.getenv("MV_CACHE_DIR") or (os.getenv("HOME") .. "/.cache/moonvisor")) .. "/guest"
local vm = mv.vm { name = "pbtest", kernel = g .. "/vmlinuz", initrd = g .. "/initrd.img", memory = "256M",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check -- sleep 600" }
local pressed_at
vm:on("console", function(ev)
  local line = type(ev) == "table" and ev.line or ev -- a string in newer APIs
  if not pressed_at and line:find("moonvisor-guest: ready", 1, true) then
    pressed_at = os.time()
    local ok, err = vm:power_button()
    print("pbtest: pressed ok=" .. tostring(ok) .. (err and (" err=" .. err) or ""))
  end
end)
vm:on("stopped", function(ev)
  local after = pressed_at and os.difftime(os.time(), pressed_at) or -1
  print(string.format("pbtest: stopped reason=%s after=%d", ev.reason, after))
  local ok, err = vm:power_button()
  print("pbtest: stopped vm press ok=" .. tostring(ok) .. " err=" .. tostring(err))
end)
assert(vm:start())
LUA

rc=0
run_logged 240 "$log" "$bin" "$work/power_button.lua" || rc=$?
expect_status "moonvisor" 0 "$rc"
expect_line "$log" '^pbtest: pressed ok=true$' "vm:power_button() returned true"
expect_line "$log" '^pbtest: stopped reason=poweroff after=' "VM stopped with reason poweroff"
expect_line "$log" "^pbtest: stopped vm press ok=nil err=vm 'pbtest' is stopped, not running$" \
	"a press on a stopped VM fails"
after=$(console_lines "$log" | sed -n 's/^pbtest: stopped reason=poweroff after=\([0-9]*\)$/\1/p' | head -n1)
if [ -n "$after" ] && [ "$after" -gt 30 ]; then
	add_failure "the guest powered off ${after}s after the press (want <= 30 s)"
fi
if log_has "$log" 'moonvisor-guest: exit status'; then
	add_failure "sleep 600 ended by itself: the power button did not stop the guest"
fi
finish "$log"
