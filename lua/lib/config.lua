-- Strict validation of the table given to mv.vm{}.
-- validate(t, core) returns a normalized table for the C core, or
-- nil, message. Messages name the field, the value and what was expected;
-- the caller raises them at the user's line.
local M = {}
local memconfig = require "moonvisor.memconfig"

local MAX_CPUS = 254        -- xAPIC IDs in the MADT
local MIN_MEMORY = 16 * 1024 * 1024

local function levenshtein(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- "did you mean" for an unknown key among the valid ones
function M.suggest(key, valid)
  local best, best_d
  for _, k in ipairs(valid) do
    local d = levenshtein(key, k)
    if not best_d or d < best_d then best, best_d = k, d end
  end
  if best and best_d <= math.max(2, #key // 3) then
    return string.format(" (did you mean '%s'?)", best)
  end
  return string.format(" (valid fields: %s)", table.concat(valid, ", "))
end

local function check_keys(t, valid, where)
  local set = {}
  for _, k in ipairs(valid) do set[k] = true end
  for k in pairs(t) do
    if type(k) ~= "string" then
      return nil, string.format("%s: unexpected non-string key %s", where, tostring(k))
    end
    if not set[k] then
      return nil, string.format("%s: unknown field '%s'%s", where, k, M.suggest(k, valid))
    end
  end
  return true
end

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function M.size(v, field, core)
  if math.type(v) == "integer" then
    if v < 0 then return nil, string.format("%s = %d must not be negative", field, v) end
    return v
  elseif type(v) == "number" then
    return nil, string.format("%s = %s must be a whole number of bytes", field, describe(v))
  elseif type(v) == "string" then
    local n, err = core.parse_size(v)
    if not n then return nil, string.format("%s = %s: %s", field, describe(v), err) end
    return n
  end
  return nil, string.format("%s must be a size (number or string like \"512M\"), got %s", field, type(v))
end

local function check_type(t, key, want, where)
  local v = t[key]
  if v ~= nil and type(v) ~= want then
    return nil, string.format("%s: %s must be a %s, got %s (%s)", where, key, want, type(v), describe(v))
  end
  return true
end

local function validate_memory(v, out, core)
  local size = v
  if type(v) == "table" then
    local ok, err = check_keys(v, { "size", "hugepages", "shared", "hotplug", "block" }, "memory")
    if not ok then return nil, err end
    for _, k in ipairs { "hugepages", "shared" } do
      ok, err = check_type(v, k, "boolean", "memory")
      if not ok then return nil, err end
    end
    if v.size == nil then return nil, "memory: size is required" end
    size = v.size
    out.hugepages, out.shared = v.hugepages or false, v.shared or false
  end
  local n, err = M.size(size, "memory", core)
  if not n then return nil, err end
  if n < MIN_MEMORY then
    return nil, string.format("memory = %s is too small (at least 16M)", describe(size))
  end
  out.memory = n
  if type(v) == "table" then
    return memconfig.hotplug(v, out, function(x, field) return M.size(x, field, core) end)
  end
  out.hotplug, out.hotplug_block = 0, 0
  return true
end

local function validate_serial(v, out)
  if v == nil or v == "stdio" or v == "null" then
    out.serial = v or "stdio"
    return true
  end
  if type(v) == "table" then
    local ok, err = check_keys(v, { "file", "socket" }, "serial")
    if not ok then return nil, err end
    local kind = v.file and "file" or v.socket and "socket"
    if not kind or (v.file and v.socket) then
      return nil, "serial: give exactly one of { file = PATH } or { socket = PATH }"
    end
    if type(v[kind]) ~= "string" or v[kind] == "" then
      return nil, string.format("serial: %s must be a path string", kind)
    end
    out.serial, out.serial_path = kind, v[kind]
    return true
  end
  return nil, string.format('serial = %s: use "stdio", "null", { file = PATH } or { socket = PATH }', describe(v))
end

-- console = "virtio" | { type = "virtio", file = PATH | socket = PATH | stdio = true }:
-- hvc0, a virtio console; with no sink its output is seen by Lua only
-- (vm.hvc), since the terminal belongs to the serial port by default.
local CONSOLE_USAGE = 'use "virtio" or { type = "virtio", file = PATH | socket = PATH | stdio = true }'

local function console_sink(v)
  local kinds = {}
  for _, k in ipairs { "file", "socket", "stdio" } do
    if v[k] ~= nil then kinds[#kinds + 1] = k end
  end
  if #kinds > 1 then
    return nil, "console: give at most one of file = PATH, socket = PATH or stdio = true"
  end
  local kind = kinds[1]
  if kind == "stdio" then
    if v.stdio ~= true then return nil, string.format("console: stdio = %s must be true (or left out)", describe(v.stdio)) end
    return "stdio"
  end
  if kind and (type(v[kind]) ~= "string" or v[kind] == "") then
    return nil, string.format("console: %s must be a path string, got %s", kind, describe(v[kind]))
  end
  return kind or "null", kind and v[kind]
end

local function validate_console(v, out)
  if v == nil then out.virtio_console = false return true end
  if v == "virtio" then v = { type = "virtio" } end
  if type(v) ~= "table" then return nil, string.format("console = %s: %s", describe(v), CONSOLE_USAGE) end
  local ok, err = check_keys(v, { "type", "file", "socket", "stdio" }, "console")
  if not ok then return nil, err end
  if v.type ~= "virtio" then
    if v.type == nil then return nil, 'console: type is required (type = "virtio")' end
    return nil, string.format('console: type = %s is not supported (only "virtio": hvc0)', describe(v.type))
  end
  local sink, path = console_sink(v)
  if not sink then return nil, path end
  if sink == "stdio" and out.serial == "stdio" then
    return nil, 'console: stdio = true needs the terminal, which the serial port has (serial = "stdio" is ' ..
      'the default): set serial = "null", { file = PATH } or { socket = PATH }'
  end
  if path and out.serial_path == path then
    return nil, string.format("console: %s %s is also the serial port's", sink, describe(path))
  end
  out.virtio_console, out.hvc, out.hvc_path = true, sink, path
  return true
end

local function validate_cpus(v, out)
  if v == nil then out.cpus = 1 return true end
  if math.type(v) ~= "integer" then
    return nil, string.format("cpus = %s must be an integer", describe(v))
  end
  if v < 1 or v > MAX_CPUS then
    return nil, string.format("cpus = %d is out of range (1..%d)", v, MAX_CPUS)
  end
  out.cpus = v
  return true
end

local function file_size(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local size = f:seek("end")
  f:close()
  return size
end

local function validate_boot(t, out, core)
  if t.kernel == nil then return nil, "kernel is required (path to a bzImage or ELF vmlinux)" end
  local info, err = core.probe_kernel(t.kernel)
  if not info then return nil, err end
  out.kernel = t.kernel
  local ok, terr = check_type(t, "kernel_unpack", "boolean", "mv.vm")
  if not ok then return nil, terr end
  out.kernel_unpack = t.kernel_unpack ~= false
  if t.initrd ~= nil then
    local size, ferr = file_size(t.initrd)
    if not size then return nil, "initrd: " .. ferr end
    if size >= out.memory then
      return nil, string.format("initrd %s (%d bytes) is larger than memory (%d bytes)", t.initrd, size, out.memory)
    end
    out.initrd = t.initrd
  end
  out.cmdline = t.cmdline or "console=ttyS0"
  out.cmdline = memconfig.cmdline(out.cmdline, out)
  if info.cmdline_size and info.cmdline_size > 0 and #out.cmdline > info.cmdline_size then
    return nil, string.format("cmdline is %d bytes, the kernel accepts at most %d", #out.cmdline, info.cmdline_size)
  end
  return true
end

local MAX_DISKS = 31        -- core/vm.h MV_MAX_DISKS
local DISK_FIELDS = { "id", "path", "readonly", "serial", "direct" }

-- one disk: { id, path, readonly, serial, direct } (mv.vm{}'s disks[i] and
-- vm:add_device{type = "disk"}); `where` names it in messages; an absent id
-- stays absent (the caller picks one)
local function validate_disk(d, where)
  if type(d) ~= "table" then
    return nil, string.format("%s must be a table { path = ..., id = ... }, got %s", where, type(d))
  end
  local ok, err = check_keys(d, DISK_FIELDS, where)
  if not ok then return nil, err end
  for _, k in ipairs { "id", "path", "serial" } do
    ok, err = check_type(d, k, "string", where)
    if not ok then return nil, err end
  end
  for _, k in ipairs { "readonly", "direct" } do
    ok, err = check_type(d, k, "boolean", where)
    if not ok then return nil, err end
  end
  if d.path == nil or d.path == "" then return nil, where .. ": path is required (a raw image file)" end
  if d.id ~= nil and (d.id == "" or #d.id > 63) then
    return nil, string.format("%s: id = %s must be 1 to 63 characters", where, describe(d.id))
  end
  if d.serial and #d.serial > 20 then
    return nil, string.format("%s: serial = %s is longer than 20 bytes", where, describe(d.serial))
  end
  local f, ferr = io.open(d.path, d.readonly and "rb" or "r+b")
  if not f then return nil, string.format("%s: path: %s", where, ferr) end
  local _, rerr = f:read(1) -- a directory opens, and fails here
  f:close()
  if rerr then return nil, string.format("%s: path: %s: %s", where, d.path, rerr) end
  return { id = d.id, path = d.path, serial = d.serial, readonly = d.readonly or false, direct = d.direct or false }
end

local function validate_disks(v, out)
  out.disks = {}
  if v == nil then return true end
  if type(v) ~= "table" then
    return nil, string.format("disks must be a list of tables, got %s (%s)", type(v), describe(v))
  end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then
      return nil, string.format("disks: unexpected key %s (disks is a list: { { path = ... }, ... })", describe(k))
    end
  end
  if #v > MAX_DISKS then return nil, string.format("disks: %d disks, at most %d", #v, MAX_DISKS) end
  local ids, paths = {}, {}
  for i = 1, #v do
    local where = string.format("disks[%d]", i)
    local disk, err = validate_disk(v[i], where)
    if not disk then return nil, err end
    disk.id = disk.id or ("disk" .. (i - 1))
    if ids[disk.id] then
      return nil, string.format("%s: id = %s is already used by disks[%d]", where, describe(disk.id), ids[disk.id])
    end
    ids[disk.id] = i
    if paths[disk.path] then
      return nil, string.format("disks[%d]: path %s is already disks[%d]'s image", i, describe(disk.path), paths[disk.path])
    end
    paths[disk.path] = i
    out.disks[i] = disk
  end
  return true
end

-- one virtio-rng: { id } (mv.vm{ rng = { id = ... } } and vm:add_device{type
-- = "rng"}); an absent id stays absent (the caller picks one)
local function validate_rng(d, where)
  if type(d) ~= "table" then return nil, string.format("%s must be a table { id = ... }, got %s", where, type(d)) end
  local ok, err = check_keys(d, { "id" }, where)
  if ok then ok, err = check_type(d, "id", "string", where) end
  if not ok then return nil, err end
  if d.id ~= nil and (d.id == "" or #d.id > 63) then
    return nil, string.format("%s: id = %s must be 1 to 63 characters", where, describe(d.id))
  end
  return { id = d.id }
end

-- mv.vm{ rng = true | { id = ID } }: one virtio-rng, id "rng" unless given;
-- out.rngs is the list the C core reads (hotplug adds to it)
local function validate_rngs(v, out)
  out.rng, out.rngs = false, {}
  if v == nil or v == false then return true end
  if v ~= true and type(v) ~= "table" then
    return nil, string.format("rng must be a boolean or a table { id = ... }, got %s (%s)", type(v), describe(v))
  end
  local r, err = validate_rng(v == true and {} or v, "rng")
  if not r then return nil, err end
  r.id = r.id or "rng"
  for _, list in ipairs { "disks", "nets" } do
    for i, d in ipairs(out[list] or {}) do
      if d.id == r.id then
        return nil, string.format("rng: id = %s is already used by %s[%d]", describe(r.id), list, i)
      end
    end
  end
  out.rng, out.rngs = true, { r }
  return true
end

-- Devices vm:add_device{...} accepts: kind -> validator(spec, where)
-- returning the normalized table for the C core (lua/l_vm_hotplug.c reads
-- it) or nil, message. A new kind is one more entry here, in
-- core/hotplug_kinds.c and in lua/l_vm_hotplug.c's readers.
-- validator(spec, where, ctx): ctx.vm_name is the VM's name.
M.device_kinds = {
  disk = validate_disk,
  net = function(d, where, ctx)
    return require("moonvisor.net_config").validate_one(d, where, { check_keys = check_keys, vm_name = ctx.vm_name })
  end,
  rng = validate_rng,
}

-- The kind of a device spec: spec.type, or "plugin" for { plugin = ... }.
function M.device_kind(spec)
  if type(spec) ~= "table" then return nil end
  if spec.type ~= nil then return spec.type end
  if spec.plugin ~= nil then return "plugin" end
  return nil
end

-- vm:add_device's spec: kind, normalized table | nil, message. `type`
-- names the kind; the rest is what mv.vm{} accepts for one such device.
function M.validate_device(spec, where, ctx)
  if type(spec) ~= "table" then
    return nil, string.format("%s expects a table, got %s", where, type(spec))
  end
  local names = {}
  for k in pairs(M.device_kinds) do names[#names + 1] = k end
  table.sort(names)
  local kind = M.device_kind(spec)
  if kind == nil then
    return nil, string.format("%s: type is required (one of: %s)", where, table.concat(names, ", "))
  end
  local validate = M.device_kinds[kind]
  if not validate then
    return nil, string.format("%s: type = %s is not a device kind (one of: %s)", where, describe(kind),
      table.concat(names, ", "))
  end
  local d = {}
  for k, v in pairs(spec) do if k ~= "type" then d[k] = v end end
  local out, err = validate(d, where, ctx or {})
  if not out then return nil, err end
  return kind, out
end

M.fields = { "name", "cpus", "memory", "kernel", "initrd", "cmdline", "kernel_unpack", "serial", "console", "rng", "disks", "nets", "jail", "balloon", "devices" }

-- jail = { ... }: lua/lib/jail_config.lua
local function validate_jail(v, out, core)
  if v == nil then return true end
  local jail, err = require("moonvisor.jail_config").validate(v, { size = M.size, check_keys = check_keys, core = core })
  out.jail = jail
  return jail ~= nil, err
end

local counter = 0

function M.validate(t, core)
  if type(t) ~= "table" then
    return nil, string.format("mv.vm expects a table, got %s", type(t))
  end
  local ok, err = check_keys(t, M.fields, "mv.vm")
  if not ok then return nil, err end
  for _, k in ipairs { "name", "kernel", "initrd", "cmdline" } do
    ok, err = check_type(t, k, "string", "mv.vm")
    if not ok then return nil, err end
  end
  local out = {}
  counter = counter + 1
  out.name = t.name or ("vm" .. counter)
  if out.name == "" or #out.name > 63 then
    return nil, string.format("name = %s must be 1 to 63 characters", describe(t.name))
  end
  ok, err = validate_cpus(t.cpus, out)
  if ok then ok, err = validate_memory(t.memory == nil and "512M" or t.memory, out, core) end
  if ok then ok, err = validate_serial(t.serial, out) end
  if ok then ok, err = validate_console(t.console, out) end
  if ok then ok, err = validate_boot(t, out, core) end
  if ok then ok, err = validate_disks(t.disks, out) end
  if ok then ok, err = memconfig.balloon(t.balloon, out, M.suggest) end
  if ok then
    ok, err = require("moonvisor.net_config").validate(t.nets, out, { check_keys = check_keys, vm_name = out.name })
  end
  if ok then ok, err = validate_rngs(t.rng, out) end
  if ok then ok, err = validate_jail(t.jail, out, core) end
  if ok then ok, err = require("moonvisor.plugin_config").validate(t.devices, out, core) end
  if not ok then return nil, err end
  return out
end

return M
