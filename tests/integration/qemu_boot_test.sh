#!/usr/bin/env bash
# The default guest boots under QEMU (microvm, KVM), runs the command from
# its kernel command line and powers off: checks the guest image and the
# KVM environment that every other integration test relies on.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -w /dev/kvm ] || fail "/dev/kvm is not usable here (run through scripts/with-kvm)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not installed"

log=$(test_workdir qemu_boot)/console.log
rc=0
qemu_boot_guest 300 "$log" "echo guest-says-hi" || rc=$?

expect_status qemu-system-x86_64 0 "$rc"
expect_line "$log" '^moonvisor-guest: ready$' "the guest init's marker"
expect_line "$log" '^guest-says-hi$' "the command's output"
expect_line "$log" '^moonvisor-guest: exit status 0$' "the command's status"
finish "$log"
