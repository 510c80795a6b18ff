-- NIC hotplug against the default guest (tests/integration/hotplug_net_test.sh):
--   moonvisor tests/integration/hotplug_net.lua TAP SYNCDIR -- COMMAND...
-- Adds a virtio-net NIC on TAP once the guest is up, removes it once the
-- guest has pinged through it. At "host-sync: NAME pid=PID" it waits for
-- SYNCDIR/NAME (the test looks at /proc/PID/fd meanwhile).
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command, before = tg.command(arg)
local tap, syncdir = before[1], before[2]
assert(tap and syncdir and command, "usage: hotplug_net.lua TAP SYNCDIR -- COMMAND...")

local vm = mv.vm {
  name = "hpnet", cpus = 1, memory = "256M",
  kernel = tg.kernel, initrd = tg.initrd, cmdline = tg.cmdline(nil, command),
}

local say = tg.say

local function sync(name)
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("l"):match("^(%d+)")
  f:close()
  say("host-sync: %s pid=%s", name, pid)
  for _ = 1, 1200 do
    local ack = io.open(syncdir .. "/" .. name)
    if ack then ack:close() return end
    mv.sleep(0.1)
  end
  error("the test never acknowledged sync point " .. name)
end

local function expect(pattern, timeout) return tg.expect(vm, pattern, timeout) end

vm:on("stopped", function(ev) say("hpnet: stopped reason=%s", ev.reason) end)
assert(vm:start())

local main = mv.spawn(function()
  expect("^hp%-ready$")
  sync("before")
  local nic, err = vm:add_net { id = "n1", tap = tap, mac = "52:54:00:12:34:56", timeout = 120 }
  if not nic then error("add_net: " .. tostring(err)) end
  say("host-added: id=%s pci=%s type=%s", nic.id, nic.pci, nic.type)
  local dup, derr = vm:add_net { id = "n1", tap = tap }
  say("host-err: dup-id: %s %s", tostring(dup), derr)
  expect("^ping=")
  sync("added")
  local ok, rerr = vm:remove_device("n1", { timeout = 120 })
  say("host-removed: %s %s", tostring(ok), tostring(rerr))
  vm.console:write("ejected\n")   -- the guest waits for it before it powers off
  expect("^hp%-net%-gone$")
  sync("removed")
  expect("^hp%-done$")
end)

local ok, err = main:join()
if not ok then say("hpnet: FAILED: %s", tostring(err)) end
vm:kill()
