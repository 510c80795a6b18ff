#!/usr/bin/env bash
# Bad input to `moonvisor SCRIPT.lua`: each case is a clear message on stderr
# naming the script line and what is wrong, exit status 1, and no crash.
# Needs no KVM: everything here fails before a VM starts.
set -euo pipefail
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MV_BUILD_DIR:-$src/build}/moonvisor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

lua_helper() { lua5.4 -e "package.path='$src/tests/lua/?.lua;'..package.path" -e "$1"; }

lua_helper "require('mvtest').fake_bzimage('$work/good.bzImage')"
head -c 3000 "$work/good.bzImage" >"$work/truncated.bzImage"
head -c 65536 /dev/urandom >"$work/random.bin"
lua_helper "local f=io.open('$work/arm.elf','wb') f:write('\127ELF', string.char(2,1,1), string.rep('\0',9), string.pack('<I2I2I4', 2, 183, 1), string.rep('\0', 4096)) f:close()"
head -c $((17 * 1024 * 1024)) /dev/zero >"$work/big.initrd"

# case NAME EXPECTED-SUBSTRING LUA-TABLE-FIELDS
case_() {
	local name=$1 want=$2 fields=$3 script=$work/$1.lua rc=0
	printf 'local mv = require "moonvisor"\nlocal vm = mv.vm { serial = "null", %s }\nassert(vm:start())\n' "$fields" >"$script"
	"$bin" "$script" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
	if [ "$rc" != 1 ]; then
		echo "FAIL $name: exit status $rc, expected 1"; failures=$((failures + 1))
	elif ! grep -qF -- "$name.lua:2:" "$work/$name.err"; then
		echo "FAIL $name: message does not name the script line ($name.lua:2:)"; failures=$((failures + 1))
	elif ! grep -qF -- "$want" "$work/$name.err"; then
		echo "FAIL $name: expected '$want' in stderr"; failures=$((failures + 1))
	elif grep -qE 'Sanitizer|runtime error|Segmentation' "$work/$name.err"; then
		echo "FAIL $name: crashed or sanitizer report"; failures=$((failures + 1))
	else
		echo "ok   $name: $(head -n1 "$work/$name.err")"
		return 0
	fi
	sed 's/^/     | /' "$work/$name.err"
}

case_ truncated "truncated" "kernel = '$work/truncated.bzImage'"
case_ random "not a Linux kernel" "kernel = '$work/random.bin'"
case_ wrong_machine "need x86_64" "kernel = '$work/arm.elf'"
case_ initrd_too_big "is larger than memory" "kernel = '$work/good.bzImage', memory = '16M', initrd = '$work/big.initrd'"
case_ zero_cpus "cpus = 0 is out of range (1..254)" "kernel = '$work/good.bzImage', cpus = 0"
case_ many_cpus "cpus = 300 is out of range (1..254)" "kernel = '$work/good.bzImage', cpus = 300"
case_ bad_memory "memory = \"12Q\": '12Q' is not a size" "kernel = '$work/good.bzImage', memory = '12Q'"
case_ unknown_key "unknown field 'kernal' (did you mean 'kernel'?)" "kernal = 'x'"
case_ missing_kernel "No such file or directory" "kernel = '$work/nope'"

# a script that does not parse: file and line of the syntax error
printf 'local mv = require "moonvisor"\nmv.vm {\n' >"$work/syntax.lua"
rc=0; "$bin" "$work/syntax.lua" 2>"$work/syntax.err" || rc=$?
if [ "$rc" = 1 ] && grep -q 'syntax.lua:3:' "$work/syntax.err"; then echo "ok   syntax: $(cat "$work/syntax.err")"
else echo "FAIL syntax: status $rc"; cat "$work/syntax.err"; failures=$((failures + 1)); fi

# --version and --help
"$bin" --version | grep '^moonvisor [0-9]' >/dev/null && echo "ok   --version" || { echo "FAIL --version"; failures=$((failures + 1)); }
"$bin" --help | grep 'Usage: moonvisor' >/dev/null && echo "ok   --help" || { echo "FAIL --help"; failures=$((failures + 1)); }
rc=0; "$bin" 2>/dev/null || rc=$?
[ "$rc" = 1 ] && echo "ok   no script: status 1" || { echo "FAIL no script: status $rc"; failures=$((failures + 1)); }

total=14
echo "$((total - failures)) passed, $failures failed"
[ "$failures" = 0 ]
