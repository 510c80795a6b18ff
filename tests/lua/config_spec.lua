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

  it("validates console (hvc0): \"virtio\" or { type = \"virtio\", file | socket | stdio }", function()
    local cfgmod = require "moonvisor.config"
    local fake_core = { probe_kernel = function() return {} end, parse_size = function() return 64 * mv.MiB end }
    local function norm(extra)
      local out = assert(cfgmod.validate(cfg(extra), fake_core))
      return out.virtio_console, out.hvc, out.hvc_path
    end
    assert.are.same({ false }, { norm {} })
    assert.are.same({ true, "null" }, { norm { console = "virtio" } })
    assert.are.same({ true, "null" }, { norm { console = { type = "virtio" } } })
    assert.are.same({ true, "file", "/x/hvc.log" }, { norm { console = { type = "virtio", file = "/x/hvc.log" } } })
    assert.are.same({ true, "socket", "/x/hvc.sock" }, { norm { console = { type = "virtio", socket = "/x/hvc.sock" } } })
    assert.are.same({ true, "stdio" }, { norm { console = { type = "virtio", stdio = true } } })
    local function err(v, extra)
      local t = extra or {}
      t.console = v
      return h.error_of(mv.vm, cfg(t))
    end
    local usage = 'use "virtio" or { type = "virtio", file = PATH | socket = PATH | stdio = true }'
    assert.matches('console = "hvc": ' .. usage, err "hvc", 1, true)
    assert.matches("console = true: " .. usage, err(true), 1, true)
    assert.matches("console = 3: " .. usage, err(3), 1, true)
    assert.matches('console: type is required (type = "virtio")', err {}, 1, true)
    assert.matches('console: type = "serial" is not supported (only "virtio": hvc0)', err { type = "serial" }, 1, true)
    local e = err { type = "virtio", fiel = "x" }
    assert.matches("console: unknown field 'fiel'", e, 1, true)
    assert.matches("did you mean 'file'", e, 1, true)
    assert.matches("console: give at most one of file = PATH, socket = PATH or stdio = true",
                   err { type = "virtio", file = "a", socket = "b" }, 1, true)
    assert.matches("console: file must be a path string, got 5", err { type = "virtio", file = 5 }, 1, true)
    assert.matches('console: socket must be a path string, got ""', err { type = "virtio", socket = "" }, 1, true)
    assert.matches("console: stdio = false must be true (or left out)", err { type = "virtio", stdio = false }, 1, true)
    -- the terminal is the serial port's unless serial says otherwise
    assert.matches('console: stdio = true needs the terminal, which the serial port has',
                   err({ type = "virtio", stdio = true }, { serial = "stdio" }), 1, true)
    assert.matches('serial = "null"', h.error_of(mv.vm, { kernel = kernel, memory = "64M",
                   console = { type = "virtio", stdio = true } }), 1, true)
    assert.matches('console: socket "/tmp/same.sock" is also the serial port\'s',
                   err({ type = "virtio", socket = "/tmp/same.sock" }, { serial = { socket = "/tmp/same.sock" } }), 1, true)
    assert.matches("did you mean 'console'", h.error_of(mv.vm, cfg { consle = "virtio" }), 1, true)
    -- blamed on the caller's line
    local line = debug.getinfo(1, "l").currentline
    local ok, e2 = pcall(function() mv.vm(cfg { console = "hvc0" }) end)
    assert.is_false(ok)
    assert.matches("config_spec.lua:" .. (line + 1) .. ":", e2, 1, true)
    -- a sink that cannot be opened fails the VM, naming the console
    assert.matches("console file /nonexistent%-dir/hvc%.log: No such file",
                   err { type = "virtio", file = "/nonexistent-dir/hvc.log" })
  end)

  it("gives vm.hvc only to a VM with a virtio console, with the console API", function()
    local plain = mv.vm(cfg {})
    assert.is_nil(plain.hvc)
    assert.matches([[vm 't' has no virtio console ("hvc" needs console = "virtio")]],
                   h.error_of(plain.on, plain, "hvc", function() end), 1, true)
    plain:destroy()
    local path = h.tmpname(".sock")
    local vm = mv.vm(cfg { console = { type = "virtio", socket = path } })
    assert.is_not_nil(vm.hvc)
    assert.are_not.equal(vm.console, vm.hvc)
    assert.is_true(vm:on("hvc", function() end).cancel())
    -- the socket sink exists from creation, like serial's
    assert.is_true(os.rename(path, path))
    assert.are.same({}, vm.hvc:tail())
    assert.is_true(vm.hvc:write("queued until the guest runs\n"))
    assert.has_error(function() vm.hvc:write(5) end, "console:write: expected a string")
    vm:destroy()
    assert.is_nil(io.open(path, "r")) -- removed with the VM
    assert.matches("vm 't' was destroyed", h.error_of(vm.hvc.tail, vm.hvc), 1, true)
    local f = h.tmpname(".log")
    vm = mv.vm(cfg { console = { type = "virtio", file = f } })
    assert.is_true(os.rename(f, f))
    vm:destroy()
    os.remove(f)
  end)

  it("validates rng: a boolean or { id }, with a did-you-mean for typos", function()
    local cfgmod = require "moonvisor.config"
    local fake_core = { probe_kernel = function() return {} end, parse_size = function() return 64 * mv.MiB end }
    local out = assert(cfgmod.validate(cfg { rng = true }, fake_core))
    assert.is_true(out.rng)
    assert.are.same({ { id = "rng" } }, out.rngs)
    out = assert(cfgmod.validate(cfg {}, fake_core))
    assert.is_false(out.rng)
    assert.are.same({}, out.rngs)
    out = assert(cfgmod.validate(cfg { rng = { id = "entropy" } }, fake_core))
    assert.are.same({ { id = "entropy" } }, out.rngs)
    out = assert(cfgmod.validate(cfg { rng = {} }, fake_core))
    assert.are.same({ { id = "rng" } }, out.rngs)
    assert.matches('rng must be a boolean or a table { id = ... }, got string ("yes")',
      h.error_of(mv.vm, cfg { rng = "yes" }), 1, true)
    assert.matches("rng must be a boolean or a table { id = ... }, got number",
      h.error_of(mv.vm, cfg { rng = 1 }), 1, true)
    assert.matches("rng: unknown field 'di' (did you mean 'id'?)", h.error_of(mv.vm, cfg { rng = { di = "x" } }),
      1, true)
    assert.matches("rng: id must be a string, got number", h.error_of(mv.vm, cfg { rng = { id = 7 } }), 1, true)
    assert.matches('rng: id = "" must be 1 to 63 characters', h.error_of(mv.vm, cfg { rng = { id = "" } }), 1, true)
    local img = h.write(h.tmpname(".img"), string.rep("\0", 4096))
    assert.matches('rng: id = "rng" is already used by disks[1]',
      h.error_of(mv.vm, cfg { rng = true, disks = { { id = "rng", path = img } } }), 1, true)
    os.remove(img)
    local err = h.error_of(mv.vm, cfg { rnd = true })
    assert.matches("unknown field 'rnd'", err, 1, true)
    assert.matches("did you mean 'rng'", err, 1, true)
    assert.matches("did you mean 'rng'", h.error_of(mv.vm, cfg { rgn = true }), 1, true)
    local vm = mv.vm(cfg { rng = true })
    assert.are.equal("created", vm:state())
    assert.are.same({}, vm:info().devices) -- devices exist only while running
    vm:destroy()
  end)

  it("validates kernel_unpack: a boolean, true unless false", function()
    local cfgmod = require "moonvisor.config"
    local fake_core = { probe_kernel = function() return {} end, parse_size = function() return 64 * mv.MiB end }
    assert.is_true(assert(cfgmod.validate(cfg {}, fake_core)).kernel_unpack)
    assert.is_false(assert(cfgmod.validate(cfg { kernel_unpack = false }, fake_core)).kernel_unpack)
    assert.matches("kernel_unpack must be a boolean, got string",
      h.error_of(mv.vm, cfg { kernel_unpack = "no" }), 1, true)
    assert.matches("did you mean 'kernel_unpack'", h.error_of(mv.vm, cfg { kernel_unpak = false }), 1, true)
  end)

  it("validates disks: a list of { path, id, readonly, serial, direct }", function()
    local img = h.write(h.tmpname(".img"), string.rep("\0", 65536))
    local img2 = h.write(h.tmpname(".img"), string.rep("\0", 65536))
    local cfgmod = require "moonvisor.config"
    local fake_core = { probe_kernel = function() return {} end, parse_size = function() return 64 * mv.MiB end }
    local out = assert(cfgmod.validate(cfg { disks = {
      { id = "root", path = img, readonly = false, serial = "root0", direct = true },
      { path = img2, readonly = true } } }, fake_core))
    assert.are.same({ id = "root", path = img, serial = "root0", readonly = false, direct = true }, out.disks[1])
    assert.are.same({ id = "disk1", path = img2, readonly = true, direct = false }, out.disks[2])
    assert.are.same({}, assert(cfgmod.validate(cfg {}, fake_core)).disks)
    local vm = mv.vm(cfg { disks = { { id = "root", path = img } } })
    vm:destroy()
    local function err(disks) return h.error_of(mv.vm, cfg { disks = disks }) end
    assert.matches('disks must be a list of tables, got string ("x")', err "x", 1, true)
    assert.matches("disks[1] must be a table", err { "x" }, 1, true)
    -- a hole: which one Lua's # reports is unspecified, either is an error
    local hole = err { { path = img }, nil, { path = img2 } }
    assert.is_truthy(hole:find("disks[2] must be a table", 1, true) or hole:find("disks: unexpected key 3", 1, true))
    assert.matches("disks: unexpected key \"path\"", err { path = img }, 1, true)
    local e = err { { path = img, redonly = true } }
    assert.matches("disks[1]: unknown field 'redonly'", e, 1, true)
    assert.matches("did you mean 'readonly'", e, 1, true)
    assert.matches("disks[1]: readonly must be a boolean, got string", err { { path = img, readonly = "yes" } }, 1, true)
    assert.matches("disks[1]: direct must be a boolean", err { { path = img, direct = 1 } }, 1, true)
    assert.matches("disks[1]: path must be a string", err { { path = 3 } }, 1, true)
    assert.matches("disks[1]: id must be a string", err { { path = img, id = 3 } }, 1, true)
    assert.matches("disks[2]: path is required", err { { path = img }, { id = "b" } }, 1, true)
    assert.matches('disks[2]: id = "a" is already used by disks[1]',
      err { { id = "a", path = img }, { id = "a", path = img2 } }, 1, true)
    assert.matches("disks[2]: path " .. string.format("%q", img) .. " is already disks[1]'s image",
      err { { id = "a", path = img }, { id = "b", path = img } }, 1, true)
    assert.matches('disks[1]: serial = "012345678901234567890" is longer than 20 bytes',
      err { { path = img, serial = "012345678901234567890" } }, 1, true)
    assert.matches("disks[1]: path: /nonexistent/disk.img: No such file or directory",
      err { { path = "/nonexistent/disk.img", readonly = true } }, 1, true)
    assert.matches("disks[1]: path: /tmp: Is a directory", err { { path = "/tmp", readonly = true } }, 1, true)
    local many = {}
    for i = 1, 32 do many[i] = { path = img, id = "d" .. i } end
    assert.matches("disks: 32 disks, at most 31", err(many), 1, true)
    -- blamed on the caller's line
    local line = debug.getinfo(1, "l").currentline
    local ok, e2 = pcall(function() mv.vm(cfg { disks = { { path = img, sreial = "x" } } }) end)
    assert.is_false(ok)
    assert.matches("config_spec.lua:" .. (line + 1) .. ":", e2, 1, true)
    assert.matches("did you mean 'serial'", e2, 1, true)
    os.remove(img)
    os.remove(img2)
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
