-- Boots the default guest with virtio-blk disks:
--   moonvisor tests/integration/blk.lua ROOT DATA -- COMMAND...
-- ROOT: a writable raw image (id "root", serial "root0"; direct=1 in the
-- environment MV_BLK_DIRECT opens it O_DIRECT); DATA: a read-only one (id
-- "data"), or "-" for none. MV_BLK_RUNS: see below. What vm:info().devices says of each disk when
-- the guest prints "blk-report" goes to stderr (host-dev: lines) at the end.
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local root, data = arg[1], arg[2]
local command = tg.command(arg)
assert(root and data and command, "usage: blk.lua ROOT DATA|- -- COMMAND...")

local disks = { { id = "root", path = root, serial = "root0", direct = os.getenv("MV_BLK_DIRECT") == "1" } }
if data ~= "-" then disks[2] = { id = "data", path = data, readonly = true } end

-- MV_BLK_RUNS=N: the guest reboots after each run (mv.exit=reboot), so the
-- disks are closed and opened again (under the loop's seccomp filter);
-- the VM is killed after the Nth run's report
local runs = tonumber(os.getenv("MV_BLK_RUNS") or "1")
local vm = mv.vm {
  name = "blktest", cpus = 1, memory = "256M", disks = disks,
  kernel = tg.kernel, initrd = tg.initrd,
  cmdline = tg.cmdline(runs > 1 and "mv.exit=reboot" or nil, command),
}

-- counters as of the guest's "blk-report" (the devices go with the
-- machine at power-off), printed once the VM has stopped so that they do
-- not cut into a console line
local report, reported = {}, 0
vm:on("console", function(line)
  if not line:find("blk-report", 1, true) then return end
  reported = reported + 1
  for _, d in ipairs(vm:info().devices) do
    if d.type == "virtio-blk" then
      report[#report + 1] = string.format("host-dev: run=%d pci=%s type=%s id=%s vendor=0x%04x device=0x%04x " ..
        "requests=%d bytes=%d errors=%d", reported, d.pci, d.type, d.id, d.vendor, d.device, d.requests, d.bytes,
        d.errors)
    end
  end
  if runs > 1 and reported >= runs then vm:kill() end
end)
vm:on("stopped", function(ev)
  for _, line in ipairs(report) do tg.say("%s", line) end
  tg.say("blktest: stopped reason=%s boots=%d", ev.reason, vm:info().boots)
end)
assert(vm:start())
