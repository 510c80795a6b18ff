#!/usr/bin/env bash
# Device plugins with the default guest (tests/integration/plugins.lua):
#   - bad plugins built here (ABI major + 1, no entry symbol, an entry that
#     refuses, a missing file, an unknown option) are refused by mv.vm{}
#     with their messages; one claiming the serial port's range fails
#     vm:start() with its message, and its first port is unwound;
#   - the guest writes "B", "hello-plugin\n" to debugport (0x402) and
#     "rt-ok\n" to a debugport added at runtime (0x403): Lua gets every
#     byte as a plugin:debugport event, timestamps never going backwards;
#   - the guest reads /dev/hwrng, served by the rngfile virtio plugin from a
#     file of 'Z's (the built-in rng is off): it sees only 'Z's;
#   - a second rngfile device (a file of 'Q's) is hotplugged at runtime
#     (vm:add_device in a task: PCI hotplug, waits for the guest's driver);
#     the guest selects it in /sys/class/misc/hw_random/rng_current and
#     reads only 'Q's; vm:remove_device ejects it (device_removed), the
#     guest's hw_random falls back to the first one ('Z's again), and it
#     is not recreated by the reboot below;
#   - the guest's wdat_wdt binds the watchdog plugin's ACPI WDAT table;
#     busybox watchdog feeds /dev/watchdog (-T 3) for 5 s (no reset), is
#     killed without the magic close, and within the timeout the plugin
#     emits plugin:watchdog and resets the guest, which boots again with
#     all plugin devices rebuilt (its "B" reaches Lua again).
# The guest's port writes use a small static outb tool, appended to the
# default initrd as a second cpio (scripts/lib/initrd-extra.sh, shared with
# scripts/bench-boot; the default guest image is unchanged).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lib/initrd-extra.sh
. "$MV_SOURCE_DIR/scripts/lib/initrd-extra.sh"

bin=$(moonvisor_bin)
guest=$(guest_dir)
work=$(test_workdir plugins)
log=$work/plugins.log
src=$MV_SOURCE_DIR/tests/plugins
pdir=$MV_BUILD_DIR/plugins
for p in debugport watchdog rngfile; do
	[ -f "$pdir/$p.so" ] || fail "$pdir/$p.so not built"
done
command -v cc >/dev/null && command -v cpio >/dev/null || skip "needs cc and cpio"

# bad plugins, built against the source tree's header
bad=$work/bad
mkdir -p "$bad"
for p in bad_abi noentry initfail overlap; do
	cc -shared -fPIC -Wall -Werror -I"$MV_SOURCE_DIR/core/include" "$src/$p.c" -o "$bad/$p.so" ||
		fail "building $p.so"
done
rm -rf -- "$work/root"
initrd_stage_outb "$work/root" || fail "building the static outb tool"
initrd_append "$guest/initrd.img" "$work/root" "$work/initrd.img" || fail "appending outb to the initrd"
head -c 100 /dev/zero | tr '\0' 'Z' >"$work/rng-source"
head -c 100 /dev/zero | tr '\0' 'Q' >"$work/rng-hotplug"

script=$(cat <<'SH'
outb 0x402 B
outb 0x402 "hello-plugin
"
outb 0x403 "rt-ok
"
echo "rng_current=$(cat /sys/class/misc/hw_random/rng_current)"
echo "hwrng=$(head -c 48 /dev/hwrng)"
r=/sys/class/misc/hw_random
first=$(cat $r/rng_current)
echo hp-rng-plug
new= i=0
while [ -z "$new" ] && [ $i -lt 600 ]; do
	for n in $(cat $r/rng_available); do [ "$n" = "$first" ] || new=$n; done
	[ -n "$new" ] || sleep 0.1
	i=$((i + 1))
done
echo "$new" >$r/rng_current
echo "hp-rng-selected new=$new current=$(cat $r/rng_current)"
head -c 64 /dev/hwrng >/dev/null
echo "hp-hwrng=$(head -c 48 /dev/hwrng)"
echo hp-rng-unplug
i=0
while [ -n "$new" ] && [ $i -lt 600 ] && grep -qF "$new" $r/rng_available; do sleep 0.1; i=$((i + 1)); done
if grep -qF "${new:-none}" $r/rng_available; then echo hp-rng-still-there; fi
echo "hp-rng-gone available=$(echo $(cat $r/rng_available)) current=$(cat $r/rng_current)"
head -c 64 /dev/hwrng >/dev/null
echo "hp-hwrng-after=$(head -c 16 /dev/hwrng)"
dmesg | grep -iE 'wdat|watchdog' | sed 's/^/dmesg: /'
echo "watchdog_identity=$(cat /sys/class/watchdog/watchdog0/identity 2>&1)"
watchdog -F -T 3 -t 1 /dev/watchdog &
pid=$!
sleep 5
echo "fed-for-5s"
kill -9 $pid
echo starving
sleep 60
echo still-alive-after-starving
SH
)
cmd="echo $(printf '%s\n' "$script" | base64 -w0) | base64 -d | sh"

rc=0
run_logged 400 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/plugins.lua" \
	"$pdir" "$bad" "$work/rng-source" "$work/initrd.img" "$work/rng-hotplug" -- "$cmd" || rc=$?
expect_status "moonvisor" 0 "$rc"
major=$(sed -n 's/^#define MV_PLUGIN_ABI_MAJOR \([0-9]*\)$/\1/p' "$MV_SOURCE_DIR/core/include/moonvisor/plugin.h")
minor=$(sed -n 's/^#define MV_PLUGIN_ABI_MINOR \([0-9]*\)$/\1/p' "$MV_SOURCE_DIR/core/include/moonvisor/plugin.h")
expect_line "$log" "^plugins: refused missing: devices\[1\]: plugin .*/missing\.so: No such file or directory$" "missing file"
expect_line "$log" "^plugins: refused bad_abi: devices\[1\]: plugin .*/bad_abi\.so: built for plugin ABI $((major + 1))\.3, but this moonvisor has plugin ABI $major\.$minor" "ABI mismatch names both versions"
expect_line "$log" "^plugins: refused noentry: devices\[1\]: .*/noentry\.so is not a moonvisor plugin: it has no mv_plugin_init symbol$" "no entry symbol"
expect_line "$log" "^plugins: refused initfail: devices\[1\]: plugin .*/initfail\.so: mv_plugin_init refused to load: initfail: the frobnicator is missing$" "init error"
expect_line "$log" "^plugins: refused option: devices\[1\]: plugin 'debugport' \(.*/debugport\.so\), type 'debugport': unknown option 'prot' \(options: port\)$" "unknown option"
expect_line "$log" "^plugins: overlap at boot: vm 'overlap' cannot start: plugin 'overlap' \(.*/overlap\.so\), device 'overlap0' \(type overlap\): create failed: cannot claim ports 0x3f8-0x3ff \(port I/O range \[0x3f8, \+0x8\): .*\); state created$" "overlap refused at start"
expect_line "$log" "^plugins: runtime add: ok rt$" "debugport added at runtime"
expect_line "$log" "^plugins: runtime overlap: plugin 'overlap' .*create failed: cannot claim ports 0x3f8-0x3ff" "overlap refused at runtime"
expect_line "$log" "^plugins: runtime watchdog: plugin 'watchdog' .*create failed: cannot add the ACPI WDAT table" "ACPI-table device refused at runtime"
expect_line "$log" '^plugins: port 0x404 after the refused overlap: free$' "the refused device's first port was unwound"
expect_line "$log" '^plugins: debugport dbg text="hello-plugin\\n" value=10 time_ns=[0-9]+$' "debugport bytes as events"
expect_line "$log" '^plugins: debugport rt text="rt-ok\\n" value=10 ' "runtime debugport bytes as events"
expect_line "$log" '^rng_current=virtio_rng\.[0-9]+$' "the plugin's virtio-rng is the guest's hw_random source"
expect_line "$log" '^hwrng=Z{48}$' "the guest reads the source file's bytes from /dev/hwrng"
expect_line "$log" '^plugins: hotplug rng: ok id=hotrng pci=[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' "rngfile hotplugged at runtime"
expect_line "$log" '^plugins: device_added id=hotrng ' "device_added for the hotplugged rng"
expect_line "$log" '^plugins: guest: hp-rng-selected new=(virtio_rng\.[0-9]+) current=\1$' "the guest selected the hotplugged rng"
expect_line "$log" '^plugins: guest: hp-hwrng=Q{48}$' "the guest reads the hotplugged device's source bytes"
expect_line "$log" '^plugins: hotplug rng served=[1-9][0-9]*$' "the hotplugged rng served bytes"
expect_line "$log" '^plugins: device_removed id=hotrng ' "device_removed for the hotplugged rng"
expect_line "$log" '^plugins: hotplug rng removed: ok; listed=false$' "vm:remove_device ejected it"
expect_line "$log" '^plugins: guest: hp-rng-gone available=(virtio_rng\.[0-9]+) current=\1$' "the guest's hw_random lost it"
expect_line "$log" '^plugins: guest: hp-hwrng-after=Z{16}$' "the first rng serves again"
expect_line "$log" '^plugins: after reboot: hotrng listed=false$' "a removed device is not recreated at reboot"
expect_line "$log" '^watchdog_identity=wdat_wdt$' "wdat_wdt drives the watchdog"
expect_line "$log" '^fed-for-5s$' "a fed watchdog does not fire"
expect_line "$log" '^plugins: rng bytes served=[1-9][0-9]*; wd state=running timeout=3$' "rng served bytes; the guest set a 3 s timeout"
expect_line "$log" '^plugins: watchdog fired: action=reset timeout=3 device=wd state=fired$' "plugin:watchdog event"
expect_line "$log" '^plugins: guest reset \(boots=1, plugin wd: watchdog expired\)$' "the watchdog reset the guest"
expect_line "$log" '^plugins: boot mark 2 \(vm boots=2\)$' "the devices came back after the reset"
expect_line "$log" '^plugins: stopped reason=killed boots=2$' "stopped by the test after the second boot"
expect_no_line "$log" '^still-alive-after-starving' '^hp-rng-still-there' '^moonvisor: task .* failed' '^plugins: time went backwards' 'NOT REFUSED' 'STILL REGISTERED' \
	'^plugins: boot mark 3'
# the fed phase lasted 5 s: the watchdog event must come after "starving"
if log_has "$log" '^plugins: watchdog fired'; then
	first_fire=$(console_lines "$log" | grep -nE '^plugins: watchdog fired' | head -n1 | cut -d: -f1)
	starving=$(console_lines "$log" | grep -nE '^starving$' | head -n1 | cut -d: -f1)
	[ -n "$starving" ] && [ "$first_fire" -gt "$starving" ] ||
		add_failure "the watchdog fired before the guest stopped feeding it"
fi
finish "$log"
