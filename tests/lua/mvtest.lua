-- Shared helpers for the busted specs.
local M = {}

local function u16(n) return string.pack("<I2", n) end
local function u32(n) return string.pack("<I4", n) end

-- Writes a minimal but well-formed bzImage header (boot protocol 2.15,
-- 64-bit entry) followed by `payload` bytes of protected-mode code.
function M.fake_bzimage(path, opts)
  opts = opts or {}
  local setup_sects = 4
  local payload = opts.payload or 64 * 1024
  local buf = {}
  local hdr = string.rep("\0", (setup_sects + 1) * 512)
  local function put(off, s)
    hdr = hdr:sub(1, off) .. s .. hdr:sub(off + #s + 1)
  end
  put(0x1f1, string.char(setup_sects))
  put(0x1f4, u32((payload + 15) // 16))          -- syssize
  put(0x1fe, u16(0xAA55))
  put(0x202, "HdrS")
  put(0x206, u16(opts.protocol or 0x020f))
  put(0x201, string.char(0x6a))                  -- jump: header ends at 0x202+0x6a
  put(0x211, string.char(0x01))                  -- LOADED_HIGH
  put(0x22c, u32(0x7fffffff))                    -- initrd_addr_max
  put(0x230, u32(0x200000))                      -- kernel_alignment
  put(0x234, string.char(1))                     -- relocatable
  put(0x236, u16(opts.xloadflags or 0x1))        -- XLF_KERNEL_64
  put(0x238, u32(opts.cmdline_size or 2047))
  put(0x260, u32(payload * 2))                   -- init_size
  buf[#buf + 1] = hdr
  -- the 64-bit entry point is 0x200 into the protected-mode payload
  local code = opts.code or ""
  buf[#buf + 1] = string.rep("\144", 0x200) .. code .. string.rep("\144", payload - 0x200 - #code)
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(buf))
  f:close()
  return path
end

-- x86-64 code for tiny guests that run on any /dev/kvm (no Linux needed).
M.code = {}
local function out8(port, value)
  return string.char(0x66, 0xBA, port & 0xff, port >> 8, 0xB0, value, 0xEE)
end
function M.code.print(text)
  local t = {}
  for i = 1, #text do t[#t + 1] = out8(0x3f8, text:byte(i)) end
  return table.concat(t)
end
M.code.poweroff = out8(0x600, (5 << 2) | 0x20) .. "\244\235\253"   -- S5, then hlt; jmp
M.code.reset = out8(0x602, 1) .. "\244\235\253"                   -- the ACPI reset register
M.code.reset_kbd = out8(0x64, 0xFE) .. "\244\235\253"               -- i8042: pulse the reset line
M.code.reset_cf9 = out8(0xCF9, 0x06) .. "\244\235\253"              -- reset control: RST_CPU | SYS_RST
M.code.triple_fault = "\015\011"                                     -- ud2 with an empty IDT
M.code.spin = "\235\254"                                            -- jmp $
-- echo every byte the UART receives back to it, forever
M.code.echo = string.char(
  0x66, 0xBA, 0xFD, 0x03,   -- 0: mov dx, 0x3fd (LSR)
  0xEC,                     -- 4: in al, dx
  0xA8, 0x01,               -- 5: test al, 1 (data ready)
  0x74, 0xF7,               -- 7: jz 0
  0x66, 0xBA, 0xF8, 0x03,   -- 9: mov dx, 0x3f8
  0xEC,                     -- 13: in al, dx
  0xEE,                     -- 14: out dx, al
  0xEB, 0xEF)               -- 15: jmp 0

-- pvpanic (port 0x505): report PANICKED (1) or CRASH_LOADED (2)
function M.code.pvpanic(bits) return out8(0x505, bits) end
-- print the pvpanic port's value as a digit ('3' = both events supported)
M.code.print_pvpanic = string.char(
  0x66, 0xBA, 0x05, 0x05,   -- mov dx, 0x505
  0xEC,                     -- in al, dx
  0x04, 0x30,               -- add al, '0'
  0x66, 0xBA, 0xF8, 0x03,   -- mov dx, 0x3f8
  0xEE)                     -- out dx, al

-- plays acpiphp's part for PCI hotplug: maps [0xFE000000, +2 MiB) (the
-- boot tables cover the first GiB only: a page directory at 0x80000 for
-- the 4th GiB), then forever: eax = PCID (read clears); if nonzero, B0EJ
-- = eax (core/x86/layout.h LAYOUT_PCIHP_MMIO = 0xFE000010)
local function le64(n) return string.pack("<I8", n) end
M.code.pcihp_ejector = table.concat {
  "\72\184", le64(0xFE000083),               -- mov rax, 0xFE000000 | PS | RW | P
  "\72\163", le64(0x80000 + 0x1F0 * 8),      -- mov [PD + 496 * 8], rax
  "\72\184", le64(0x80003),                  -- mov rax, PD | RW | P
  "\72\163", le64(0xA000 + 3 * 8),           -- mov [PDPT + 3 * 8], rax
  "\15\32\216", "\15\34\216",                -- mov rax, cr3; mov cr3, rax
  "\161", le64(0xFE000010 + 4),               -- 0: mov eax, [PCID]
  "\133\192",                                -- 9: test eax, eax
  "\116\243",                                -- 11: jz 0
  "\163", le64(0xFE000010 + 8),               -- 13: mov [B0EJ], eax
  "\235\232",                                -- 22: jmp 0
}

-- A tiny guest: a bzImage whose entry runs `code`.
function M.tiny_guest(code)
  return M.fake_bzimage(M.tmpname(".tiny"), { code = code, payload = 4096 })
end

function M.have_kvm()
  local f = io.open("/dev/kvm", "r+")
  if f then f:close() return true end
  return false
end

function M.tmpname(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or "")
end

function M.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

-- Runs Lua code in a child lua5.4 that loads the same moonvisor module;
-- returns its stdout+stderr and exit status.
function M.run_child(code)
  local path = M.write(M.tmpname(".lua"), code)
  local build = os.getenv("MV_BUILD_DIR") or "build"
  local src = os.getenv("MV_SOURCE_DIR") or "."
  local cmd = string.format("LUA_CPATH='%s/lua/?.so' LUA_PATH='%s/tests/lua/?.lua;;' lua5.4 %s 2>&1",
    build, src, path)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, _, status = p:close()
  os.remove(path)
  return out, status
end

-- Runs a Lua script with the moonvisor binary (`moonvisor SCRIPT`);
-- returns its stdout+stderr and exit status.
function M.run_moonvisor(code)
  local path = M.write(M.tmpname(".lua"), code)
  local build = os.getenv("MV_BUILD_DIR") or "build"
  local p = assert(io.popen(string.format("%s/moonvisor %s 2>&1", build, path)))
  local out = p:read("a")
  local _, _, status = p:close()
  os.remove(path)
  return out, status
end

-- Calls fn and returns the error message it raised (fails if none).
function M.error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got success")
  return tostring(err)
end

-- Runs fn as a task and the loop until everything settled; returns the task.
function M.run_task(fn)
  local mv = require "moonvisor"
  local t = mv.spawn(fn)
  mv.run()
  return t
end

-- Fails unless the task ran to its end without an error.
function M.expect_done(t)
  if t.status ~= "done" then
    error(string.format("task %s, not done: %s", tostring(t.status), tostring(t.error)), 2)
  end
end

-- A zero-filled raw disk image of size bytes (default 64 KiB).
function M.image(size)
  return M.write(M.tmpname(".img"), string.rep("\0", size or 65536))
end

-- vm:info()'s entry for the device with this id, or nil.
function M.device(vm, id)
  for _, d in ipairs(vm:info().devices) do
    if d.id == id then return d end
  end
  return nil
end

return M
