#!/usr/bin/env bash
# The REST API on its Unix socket, from the outside (curl, socat, moonvisor
# remote): Cloud Hypervisor's endpoints driving a tiny guest, answers
# checked against the reduced Cloud Hypervisor schema
# (tests/fixtures/ch_api_schema.json), and abuse the server must survive
# with the VM unaffected: malformed request lines, headers and JSON, wrong
# types, unknown fields, oversize bodies and headers, a slow client, 100
# clients at once, clients that vanish mid-request. Needs /dev/kvm for the
# tiny guest (no Linux guest), curl and socat; skipped (77) without them.
set -euo pipefail
src=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MV_BUILD_DIR:-$src/build}
bin=$build/moonvisor
if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: needs read/write /dev/kvm for the tiny guest"
	exit 77
fi
for tool in curl socat; do
	command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
work=$(mktemp -d)
sock=$work/api.sock
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
U=http://localhost/api/v1

fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }
# api METHOD ENDPOINT [curl args...]: body in $work/body, prints the status
api() {
	local m=$1 e=$2
	shift 2
	curl -s -o "$work/body" -w '%{http_code}' --max-time 30 --unix-socket "$sock" -X "$m" "$U/$e" "$@"
}
# the checkers run in moonvisor itself (mv.json), not lua5.4 + moonvisor.so,
# so they work in sanitizer builds too
schema_ok() { # schema_ok NAME FILE
	LUA_PATH="$src/tests/lua/?.lua;;" "$bin" --seccomp=off \
		"$src/tests/cli/schema_check.lua" "$src/tests/fixtures/ch_api_schema.json" "$1" "$2"
}
# expect NAME WANT-STATUS GOT-STATUS [WANT-IN-BODY] [SCHEMA]
expect() {
	local name=$1 want=$2 got=$3 text=${4:-} schema=${5:-}
	total=$((total + 1))
	if [ "$got" != "$want" ]; then
		fail "$name: HTTP $got, expected $want: $(head -c 300 "$work/body")"
	elif [ -n "$text" ] && ! grep -qF -- "$text" "$work/body"; then
		fail "$name: body lacks '$text': $(head -c 300 "$work/body")"
	elif [ -n "$schema" ] && ! schema_ok "$schema" "$work/body" 2>"$work/schema.err"; then
		fail "$name: not a valid $schema: $(cat "$work/schema.err")"
	else
		ok "$name"
	fi
}
raw() { # raw SECONDS: stdin to the socket, the answer to stdout
	timeout 20 socat -t "$1" - "UNIX-CONNECT:$sock" 2>/dev/null || true
}
vm_running() { [ "$(api GET vm.info)" = 200 ] && grep -q '"state":"Running"' "$work/body"; }

lua5.4 -e "package.path='$src/tests/lua/?.lua;'..package.path" -e "local h = require 'mvtest'
h.fake_bzimage('$work/tiny', { code = h.code.print('up\n') .. h.code.spin, payload = 4096 })"
cat >"$work/server.lua" <<LUA
local mv = require "moonvisor"
assert(mv.api.listen("$sock", { read_timeout = 1, shutdown_timeout = 0, device_timeout = 1 }))
mv.api.route("GET", "/api/v1/x.vms", function() mv.sleep(0.01) return 200, { n = #mv.vms() } end)
LUA
"$bin" --event-monitor "$work/events" "$work/server.lua" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$work/server.log"; echo "FAIL: no API socket at $sock"; exit 1; }

total=$((total + 1))
mode=$(stat -c %a "$sock")
if [ "$mode" = 600 ]; then ok "socket mode 0600"; else fail "socket mode $mode, expected 600"; fi

expect "vmm.ping" 200 "$(api GET vmm.ping)" '"version"' VmmPingResponse
expect "vm.info before vm.create" 404 "$(api GET vm.info)" '"Not Found"'
expect "vm.create: malformed JSON" 400 "$(api PUT vm.create -d '{"payload":{')" "invalid JSON"
expect "vm.create: wrong type" 400 "$(api PUT vm.create -d '{"payload":{"kernel":"'"$work/tiny"'"},"cpus":{"boot_vcpus":"1"}}')" \
	"VmConfig.cpus.boot_vcpus must be an integer, got string"
expect "vm.create: unknown field" 400 "$(api PUT vm.create -d '{"payload":{"kernel":"'"$work/tiny"'"},"memroy":{}}')" \
	"unknown field 'memroy' in VmConfig (did you mean 'memory'?)"
expect "vm.create: no body" 400 "$(api PUT vm.create)" "a JSON VmConfig body is required"
expect "vm.create" 204 "$(api PUT vm.create -H 'Content-Type: application/json' -d '{
	"payload": {"kernel": "'"$work/tiny"'", "cmdline": "console=ttyS0"},
	"cpus": {"boot_vcpus": 1, "max_vcpus": 1}, "memory": {"size": 33554432},
	"serial": {"mode": "File", "file": "'"$work/serial.log"'"}, "rng": {"src": "/dev/urandom"}}')"
expect "vm.info: Created" 200 "$(api GET vm.info)" '"state":"Created"' VmInfo
expect "vm.pause before boot" 405 "$(api PUT vm.pause)" "the VM is Created"
expect "vm.boot" 204 "$(api PUT vm.boot)"
expect "vm.info: Running" 200 "$(api GET vm.info)" '"state":"Running"' VmInfo
expect "vm.counters" 200 "$(api GET vm.counters)" '"serial"' VmCounters
expect "unknown endpoint" 404 "$(api GET vm.frobnicate)" "no endpoint /api/v1/vm.frobnicate"
expect "wrong method" 405 "$(api GET vm.boot)" "method not allowed (use PUT)"
expect "Lua route (a task that waits)" 200 "$(api GET x.vms)" '{"n":1}'

# hotplug and resize error paths (the tiny guest has no drivers: what is
# plugged is never taken up, nothing is ejected)
truncate -s 1M "$work/hot.raw"
expect "vm.add-disk: no path" 400 "$(api PUT vm.add-disk -d '{"id":"x"}')" "DiskConfig.path is required"
expect "vm.add-disk: wrong type" 400 "$(api PUT vm.add-disk -d '{"path":"/x","readonly":1}')" \
	"DiskConfig.readonly must be a boolean, got integer"
expect "vm.add-disk: missing image" 400 "$(api PUT vm.add-disk -d '{"path":"'"$work"'/none.raw"}')" "No such file"
expect "vm.add-disk: guest never takes it" 500 "$(api PUT vm.add-disk -d '{"path":"'"$work"'/hot.raw","id":"hot"}')" \
	"did not start a driver for hot"
expect "vm.add-disk: id in use" 409 "$(api PUT vm.add-disk -d '{"path":"'"$work"'/serial.log","id":"hot"}')" \
	"already has a device with id 'hot'"
expect "vm.remove-device: unknown id" 404 "$(api PUT vm.remove-device -d '{"id":"nosuch"}')" "no removable device 'nosuch'"
expect "vm.remove-device: no body" 400 "$(api PUT vm.remove-device)" "a JSON VmRemoveDevice body is required"
expect "vm.remove-device: guest never ejects" 500 "$(api PUT vm.remove-device -d '{"id":"hot"}')" "did not eject"
expect "vm.resize: vCPUs" 400 "$(api PUT vm.resize -d '{"desired_vcpus":4}')" "CPU hotplug is not supported"
expect "vm.resize: unknown field" 400 "$(api PUT vm.resize -d '{"desired_mem":4}')" "unknown field 'desired_mem' in VmResize"
expect "vm.add-net: no tap" 400 "$(api PUT vm.add-net -d '{"mac":"52:54:00:00:00:01"}')" "NetConfig.tap is required"

# malformed requests, straight onto the socket
total=$((total + 1))
out=$(printf 'HELLO THERE\r\n\r\n' | raw 2)
if grep -q '^HTTP/1.1 400' <<<"$out" && grep -q '\["Bad Request","malformed request' <<<"$out"; then
	ok "malformed request line: 400 with a JSON body"
else fail "malformed request line: $out"; fi
total=$((total + 1))
out=$(printf 'GET /api/v1/\xff\xfe HTTP/1.1\r\nConnection: close\r\n\r\n' | raw 2)
if grep -q '^HTTP/1.1 404' <<<"$out" && grep -qF '["Not Found","no endpoint /api/v1/??"]' <<<"$out"; then
	ok "a path that is not UTF-8: 404 with a JSON body"
else fail "non-UTF-8 path: $out"; fi
total=$((total + 1))
out=$(printf 'GET /api/v1/vmm.ping HTTP/1.1\r\nNo colon here\r\n\r\n' | raw 2)
if grep -q '^HTTP/1.1 400' <<<"$out"; then ok "malformed header: 400"; else fail "malformed header: $out"; fi
total=$((total + 1))
out=$(printf 'GET /api/v1/vmm.ping HTTP/1.1\r\nContent-Length: -5\r\n\r\n' | raw 2)
if grep -q '^HTTP/1.1 400' <<<"$out"; then ok "bad Content-Length: 400"; else fail "bad Content-Length: $out"; fi
total=$((total + 1))
out=$({ printf 'GET /api/v1/vmm.ping HTTP/1.1\r\nX-Big: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } | raw 2)
if grep -q '^HTTP/1.1 431' <<<"$out"; then ok "oversize headers: 431"; else fail "oversize headers: $(head -c 200 <<<"$out")"; fi
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$work/big.json"
expect "oversize body: 413" 413 "$(api PUT vm.create -H 'Expect:' --data-binary @"$work/big.json")" "larger than the limit"

# a body after "Expect: 100-continue": curl waits for the 100 (1 s otherwise)
total=$((total + 1))
out=$(curl -sv --expect100-timeout 20 --unix-socket "$sock" -X PUT -H 'Expect: 100-continue' -d '{"x":1}' "$U/vm.boot" 2>&1) || true
if grep -q '< HTTP/1.1 100 Continue' <<<"$out" && grep -q '< HTTP/1.1 405' <<<"$out"; then ok "Expect: 100-continue"
else fail "Expect: 100-continue: $(grep '^<' <<<"$out" | head -3)"; fi

# keep-alive: two requests on one connection, and two pipelined in one write
total=$((total + 1))
out=$(curl -sv --unix-socket "$sock" "$U/vmm.ping" "$U/vm.info" 2>&1 >/dev/null)
if grep -qi 're-using existing connection' <<<"$out"; then ok "keep-alive: curl reuses the connection"
else fail "keep-alive: $(grep -i conn <<<"$out" | head -5)"; fi
total=$((total + 1))
out=$(printf 'GET /api/v1/vmm.ping HTTP/1.1\r\n\r\nGET /api/v1/vm.info HTTP/1.1\r\nConnection: close\r\n\r\n' | raw 3)
if [ "$(grep -o 'HTTP/1.1 200' <<<"$out" | wc -l)" = 2 ]; then ok "pipelined requests answered in order"
else fail "pipelined: $(head -c 300 <<<"$out")"; fi

# a slow client is dropped after read_timeout (1 s here); others are served meanwhile
total=$((total + 1))
{ printf 'GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n'; sleep 3; } | raw 4 >"$work/slow.out" &
slow=$!
sleep 0.3
fast=$(api GET vmm.ping)
wait $slow || true
if [ "$fast" = 200 ] && grep -q '^HTTP/1.1 408' "$work/slow.out" && grep -q 'read timeout' "$work/slow.out"; then
	ok "slow client: 408 after the read timeout, others served meanwhile"
else fail "slow client: fast=$fast, slow got $(head -c 200 "$work/slow.out")"; fi

# clients that vanish mid-request (mid-headers, mid-body, and while a request waits)
for i in 1 2 3; do
	printf 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"payl' | timeout 0.2 socat - "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
	printf 'GET /api/v1/vm.in' | timeout 0.2 socat - "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
	printf 'GET /api/v1/x.vms HTTP/1.1\r\n\r\n' | timeout 0.001 socat - "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
done
total=$((total + 1))
if vm_running; then ok "clients gone mid-request: server and VM fine"; else fail "after vanished clients: $(cat "$work/body")"; fi

# 100 clients at once, each answered with a valid VmInfo
mkdir "$work/many"
pids=()
for i in $(seq 100); do
	curl -s -o "$work/many/$i" -w '%{http_code}' --max-time 60 --unix-socket "$sock" "$U/vm.info" >"$work/many/$i.status" &
	pids+=($!)
done
wait "${pids[@]}" || true
total=$((total + 1))
good=0
for i in $(seq 100); do
	[ "$(cat "$work/many/$i.status")" = 200 ] && schema_ok VmInfo "$work/many/$i" 2>/dev/null && good=$((good + 1))
done
if [ $good = 100 ]; then ok "100 concurrent clients all answered"; else fail "100 concurrent clients: $good answered 200 with a VmInfo"; fi
# and 100 connections held open at once while another is served
total=$((total + 1))
pids=()
for i in $(seq 100); do
	sleep 2 | socat - "UNIX-CONNECT:$sock" >/dev/null 2>&1 &
	pids+=($!)
done
sleep 0.5
held=$(api GET vmm.ping)
wait "${pids[@]}" 2>/dev/null || true
if [ "$held" = 200 ]; then ok "a client served while 100 others hold connections"; else fail "with 100 held: HTTP $held"; fi

total=$((total + 1))
if vm_running && grep -q '^up$' "$work/serial.log"; then ok "VM unaffected (Running, its output intact)"
else fail "VM after the abuse: $(cat "$work/body"), serial: $(cat "$work/serial.log")"; fi

# moonvisor remote: output and exit status from the HTTP status
remote() { "$bin" remote --api-socket "$sock" "$@" >"$work/body" 2>"$work/err"; }
rc_of() { local rc=0; "$@" || rc=$?; echo $rc; }
expect "remote ping (exit 0)" 0 "$(rc_of remote ping)" '"version"' VmmPingResponse
expect "remote pause" 0 "$(rc_of remote pause)"
total=$((total + 1))
rc=$(rc_of remote pause)
if [ "$rc" = 4 ] && grep -qF 'HTTP 405' "$work/err" && grep -qF 'the VM is Paused' "$work/err"; then ok "remote pause twice: exit 4, error on stderr"
else fail "remote pause twice: status $rc, $(cat "$work/err")"; fi
expect "remote info: Paused" 0 "$(rc_of remote info)" '"state":"Paused"' VmInfo
expect "remote resume" 0 "$(rc_of remote resume)"
expect "remote counters" 0 "$(rc_of remote counters)" '"kvm_exits"' VmCounters
total=$((total + 1))
rc=$(rc_of remote frobnicate)
if [ "$rc" = 1 ] && grep -qF "unknown command 'frobnicate'" "$work/err"; then ok "remote: unknown command, exit 1"
else fail "remote unknown command: status $rc"; fi
total=$((total + 1))
rc=0
"$bin" remote --api-socket "$work/none.sock" ping 2>"$work/err" || rc=$?
if [ "$rc" = 2 ] && grep -qF "cannot connect to $work/none.sock" "$work/err"; then ok "remote: no server, exit 2"
else fail "remote no server: status $rc"; fi

expect "vm.shutdown" 204 "$(api PUT vm.shutdown)"
expect "vm.info: Shutdown" 200 "$(api GET vm.info)" '"state":"Shutdown"' VmInfo
expect "vm.delete" 204 "$(api PUT vm.delete)"
expect "vm.info after delete" 404 "$(api GET vm.info)"

# the event monitor: one JSON object per line, Cloud Hypervisor's fields
total=$((total + 1))
cat >"$work/events.lua" <<'LUA'
local mv = require "moonvisor"
local seen, bad = {}, 0
for line in io.lines(arg[1]) do
  local e = mv.json.decode(line)
  if not (e and type(e.timestamp) == "table" and math.type(e.timestamp.secs) == "integer"
          and math.type(e.timestamp.nanos) == "integer" and type(e.source) == "string"
          and type(e.event) == "string" and type(e.properties) == "table") then bad = bad + 1 end
  if e then seen[e.event] = true end
end
for _, ev in ipairs { "created", "started", "paused", "resumed", "stopped", "deleted" } do
  if not seen[ev] then bad = bad + 1 io.stderr:write("no ", ev, " event\n") end
end
print(bad)
LUA
bad=$("$bin" --seccomp=off "$work/events.lua" "$work/events")
if [ "$bad" = 0 ]; then ok "event monitor: every line a CH-style event, lifecycle complete"
else fail "event monitor: $bad problems: $(cat "$work/events")"; fi

# vmm.shutdown ends the process and removes the socket
expect "vmm.shutdown" 204 "$(api PUT vmm.shutdown)"
total=$((total + 1))
rc=0
wait "$server_pid" || rc=$?
server_pid=
if [ "$rc" = 0 ] && [ ! -e "$sock" ]; then ok "server exited 0, socket removed"
else fail "after vmm.shutdown: status $rc, socket there: $([ -e "$sock" ] && echo yes || echo no)"; cat "$work/server.log"; fi

# --api-socket without a script
"$bin" --api-socket "$sock" >"$work/server2.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
expect "--api-socket alone: ping" 200 "$(api GET vmm.ping)" '"pid"' VmmPingResponse
total=$((total + 1))
rc=0
"$bin" --api-socket "$sock" >"$work/dup.log" 2>&1 || rc=$?
if [ "$rc" = 1 ] && grep -qF "another process is serving it" "$work/dup.log"; then ok "second server on the same socket refused"
else fail "second server: status $rc, $(cat "$work/dup.log")"; fi
kill "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
total=$((total + 1))
if [ "$rc" = 143 ] && [ ! -e "$sock" ]; then ok "SIGTERM: stopped, socket removed"; else fail "SIGTERM: status $rc"; fi

echo "$((total - failures)) passed, $failures failed"
[ "$failures" = 0 ]
