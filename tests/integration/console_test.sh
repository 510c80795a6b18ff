#!/usr/bin/env bash
# A Lua script drives the default guest through its console (expect a
# prompt, run commands, check their output), pauses it (the guest clock
# stands still meanwhile) and powers it off from the shell.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir console)
log=$work/console.log
rc=0
run_logged 300 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/console_drive.lua" || rc=$?
expect_status "moonvisor (console drive)" 0 "$rc"
expect_line "$log" '^drive: prompt seen' "shell prompt matched by expect"
expect_line "$log" '^drive: uname=.*cloud' "uname output read back"
expect_line "$log" '^drive: sum=42$' "command output read back"
expect_line "$log" '^drive: clocksource=kvm-clock$' "the guest keeps time with kvm-clock (invariant TSC hidden)"
expect_line "$log" '^drive: state while paused=paused' "paused state"
expect_line "$log" '^drive: guest clock advanced [01] s over a 3 s pause' "guest clock stood still while paused"
expect_line "$log" '^drive: stopped reason=poweroff' "poweroff from the shell"
finish "$log"
