-- Boots the default guest for integration tests.
--   moonvisor tests/integration/guest.lua [key=value...] -- COMMAND...
-- keys: cpus, memory, serial (stdio|null|file path), boots=N (stop the VM
-- with vm:kill() once the guest has printed its ready marker N times),
-- cmdline (extra kernel arguments), unpack=false (kernel_unpack = false:
-- the bzImage decompresses itself), initrd (instead of the default guest's),
-- debugport=PATH (a debugport.so device, at port dbgport=N, default 0x402:
-- each byte the guest writes there is printed to stderr as
-- "itest: debugport value=V time_ns=T", T its host CLOCK_MONOTONIC stamp;
-- scripts/bench-boot's milestones).
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command, words = tg.command(arg)
local opts = {}
for _, word in ipairs(words) do
  local k, v = word:match("^(%w+)=(.*)$")
  assert(k, "bad argument " .. word .. " (want key=value)")
  opts[k] = v
end
local serial = opts.serial or "stdio"
if serial ~= "stdio" and serial ~= "null" then serial = { file = serial } end

local vm = mv.vm {
  name = "itest",
  cpus = tonumber(opts.cpus or "1"),
  memory = opts.memory or "256M",
  kernel = tg.kernel,
  initrd = opts.initrd or tg.initrd,
  kernel_unpack = opts.unpack ~= "false",
  cmdline = tg.cmdline(opts.cmdline, command),
  serial = serial,
  devices = opts.debugport and { { plugin = opts.debugport, port = tonumber(opts.dbgport or "0x402") } } or nil,
}

local ready = 0
vm:on("console", function(line)
  if line:find("moonvisor-guest: ready", 1, true) then
    ready = ready + 1
    if opts.boots and ready >= tonumber(opts.boots) then
      tg.say("itest: ready marker seen %d times, boots=%d", ready, vm:info().boots)
      vm:kill()
    end
  end
end)
vm:on("plugin:debugport", function(ev)
  tg.say("itest: debugport value=%d time_ns=%d", ev.value, ev.time_ns)
end)
vm:on("reset", function(ev) tg.say("itest: reset event (%s)", ev.reason) end)
vm:on("stopped", function(ev)
  tg.say("itest: stopped reason=%s boots=%d", ev.reason, vm:info().boots)
end)

assert(vm:start())
