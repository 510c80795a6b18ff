-- Plugin devices from Lua: mv.vm{ devices = ... } validation, and the
-- debugport and watchdog plugins (build/plugins/*.so) driven by tiny
-- guests on /dev/kvm (tests/lua/mvtest.lua). The guest-visible behaviour
-- with Linux is tests/integration/plugins_test.sh.
local mv = require "moonvisor"
local h = require "mvtest"

local PDIR = (os.getenv("MV_BUILD_DIR") or "build") .. "/plugins"
local DEBUGPORT, WATCHDOG = PDIR .. "/debugport.so", PDIR .. "/watchdog.so"

local function mov_dx(port) return string.char(0x66, 0xBA, port & 0xff, port >> 8) end
-- out PORT, each byte of s
local function outs(port, s)
  local t = { mov_dx(port) }
  for i = 1, #s do t[#t + 1] = string.char(0xB0, s:byte(i), 0xEE) end
  return table.concat(t)
end
-- out PORT, a 32-bit value
local function out32(port, v) return mov_dx(port) .. string.char(0xB8) .. string.pack("<I4", v) .. string.char(0xEF) end
-- forever: out PORT, al (a pause between writes)
local function out_loop(port, byte)
  return mov_dx(port) .. string.char(0xB0, byte) .. string.char(0xEE, 0xF3, 0x90, 0xEB, 0xFB)
end

describe("plugin devices: configuration", function()
  local kernel
  setup(function() kernel = h.fake_bzimage(h.tmpname(".bzImage")) end)
  teardown(function() os.remove(kernel) end)
  local function cfg(devices) return { kernel = kernel, memory = "32M", serial = "null", devices = devices } end

  it("refuses a missing file, a file that is not a shared object, and a missing plugin field", function()
    assert.matches("devices[1]: plugin /nonexistent/x.so: No such file or directory",
      h.error_of(mv.vm, cfg { { plugin = "/nonexistent/x.so" } }), 1, true)
    assert.matches("devices[1]: plugin " .. kernel .. ": cannot load it as a shared object",
      h.error_of(mv.vm, cfg { { plugin = kernel } }), 1, true)
    assert.matches("devices[1]: plugin = PATH (the plugin's shared object) is required",
      h.error_of(mv.vm, cfg { { type = "debugport" } }), 1, true)
    assert.matches("devices must be a list of tables", h.error_of(mv.vm, cfg(42)), 1, true)
  end)

  it("refuses unknown options, options of the wrong type, unknown types and duplicate ids", function()
    assert.matches("type 'debugport': unknown option 'prot' (options: port)",
      h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, prot = 1 } }), 1, true)
    assert.matches("option 'port' must be an integer",
      h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, port = "0x402" } }), 1, true)
    assert.matches("option 'port' must be an integer",
      h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, port = 1.5 } }), 1, true)
    assert.matches("option prot has a table value",
      h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, prot = {} } }), 1, true)
    assert.matches("has no device type 'uart' (types: debugport)",
      h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, type = "uart" } }), 1, true)
    assert.matches("devices[2]: id = \"a\" is already devices[1]'s",
      h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, id = "a" }, { plugin = DEBUGPORT, id = "a", port = 0x403 } }),
      1, true)
    assert.matches("id = \"a b\" must be 1 to 63", h.error_of(mv.vm, cfg { { plugin = DEBUGPORT, id = "a b" } }), 1, true)
  end)

  it("lists configured devices, with default ids, before the VM runs", function()
    local vm = mv.vm(cfg { { plugin = DEBUGPORT }, { plugin = DEBUGPORT, port = 0x403 }, { plugin = WATCHDOG } })
    local ids = {}
    for _, d in ipairs(vm:plugin_devices()) do ids[#ids + 1] = d.id .. "/" .. d.plugin .. "/" .. tostring(d.running) end
    assert.are.same({ "debugport0/debugport/false", "debugport1/debugport/false", "wdat0/watchdog/false" }, ids)
    local dev = vm:device("debugport1")
    assert.are.equal("debugport", dev.type)
    local ok, err = dev:count()
    assert.is_nil(ok)
    assert.matches("device 'debugport1' is not running", err, 1, true)
    assert.is_nil(vm:device("nope"))
    vm:destroy()
  end)

  it("mv.load_plugin returns the plugin's name and version", function()
    assert.are.same({ "debugport", "1.0" }, { mv.load_plugin(DEBUGPORT) })
    local ok, err = mv.load_plugin("/nonexistent.so")
    assert.is_nil(ok)
    assert.matches("No such file", err, 1, true)
  end)
end)

describe("plugin devices with tiny guests", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end

  -- a test that goes wrong must fail, not hang: every VM is killed after 20 s
  local guard
  before_each(function()
    guard = mv.after(20, function()
      for _, vm in ipairs(mv.vms()) do if vm:state() == "running" then vm:kill() end end
    end)
  end)
  after_each(function() guard:cancel() end)

  it("debugport: each byte is an event with a host timestamp; reads return 0xE9; methods work", function()
    -- the guest writes "hi\n", reads the port and writes what it read to
    -- the serial port, then spins until the test kills it
    local code = outs(0x402, "hi\n") .. mov_dx(0x402) .. string.char(0xEC) .. mov_dx(0x3f8) .. string.char(0xEE)
      .. h.code.print("\n") .. h.code.spin
    local vm = mv.vm { kernel = h.tiny_guest(code), memory = "32M", serial = "null",
                       devices = { { plugin = DEBUGPORT, id = "dbg" } } }
    local events, line, count, text = {}, nil, nil, nil
    local function done()
      if #events == 3 and line then
        count, text = vm:device("dbg"):count(), vm:device("dbg"):text()
        vm:kill()
      end
    end
    vm:on("plugin:debugport", function(ev) events[#events + 1] = ev done() end)
    vm:on("console", function(l) line = l done() end)
    assert(vm:start())
    mv.run()
    assert.are.equal("killed", vm:info().stop_reason)
    assert.are.equal(3, #events)
    assert.are.same({ 104, 105, 10 }, { events[1].value, events[2].value, events[3].value })
    assert.are.equal("h", events[1].char)
    for i, ev in ipairs(events) do
      assert.are.equal("plugin:debugport", ev.event)
      assert.are.equal("dbg", ev.device)
      assert.are.equal(vm, ev.vm)
      assert.are.equal(0x402, ev.port)
      assert.are.equal(0, ev.dropped)
      assert.is_true(math.type(ev.time_ns) == "integer" and ev.time_ns > 0)
      if i > 1 then assert.is_true(ev.time_ns >= events[i - 1].time_ns) end
    end
    assert.are.equal(3, count)
    assert.are.equal("hi\n", text)
    assert.are.equal("\xE9", line)
    vm:destroy()
  end)

  it("debugport added at runtime, and a second one on a taken port refused", function()
    local vm = mv.vm { kernel = h.tiny_guest(out_loop(0x403, 0x78)), memory = "32M", serial = "null" }
    local got
    vm:on("plugin:debugport", function(ev) got = got or ev; vm:kill() end)
    assert(vm:start())
    local dev, err = vm:add_device { plugin = DEBUGPORT, id = "rt", port = 0x403 }
    assert.is_nil(err)
    assert.are.equal("rt", dev.id)
    local dev2, err2 = vm:add_device { plugin = DEBUGPORT, id = "rt2", port = 0x3f8 }
    assert.is_nil(dev2)
    assert.matches("device 'rt2' (type debugport): create failed: cannot claim port 0x3f8", err2, 1, true)
    assert.is_nil(vm:device("rt2"))
    mv.run()
    assert.is_not_nil(got, "no event from the runtime device")
    assert.are.equal("rt", got.device)
    assert.are.equal(0x78, got.value)
    vm:destroy()
  end)

  -- countdown 1 s, start, then spin (or ping forever)
  local function watchdog_guest(ping)
    local code = out32(0x440, 1) .. mov_dx(0x444) .. string.char(0xB0, 1, 0xEE)
    if ping then return code .. out_loop(0x445, 1) end
    return code .. h.code.spin
  end

  it("watchdog: a guest that stops feeding it gets the event, then the action (poweroff)", function()
    local vm = mv.vm { kernel = h.tiny_guest(watchdog_guest(false)), memory = "32M", serial = "null",
                       devices = { { plugin = WATCHDOG, id = "wd", action = "poweroff" } } }
    local fired, state
    vm:on("plugin:watchdog", function(ev) fired = ev; state = vm:device("wd"):state() end)
    assert(vm:start())
    mv.run()
    assert.is_not_nil(fired, "no watchdog event")
    assert.are.equal("poweroff", fired.action)
    assert.are.equal(1, fired.timeout)
    assert.are.equal("wd", fired.device)
    assert.are.equal("fired", state)
    assert.are.equal("poweroff", vm:info().stop_reason)
    vm:destroy()
  end)

  it("watchdog: action reset; the reset event names the plugin device and its reason", function()
    local vm = mv.vm { kernel = h.tiny_guest(watchdog_guest(false)), memory = "32M", serial = "null",
                       devices = { { plugin = WATCHDOG, id = "wd", action = "reset" } } }
    local reason
    vm:on("reset", function(ev) reason = ev.reason return false end)
    assert(vm:start())
    mv.run()
    assert.are.equal("plugin wd: watchdog expired", reason)
    assert.are.equal("reset", vm:info().stop_reason)
    vm:destroy()
  end)

  it("watchdog: action none only reports; a fed watchdog stays quiet", function()
    local vm = mv.vm { kernel = h.tiny_guest(watchdog_guest(false)), memory = "32M", serial = "null",
                       devices = { { plugin = WATCHDOG, id = "wd", action = "none" } } }
    local fired
    vm:on("plugin:watchdog", function(ev) fired = ev; mv.after(0.5, function() vm:kill() end) end)
    assert(vm:start())
    mv.run()
    assert.are.equal("none", fired and fired.action)
    assert.are.equal("killed", vm:info().stop_reason)
    vm:destroy()

    local fed = mv.vm { kernel = h.tiny_guest(watchdog_guest(true)), memory = "32M", serial = "null",
                        devices = { { plugin = WATCHDOG, id = "wd", action = "poweroff" } } }
    local events, state = 0, nil
    fed:on("plugin:watchdog", function() events = events + 1 end)
    assert(fed:start())
    -- 3 countdowns of pinging, then look
    mv.after(3, function() state = fed:device("wd"):state() fed:kill() end)
    mv.run()
    assert.are.equal(0, events)
    assert.are.equal("running", state)
    fed:destroy()
  end)

  it("watchdog: refused at runtime (its ACPI table exists only at boot), the VM runs on", function()
    local vm = mv.vm { kernel = h.tiny_guest(h.code.spin), memory = "32M", serial = "null" }
    assert(vm:start())
    local dev, err = vm:add_device { plugin = WATCHDOG }
    assert.is_nil(dev)
    assert.matches("cannot add the ACPI WDAT table", err, 1, true)
    assert.are.equal("running", vm:state())
    vm:kill()
    vm:destroy()
  end)
end)
