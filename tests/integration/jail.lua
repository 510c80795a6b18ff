-- Boots the default guest jailed (tests/integration/jail_test.sh):
--   moonvisor tests/integration/jail.lua JAILDIR DISK [netns=PATH] [cgroup=DIR]
--     [hot=PATH outside=PATH] [tap0=TAP] [tap1=TAP] [hottap=TAP] [denytap=TAP] [busytap=TAP]
--     [hotplug=SIZE resize=SIZE] -- COMMAND...
-- DISK (inside JAILDIR or not) is opened before the jail; the guest runs
-- with mv.exit=reboot, so it reboots after each run of COMMAND (COMMAND
-- powers off when it is done). NICs: net0 on tap0 (vhost = false, MAC
-- 52:54:00:12:34:01), net1 on tap1 (vhost = true, ...:02). hotplug=: the
-- memory is { size = "256M", hotplug = SIZE }. When the guest prints
-- "jail-holding" the first time, one after the other, each reported on a
-- "jailtest: ..." line: with hot=, vm:add_disk of `outside` (a host path,
-- which the jail must not find) and of `hot` (a path inside the jail);
-- vm:add_net on denytap (a tap the jailed uid may not attach to) and
-- busytap (one a NIC of the VM is on), both must fail, and on hottap (id
-- hotnet, ...:03); vm:resize_memory(resize); then
-- "jailtest: host steps done". Prints "jailtest: stopped reason=R
-- boots=N" when the VM stops.
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command, args = tg.command(arg)
local dir, disk = args[1], args[2]
assert(dir and disk and command, "usage: jail.lua JAILDIR DISK [netns=PATH] [cgroup=DIR] -- COMMAND...")
local opts = {}
for i = 3, #args do
  local k, v = args[i]:match("^(%w+)=(.*)$")
  opts[assert(k, "bad argument " .. args[i])] = v
end

local nets = {}
if opts.tap0 then nets[#nets + 1] = { id = "net0", tap = opts.tap0, mac = "52:54:00:12:34:01" } end
if opts.tap1 then nets[#nets + 1] = { id = "net1", tap = opts.tap1, mac = "52:54:00:12:34:02", vhost = true } end

local vm = mv.vm {
  name = "jailtest", cpus = 1,
  memory = opts.hotplug and { size = "256M", hotplug = opts.hotplug } or "256M",
  kernel = tg.kernel, initrd = tg.initrd,
  cmdline = tg.cmdline("mv.exit=reboot", command),
  disks = { { id = "root", path = disk } },
  nets = nets,
  jail = {
    chroot = dir, uid = 1000, gid = 1000, netns = opts.netns, cgroup = opts.cgroup,
    rlimits = { nofile = 1024, fsize = "1G" },
  },
}
local holding = false
vm:on("console", function(line)
  if holding or not opts.hot or not line:find("^jail%-holding") then return end
  holding = true
  mv.spawn(function()
    local ok, err = pcall(vm.add_disk, vm, { id = "outside", path = opts.outside, timeout = 5 })
    print(string.format("jailtest: hotplug outside ok=%s err=%s", tostring(ok), tostring(err)))
    local dev, derr = vm:add_disk { id = "hot", path = opts.hot, timeout = 60 }
    print(string.format("jailtest: hotplug hot %s", dev and ("pci=" .. dev.pci) or ("failed: " .. tostring(derr))))
    if opts.denytap then
      local nic, nerr = vm:add_net { id = "denied", tap = opts.denytap, mac = "52:54:00:12:34:04", timeout = 30 }
      print(string.format("jailtest: add_net denied %s", nic and ("pci=" .. nic.pci) or ("failed: " .. tostring(nerr))))
    end
    if opts.busytap then
      local nic, nerr = vm:add_net { id = "busy", tap = opts.busytap, mac = "52:54:00:12:34:05", timeout = 30 }
      print(string.format("jailtest: add_net busy %s", nic and ("pci=" .. nic.pci) or ("failed: " .. tostring(nerr))))
    end
    if opts.hottap then
      local nic, nerr = vm:add_net { id = "hotnet", tap = opts.hottap, mac = "52:54:00:12:34:03", timeout = 120 }
      print(string.format("jailtest: add_net hotnet %s", nic and ("pci=" .. nic.pci) or ("failed: " .. tostring(nerr))))
    end
    if opts.resize then
      local rok, rerr = vm:resize_memory(opts.resize, { timeout = 300 })
      local m = vm.memory
      print(string.format("jailtest: resize %s ok=%s err=%s plugged=%d", opts.resize, tostring(rok), tostring(rerr),
        m.plugged))
    end
    print("jailtest: host steps done")
  end)
end)
vm:on("stopped", function(ev)
  tg.say("jailtest: stopped reason=%s boots=%d", ev.reason, vm:info().boots)
end)
assert(vm:start())
