-- mv.vm{} validation: every bad input gets a clear message that names the
-- field and points at the user's line; nothing is created on error.
local mv = require "moonvisor"
local h = require "mvtest"

describe("mv.vm configuration", function()
  local kernel, initrd

  setup(function()
    kernel = h.fake_bzimage(h.tmpname(".bzImage"))
    initrd = h.write(h.tmpname(".initrd"), string.rep("x", 4096))
  end)

  teardown(function()
    os.remove(kernel)
    os.remove(initrd)
  end)

  local function cfg(extra)
    local t = { name = "t", kernel = kernel, memory = "64M", serial = "null" }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  it("accepts a valid table and creates a VM that is not started", function()
    local vm = mv.vm(cfg { cpus = 2, initrd = initrd, cmdline = "console=ttyS0" })
    assert.are.equal("created", vm:state())
    local info = vm:info()
    assert.are.equal("t", info.name)
    assert.are.equal(2, info.cpus)
    assert.are.equal(64 * mv.MiB, info.memory)
    assert.are.equal(0, info.boots)
    vm:destroy()
  end)

  it("names an unknown field and suggests the closest one, at the caller's line", function()
    local err = h.error_of(mv.vm, cfg { memroy = "1G" })
    assert.matches("unknown field 'memroy'", err, 1, true)
    assert.matches("did you mean 'memory'", err, 1, true)
    local line = debug.getinfo(1, "l").currentline
    local ok, e2 = pcall(function() mv.vm(cfg { kernal = "x" }) end)
    assert.is_false(ok)
    assert.matches("config_spec.lua:" .. (line + 1) .. ":", e2, 1, true)
    assert.matches("did you mean 'kernel'", e2, 1, true)
  end)

  it("lists the valid fields when nothing is close", function()
    local err = h.error_of(mv.vm, cfg { zzzzzzzzzz = 1 })
    assert.matches("valid fields: name, cpus, memory", err, 1, true)
  end)

  it("rejects 0 and 300 CPUs and non-integers", function()
    assert.matches("cpus = 0 is out of range (1..254)", h.error_of(mv.vm, cfg { cpus = 0 }), 1, true)
    assert.matches("cpus = 300 is out of range (1..254)", h.error_of(mv.vm, cfg { cpus = 300 }), 1, true)
    assert.matches("cpus = 1.5 must be an integer", h.error_of(mv.vm, cfg { cpus = 1.5 }), 1, true)
    assert.matches('cpus = "2" must be an integer', h.error_of(mv.vm, cfg { cpus = "2" }), 1, true)
  end)

  it("rejects unparsable and too small memory sizes", function()
    assert.matches([[memory = "12Q": '12Q' is not a size]], h.error_of(mv.vm, cfg { memory = "12Q" }), 1, true)
    assert.matches("memory = 1.5 must be a whole number of bytes", h.error_of(mv.vm, cfg { memory = 1.5 }), 1, true)
    assert.matches([[memory = "1M" is too small]], h.error_of(mv.vm, cfg { memory = "1M" }), 1, true)
    assert.matches("memory: unknown field 'hugepage'", h.error_of(mv.vm, cfg { memory = { size = "1G", hugepage = true } }), 1, true)
    assert.matches("memory: size is required", h.error_of(mv.vm, cfg { memory = { shared = true } }), 1, true)
    assert.matches("memory: shared must be a boolean", h.error_of(mv.vm, cfg { memory = { size = "1G", shared = "yes" } }), 1, true)
  end)

  it("accepts memory as bytes, strings and tables", function()
    for _, m in ipairs { 64 * mv.MiB, "64M", "64MiB", "1G", { size = "128M", shared = true } } do
      local vm = mv.vm(cfg { memory = m })
      assert.is_true(vm:info().memory >= 64 * mv.MiB)
      vm:destroy()
    end
  end)

  it("rejects a missing kernel, a file that is not a kernel, and a missing kernel field", function()
    assert.matches("kernel /nonexistent/vmlinuz: No such file or directory",
      h.error_of(mv.vm, cfg { kernel = "/nonexistent/vmlinuz" }), 1, true)
    local junk = h.write(h.tmpname(), string.rep("\1\2\3\4", 4096))
    assert.matches("not a Linux kernel", h.error_of(mv.vm, cfg { kernel = junk }), 1, true)
    os.remove(junk)
    local t = cfg()
    t.kernel = nil
    assert.matches("kernel is required", h.error_of(mv.vm, t), 1, true)
  end)

  it("rejects an old boot protocol and a bzImage without 64-bit entry", function()
    local old = h.fake_bzimage(h.tmpname(), { protocol = 0x0204 })
    assert.matches("2.04", h.error_of(mv.vm, cfg { kernel = old }), 1, true)
    local no64 = h.fake_bzimage(h.tmpname(), { xloadflags = 0 })
    assert.matches("64-bit", h.error_of(mv.vm, cfg { kernel = no64 }), 1, true)
    os.remove(old)
    os.remove(no64)
  end)

  it("rejects an initrd larger than memory and a missing initrd", function()
    local big = h.write(h.tmpname(), string.rep("x", 17 * 1024 * 1024))
    assert.matches("is larger than memory", h.error_of(mv.vm, cfg { memory = "16M", initrd = big }), 1, true)
    os.remove(big)
    assert.matches("initrd: /nonexistent/initrd", h.error_of(mv.vm, cfg { initrd = "/nonexistent/initrd" }), 1, true)
  end)

  it("rejects a command line longer than the kernel accepts", function()
    local small = h.fake_bzimage(h.tmpname(), { cmdline_size = 16 })
    assert.matches("cmdline is 30 bytes, the kernel accepts at most 16",
      h.error_of(mv.vm, cfg { kernel = small, cmdline = string.rep("a", 30) }), 1, true)
    os.remove(small)
  end)

  it("validates serial", function()
    assert.matches('serial = "tty"', h.error_of(mv.vm, cfg { serial = "tty" }), 1, true)
    assert.matches("exactly one of", h.error_of(mv.vm, cfg { serial = {} }), 1, true)
    assert.matches("serial: unknown field 'path'", h.error_of(mv.vm, cfg { serial = { path = "x" } }), 1, true)
    local vm = mv.vm(cfg { serial = { file = h.tmpname() } })
    vm:destroy()
  end)

  it("validates rng: a boolean, with a did-you-mean for typos", function()
    local cfgmod = require "moonvisor.config"
    local fake_core = { probe_kernel = function() return {} end, parse_size = function() return 64 * mv.MiB end }
    local out = assert(cfgmod.validate(cfg { rng = true }, fake_core))
    assert.is_true(out.rng)
    out = assert(cfgmod.validate(cfg {}, fake_core))
    assert.is_false(out.rng)
    assert.matches("rng must be a boolean, got string", h.error_of(mv.vm, cfg { rng = "yes" }), 1, true)
    assert.matches("rng must be a boolean, got number", h.error_of(mv.vm, cfg { rng = 1 }), 1, true)
    local err = h.error_of(mv.vm, cfg { rnd = true })
    assert.matches("unknown field 'rnd'", err, 1, true)
    assert.matches("did you mean 'rng'", err, 1, true)
    assert.matches("did you mean 'rng'", h.error_of(mv.vm, cfg { rgn = true }), 1, true)
    local vm = mv.vm(cfg { rng = true })
    assert.are.equal("created", vm:state())
    assert.are.same({}, vm:info().devices) -- devices exist only while running
    vm:destroy()
  end)

  it("rejects wrong types for strings and a non-table", function()
    assert.matches("kernel must be a string, got number", h.error_of(mv.vm, cfg { kernel = 5 }), 1, true)
    assert.matches("mv.vm expects a table, got string", h.error_of(mv.vm, "x"), 1, true)
  end)
end)

describe("vm handles", function()
  it("raise a clear error once destroyed", function()
    local kernel = h.fake_bzimage(h.tmpname())
    local vm = mv.vm { name = "gone", kernel = kernel, memory = "64M", serial = "null" }
    vm:destroy()
    assert.matches("vm 'gone' was destroyed", h.error_of(vm.state, vm), 1, true)
    assert.matches("vm 'gone' was destroyed", h.error_of(vm.start, vm), 1, true)
    os.remove(kernel)
  end)

  it("reject unknown events and non-function handlers", function()
    local kernel = h.fake_bzimage(h.tmpname())
    local vm = mv.vm { kernel = kernel, memory = "64M", serial = "null" }
    assert.matches("unknown event bogus", h.error_of(vm.on, vm, "bogus", function() end), 1, true)
    assert.matches("handler must be a function", h.error_of(vm.on, vm, "stopped", 5), 1, true)
    local sub = vm:on("stopped", function() end)
    assert.is_true(sub.cancel())
    assert.is_false(sub.cancel())
    vm:destroy()
    os.remove(kernel)
  end)
end)

describe("mv.parse_size", function()
  it("parses binary units", function()
    assert.are.equal(512 * mv.MiB, mv.parse_size("512M"))
    assert.are.equal(mv.GiB, mv.parse_size("1G"))
    assert.are.equal(4096 * mv.MiB, mv.parse_size("4096M"))
    assert.are.equal(2 * mv.MiB, mv.parse_size("2MiB"))
    assert.are.equal(1234, mv.parse_size("1234"))
    assert.are.equal(1234, mv.parse_size(1234))
  end)
  it("rejects junk", function()
    assert.matches("is not a size", h.error_of(mv.parse_size, "12Q"), 1, true)
    assert.matches("is not a size", h.error_of(mv.parse_size, "G"), 1, true)
    assert.matches("is not a size", h.error_of(mv.parse_size, "-5M"), 1, true)
  end)
end)
