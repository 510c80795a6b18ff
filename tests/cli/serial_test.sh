#!/usr/bin/env bash
# The serial console's sinks and inputs, with a tiny guest that echoes every
# byte its UART receives (tests/lua/mvtest.lua: code.echo) — runs on the
# host's /dev/kvm, no Linux needed:
#   stdio   bytes piped into moonvisor reach the guest and come back on stdout
#   file    guest output lands in the file
#   socket  a client's bytes reach the guest and the echo comes back to it
#   vm.console:write + expect from Lua
set -euo pipefail
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MV_BUILD_DIR:-$src/build}/moonvisor
work=$(mktemp -d)
server=
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
failures=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failures=$((failures + 1)); }

[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "FAIL: needs read/write /dev/kvm for tiny guests"; exit 1; }

lua5.4 -e "package.path='$src/tests/lua/?.lua;'..package.path" -e "
  local h = require 'mvtest'
  h.fake_bzimage('$work/echo.bz', { code = h.code.echo, payload = 4096 })
  h.fake_bzimage('$work/hello.bz', { code = h.code.print('hello file\n') .. h.code.poweroff, payload = 4096 })"

script() { # NAME SERIAL KERNEL [EXTRA LUA]
	printf 'local mv = require "moonvisor"\nvm = mv.vm { kernel = "%s", memory = "32M", serial = %s }\nassert(vm:start())\n%s\n' \
		"$3" "$2" "${4:-}" >"$work/$1.lua"
	echo "$work/$1.lua"
}

# stdio: stdin is a pipe; the guest echoes; the script kills the VM once seen
s=$(script stdio '"stdio"' "$work/echo.bz" 'assert(vm.console:expect("ping from stdin", { timeout = 20, plain = true })) vm:kill()')
out=$( (printf 'ping from stdin\n'; sleep 3) | timeout 25 "$bin" "$s" 2>&1) || true
case "$out" in *"ping from stdin"*) ok "stdio: piped input echoed on stdout" ;; *) bad "stdio: got '$out'" ;; esac

# file
s=$(script file "{ file = '$work/console.log' }" "$work/hello.bz")
rc=0; timeout 20 "$bin" "$s" || rc=$?
if [ "$rc" = 0 ] && grep -qx 'hello file' "$work/console.log"; then ok "file: output written, exit 0"; else bad "file: rc=$rc, file: $(cat "$work/console.log" 2>&1)"; fi

# socket: mode 0600, a client's bytes echo back to it
s=$(script socket "{ socket = '$work/console.sock' }" "$work/echo.bz" 'mv.sleep(20) vm:kill()')
"$bin" "$s" & server=$!
for _ in $(seq 100); do [ -S "$work/console.sock" ] && break; sleep 0.1; done
mode=$(stat -c %a "$work/console.sock" 2>/dev/null || echo none)
[ "$mode" = 600 ] && ok "socket: mode 0600" || bad "socket: mode $mode"
reply=$( (printf 'ping over socket\n'; sleep 2) | timeout 10 socat - "UNIX-CONNECT:$work/console.sock" 2>&1) || true
case "$reply" in *"ping over socket"*) ok "socket: client input echoed back" ;; *) bad "socket: got '$reply'" ;; esac
kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=

# Lua: console:write reaches the guest, expect sees the echo, tail keeps it
s=$(script lua '"null"' "$work/echo.bz" 'vm.console:write("abc\n") print("expect:", vm.console:expect("abc", { timeout = 20 })) print("tail:", vm.console:tail(1)[1]) vm:kill()')
out=$(timeout 25 "$bin" "$s" 2>&1) || true
case "$out" in *"expect:	abc"*"tail:	abc"*) ok "lua: write + expect + tail" ;; *) bad "lua: got '$out'" ;; esac

echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
