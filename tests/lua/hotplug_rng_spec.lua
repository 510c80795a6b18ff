-- virtio-rng hotplug from Lua (vm:add_rng, vm:add_device{type = "rng"},
-- vm:remove_device) with tiny guests: ids (the boot-time one from
-- rng = true, given ones, generated ones), duplicates, the per-VM limit,
-- eject of hotplugged and boot-time rngs, the set kept over a reboot.
-- Argument checks are in hotplug_spec.lua with the other kinds'.
local mv = require "moonvisor"
local h = require "mvtest"

local EJECTOR = h.code.pcihp_ejector

local run, expect_done, image, device = h.run_task, h.expect_done, h.image, h.device

describe("rng hotplug", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end

  local function rng_ids(vm)
    local ids = {}
    for _, d in ipairs(vm:info().devices) do if d.type == "virtio-rng" then ids[#ids + 1] = d.id end end
    table.sort(ids)
    return ids
  end

  it("ids: the boot one is 'rng', new ones are given or 'rngN'; duplicates and a full set are refused", function()
    local kernel = h.tiny_guest(h.code.spin)
    local img = image()
    local vm = mv.vm { name = "hprngids", kernel = kernel, memory = "32M", serial = "null", rng = true,
                       disks = { { id = "boot0", path = img } } }
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      r.boot = rng_ids(vm)
      r.named = table.pack(vm:add_device { type = "rng", id = "entropy", timeout = 0.05 })
      r.auto = table.pack(vm:add_rng { timeout = 0.05 })
      local bare = mv.spawn(function() return vm:add_rng() end) -- no spec: 20 s for a driver
      mv.sleep(0.05)
      r.bare_listed = device(vm, "rng1") ~= nil
      r.dup = table.pack(vm:add_rng { id = "rng", timeout = 0.05 })
      r.dup_disk = table.pack(vm:add_rng { id = "boot0", timeout = 0.05 })
      r.dup_of_rng = table.pack(vm:add_disk { id = "entropy", path = img, timeout = 0.05 })
      r.entropy = device(vm, "entropy")
      for i = 1, 4 do vm:add_rng { id = "x" .. i, timeout = 0.01 } end -- 8 in all
      r.full = table.pack(vm:add_rng { id = "one-too-many", timeout = 0.05 })
      r.all = rng_ids(vm)
      vm:kill()
      r.bare = table.pack(bare:join())
    end))
    assert.are.same({ "rng" }, r.boot)
    assert.matches("the guest did not start a driver for entropy %(0000:00:0%x%.0%) within 0.05 s", r.named[2])
    assert.matches("the guest did not start a driver for rng0 ", r.auto[2], 1, true)
    assert.is_true(r.bare_listed)
    assert.are.same({ true, nil, "vm 'hprngids' stopped before rng1 was ready", n = 3 }, r.bare)
    assert.are.same({ n = 2, nil, "vm 'hprngids' already has a device with id 'rng'" }, r.dup)
    assert.are.same({ n = 2, nil, "vm 'hprngids' already has a device with id 'boot0'" }, r.dup_disk)
    assert.are.same({ n = 2, nil, "vm 'hprngids' already has a device with id 'entropy'" }, r.dup_of_rng)
    assert.is_not_nil(r.entropy, "in vm:info().devices")
    assert.are.equal("virtio-rng", r.entropy.type)
    assert.are.equal(0x1044, r.entropy.device)
    assert.are.equal(0, r.entropy.bytes)
    assert.are.same({ n = 2, nil, "vm 'hprngids' has as many rngs as it can hold" }, r.full)
    assert.are.same({ "entropy", "rng", "rng0", "rng1", "x1", "x2", "x3", "x4" }, r.all)
    vm:destroy()
    os.remove(kernel)
    os.remove(img)
  end)

  it("an ejecting guest: hotplugged and boot-time rngs are removed, events fire, reboots keep the set", function()
    local kernel = h.tiny_guest(EJECTOR)
    local vm = mv.vm { name = "hprngeject", kernel = kernel, memory = "32M", serial = "null", rng = true }
    local removed = {}
    vm:on("device_removed", function(ev) removed[#removed + 1] = ev end)
    assert(vm:start())
    local r = {}
    expect_done(run(function()
      r.add = table.pack(vm:add_rng { id = "hr", timeout = 0.1 })
      r.pci = device(vm, "hr").pci
      vm:add_rng { id = "keep", timeout = 0.1 }
      r.remove = table.pack(vm:remove_device("hr", { timeout = 10 }))
      r.after_remove = rng_ids(vm)
      r.remove_boot = table.pack(vm:remove_device("rng", { timeout = 10 }))
      r.after_boot = rng_ids(vm)
      assert(vm:reset())
      r.after_reset = rng_ids(vm)
      -- the boot-time id is free again
      r.readd = table.pack(vm:add_rng { id = "rng", timeout = 0.1 })
      r.final = rng_ids(vm)
      vm:kill()
    end))
    assert.matches("did not start a driver for hr", r.add[2], 1, true)
    assert.are.same({ true, n = 1 }, r.remove)
    assert.are.same({ "keep", "rng" }, r.after_remove)
    assert.are.same({ true, n = 1 }, r.remove_boot)
    assert.are.same({ "keep" }, r.after_boot)
    assert.are.same({ "keep" }, r.after_reset, "the hotplugged rng comes back after a reboot, removed ones do not")
    assert.matches("did not start a driver for rng ", r.readd[2], 1, true)
    assert.are.same({ "keep", "rng" }, r.final)
    assert.are.equal(2, #removed)
    assert.are.equal("hr", removed[1].id)
    assert.are.equal("virtio-rng", removed[1].type)
    assert.are.equal(r.pci, removed[1].pci)
    assert.are.equal("rng", removed[2].id)
    vm:destroy()
    os.remove(kernel)
  end)
end)
