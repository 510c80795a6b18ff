#!/usr/bin/env bash
# `moonvisor -i` used as a person would, on a real terminal (tmux): a
# multi-line function, an error, tab completion, guest output printed above
# a half-typed line, Ctrl-C at the prompt, Ctrl-D to quit. Needs tmux and
# /dev/kvm (tiny guest, no Linux); skipped (status 77) without them.
set -euo pipefail
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MV_BUILD_DIR:-$src/build}/moonvisor
if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || ! command -v tmux >/dev/null; then
	echo "SKIP: needs tmux and read/write /dev/kvm"
	exit 77
fi
work=$(mktemp -d)
tmux_sock=mvrepl-$$ # a private tmux server
tm() { tmux -L "$tmux_sock" "$@"; }
cleanup() {
	tm kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
failures=0
total=0

lua5.4 -e "package.path='$src/tests/lua/?.lua;'..package.path" -e "local h = require 'mvtest'
h.fake_bzimage('$work/tiny', { code = h.code.print('guest up\n') .. h.code.echo, payload = 4096 })"
cat >"$work/script.lua" <<LUA
local mv = require "moonvisor"
local vm = mv.vm { name = "tty", kernel = "$work/tiny", memory = "32M", serial = "stdio" }
assert(vm:start())
LUA

screen() { tm capture-pane -p -J -t repl; }
# the last non-empty line of the screen
last_line() { screen | sed '/^[[:space:]]*$/d' | tail -n1; }
# step NAME ERE: waits up to 10 s for a screen line matching ERE
step() {
	local name=$1 ere=$2
	total=$((total + 1))
	for _ in $(seq 200); do
		if screen | grep -E -- "$ere" >/dev/null; then # not -q: see log_has in tests/integration/lib.sh
			echo "ok   $name"
			return 0
		fi
		sleep 0.05
	done
	echo "FAIL $name: no line matching /$ere/ on the screen:"
	screen | sed '/^[[:space:]]*$/d; s/^/     | /'
	failures=$((failures + 1))
}
# wait_last NAME TEXT: waits up to 10 s for TEXT to be the last line
# (tmux may or may not keep a prompt's trailing space)
wait_last() {
	local name=$1 want=$2 got
	total=$((total + 1))
	for _ in $(seq 200); do
		got=$(last_line)
		if [ "$got" = "$want" ] || [ "$got " = "$want" ]; then
			echo "ok   $name"
			return 0
		fi
		sleep 0.05
	done
	echo "FAIL $name: last line is '$got', expected '$want'"
	failures=$((failures + 1))
}
prompt_back() { wait_last "$1" "> "; }
type_line() {
	tm send-keys -t repl -l "$1"
	tm send-keys -t repl Enter
}

tm new-session -d -s repl -x 100 -y 40 "'$bin' -i '$work/script.lua'; echo \$? >'$work/status'"
step "guest output and the first prompt" '^guest up$'
prompt_back "prompt after the script"

type_line 'function f(x)'
step "continuation prompt" '^>> $|^>>$'
type_line 'return x * 2'
wait_last "second continuation prompt" ">> " # typed ahead, "end" lands before it
type_line 'end'
step "multi-line input" '^>> end$'
type_line 'f(21)'
step "function result" '^42$'
prompt_back "prompt after the result"

type_line 'error("oops")'
step "error message" '^stdin:1: oops$'
prompt_back "prompt after the error"

tm send-keys -t repl -l 'vm:pa'
tm send-keys -t repl Tab
step "tab completion" '^> vm:pause$'
tm send-keys -t repl C-c
step "Ctrl-C at the prompt" '^> vm:pause\^C$'
prompt_back "prompt after Ctrl-C"

type_line 'vm:info().state'
step "the VM kept running" '^running$'
prompt_back "prompt after the state"

# guest output arriving while a line is half typed: above the prompt
type_line 'mv.after(0.3, function() vm.console:write("ping\n") end) return "armed"'
step "timer armed" '^armed$'
tm send-keys -t repl -l 'half typ'
step "guest output shown" '^ping$'
wait_last "partial input redrawn below the guest output" "> half typ"
tm send-keys -t repl C-c
prompt_back "Ctrl-C dropped the half-typed line"

type_line 'mv.sleep(30)'
sleep 0.3
tm send-keys -t repl C-c
step "Ctrl-C cancels a running chunk" '^cancelled$'
prompt_back "prompt after cancelling"

tm send-keys -t repl C-d
total=$((total + 1))
for _ in $(seq 200); do [ -s "$work/status" ] && break; sleep 0.05; done
if [ "$(cat "$work/status" 2>/dev/null)" = 0 ]; then echo "ok   Ctrl-D: moonvisor exited with status 0"; else
	echo "FAIL Ctrl-D: exit status '$(cat "$work/status" 2>/dev/null)' (empty: still running)"
	failures=$((failures + 1))
fi

echo "$((total - failures)) passed, $failures failed"
[ "$failures" = 0 ]
