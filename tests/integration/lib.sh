# shellcheck shell=bash
# Helpers shared by the integration tests (tests/integration/*_test.sh).
# Source it after `set -euo pipefail`. Tests run under scripts/with-kvm:
# on the host with hardware KVM, or in the nested VM (MV_VMTEST=1) where
# the host file system is read-only except $MV_BUILD_DIR, $MV_OUT, /tmp.
#
#   guest_dir                   dir of the default guest (vmlinuz, initrd.img)
#   moonvisor_bin               path of the built moonvisor binary
#   test_workdir NAME           a writable dir for this test's files
#   run_logged SECS LOG CMD...  run CMD (stdin /dev/null), stdout+stderr
#                               streamed and saved to LOG; CMD's status
#                               (124 on timeout)
#   qemu_boot_guest SECS LOG GUEST_CMD [QEMU ARGS...]
#                               boot the default guest with QEMU microvm/KVM
#   expect_line LOG ERE [WHAT]  some line of LOG (CRs removed) matches ERE
#   expect_no_line LOG ERE...   no line of LOG matches any ERE (case-insensitive)
#   expect_status WHAT WANT GOT
#   add_failure MSG             record a failed expectation of your own
#   finish LOG                  exit 1 (printing failures and LOG) if an
#                               expectation failed or any *.log next to LOG
#                               holds a sanitizer report, else print PASS
#   fail MSG / skip MSG         exit 1 / exit 77 (ctest: skipped)

MV_SOURCE_DIR=${MV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MV_BUILD_DIR=${MV_BUILD_DIR:-$MV_SOURCE_DIR/build}
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
_mv_failures=()

say() { printf '%s: %s\n' "$TEST_NAME" "$*" >&2; }
fail() { printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }
skip() { printf '%s: SKIPPED: %s\n' "$TEST_NAME" "$*" >&2; exit 77; }

guest_dir() {
	local dir
	dir=$("$MV_SOURCE_DIR/scripts/guest-image.sh" 2>/dev/null | tail -n1) ||
		fail "scripts/guest-image.sh failed; run it by hand to see why"
	[ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ] || fail "no guest image in '$dir'"
	printf '%s\n' "$dir"
}

moonvisor_bin() {
	local bin=$MV_BUILD_DIR/moonvisor
	[ -x "$bin" ] || fail "moonvisor binary not found at $bin (build first: cmake --build build)"
	printf '%s\n' "$bin"
}

test_workdir() {
	local dir
	if [ -n "${MV_OUT:-}" ]; then
		dir=$MV_OUT/$1
		mkdir -p "$dir"
	else
		dir=$(mktemp -d "${TMPDIR:-/tmp}/mv-$1.XXXXXX")
	fi
	printf '%s\n' "$dir"
}

run_logged() {
	local secs=$1 log=$2 rc
	shift 2
	say "running: $*"
	set +e
	timeout -k 5 "$secs" "$@" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" != 124 ] || say "timed out after ${secs}s: $1"
	return "$rc"
}

qemu_boot_guest() {
	local secs=$1 log=$2 cmd=$3 guest
	shift 3
	guest=$(guest_dir)
	run_logged "$secs" "$log" qemu-system-x86_64 -M microvm -accel kvm -cpu host \
		-smp 1 -m 256M -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" \
		-append "console=ttyS0 panic=-1 no_timer_check -- $cmd" "$@"
}

# console_lines FILE: FILE without CRs, and with every guest console line
# that a host line cut in two joined again. Host lines (testguest.lua's say)
# start with a line break marked by \31; the text before that mark is the
# head of a guest line whose rest follows the host line(s).
console_lines() {
	tr -d '\r' <"$1" | awk '
		sub(/\037$/, "") { head = head $0; host = 1; next }
		host { print; host = 0; next }
		{ print head $0; head = "" }
		END { if (head != "") print head }'
}

# log_has FILE ERE [GREP-OPTION]: a line of FILE (console_lines) matches ERE.
# grep reads to the end on purpose: under pipefail, grep -q could stop early,
# tr die of SIGPIPE and the pipeline report "no match" for a line that is there.
log_has() {
	console_lines "$1" | grep -E ${3:-} -- "$2" >/dev/null
}

expect_line() {
	local log=$1 ere=$2 what=${3:-}
	if log_has "$log" "$ere"; then
		return 0
	fi
	_mv_failures+=("expected a line matching /$ere/${what:+ ($what)}")
	return 0
}

add_failure() {
	_mv_failures+=("$*")
}

# expect_no_line LOG ERE...: no line of LOG matches any ERE (case-insensitive);
# each one that does is a failure quoting up to three of its lines.
expect_no_line() {
	local log=$1 ere lines
	shift
	for ere in "$@"; do
		if log_has "$log" "$ere" -i; then
			lines=$(console_lines "$log" | grep -iE -- "$ere" | head -n3) || true
			_mv_failures+=("complaint /$ere/: $lines")
		fi
	done
}

expect_status() {
	[ "$3" = "$2" ] || _mv_failures+=("expected $1 to exit with status $2, got $3")
}

# expect_no_sanitizer_report DIR: no *.log in DIR holds an ASan, LSan or
# UBSan report (MV_SANITIZE builds). The exit status alone misses some: a
# UBSan abort exits 1, which a test may expect for other reasons, and a
# background or REPL-client moonvisor's status may go unchecked.
_mv_san_ere='==[0-9]+==ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer:|: runtime error: '
expect_no_sanitizer_report() {
	local f
	for f in "$1"/*.log; do
		[ -f "$f" ] && grep -aqE -- "$_mv_san_ere" "$f" || continue
		_mv_failures+=("sanitizer report in $f:
$(console_lines "$f" | grep -aE -A40 -- "$_mv_san_ere" | head -n80 || true)")
	done
}

# host_sync_point LOG PID NAME: waits (up to 15 min) for a test script's
# "host-sync: NAME pid=VMMPID" line in LOG while process PID lives; prints
# VMMPID. Fails if PID exits first or the time runs out.
host_sync_point() {
	local line
	for _ in $(seq 1800); do
		if [ -f "$1" ] && line=$(console_lines "$1" | grep -E "^host-sync: $3 pid=[0-9]+$"); then
			printf '%s\n' "${line##*pid=}"
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# expect_no_triple_fault DIR: fails the test if any *.log in DIR holds
# moonvisor's triple-fault warning. The test guests reboot through ACPI
# (never reboot=t), so a triple fault is a guest crash.
expect_no_triple_fault() {
	local f
	for f in "$1"/*.log; do
		[ -f "$f" ] && grep -aqE -- 'vCPU [0-9]+: triple fault' "$f" || continue
		_mv_failures+=("the guest triple-faulted: $(console_lines "$f" | grep -aE -m1 -- 'vCPU [0-9]+: triple fault')")
	done
}

finish() {
	local log=$1 f
	expect_no_sanitizer_report "$(dirname -- "$log")"
	expect_no_triple_fault "$(dirname -- "$log")"
	if [ ${#_mv_failures[@]} -eq 0 ]; then
		say "PASS"
		exit 0
	fi
	{
		printf '%s: FAIL\n' "$TEST_NAME"
		for f in "${_mv_failures[@]}"; do printf '  %s\n' "$f"; done
		printf -- '--- captured console (%s) ---\n' "$log"
		console_lines "$log"
		printf -- '--- end of console ---\n'
	} >&2
	exit 1
}
