-- Boots the default guest for integration tests.
--   moonvisor tests/integration/guest.lua [key=value...] -- COMMAND...
-- keys: cpus, memory, serial (stdio|null|file path), boots=N (stop the VM
-- with vm:kill() once the guest has printed its ready marker N times),
-- cmdline (extra kernel arguments), unpack=false (kernel_unpack = false:
-- the bzImage decompresses itself).
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
  initrd = tg.initrd,
  kernel_unpack = opts.unpack ~= "false",
  cmdline = tg.cmdline(opts.cmdline, command),
  serial = serial,
}

local ready = 0
vm:on("console", function(line)
  if line:find("moonvisor-guest: ready", 1, true) then
    ready = ready + 1
    if opts.boots and ready >= tonumber(opts.boots) then
      io.stderr:write(string.format("itest: ready marker seen %d times, boots=%d\n", ready, vm:info().boots))
      vm:kill()
    end
  end
end)
vm:on("reset", function() io.stderr:write("itest: reset event\n") end)
vm:on("stopped", function(ev)
  io.stderr:write(string.format("itest: stopped reason=%s boots=%d\n", ev.reason, vm:info().boots))
end)

assert(vm:start())
