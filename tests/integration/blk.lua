-- Boots the default guest with virtio-blk disks:
--   moonvisor tests/integration/blk.lua ROOT DATA -- COMMAND...
-- ROOT: a writable raw image (id "root", serial "root0"; direct=1 in the
-- environment MV_BLK_DIRECT opens it O_DIRECT); DATA: a read-only one (id
-- "data"), or "-" for none. MV_BLK_RUNS: see below. What vm:info().devices says of each disk when
-- the guest prints "blk-report" goes to stderr (host-dev: lines) at the end.
local mv = require "moonvisor"

local root, data, command = arg[1], arg[2], nil
for i = 1, #arg do
  if arg[i] == "--" then command = table.concat(arg, " ", i + 1) break end
end
assert(root and data and command, "usage: blk.lua ROOT DATA|- -- COMMAND...")
local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")

local disks = { { id = "root", path = root, serial = "root0", direct = os.getenv("MV_BLK_DIRECT") == "1" } }
if data ~= "-" then disks[2] = { id = "data", path = data, readonly = true } end

-- MV_BLK_RUNS=N: the guest reboots after each run (mv.exit=reboot), so the
-- disks are closed and opened again (under the loop's seccomp filter);
-- the VM is killed after the Nth run's report
local runs = tonumber(os.getenv("MV_BLK_RUNS") or "1")
local vm = mv.vm {
  name = "blktest", cpus = 1, memory = "256M", disks = disks,
  kernel = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check " .. (runs > 1 and "mv.exit=reboot reboot=t " or "") ..
            "-- " .. command,
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
  io.stderr:write("\n" .. table.concat(report, "\n") ..
    string.format("\nblktest: stopped reason=%s boots=%d\n", ev.reason, vm:info().boots))
end)
assert(vm:start())
