-- Plugin devices with the default guest (tests/integration/plugins_test.sh):
--   moonvisor plugins.lua PLUGIN_DIR BAD_DIR RNG_SOURCE INITRD HOTPLUG_SOURCE -- COMMAND
-- PLUGIN_DIR holds debugport.so, watchdog.so, rngfile.so; BAD_DIR the
-- test's bad plugins (bad_abi.so, noentry.so, initfail.so, overlap.so).
-- HOTPLUG_SOURCE feeds the rngfile device hotplugged when the guest says
-- "hp-rng-plug" and removed when it says "hp-rng-unplug".
-- Prints what happens as "plugins: ..." lines for the test to check.
local mv = require "moonvisor"

local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local command, args = tg.command(arg)
local pdir, bad, source, initrd, hsource = table.unpack(args)
assert(hsource and command, "usage: plugins.lua PLUGIN_DIR BAD_DIR RNG_SOURCE INITRD HOTPLUG_SOURCE -- COMMAND")

local function say(fmt, ...) tg.say("plugins: " .. fmt, ...) end
local function base(extra)
  local t = { cpus = 1, memory = "256M", kernel = tg.kernel, initrd = initrd,
              cmdline = tg.cmdline(nil, command) }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

-- refused at mv.vm{}: nothing is created
for _, name in ipairs { "missing", "bad_abi", "noentry", "initfail" } do
  local ok, err = pcall(mv.vm, base { name = "bad-" .. name, devices = { { plugin = bad .. "/" .. name .. ".so" } } })
  say("refused %s: %s", name, ok and "NOT REFUSED" or err)
end
do
  local ok, err = pcall(mv.vm, base { name = "bad-opt", devices = { { plugin = pdir .. "/debugport.so", prot = 1 } } })
  say("refused option: %s", ok and "NOT REFUSED" or err)
end
-- refused at start: the overlapping port range; the VM stays created
do
  local vm0 = mv.vm(base { name = "overlap", devices = { { plugin = bad .. "/overlap.so" } } })
  local ok, err = vm0:start()
  say("overlap at boot: %s; state %s", ok and "STARTED" or err, vm0:state())
  vm0:destroy()
end

local vm = mv.vm(base {
  name = "plugvm",
  devices = {
    { plugin = pdir .. "/debugport.so", id = "dbg" },
    { plugin = pdir .. "/watchdog.so", id = "wd", action = "reset" },
    { plugin = pdir .. "/rngfile.so", id = "hwrng", source = source },
  },
})

local text, last_ns, boots_seen = {}, {}, 0
vm:on("plugin:debugport", function(ev)
  text[ev.device] = (text[ev.device] or "") .. ev.char
  if last_ns[ev.device] and ev.time_ns < last_ns[ev.device] then say("time went backwards on %s", ev.device) end
  last_ns[ev.device] = ev.time_ns
  if ev.device == "dbg" and ev.char == "B" then
    text.dbg = ""
    boots_seen = boots_seen + 1
    say("boot mark %d (vm boots=%d)", boots_seen, vm:info().boots)
    if boots_seen == 2 then
      say("after reboot: dbg count=%s", tostring(vm:device("dbg"):count()))
      say("after reboot: hotrng listed=%s", tostring(vm:device("hotrng") ~= nil))
      vm:kill()
    end
  end
  if ev.char == "\n" then
    say("debugport %s text=\"%s\" value=%d time_ns=%d", ev.device, (text[ev.device]:gsub("\n", "\\n")), ev.value,
      ev.time_ns)
    text[ev.device] = ""
  end
end)
vm:on("plugin:watchdog", function(ev)
  say("watchdog fired: action=%s timeout=%d device=%s state=%s", ev.action, ev.timeout, ev.device,
    tostring(vm:device("wd"):state()))
end)
vm:on("reset", function(ev) say("guest reset (boots=%d, %s)", vm:info().boots, ev.reason) end)
vm:on("console", function(line)
  if line:find("starving", 1, true) then
    say("rng bytes served=%s; wd state=%s timeout=%s", tostring(vm:device("hwrng"):bytes()),
      tostring(vm:device("wd"):state()), tostring(vm:device("wd"):timeout()))
  end
end)
vm:on("stopped", function(ev) say("stopped reason=%s boots=%d", ev.reason, vm:info().boots) end)
vm:on("device_added", function(ev) say("device_added id=%s pci=%s", ev.id, ev.pci) end)
vm:on("device_removed", function(ev) say("device_removed id=%s pci=%s", ev.id, ev.pci) end)

-- a virtio plugin device hotplugged while the guest runs, then ejected;
-- the guest's hp- lines are relayed whole as "plugins: guest: ..." (on the
-- raw console our own lines can cut into them)
local function hotplug_rng()
  local function expect(pattern)
    local line, err = vm.console:expect(pattern, { timeout = 300 })
    if not line then error(string.format("guest line %q: %s", pattern, tostring(err))) end
    return line
  end
  local function relay(pattern) say("guest: %s", expect(pattern)) end
  expect("^hp%-rng%-plug$")
  local dev, err = vm:add_device { plugin = pdir .. "/rngfile.so", id = "hotrng", source = hsource, timeout = 120 }
  say("hotplug rng: %s", dev and string.format("ok id=%s pci=%s", dev.id, tostring(dev.pci)) or err)
  if not dev then return end
  relay("^hp%-rng%-selected ")
  relay("^hp%-hwrng=")
  expect("^hp%-rng%-unplug$")
  say("hotplug rng served=%s", tostring(vm:device("hotrng"):bytes()))
  local ok, rerr = vm:remove_device("hotrng", { timeout = 120 })
  say("hotplug rng removed: %s; listed=%s", ok and "ok" or tostring(rerr), tostring(vm:device("hotrng") ~= nil))
  relay("^hp%-rng%-gone ")
  relay("^hp%-hwrng%-after=")
end

assert(vm:start())
mv.spawn(hotplug_rng) -- an error is logged as "moonvisor: task ... failed: ..."
-- at runtime: a port-I/O plugin device joins; a clashing one and one
-- that needs ACPI at boot are refused; the VM runs on
local rt, err = vm:add_device { plugin = pdir .. "/debugport.so", id = "rt", port = 0x403 }
say("runtime add: %s", rt and ("ok " .. rt.id) or err)
local ov, oerr = vm:add_device { plugin = bad .. "/overlap.so" }
say("runtime overlap: %s", ov and "NOT REFUSED" or oerr)
local wd2, werr = vm:add_device { plugin = pdir .. "/watchdog.so", id = "wd2", port = 0x450 }
say("runtime watchdog: %s", wd2 and "NOT REFUSED" or werr)
local leftover = false
for _, d in ipairs(vm:info().devices) do
  for _, r in ipairs(d.resources) do
    if r.bus == "pio" and r.base == 0x404 then leftover = true end
  end
end
say("port 0x404 after the refused overlap: %s", leftover and "STILL REGISTERED" or "free")
for _, d in ipairs(vm:plugin_devices()) do say("device %s plugin=%s type=%s running=%s", d.id, d.plugin, d.type, tostring(d.running)) end
