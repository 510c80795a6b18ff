-- PCI hotplug from Lua (vm:add_device, vm:add_disk, vm:remove_device):
-- validation and error paths, and the whole plug / eject / teardown path
-- with a tiny guest that plays acpiphp's part: it polls the controller's
-- slots-down register and writes what it read to the eject register.
local mv = require "moonvisor"
local h = require "mvtest"

local run, expect_done, image, device = h.run_task, h.expect_done, h.image, h.device

local EJECTOR = h.code.pcihp_ejector -- plays acpiphp's part (tests/lua/mvtest.lua)

local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local s = f:read("l")
  f:close()
  return s:match("^(%d+)")
end

-- whether this process has `path` open
local function has_open(path)
  local p = assert(io.popen("ls -l /proc/" .. pid() .. "/fd 2>/dev/null"))
  local out = p:read("a")
  p:close()
  return out:find(path, 1, true) ~= nil
end

describe("hotplug argument checks", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end
  local kernel, vm, img

  setup(function()
    kernel = h.tiny_guest(h.code.spin)
    img = image()
    vm = mv.vm { name = "hpargs", kernel = kernel, memory = "32M", serial = "null" }
  end)
  teardown(function()
    vm:destroy()
    os.remove(kernel)
    os.remove(img)
  end)

  it("malformed specs raise at the caller's line, before anything is plugged", function()
    local errs = {}
    expect_done(run(function()
      local function e(fn) local ok, err = pcall(fn) assert(not ok) errs[#errs + 1] = tostring(err) end
      e(function() vm:add_device { path = img } end)
      e(function() vm:add_device { type = "floppy", path = img } end)
      e(function() vm:add_device { type = "disk", path = img, sreial = "x" } end)
      e(function() vm:add_device { type = "disk", path = "/nonexistent/x.img" } end)
      e(function() vm:add_disk { path = img, timeout = -1 } end)
      e(function() vm:add_disk { path = img, type = "disk" } end)
      e(function() vm:add_disk "x" end)
      e(function() vm:remove_device(42) end)
      e(function() vm:remove_device("x", { timeout = "soon" }) end)
      e(function() vm:add_net { id = "n1", tap = "a/b" } end)
      e(function() vm:add_device { type = "net", id = "n1" } end)
      e(function() vm:add_device { type = "rng", id = "r1", path = img } end)
      e(function() vm:add_rng { id = 5 } end)
      e(function() vm:add_rng { type = "rng" } end)
      e(function() vm:add_rng "r1" end)
      e(function() vm:add_rng { id = "" } end)
      e(function() vm:add_rng { di = "r1" } end)
    end))
    assert.matches("vm:add_device: type is required (one of: disk, net, rng)", errs[1], 1, true)
    assert.matches('vm:add_device: type = "floppy" is not a device kind', errs[2], 1, true)
    assert.matches("vm:add_device: unknown field 'sreial' (did you mean 'serial'?)", errs[3], 1, true)
    assert.matches("vm:add_device: path: /nonexistent/x.img: No such file or directory", errs[4], 1, true)
    assert.matches("vm:add_disk: timeout = -1 must be a number of seconds > 0", errs[5], 1, true)
    assert.matches('vm:add_disk: no type field (it is always "disk")', errs[6], 1, true)
    assert.matches("vm:add_disk expects a table, got string", errs[7], 1, true)
    assert.matches("vm:remove_device: id must be a string, got number", errs[8], 1, true)
    assert.matches("vm:remove_device: timeout = soon must be", errs[9], 1, true)
    assert.matches('vm:add_net: tap = "a/b" is not an interface name', errs[10], 1, true)
    assert.matches("vm:add_device: tap is required", errs[11], 1, true)
    assert.matches("vm:add_device: unknown field 'path' (valid fields: id)", errs[12], 1, true)
    assert.matches("vm:add_rng: id must be a string, got number", errs[13], 1, true)
    assert.matches('vm:add_rng: no type field (it is always "rng")', errs[14], 1, true)
    assert.matches("vm:add_rng expects a table, got string", errs[15], 1, true)
    assert.matches('vm:add_rng: id = "" must be 1 to 63 characters', errs[16], 1, true)
    assert.matches("vm:add_rng: unknown field 'di' (did you mean 'id'?)", errs[17], 1, true)
    assert.are.equal(17, #errs)
    for _, err in ipairs(errs) do assert.matches("hotplug_spec.lua:%d+:", err) end
  end)

  it("must run in a task", function()
    assert.matches("vm:add_disk must be called from a task", h.error_of(function() vm:add_disk { path = img } end),
      1, true)
    assert.matches("vm:remove_device must be called from a task",
      h.error_of(function() vm:remove_device("x") end), 1, true)
    assert.matches("vm:add_rng must be called from a task", h.error_of(function() vm:add_rng() end), 1, true)
  end)

  it("refuses a VM that is not running", function()
    local r
    expect_done(run(function() r = table.pack(vm:add_disk { id = "d", path = img }) end))
    assert.are.same({ n = 2, nil, "vm 'hpargs' is created, not running" }, r)
    expect_done(run(function() r = table.pack(vm:remove_device("d")) end))
    assert.are.same({ n = 2, nil, "vm 'hpargs' is created, not running" }, r)
  end)
end)

describe("hotplug with a guest", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end

  it("a guest without drivers: the device stays plugged; ids, pending removals and timeouts", function()
    local kernel = h.tiny_guest(h.code.spin)
    local a, b = image(), image()
    local vm = mv.vm { name = "hpspin", kernel = kernel, memory = "32M", serial = "null",
                       disks = { { id = "boot0", path = b } } }
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      r.add = table.pack(vm:add_disk { id = "data", path = a, timeout = 0.2 })
      r.dup = table.pack(vm:add_disk { id = "data", path = b, timeout = 0.2 })
      r.dup_boot = table.pack(vm:add_disk { id = "boot0", path = b, timeout = 0.2 })
      r.locked = table.pack(vm:add_disk { id = "again", path = a, timeout = 0.2 })
      r.unknown = table.pack(vm:remove_device("nope"))
      r.fixed = table.pack(vm:remove_device("serial"))
      local first = mv.spawn(function() return vm:remove_device("data", { timeout = 0.3 }) end)
      mv.sleep(0.05)
      r.pending = table.pack(vm:remove_device("data", { timeout = 0.3 }))
      r.first = table.pack(first:join())
      r.data = device(vm, "data")
      r.retry = table.pack(vm:remove_device("data", { timeout = 0.1 }))
      vm:kill()
    end))
    assert.is_nil(r.add[1])
    assert.matches("the guest did not start a driver for data %(0000:00:0%x%.0%) within 0.2 s; it stays plugged",
      r.add[2])
    assert.are.same({ n = 2, nil, "vm 'hpspin' already has a device with id 'data'" }, r.dup)
    assert.are.same({ n = 2, nil, "vm 'hpspin' already has a device with id 'boot0'" }, r.dup_boot)
    assert.is_nil(r.locked[1])
    assert.matches("^vm 'hpspin': .*is locked by another process", r.locked[2])
    assert.are.same({ n = 2, nil, "vm 'hpspin' has no removable device 'nope'" }, r.unknown)
    assert.are.same({ n = 2, nil, "vm 'hpspin' has no removable device 'serial'" }, r.fixed)
    assert.are.same({ n = 2, nil, "the removal of 'data' is already pending (the guest has not ejected it yet)" },
      r.pending)
    assert.are.same({ true, nil, "guest did not eject within 0.3 s", n = 3 }, r.first)
    assert.is_not_nil(r.data, "still plugged after the timeout")
    assert.are.equal("virtio-blk", r.data.type)
    assert.are.same({ n = 2, nil, "guest did not eject within 0.1 s" }, r.retry)
    vm:destroy()
    os.remove(kernel)
    os.remove(a)
    os.remove(b)
  end)

  it("an ejecting guest: removal closes the image and drops the device from the configuration", function()
    local kernel = h.tiny_guest(EJECTOR)
    local a, b = image(), image()
    local vm = mv.vm { name = "hpeject", kernel = kernel, memory = "32M", serial = "null", rng = true,
                       disks = { { id = "boot0", path = b } } }
    local events = {}
    vm:on("device_removed", function(ev) events[#events + 1] = ev end)
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      r.add = table.pack(vm:add_disk { id = "data", path = a, timeout = 0.1 })
      r.open_before = has_open(a)
      r.slot = device(vm, "data").pci
      r.remove = table.pack(vm:remove_device("data", { timeout = 10 }))
      r.open_after = has_open(a)
      r.gone = device(vm, "data") == nil
      r.again = table.pack(vm:remove_device("data"))
      -- a device from the configuration can go too
      r.boot_slot = device(vm, "boot0").pci
      r.boot = table.pack(vm:remove_device("boot0", { timeout = 10 }))
      r.boot_open = has_open(b)
      -- its slot is free again (the lowest)
      r.readd = table.pack(vm:add_disk { id = "data", path = a, timeout = 0.1 })
      r.readd_slot = device(vm, "data") and device(vm, "data").pci
      vm:kill()
    end))
    assert.is_nil(r.add[1])
    assert.is_true(r.open_before)
    assert.are.same({ true, n = 1 }, r.remove)
    assert.is_false(r.open_after, "the image is closed once the guest ejected it")
    assert.is_true(r.gone)
    assert.are.same({ n = 2, nil, "vm 'hpeject' has no removable device 'data'" }, r.again)
    assert.are.same({ true, n = 1 }, r.boot)
    assert.is_false(r.boot_open)
    assert.matches("did not start a driver", r.readd[2])
    assert.are.equal(r.boot_slot, r.readd_slot)
    assert.are.equal(2, #events)
    assert.are.equal("data", events[1].id)
    assert.are.equal("virtio-blk", events[1].type)
    assert.are.equal(r.slot, events[1].pci)
    assert.are.equal(vm, events[1].vm)
    assert.are.equal("boot0", events[2].id)
    vm:destroy()
    os.remove(kernel)
    os.remove(a)
    os.remove(b)
  end)

  it("20 add/remove cycles leave no fd behind (fds and RSS printed)", function()
    local kernel = h.tiny_guest(EJECTOR)
    local a = image()
    local vm = mv.vm { name = "hpcycle", kernel = kernel, memory = "32M", serial = "null" }
    assert(vm:start())
    local function fds()
      local p = assert(io.popen("ls /proc/" .. pid() .. "/fd | wc -l"))
      local n = tonumber(p:read("a"))
      p:close()
      return n
    end
    local function rss()
      local f = assert(io.open("/proc/self/status"))
      local kib = f:read("a"):match("VmRSS:%s*(%d+)")
      f:close()
      return tonumber(kib)
    end
    local before, after, rss0, rss1
    expect_done(run(function()
      local function cycle()
        vm:add_disk { id = "c", path = a, timeout = 0.01 }
        assert(vm:remove_device("c", { timeout = 10 }))
      end
      cycle() -- warm-up
      before, rss0 = fds(), rss()
      for _ = 1, 20 do cycle() end
      -- a descriptor can be open for a moment (seen once under a loaded
      -- parallel run: one more): a leak is still there a second later
      after = fds()
      if after > before then mv.sleep(1) after = fds() end
      rss1 = rss()
      vm:kill()
    end))
    print(string.format("\nhotplug: 20 add/remove cycles: fds %d -> %d, VmRSS %d -> %d KiB", before, after, rss0, rss1))
    assert.is_true(after <= before, "one fd or more per cycle was not closed") -- a leak adds 20+
    assert.is_false(has_open(a))
    vm:destroy()
    os.remove(kernel)
    os.remove(a)
  end)

  it("hotplugged devices come back after a reboot, removed ones do not", function()
    local kernel = h.tiny_guest(EJECTOR)
    local a, b = image(), image()
    local vm = mv.vm { name = "hpreboot", kernel = kernel, memory = "32M", serial = "null",
                       disks = { { id = "boot0", path = b } } }
    assert(vm:start())
    local ids
    expect_done(run(function()
      vm:add_disk { id = "data", path = a, timeout = 0.1 }
      assert(vm:remove_device("boot0", { timeout = 10 }))
      assert(vm:reset())
      ids = {}
      for _, d in ipairs(vm:info().devices) do if d.type == "virtio-blk" then ids[#ids + 1] = d.id end end
      vm:kill()
    end))
    assert.are.same({ "data" }, ids)
    vm:destroy()
    os.remove(kernel)
    os.remove(a)
    os.remove(b)
  end)

  it("more devices than free slots: a clear error, the VM goes on", function()
    local kernel = h.tiny_guest(h.code.spin)
    local imgs = {}
    local vm = mv.vm { name = "hpfull", kernel = kernel, memory = "32M", serial = "null", rng = true }
    assert(vm:start())
    local last, state
    expect_done(run(function()
      for i = 1, 31 do
        imgs[i] = image(4096)
        local ok, err = vm:add_disk { id = "d" .. i, path = imgs[i], timeout = 0.01 }
        if i == 31 then last = { ok, err } else assert(err:match("did not start a driver"), err) end
      end
      state = vm:state()
      vm:kill()
    end))
    assert.is_nil(last[1])
    assert.matches("vm 'hpfull': disk 'd31': all 31 PCI slots are taken", last[2], 1, true)
    assert.are.equal("running", state)
    vm:destroy()
    os.remove(kernel)
    for _, p in ipairs(imgs) do os.remove(p) end
  end)

  -- plugin devices with a PCI function: build/plugins/rngfile.so (virtio)
  local RNGFILE = (os.getenv("MV_BUILD_DIR") or "build") .. "/plugins/rngfile.so"
  local function plugin_ids(vm)
    local ids = {}
    for _, d in ipairs(vm:plugin_devices()) do ids[#ids + 1] = d.id end
    return ids
  end

  it("a virtio plugin added at runtime: plugged, ejected, its source closed, gone after a reboot", function()
    local kernel = h.tiny_guest(EJECTOR)
    local src, b = image(4096), image()
    local vm = mv.vm { name = "hpplug", kernel = kernel, memory = "32M", serial = "null",
                       disks = { { id = "boot0", path = b } } }
    local removed = {}
    vm:on("device_removed", function(ev) removed[#removed + 1] = ev end)
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      r.add = table.pack(vm:add_device { plugin = RNGFILE, id = "rng1", source = src, timeout = 0.1 })
      r.dev = device(vm, "rng1")
      r.open = has_open(src)
      r.ids = plugin_ids(vm)
      r.dup = table.pack(vm:add_device { plugin = RNGFILE, id = "boot0", source = src, timeout = 0.1 })
      r.dup_plugin = table.pack(vm:add_device { plugin = RNGFILE, id = "rng1", source = src, timeout = 0.1 })
      r.dup_disk = table.pack(vm:add_disk { id = "rng1", path = src, timeout = 0.1 })
      -- it comes back after a reboot, as removable as before
      assert(vm:reset())
      r.after_reset = device(vm, "rng1")
      r.open_reset = has_open(src)
      r.remove = table.pack(vm:remove_device("rng1", { timeout = 10 }))
      r.closed = not has_open(src)
      r.gone = device(vm, "rng1") == nil
      r.ids_after = plugin_ids(vm)
      assert(vm:reset())
      r.gone_reset = device(vm, "rng1") == nil
      r.state = vm:state()
      vm:kill()
    end))
    assert.is_nil(r.add[1])
    assert.matches("the guest did not start a driver for rng1 %(0000:00:0%x%.0%) within 0.1 s; it stays plugged",
      r.add[2])
    assert.is_not_nil(r.dev, "in vm:info().devices")
    assert.are.equal("virtio-rng-file", r.dev.type)
    assert.is_true(r.open)
    assert.are.same({ "rng1" }, r.ids)
    assert.are.same({ n = 2, nil, "vm 'hpplug' already has a device with id 'boot0'" }, r.dup)
    assert.is_nil(r.dup_plugin[1])
    assert.matches("a device with id 'rng1' exists already", r.dup_plugin[2], 1, true)
    assert.are.same({ n = 2, nil, "vm 'hpplug' already has a device with id 'rng1'" }, r.dup_disk)
    assert.is_not_nil(r.after_reset)
    assert.is_true(r.open_reset)
    assert.are.same({ true, n = 1 }, r.remove)
    assert.is_true(r.closed, "the source file is closed once the guest ejected it")
    assert.is_true(r.gone)
    assert.are.same({}, r.ids_after)
    assert.is_true(r.gone_reset)
    assert.are.equal("running", r.state)
    assert.are.equal(1, #removed)
    assert.are.equal("rng1", removed[1].id)
    assert.are.equal("virtio-rng-file", removed[1].type)
    vm:destroy()
    os.remove(kernel)
    os.remove(src)
    os.remove(b)
  end)

  it("a plain PCI plugin added at runtime: device_added at once, removed on eject", function()
    local PCIDUMMY = (os.getenv("MV_BUILD_DIR") or "build") .. "/plugins/pcidummy.so"
    local kernel = h.tiny_guest(EJECTOR)
    local vm = mv.vm { name = "hppci", kernel = kernel, memory = "32M", serial = "null" }
    local added, removed = {}, {}
    vm:on("device_added", function(ev) added[#added + 1] = ev end)
    vm:on("device_removed", function(ev) removed[#removed + 1] = ev end)
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      r.dev, r.err = vm:add_device { plugin = PCIDUMMY, id = "dummy", timeout = 5 }
      r.info = device(vm, "dummy")
      r.remove = table.pack(vm:remove_device("dummy", { timeout = 10 }))
      r.gone = device(vm, "dummy") == nil
      r.ids = plugin_ids(vm)
      r.again = table.pack(vm:remove_device("dummy"))
      vm:kill()
    end))
    assert.is_not_nil(r.dev, r.err)
    assert.matches("^0000:00:0%x%.0$", r.dev.pci)
    assert.are.equal("dummy", r.dev.id)
    assert.is_not_nil(r.info)
    assert.are.equal("pci-dummy", r.info.type)
    assert.are.equal(1, #added)
    assert.are.equal("dummy", added[1].id)
    assert.are.equal(r.dev.pci, added[1].pci)
    assert.are.same({ true, n = 1 }, r.remove)
    assert.is_true(r.gone)
    assert.are.same({}, r.ids)
    assert.are.same({ n = 2, nil, "vm 'hppci' has no removable device 'dummy'" }, r.again)
    assert.are.equal(1, #removed)
    vm:destroy()
    os.remove(kernel)
  end)

  it("a virtio plugin with no free slot: a clear error, nothing left behind, the VM goes on", function()
    local kernel = h.tiny_guest(h.code.spin)
    local imgs, src = {}, image(4096)
    local vm = mv.vm { name = "hpplugfull", kernel = kernel, memory = "32M", serial = "null", rng = true }
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      for i = 1, 30 do
        imgs[i] = image(4096)
        local _, err = vm:add_disk { id = "d" .. i, path = imgs[i], timeout = 0.01 }
        assert(err:match("did not start a driver"), err)
      end
      r.add = table.pack(vm:add_device { plugin = RNGFILE, id = "rng1", source = src, timeout = 0.1 })
      r.open = has_open(src)
      r.ids = plugin_ids(vm)
      r.state = vm:state()
      vm:kill()
    end))
    assert.is_nil(r.add[1])
    assert.matches("PCI slots are taken", r.add[2], 1, true)
    assert.is_false(r.open)
    assert.are.same({}, r.ids)
    assert.are.equal("running", r.state)
    vm:destroy()
    os.remove(kernel)
    os.remove(src)
    for _, p in ipairs(imgs) do os.remove(p) end
  end)
end)
