-- Boots the default guest with a virtio console (hvc0) whose output also
-- goes to a file, and talks to it, twice: the guest ends its first run
-- with a reboot (mv.exit=reboot), so the machine and its virtio-console
-- device are built again. Each run: wait for the guest's line on hvc0,
-- answer it with a line of its own, and once the guest has echoed the
-- answer on the serial console, report what vm:info() says of the device
-- (counters are per boot). After the second run the VM is killed.
--   moonvisor tests/integration/hvc.lua HVC_LOG -- COMMAND...
local mv = require "moonvisor"

local hvc_log = assert(arg[1], "usage: hvc.lua HVC_LOG -- COMMAND...")
local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command = tg.command(arg)

local vm = mv.vm {
  name = "hvctest", cpus = 1, memory = "256M",
  console = { type = "virtio", file = hvc_log },
  kernel = tg.kernel, initrd = tg.initrd, cmdline = tg.cmdline("mv.exit=reboot", command),
}

local say = tg.say

local function report(run)
  for _, d in ipairs(vm:info().devices) do
    if d.pci then
      say("host-dev: run=%d pci=%s type=%s id=%s vendor=0x%04x device=0x%04x requests=%d bytes=%d errors=%d",
        run, d.pci, tostring(d.type), tostring(d.id), d.vendor, d.device, d.requests, d.bytes, d.errors)
    end
  end
end

vm:on("hvc", function(line) say("host-hvc-line: %s", line) end)
vm:on("stopped", function(ev) say("hvctest: stopped reason=%s boots=%d", ev.reason, vm:info().boots) end)
assert(vm:start())

for run = 1, 2 do
  local line, err = vm.hvc:expect("^hello from hvc0 %d+$", { timeout = 240 })
  if not line then
    say("hvctest: run=%d no line from hvc0: %s", run, tostring(err))
    break
  end
  say("hvctest: run=%d host saw: %s", run, line)
  local nonce = line:match("(%d+)$")
  assert(vm.hvc:write("ping from host " .. nonce .. "\n"))
  if not vm.console:expect("^got ping from host " .. nonce .. "$", { timeout = 120 }) then
    say("hvctest: run=%d the guest did not echo the answer", run)
    break
  end
  report(run)
  say("hvctest: run=%d tail=%s", run, table.concat(vm.hvc:tail(5), "|"))
end
vm:kill()
