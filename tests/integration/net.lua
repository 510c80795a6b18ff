-- Boots the default guest with one virtio-net NIC on an existing tap:
--   moonvisor tests/integration/net.lua TAP VHOST -- COMMAND...
-- VHOST: 1 for vhost = true. MV_NET_RUNS=N: the guest reboots after each
-- run (mv.exit=reboot: the NIC is destroyed and created again, vhost
-- stopped and started), and the VM is killed after the Nth "net-report".
-- At each "net-report" the NIC's vm:info().devices entry is printed to
-- stderr (host-dev: lines) once the VM has stopped.
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local tap, vhost = arg[1], arg[2]
local command = tg.command(arg)
assert(tap and vhost and command, "usage: net.lua TAP 0|1 -- COMMAND...")

local runs = tonumber(os.getenv("MV_NET_RUNS") or "1")
local vm = mv.vm {
  name = "nettest", cpus = 1, memory = "512M",
  nets = { { id = "net0", tap = tap, mac = "52:54:00:12:34:56", vhost = vhost == "1" } },
  kernel = tg.kernel, initrd = tg.initrd,
  cmdline = tg.cmdline((runs > 1 and "mv.exit=reboot " or "") .. (os.getenv("MV_NET_CMDLINE") or ""), command),
}

local report, reported = {}, 0
vm:on("console", function(line)
  if not line:find("net-report", 1, true) then return end
  reported = reported + 1
  for _, d in ipairs(vm:info().devices) do
    if d.type == "virtio-net" then
      report[#report + 1] = string.format("host-dev: run=%d pci=%s type=%s id=%s vendor=0x%04x device=0x%04x " ..
        "requests=%d bytes=%d rx_bytes=%d tx_bytes=%d errors=%d", reported, d.pci, d.type, d.id, d.vendor, d.device,
        d.requests, d.bytes, d.rx_bytes or -1, d.tx_bytes or -1, d.errors)
    end
  end
  if runs > 1 and reported >= runs then vm:kill() end
end)
-- a reset the test did not ask for (a guest panic with panic=-1, a triple
-- fault) stops the VM, named, instead of booting again
vm:on("reset", function(ev)
  if runs > 1 and reported == vm:info().boots then return true end
  tg.say("nettest: unexpected guest reset (%s) after %d report(s)", ev.reason, reported)
  return false
end)
vm:on("stopped", function(ev)
  for _, line in ipairs(report) do tg.say("%s", line) end
  tg.say("nettest: stopped reason=%s boots=%d", ev.reason, vm:info().boots)
end)
assert(vm:start())
