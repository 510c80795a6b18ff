#!/usr/bin/env bash
# Plugins built out of tree against an INSTALLED moonvisor: `cmake
# --install` into a temporary prefix, then in a temporary directory, for
# every plugin in plugins/ and the bad ones of tests/plugins/:
#   cc -shared -fPIC $(pkg-config --cflags moonvisor-plugin) dev.c -o dev.so
# with PKG_CONFIG_PATH pointing into the prefix only (so the header comes
# from the install, never from the source tree). moonvisor then loads the
# good ones (mv.load_plugin, and a mv.vm{ devices = ... } entry with an
# option) and refuses the bad ones with their messages. No KVM needed.
set -euo pipefail
MV_SOURCE_DIR=${MV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MV_BUILD_DIR=${MV_BUILD_DIR:-$MV_SOURCE_DIR/build}
name=plugin_build_test
fail() { printf '%s: FAIL: %s\n' "$name" "$*" >&2; exit 1; }
command -v cc >/dev/null && command -v pkg-config >/dev/null || { echo "$name: SKIPPED: needs cc, pkg-config"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$MV_BUILD_DIR" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
	fail "cmake --install failed: $(cat "$tmp/install.log")"
[ -f "$tmp/prefix/include/moonvisor/plugin.h" ] || fail "the header was not installed"
pc=$(find "$tmp/prefix" -name moonvisor-plugin.pc)
[ -n "$pc" ] || fail "moonvisor-plugin.pc was not installed"
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_LIBDIR=$(dirname "$pc")
cflags=$(pkg-config --cflags moonvisor-plugin) || fail "pkg-config does not know moonvisor-plugin"
inc=$(pkg-config --variable=includedir moonvisor-plugin)
[ "$(cd "$inc" && pwd -P)" = "$(cd "$tmp/prefix/include" && pwd -P)" ] ||
	fail "pkg-config's includedir $inc is not the install's $tmp/prefix/include"

mkdir "$tmp/src"
cp "$MV_SOURCE_DIR"/plugins/*.c "$MV_SOURCE_DIR"/tests/plugins/{bad_abi,noentry,initfail,overlap}.c "$tmp/src/"
cd "$tmp/src"
for c in *.c; do
	# shellcheck disable=SC2086 # cflags is a word list
	cc -shared -fPIC $cflags "$c" -o "${c%.c}.so" 2>"$tmp/cc.log" || fail "building $c: $(cat "$tmp/cc.log")"
	# and warning-free with the project's warnings
	# shellcheck disable=SC2086
	cc -shared -fPIC -Wall -Wextra -Werror -Wno-unused-parameter $cflags "$c" -o /dev/null 2>"$tmp/cc.log" ||
		fail "warnings building $c: $(cat "$tmp/cc.log")"
done

cat >"$tmp/load.lua" <<'EOF'
local mv = require "moonvisor"
local dir, kernel = ...
for _, p in ipairs { "debugport", "watchdog", "rngfile", "bad_abi", "noentry", "initfail", "overlap" } do
  local n, v = mv.load_plugin(dir .. "/" .. p .. ".so")
  print(string.format("load %s: %s %s", p, tostring(n), tostring(v)))
end
local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null",
                   devices = { { plugin = dir .. "/debugport.so", id = "d", port = 0x403 } } }
for _, d in ipairs(vm:plugin_devices()) do print("configured " .. d.id .. " " .. d.plugin .. " " .. d.path) end
EOF
# a minimal bzImage header is enough for mv.vm{} (nothing is started)
printf '%s\n' 'package.path = arg[1] .. "/tests/lua/?.lua;" .. package.path' \
	'require("mvtest").fake_bzimage(arg[2])' >"$tmp/kernel.lua"
lua5.4 "$tmp/kernel.lua" "$MV_SOURCE_DIR" "$tmp/kernel" || fail "writing a fake kernel"
out=$("$MV_BUILD_DIR/moonvisor" --seccomp=off "$tmp/load.lua" "$tmp/src" "$tmp/kernel" 2>&1) || fail "moonvisor: $out"
printf '%s\n' "$out"
major=$(sed -n 's/^#define MV_PLUGIN_ABI_MAJOR \([0-9]*\)$/\1/p' "$tmp/prefix/include/moonvisor/plugin.h")
minor=$(sed -n 's/^#define MV_PLUGIN_ABI_MINOR \([0-9]*\)$/\1/p' "$tmp/prefix/include/moonvisor/plugin.h")
want=(
	"load debugport: debugport 1.0"
	"load watchdog: watchdog 1.0"
	"load rngfile: rngfile 1.0"
	"load overlap: overlap 1"
	"load bad_abi: nil plugin $tmp/src/bad_abi.so: built for plugin ABI $((major + 1)).3, but this moonvisor has plugin ABI $major.$minor (rebuild the plugin against this moonvisor's moonvisor/plugin.h)"
	"load noentry: nil $tmp/src/noentry.so is not a moonvisor plugin: it has no mv_plugin_init symbol"
	"load initfail: nil plugin $tmp/src/initfail.so: mv_plugin_init refused to load: initfail: the frobnicator is missing"
	"configured d debugport $tmp/src/debugport.so"
)
for w in "${want[@]}"; do
	grep -qxF -- "$w" <<<"$out" || fail "expected the line: $w"
done
echo "$name: PASS"
