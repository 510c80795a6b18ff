-- Drives PCI hotplug against the default guest (tests/integration/hotplug_test.sh):
--   moonvisor tests/integration/hotplug.lua IMGDIR SYNCDIR CYCLES -- COMMAND...
-- IMGDIR holds root.raw (plugged at boot: /dev/vda), data.raw (hotplugged:
-- /dev/vdb) and cycle.raw (added and removed CYCLES times). At each
-- "host-sync: NAME pid=PID" line the script waits for the file
-- SYNCDIR/NAME, which the test creates once it has looked at the
-- process (/proc/PID/fd, VmRSS). Everything it learns goes to stderr as
-- "host-...: " lines; the guest's side of each step is its console.
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command, before = tg.command(arg)
local imgdir, syncdir, cycles = before[1], before[2], tonumber(before[3] or "")
assert(imgdir and syncdir and cycles and command, "usage: hotplug.lua IMGDIR SYNCDIR CYCLES -- COMMAND...")

local vm = mv.vm {
  name = "hptest", cpus = 1, memory = "256M",
  disks = { { id = "root", path = imgdir .. "/root.raw" } },
  kernel = tg.kernel, initrd = tg.initrd, cmdline = tg.cmdline(nil, command),
}

local say = tg.say

local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local s = f:read("l")
  f:close()
  return s:match("^(%d+)")
end

local function sync(name)
  say("host-sync: %s pid=%s", name, pid())
  for _ = 1, 1200 do
    local f = io.open(syncdir .. "/" .. name)
    if f then f:close() return end
    mv.sleep(0.1)
  end
  error("the test never acknowledged sync point " .. name)
end

local function expect(pattern, timeout) return tg.expect(vm, pattern, timeout) end

local function device(id) return tg.device(vm, id) end

local added, removed = 0, 0
vm:on("device_added", function(ev) added = added + 1 say("host-event: device_added id=%s pci=%s type=%s", ev.id, ev.pci, ev.type) end)
vm:on("device_removed", function(ev) removed = removed + 1 say("host-event: device_removed id=%s pci=%s", ev.id, ev.pci) end)
vm:on("stopped", function(ev) say("hptest: stopped reason=%s", ev.reason) end)
assert(vm:start())

local function errors()
  local ok, err = vm:add_disk { id = "root", path = imgdir .. "/data.raw" }
  say("host-err: dup-id: %s %s", tostring(ok), err)
  local pok, perr = pcall(vm.add_disk, vm, { id = "nofile", path = imgdir .. "/missing.raw" })
  say("host-err: no-path: %s %s", tostring(pok), perr)
  ok, err = vm:remove_device("nope")
  say("host-err: unknown-id: %s %s", tostring(ok), err)
end

local function plug_data()
  local dev, err = vm:add_disk { id = "data", path = imgdir .. "/data.raw", serial = "hotdata", timeout = 120 }
  if not dev then error("add_disk: " .. tostring(err)) end
  say("host-added: id=%s pci=%s type=%s", dev.id, dev.pci, dev.type)
  expect("^hp%-written$")
  local f = assert(io.open(imgdir .. "/data.raw", "rb"))
  say("host-data: %s", f:read("l"))
  f:close()
  sync("added")
end

local function unplug_data()
  local first = mv.spawn(function() return vm:remove_device("data", { timeout = 120 }) end)
  mv.sleep(0)
  local ok, err = vm:remove_device("data")
  say("host-err: pending: %s %s", tostring(ok), err)
  local _, rok, rerr = first:join()
  say("host-removed: %s %s", tostring(rok), tostring(rerr))
  expect("^hp%-gone$")
  say("host-info: data listed=%s", tostring(device("data") ~= nil))
  sync("removed")
end

local function cycle(i)
  local dev, err = vm:add_disk { id = "cycle", path = imgdir .. "/cycle.raw", timeout = 120 }
  if not dev then error(string.format("cycle %d: add_disk: %s", i, tostring(err))) end
  expect("^hp%-up " .. i .. "$")
  local ok, rerr = vm:remove_device("cycle", { timeout = 120 })
  if not ok then error(string.format("cycle %d: remove_device: %s", i, tostring(rerr))) end
  expect("^hp%-down " .. i .. "$")
end

-- a removal the guest cannot answer (paused): times out, the device stays;
-- resumed, the guest ejects it after all
local function late()
  local dev, err = vm:add_disk { id = "late", path = imgdir .. "/data.raw", timeout = 120 }
  if not dev then error("late: add_disk: " .. tostring(err)) end
  expect("^hp%-late%-up$")
  assert(vm:pause())
  local ok, rerr = vm:remove_device("late", { timeout = 2 })
  say("host-late: %s %s listed=%s", tostring(ok), tostring(rerr), tostring(device("late") ~= nil))
  assert(vm:resume())
  local ev = vm:wait("device_removed", { timeout = 120 })
  say("host-late: ejected after resume=%s", tostring(ev and ev.id))
  expect("^hp%-late%-down$")
end

local main = mv.spawn(function()
  expect("^hp%-ready$")
  errors()
  plug_data()
  unplug_data()
  cycle(0) -- warm-up
  sync("loop-before")
  for i = 1, cycles do cycle(i) end
  sync("loop-after")
  late()
  say("host-counts: added=%d removed=%d", added, removed)
  expect("^hp%-done$")
end)

local ok, err = main:join()
if not ok then say("hptest: FAILED: %s", tostring(err)) end
vm:kill()
