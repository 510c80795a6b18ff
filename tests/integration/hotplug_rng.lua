-- virtio-rng hotplug against the default guest (tests/integration/hotplug_rng_test.sh):
--   moonvisor tests/integration/hotplug_rng.lua -- COMMAND...
-- The VM boots with rng = true (id "rng"). Once the guest is up a second
-- virtio-rng, "hwrng2", is added; the guest makes it its hw_random source
-- and reads from /dev/hwrng; then hwrng2 is removed, and then the boot-time
-- rng too. Everything the host learns goes to stderr as "host-...: " lines.
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command = tg.command(arg)
assert(command, "usage: hotplug_rng.lua -- COMMAND...")

local vm = mv.vm {
  name = "hprng", cpus = 1, memory = "256M", rng = true,
  kernel = tg.kernel, initrd = tg.initrd, cmdline = tg.cmdline(nil, command),
}

local say = tg.say

local function expect(pattern, timeout) return tg.expect(vm, pattern, timeout) end

local function device(id) return tg.device(vm, id) end

local added, removed = 0, 0
vm:on("device_added", function(ev)
  added = added + 1
  say("host-event: device_added id=%s pci=%s type=%s", ev.id, ev.pci, ev.type)
end)
vm:on("device_removed", function(ev)
  removed = removed + 1
  say("host-event: device_removed id=%s pci=%s type=%s", ev.id, ev.pci, ev.type)
end)
vm:on("stopped", function(ev) say("hprng: stopped reason=%s", ev.reason) end)
assert(vm:start())

local function remove(id)
  local ok, err = vm:remove_device(id, { timeout = 120 })
  say("host-removed: %s %s %s", id, tostring(ok), tostring(err))
  say("host-info: %s listed=%s", id, tostring(device(id) ~= nil))
end

local main = mv.spawn(function()
  expect("^hp%-ready ")
  local boot = device("rng")
  say("host-boot: id=rng listed=%s type=%s", tostring(boot ~= nil), tostring(boot and boot.type))
  local dev, err = vm:add_rng { id = "hwrng2", timeout = 120 }
  if not dev then error("add_rng: " .. tostring(err)) end
  say("host-added: id=%s pci=%s type=%s", dev.id, dev.pci, dev.type)
  local dup, derr = vm:add_rng { id = "rng" }
  say("host-err: dup-id: %s %s", tostring(dup), derr)
  expect("^hp%-read%-done$")
  local d = device("hwrng2")
  say("host-dev: id=hwrng2 pci=%s type=%s requests=%d bytes=%d errors=%d", d.pci, d.type, d.requests, d.bytes,
    d.errors)
  remove("hwrng2")
  expect("^hp%-unplugged ")
  remove("rng")
  vm.console:write("ejected\n") -- the guest waits for it before it powers off
  expect("^hp%-done$")
  say("host-counts: added=%d removed=%d", added, removed)
end)

local ok, err = main:join()
if not ok then say("hprng: FAILED: %s", tostring(err)) end
vm:kill()
