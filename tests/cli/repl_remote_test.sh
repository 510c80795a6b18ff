#!/usr/bin/env bash
# `moonvisor --control SOCK script.lua` and `moonvisor repl SOCK` from
# pipes, as scripts use them: output, exit status, sessions that do not
# disturb each other or the server, the socket's mode and peer check.
# Needs /dev/kvm for the tiny spinning guest (no Linux guest); skipped
# (status 77) without it.
set -euo pipefail
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MV_BUILD_DIR:-$src/build}/moonvisor
if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: needs read/write /dev/kvm for the tiny guest"
	exit 77
fi
work=$(mktemp -d)
chmod 755 "$work" # another uid must reach the socket for the refusal test
sock=$work/control.sock
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
failures=0
total=0

lua_helper() { lua5.4 -e "package.path='$src/tests/lua/?.lua;'..package.path" -e "$1"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

lua_helper "local h = require 'mvtest'
h.fake_bzimage('$work/tiny', { code = h.code.print('up\n') .. h.code.spin, payload = 4096 })"
cat >"$work/script.lua" <<LUA
local mv = require "moonvisor"
local vm = mv.vm { name = "rt", kernel = "$work/tiny", memory = "32M", serial = "null" }
assert(vm:start())
LUA

# check NAME WANT-STATUS WANT-STDOUT(exact) [WANT-STDERR-SUBSTRING] <<< input
check() {
	local name=$1 want_rc=$2 want_out=$3 want_err=${4:-} rc=0
	total=$((total + 1))
	"$bin" repl "$sock" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" != "$want_rc" ]; then
		fail "$name: exit status $rc, expected $want_rc"
	elif [ "$(cat "$work/out")" != "$want_out" ]; then
		fail "$name: stdout '$(cat "$work/out")', expected '$want_out'"
	elif [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$work/err"; then
		fail "$name: expected '$want_err' on stderr"
	else
		echo "ok   $name"
		return 0
	fi
	sed 's/^/     | /' "$work/err"
}

"$bin" --control "$sock" "$work/script.lua" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$work/server.log"; echo "FAIL: no control socket at $sock"; exit 1; }

check "expression" 0 "running" <<<'return vm:info().state'
check "pause" 0 "true" <<<'vm:pause()'
check "paused state" 0 "paused" <<<'vm:state()'
check "resume" 0 "running" <<<'vm:resume() return vm:state()'
check "multi-line chunk" 0 "5" <<<$'function add(a, b)\n  return a + b\nend\nadd(2, 3)'
check "sessions have their own globals" 0 "nil" <<<'return add'
check "print goes to the client" 0 $'hello\trt' <<<'print("hello", vm.name)'
check "a chunk that waits" 0 "waited" <<<'vm:wait("paused", { timeout = 0.05 }) return "waited"'
check "runtime error" 1 "after" "stdin:1: boom" <<<$'error("boom")\nreturn "after"'
check "syntax error" 1 "" "unexpected symbol" <<<'x = = 1'
check "unfinished chunk at the end" 1 "" "unfinished chunk" <<<'function g('
check "server still serves" 0 "running" <<<'return vm:state()'
if grep -q hello "$work/server.log"; then fail "print in a session reached the server's stdout"; fi

# two clients at once, each with its own multi-line buffer
total=$((total + 1))
{ printf 'function slow(\n'; sleep 0.6; printf ')\nreturn 1 end\nslow()\n'; } |
	"$bin" repl "$sock" >"$work/a.out" 2>&1 &
a_pid=$!
sleep 0.2
b_out=$(echo 'mv.sleep(0.05) return "B"' | "$bin" repl "$sock" 2>&1) || true
a_running=no
kill -0 "$a_pid" 2>/dev/null && a_running=yes
a_rc=0
wait "$a_pid" || a_rc=$?
if [ "$b_out" != "B" ] || [ "$a_running" != yes ] || [ "$a_rc" != 0 ] || [ "$(cat "$work/a.out")" != 1 ]; then
	fail "two clients: B='$b_out' (A running meanwhile: $a_running), A status $a_rc output '$(cat "$work/a.out")'"
else
	echo "ok   two clients at once"
fi

# a client that goes away mid-chunk harms nothing
total=$((total + 1))
rc=0
printf 'mv.sleep(2) print("never")\n' | timeout 0.5 "$bin" repl "$sock" >/dev/null 2>&1 || rc=$?
if [ "$rc" != 124 ]; then fail "killed client: status $rc, expected 124 (timeout)"; else echo "ok   client killed mid-chunk"; fi
check "next client after a killed one" 0 "running" <<<'return vm:state()'

# the protocol itself: completion and a bad message (socat is optional)
if command -v socat >/dev/null; then
	total=$((total + 1))
	printf 'Tvm:pa\nTmv.sp\nZ\n' | timeout 5 socat - "UNIX-CONNECT:$sock" >"$work/raw" 2>&1 || true
	if grep -qx 'Cvm:pause' "$work/raw" && grep -qx 'Cmv.spawn' "$work/raw" && grep -q '^Xunknown message' "$work/raw"; then
		echo "ok   protocol: completion and unknown message"
	else
		fail "protocol: got $(tr '\n' '|' <"$work/raw")"
	fi
fi

# the socket: mode 0600, and only the same uid or root
total=$((total + 1))
mode=$(stat -c %a "$sock")
if [ "$mode" = 600 ]; then echo "ok   socket mode 0600"; else fail "socket mode $mode, expected 600"; fi
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" repl "$sock"; }
total=$((total + 1))
rc=0
echo 'return 1' | nobody >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" = 2 ] && grep -qF "cannot connect to $sock" "$work/err"; then
	echo "ok   other uid cannot connect to a 0600 socket"
else
	fail "other uid, mode 0600: status $rc, $(cat "$work/err")"
fi
total=$((total + 1))
chmod 666 "$sock" # past the file mode, the server's SO_PEERCRED check must refuse
rc=0
echo 'return vm:kill()' | nobody >"$work/out" 2>"$work/err" || rc=$?
chmod 600 "$sock"
if [ "$rc" = 2 ] && grep -qF "permission denied: uid 65534" "$work/err" && [ ! -s "$work/out" ]; then
	echo "ok   other uid refused by peer credentials"
else
	fail "other uid, mode 0666: status $rc, out '$(cat "$work/out")', err '$(cat "$work/err")'"
fi
check "VM untouched by the refused client" 0 "running" <<<'return vm:state()'

total=$((total + 1))
rc=0
"$bin" repl "$work/nothing.sock" </dev/null 2>"$work/err" || rc=$?
if [ "$rc" = 2 ] && grep -qF "cannot connect to $work/nothing.sock" "$work/err"; then
	echo "ok   no server: status 2 naming the path"
else
	fail "no server: status $rc, $(cat "$work/err")"
fi

# the server ends on SIGTERM and removes its socket
total=$((total + 1))
kill "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
if [ "$rc" = 143 ] && [ ! -e "$sock" ]; then
	echo "ok   server stopped, socket removed"
else
	fail "server stop: status $rc, socket still there: $([ -e "$sock" ] && echo yes || echo no)"
	cat "$work/server.log"
fi

echo "$((total - failures)) passed, $failures failed"
[ "$failures" = 0 ]
