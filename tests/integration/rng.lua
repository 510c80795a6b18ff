-- Boots the default guest with rng = true, twice: the guest ends its first
-- run with a reboot (mv.exit=reboot), so the machine and its virtio-rng
-- device are built again; after the second run the VM is stopped. Prints
-- what vm:info() says of the device after each run (counters are per boot):
--   moonvisor tests/integration/rng.lua -- COMMAND...
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command = tg.command(arg)

local vm = mv.vm {
  name = "rngtest", cpus = 1, memory = "256M", rng = true,
  kernel = tg.kernel, initrd = tg.initrd, cmdline = tg.cmdline("mv.exit=reboot", command),
}

local function report(run)
  for _, d in ipairs(vm:info().devices) do
    if d.pci then
      tg.say("host-dev: run=%d pci=%s type=%s id=%s vendor=0x%04x device=0x%04x " ..
        "requests=%d bytes=%d errors=%d mmio_exits=%d", run, d.pci, tostring(d.type), tostring(d.id), d.vendor,
        d.device, d.requests, d.bytes, d.errors, vm:info().exits.mmio)
    end
  end
end

-- the guest prints this after its reads, before it reboots
local runs = 0
vm:on("console", function(line)
  if line:find("rng-done", 1, true) then
    runs = runs + 1
    report(runs)
    if runs >= 2 then vm:kill() end
  end
end)
vm:on("stopped", function(ev)
  tg.say("rngtest: stopped reason=%s boots=%d", ev.reason, vm:info().boots)
end)
assert(vm:start())
