-- Boots the default guest jailed (tests/integration/jail_test.sh):
--   moonvisor tests/integration/jail.lua JAILDIR DISK [netns=PATH] [cgroup=DIR]
--     [hot=PATH outside=PATH] -- COMMAND...
-- DISK (inside JAILDIR or not) is opened before the jail; the guest runs
-- with mv.exit=reboot, so it reboots after each run of COMMAND (COMMAND
-- powers off when it is done). When the guest prints "jail-holding" the
-- first time: with hot=, vm:add_disk of `outside` (a host path, which the
-- jail must not find) and of `hot` (a path inside the jail), each
-- reported on a "jailtest: hotplug ..." line. Prints "jailtest: stopped
-- reason=R boots=N" when the VM stops.
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

local vm = mv.vm {
  name = "jailtest", cpus = 1, memory = "256M",
  kernel = tg.kernel, initrd = tg.initrd,
  cmdline = tg.cmdline("mv.exit=reboot reboot=t", command),
  disks = { { id = "root", path = disk } },
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
  end)
end)
vm:on("stopped", function(ev)
  io.stderr:write(string.format("\njailtest: stopped reason=%s boots=%d\n", ev.reason, vm:info().boots))
end)
assert(vm:start())
