-- Guest panics (pvpanic on port 0x505), the "panic" event and its default
-- policy, and vm:dump_memory, with tiny guests (tests/lua/mvtest.lua).
local mv = require "moonvisor"
local h = require "mvtest"

local PANIC_TEXT = "Kernel panic - not syncing: tiny test\n"

-- Prints the pvpanic port's value, a panic line, reports `bits`, then
-- "after panic" and powers off (if the VMM lets it go on).
local function panicking_guest(bits)
  return h.tiny_guest(h.code.print("port=") .. h.code.print_pvpanic .. h.code.print("\n" .. PANIC_TEXT)
    .. h.code.pvpanic(bits) .. h.code.print("after panic\n") .. h.code.poweroff)
end

local function u16(s, off) return string.unpack("<I2", s, off + 1) end
local function u32(s, off) return string.unpack("<I4", s, off + 1) end
local function u64(s, off) return string.unpack("<I8", s, off + 1) end

-- ELF64 header and program headers of a core file.
local function read_core(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  local core = { ident = data:sub(1, 4), class = data:byte(5), type = u16(data, 16), machine = u16(data, 18),
                 phdrs = {}, size = #data, data = data }
  local phoff, phnum = u64(data, 32), u16(data, 56)
  for i = 0, phnum - 1 do
    local o = phoff + 56 * i
    core.phdrs[#core.phdrs + 1] = { type = u32(data, o), offset = u64(data, o + 8), vaddr = u64(data, o + 16),
      paddr = u64(data, o + 24), filesz = u64(data, o + 32), memsz = u64(data, o + 40) }
  end
  return core
end

describe("guest panic", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end

  it("the handler gets the kind, the console and the reporting vCPU's registers", function()
    local kernel = panicking_guest(1)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local got, state_in_handler
    vm:on("panic", function(ev)
      got = ev
      state_in_handler = vm:state()
      vm:kill()
    end)
    assert(vm:start())
    mv.run()
    assert.is_not_nil(got, "no panic event")
    assert.are.equal("panic", got.event)
    assert.are.equal(vm, got.vm)
    assert.are.equal("panicked", got.kind)
    assert.are.equal(0, got.vcpu)
    assert.matches("port=3\n", got.console, 1, true)
    assert.matches(PANIC_TEXT, got.console, 1, true)
    assert.is_nil(got.console:find("after panic", 1, true))
    -- the code runs at the bzImage's 64-bit entry, 0x100200
    assert.is_true(got.regs.rip > 0x100200 and got.regs.rip < 0x101200, string.format("rip 0x%x", got.regs.rip))
    assert.are.equal(0x505, got.regs.rdx & 0xffff)
    assert.is_true(got.regs.cr0 & 1 == 1 and got.regs.efer & 0x400 ~= 0, "long mode")
    assert.is_number(got.regs.rsp)
    assert.is_number(got.regs.rflags)
    assert.is_number(got.regs.cr3)
    assert.are.equal("running", state_in_handler)
    assert.are.equal("killed", vm:info().stop_reason)
    vm:destroy()
    os.remove(kernel)
  end)

  it("reports crash_loaded; other bits are ignored", function()
    local kernel = h.tiny_guest(h.code.pvpanic(0xfc) .. h.code.pvpanic(0x6) .. h.code.spin)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local kinds = {}
    vm:on("panic", function(ev) kinds[#kinds + 1] = ev.kind vm:kill() end)
    assert(vm:start())
    mv.run()
    assert.are.same({ "crash_loaded" }, kinds)
    vm:destroy()
    os.remove(kernel)
  end)

  it("a handler that does nothing lets the guest go on", function()
    local kernel = panicking_guest(1)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local n = 0
    vm:on("panic", function() n = n + 1 end)
    assert(vm:start())
    mv.run()
    assert.are.equal(1, n)
    assert.are.equal("poweroff", vm:info().stop_reason)
    assert.are.equal("after panic", vm.console:tail(1)[1])
    vm:destroy()
    os.remove(kernel)
  end)

  it("a handler that resets boots the guest again", function()
    local kernel = panicking_guest(1)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local boots = {}
    vm:on("panic", function()
      boots[#boots + 1] = vm:info().boots
      if #boots < 2 then assert(vm:reset()) else vm:kill() end
    end)
    assert(vm:start())
    mv.run()
    assert.are.same({ 1, 2 }, boots)
    assert.are.equal(2, vm:info().boots)
    vm:destroy()
    os.remove(kernel)
  end)

  it("a handler that pauses keeps the VM paused; resume lets it go on", function()
    local kernel = panicking_guest(1)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    vm:on("panic", function() assert(vm:pause()) end)
    assert(vm:start())
    local state
    local t = mv.spawn(function()
      vm:wait("panic", { timeout = 5 })
      mv.sleep(0.1)
      state = vm:state()
      assert(vm:resume())
      vm:wait("stopped", { timeout = 5 })
    end)
    mv.run()
    assert.are.equal("done", t.status, tostring(t.error))
    assert.are.equal("paused", state)
    assert.are.equal("poweroff", vm:info().stop_reason)
    vm:destroy()
    os.remove(kernel)
  end)

  it("a handler may destroy the VM", function()
    local kernel = panicking_guest(1)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local ran = false
    vm:on("panic", function() ran = true vm:destroy() end)
    assert(vm:start())
    mv.run()
    assert.is_true(ran)
    assert.matches("was destroyed", h.error_of(vm.state, vm))
    os.remove(kernel)
  end)

  it("without a handler: stopped with reason panic, the message on stderr, exit status 2", function()
    local kernel = panicking_guest(1)
    local out, status = h.run_moonvisor(string.format([[
      local mv = require "moonvisor"
      local vm = mv.vm { kernel = %q, memory = "32M", serial = "null" }
      vm:on("stopped", function(ev) print("stopped: " .. ev.reason .. ": " .. tostring(ev.message)) end)
      assert(vm:start())
    ]], kernel))
    os.remove(kernel)
    assert.are.equal(2, status, out)
    assert.matches("guest panicked", out, 1, true)
    assert.matches("  | " .. PANIC_TEXT, out, 1, true)
    assert.matches("stopped: panic: Kernel panic - not syncing: tiny test", out, 1, true)
    assert.is_nil(out:find("after panic", 1, true))
  end)

  it("without a handler a crash_loaded guest is stopped too (exit status 2)", function()
    local kernel = panicking_guest(2)
    local out, status = h.run_moonvisor(string.format([[
      local mv = require "moonvisor"
      local vm = mv.vm { kernel = %q, memory = "32M", serial = "null" }
      vm:on("stopped", function(ev) print("stopped: " .. ev.reason) end)
      assert(vm:start())
    ]], kernel))
    os.remove(kernel)
    assert.are.equal(2, status, out)
    assert.matches("guest crash_loaded", out, 1, true)
    assert.matches("stopped: panic", out, 1, true)
    assert.is_nil(out:find("after panic", 1, true))
  end)

  it("a failing handler is logged and the guest goes on", function()
    local kernel = panicking_guest(1)
    local out, status = h.run_moonvisor(string.format([[
      local mv = require "moonvisor"
      local vm = mv.vm { kernel = %q, memory = "32M", serial = "null" }
      vm:on("panic", function() error("handler broke") end)
      vm:on("stopped", function(ev) print("stopped: " .. ev.reason) end)
      assert(vm:start())
    ]], kernel))
    os.remove(kernel)
    assert.are.equal(0, status, out)
    assert.matches("handler broke", out, 1, true)
    assert.matches("stopped: poweroff", out, 1, true)
  end)
end)

describe("vm:dump_memory", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end

  it("writes an ELF64 core (mode 0600) with one PT_LOAD per RAM region and notes", function()
    local kernel = panicking_guest(1)
    local vm = mv.vm { kernel = kernel, memory = "64M", serial = "null" }
    local path = h.tmpname(".core")
    local ok, err
    vm:on("panic", function()
      assert(vm:pause())
      ok, err = vm:dump_memory(path)
      vm:kill()
    end)
    assert(vm:start())
    mv.run()
    assert.is_true(ok, err)
    local core = read_core(path)
    assert.are.equal("\127ELF", core.ident)
    assert.are.equal(2, core.class)       -- ELFCLASS64
    assert.are.equal(4, core.type)        -- ET_CORE
    assert.are.equal(62, core.machine)    -- EM_X86_64
    assert.are.equal(2, #core.phdrs)
    assert.are.equal(4, core.phdrs[1].type) -- PT_NOTE
    local load = core.phdrs[2]
    assert.are.equal(1, load.type)          -- PT_LOAD
    assert.are.equal(0, load.paddr)
    assert.are.equal(64 * mv.MiB, load.filesz)
    assert.are.equal(64 * mv.MiB, load.memsz)
    assert.are.equal(load.offset + load.filesz, core.size)
    -- the guest's code is in the image at its physical address
    local at = load.offset + 0x100200
    assert.are.equal(h.code.print("p"), core.data:sub(at + 1, at + #h.code.print("p")))
    -- NT_PRSTATUS "CORE" note first
    local note = core.phdrs[1].offset
    assert.are.equal(1, u32(core.data, note + 8))
    assert.are.equal("CORE\0", core.data:sub(note + 13, note + 17))
    local p = io.popen("stat -c %a " .. path)
    assert.are.equal("600", p:read("l"))
    p:close()
    os.remove(path)
    vm:destroy()
    os.remove(kernel)
  end)

  it("returns nil, err for a VM that is not running and an unwritable path", function()
    local kernel = h.tiny_guest(h.code.spin)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local ok, err = vm:dump_memory("/tmp/never.core")
    assert.is_nil(ok)
    assert.matches("is created, not running", err, 1, true)
    assert(vm:start())
    ok, err = vm:dump_memory("/nonexistent-dir/x.core")
    assert.is_nil(ok)
    assert.matches("cannot create /nonexistent%-dir/x.core: No such file or directory", err)
    assert.are.equal("running", vm:state())
    -- a running VM is dumped (paused for the time of it) and keeps running
    local path = h.tmpname(".core")
    assert.is_true(vm:dump_memory(path))
    assert.are.equal("running", vm:state())
    assert.are.equal(4, read_core(path).type)
    os.remove(path)
    assert.matches("path must be a non%-empty string", h.error_of(vm.dump_memory, vm, 5))
    vm:kill()
    vm:destroy()
    os.remove(kernel)
  end)
end)
