#!/usr/bin/env bash
# tests/integration/lib.sh's console_lines: a guest console line that a host
# line (testguest.lua's say: a line break marked with \31 in front) cut in
# two comes out whole, the host lines stay lines of their own, CRs go, and
# a log without marks is unchanged. Needs no KVM.
set -euo pipefail
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MV_BUILD_DIR=${MV_BUILD_DIR:-$src/build}
export MV_BUILD_DIR
. "$src/tests/integration/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

check() { # NAME INPUT(printf format) EXPECTED(printf format)
	printf -- "$2" >"$work/$1.log"
	printf -- "$3" >"$work/$1.want"
	if ! console_lines "$work/$1.log" | cmp -s - "$work/$1.want"; then
		echo "FAIL $1: got"; console_lines "$work/$1.log" | od -c | head -8
		failures=$((failures + 1))
	fi
}

check plain 'a\r\nb\r\n' 'a\nb\n'
# the guest's "hp-unplugged availa|ble=..." cut by two host lines
check cut 'x\nhp-unplugged availa\037\nhost-removed: a\n\037\nhost-info: b\nble=1 same=yes\r\n' \
	'x\nhost-removed: a\nhost-info: b\nhp-unplugged available=1 same=yes\n'
# a host line after a whole guest line: no empty line in between
check whole 'guest done\r\n\037\nhost-counts: 1\nnext\n' 'guest done\nhost-counts: 1\nnext\n'
# the cut between the guest's CR and LF
check crlf 'abc\r\037\nhost-x\n\nnext\n' 'host-x\nabc\nnext\n'
# a cut guest line the log ends in
check tail 'par\037\nhost-y\n' 'host-y\npar\n'

[ "$failures" = 0 ] || exit 1
echo "console_lines_test: PASS"
