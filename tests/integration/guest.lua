-- Boots the default guest for integration tests.
--   moonvisor tests/integration/guest.lua [key=value...] -- COMMAND...
-- keys: cpus, memory, serial (stdio|null|file path), boots=N (stop the VM
-- with vm:kill() once the guest has printed its ready marker N times),
-- cmdline (extra kernel arguments), unpack=false (kernel_unpack = false:
-- the bzImage decompresses itself).
local mv = require "moonvisor"

local opts, command = {}, nil
for i = 1, #arg do
  if arg[i] == "--" then
    command = table.concat(arg, " ", i + 1)
    break
  end
  local k, v = arg[i]:match("^(%w+)=(.*)$")
  assert(k, "bad argument " .. arg[i] .. " (want key=value)")
  opts[k] = v
end

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")
local serial = opts.serial or "stdio"
if serial ~= "stdio" and serial ~= "null" then serial = { file = serial } end

local vm = mv.vm {
  name = "itest",
  cpus = tonumber(opts.cpus or "1"),
  memory = opts.memory or "256M",
  kernel = guest .. "/vmlinuz",
  initrd = guest .. "/initrd.img",
  kernel_unpack = opts.unpack ~= "false",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check " .. (opts.cmdline or "") .. (command and (" -- " .. command) or ""),
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
