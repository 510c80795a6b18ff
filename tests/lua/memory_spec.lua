-- Memory configuration and control (lua/lib/memconfig.lua, lua/lib/memory.lua,
-- lua/l_vm_memory.c): strict validation of memory.hotplug / block and
-- balloon, the command line the validator completes, vm.memory,
-- vm:resize_memory's checks and waiting (on a tiny guest without a
-- virtio-mem driver: it times out saying how far it got, or is superseded),
-- the pressure levels' hysteresis, PSI output parsing and mv.on's checks.
local mv = require "moonvisor"
local h = require "mvtest"

describe("memory", function()
  local kernel

  setup(function() kernel = h.fake_bzimage(h.tmpname(".bzImage")) end)
  teardown(function() os.remove(kernel) end)

  local function cfg(extra)
    local t = { name = "m", kernel = kernel, memory = { size = "64M", hotplug = "512M" }, serial = "null" }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  it("rejects bad hotplug, block and balloon fields, naming them at the caller's line", function()
    local cases = {
      { { memory = { size = "64M", hotplug = "100M" } }, "memory.hotplug = \"100M\" must be a non-zero multiple of 128M" },
      { { memory = { size = "64M", hotplug = 0 } }, "memory.hotplug = 0 must be a non-zero multiple of 128M" },
      { { memory = { size = "64M", hotplug = "1G", block = "3M" } }, "memory.block = \"3M\" must be a power of two from 2M to 128M" },
      { { memory = { size = "64M", hotplug = "1G", block = "1M" } }, "memory.block = \"1M\" must be a power of two" },
      { { memory = { size = "64M", block = "2M" } }, "needs hotplug = SIZE" },
      { { memory = { size = "64M", hotplg = "1G" } }, "did you mean 'hotplug'" },
      { { memory = { size = "64M", hotplug = "lots" } }, "memory.hotplug = \"lots\"" },
      { { balloon = "yes" }, "balloon = \"yes\": use true or { stats = SECONDS" },
      { { balloon = { stat = 1 } }, "balloon: unknown field 'stat' (did you mean 'stats'?)" },
      { { balloon = { stats = -1 } }, "balloon.stats = -1 must be a number of seconds from 0.1 to 3600" },
      { { balloon = { stats = 1, deflate_on_oom = 1 } }, "balloon: deflate_on_oom must be a boolean" },
      { { balloon = { stats = 1, pressure = { medium = 0.1, critical = 0.3 } } }, "critical = 0.3 must be below medium = 0.1" },
      { { balloon = { stats = 1, pressure = { medium = 2 } } }, "balloon.pressure.medium = 2 must be a fraction" },
      { { balloon = { stats = 1, pressure = { low = 0.5 } } }, "balloon.pressure: unknown field 'low'" },
      { { balloon = { pressure = {} } }, "balloon.pressure needs balloon.stats" },
    }
    for _, c in ipairs(cases) do
      local line = debug.getinfo(1, "l").currentline
      local ok, err = pcall(function() mv.vm(cfg(c[1])) end)
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
      assert.matches("memory_spec.lua:" .. (line + 1) .. ":", err, 1, true)
    end
  end)

  it("adds memhp_default_state=online_movable to the command line when there is hotplug memory", function()
    local memconfig = require "moonvisor.memconfig"
    local hp = { hotplug = 1 }
    assert.are.equal("console=ttyS0 memhp_default_state=online_movable", memconfig.cmdline("console=ttyS0", hp))
    assert.are.equal("quiet memhp_default_state=online_movable -- echo a -- b",
      memconfig.cmdline("quiet -- echo a -- b", hp))
    assert.are.equal("memhp_default_state=online_movable -- x", memconfig.cmdline("-- x", hp))
    assert.are.equal("a memhp_default_state=online_kernel", memconfig.cmdline("a memhp_default_state=online_kernel", hp))
    assert.are.equal("console=ttyS0", memconfig.cmdline("console=ttyS0", { hotplug = 0 }))
  end)

  it("shows vm.memory and checks vm:resize_memory's size", function()
    local vm = mv.vm(cfg { balloon = { stats = 1 } })
    assert.are.equal(64 * mv.MiB, vm.memory.size)
    assert.are.equal(576 * mv.MiB, vm.memory.max)
    assert.are.equal(64 * mv.MiB, vm.memory.requested)
    assert.are.equal(64 * mv.MiB, vm.memory.plugged)
    assert.are.equal(2 * mv.MiB, vm.memory.block)
    assert.matches("read-only", h.error_of(function() vm.memory.size = 1 end), 1, true)
    assert.matches("must be called from a task", h.error_of(vm.resize_memory, vm, 128 * mv.MiB), 1, true)
    assert.matches("bytes must be an integer", h.error_of(vm.resize_memory, vm, {}), 1, true)
    local results = {}
    mv.spawn(function()
      results[1] = { vm:resize_memory(32 * mv.MiB) }
      results[2] = { vm:resize_memory(1024 * mv.MiB) }
      results[3] = { vm:resize_memory(64 * mv.MiB + 4096) }
      results[4] = { vm:resize_memory("128M") }       -- not running: taken at the next start
    end)
    mv.run()
    assert.matches("out of range", results[1][2], 1, true)
    assert.matches("out of range", results[2][2], 1, true)
    assert.matches("whole blocks", results[3][2], 1, true)
    assert.is_true(results[4][1])
    assert.are.equal(128 * mv.MiB, vm.memory.requested)
    assert.are.same({ nil, "no balloon statistics yet" }, { vm:memory_stats() })
    vm:destroy()
    local plain = mv.vm { name = "p", kernel = kernel, memory = "64M", serial = "null" }
    assert.are.equal(0, plain.memory.block)
    mv.spawn(function() results[5] = { plain:resize_memory(128 * mv.MiB) } end)
    mv.run()
    assert.matches("has no hotplug memory", results[5][2], 1, true)
    assert.matches("no balloon statistics %(balloon", select(2, plain:memory_stats()))
    plain:destroy()
  end)

  it("times out with how far the guest got, and reports a superseded resize", function()
    if not h.have_kvm() then pending("no /dev/kvm") return end
    local tiny = h.tiny_guest(h.code.spin)
    local vm = mv.vm { name = "t", kernel = tiny, memory = { size = "32M", hotplug = "256M" }, serial = "null" }
    assert.is_true(vm:start())
    local a, b, region
    mv.spawn(function()
      region = vm.memory.region
      local first = mv.spawn(function() a = { vm:resize_memory(96 * mv.MiB, { timeout = 5 }) } end)
      mv.sleep(0.2)
      b = { vm:resize_memory(160 * mv.MiB, { timeout = 0.5 }) }
      first:join()
      vm:kill()
    end)
    mv.run()
    assert.is_nil(a[1])
    assert.matches("superseded by a resize to 160M", a[2], 1, true)
    assert.is_nil(b[1])
    assert.matches("timeout after 0.5 s: the guest has 32M plugged of 160M requested (was 32M)", b[2], 1, true)
    assert.are.equal(160 * mv.MiB, vm.memory.requested)
    assert.are.equal(0x100000000, region)  -- above RAM and 4 GiB, 128M aligned
    vm:destroy()
    os.remove(tiny)
  end)

  it("moves between pressure levels with hysteresis", function()
    local level = require "moonvisor.memory"({}, {}, {}, {}, function() end).level
    local p = { medium = 0.20, critical = 0.10, hysteresis = 0.05 }
    assert.are.equal("low", level(0.5, "low", p))
    assert.are.equal("medium", level(0.19, "low", p))
    assert.are.equal("critical", level(0.05, "low", p))
    assert.are.equal("medium", level(0.22, "medium", p))   -- not yet 0.25
    assert.are.equal("low", level(0.25, "medium", p))
    assert.are.equal("critical", level(0.09, "medium", p))
    assert.are.equal("critical", level(0.12, "critical", p)) -- not yet 0.15
    assert.are.equal("medium", level(0.16, "critical", p))
    assert.are.equal("low", level(0.30, "critical", p))
  end)

  it("parses PSI output and checks mv.on's arguments", function()
    local m = require "moonvisor.memory"({}, {}, {}, {}, function() end)
    local t = m.parse_psi("some avg10=1.50 avg60=0.20 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n")
    assert.are.equal(1.5, t.some.avg10)
    assert.are.equal(1234, t.some.total)
    assert.are.equal(5, t.full.total)
    assert.matches("unknown event", h.error_of(mv.on, "nope", print), 1, true)
    assert.matches("window must be", h.error_of(mv.on, "host_memory_pressure", print, { window = 60 }), 1, true)
    assert.matches("stall must be", h.error_of(mv.on, "host_memory_pressure", print, { stall = 3 }), 1, true)
    assert.matches("kind must be", h.error_of(mv.on, "host_memory_pressure", print, { kind = "all" }), 1, true)
    assert.matches("opening /nonexistent", h.error_of(mv.on, "host_memory_pressure", print, { path = "/nonexistent" }),
      1, true)
    local f = io.open("/proc/pressure/memory")
    if f then
      f:close()
      local sub = mv.on("host_memory_pressure", print)
      assert.matches("^some 100000 2000000$", sub.trigger)
      assert.is_true(sub.cancel())
      assert.is_false(sub.cancel())
    end
  end)
end)
