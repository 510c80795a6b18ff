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
  buf[#buf + 1] = string.rep("\144", payload)   -- NOPs
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(buf))
  f:close()
  return path
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

-- Calls fn and returns the error message it raised (fails if none).
function M.error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got success")
  return tostring(err)
end

return M
