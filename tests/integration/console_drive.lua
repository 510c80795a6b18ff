-- Drives the default guest's shell through its serial console: expect the
-- prompt, run commands, read their output; pause the VM for 3 s and check
-- that the guest clock did not advance meanwhile; then power off via the
-- shell. Prints "drive: ..." lines the test asserts on.
local mv = require "moonvisor"

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = cache .. "/guest"

local vm = mv.vm {
  name = "drive", cpus = 1, memory = "256M",
  kernel = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check",   -- no command: a shell on the console
  serial = "null",                            -- not printed; vm.console still sees it
}
vm:on("stopped", function(ev) print("drive: stopped reason=" .. ev.reason) end)
assert(vm:start())

local function run(cmd, want, timeout)
  vm.console:write(cmd .. "\n")
  return assert(vm.console:expect(want, { timeout = timeout or 30 }))
end

local function guest_epoch()
  local line = run("echo epoch=$(date +%s)", "^epoch=%d+")
  return tonumber(line:match("^epoch=(%d+)"))
end

assert(vm.console:expect("moonvisor-guest: ready", { timeout = 120, plain = true }))
assert(vm.console:expect("# ", { timeout = 30 }))
print("drive: prompt seen")
print("drive: uname=" .. run("uname -r", "cloud"))
print("drive: " .. run("echo sum=$((40 + 2))", "^sum=%d+"))

-- the clock source decides what a pause does to the guest clock
print("drive: " .. run("echo clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)",
                       "^clocksource=%a"))
local before = guest_epoch()
assert(vm:pause())
print("drive: state while paused=" .. vm:info().state)
mv.sleep(3)
assert(vm:resume())
local after = guest_epoch()
print(string.format("drive: guest clock advanced %d s over a 3 s pause", after - before))

vm.console:write("poweroff -f\n")
local ev = vm:wait("stopped", { timeout = 60 })
print("drive: done " .. (ev and ev.reason or "timeout"))
