-- mv.vm{}'s memory-related fields, for lua/lib/config.lua:
--   memory = { size = "512M", hotplug = "4G", block = "2M", ... }
--   balloon = true | { stats = SECONDS, free_page_reporting = BOOL, deflate_on_oom = BOOL,
--                      pressure = { medium = F, critical = F, hysteresis = F } }
-- Each function returns true (filling `out`), or nil, message.
local M = {}

local MiB = 1024 * 1024
local HOTPLUG_ALIGN = 128 * MiB     -- Linux's x86 memory block (core/x86/layout.h)
local MAX_TOTAL = 1 << 46           -- 64T, as for memory.size
M.DEFAULT_BLOCK = 2 * MiB
M.PRESSURE_DEFAULTS = { medium = 0.20, critical = 0.10, hysteresis = 0.05 }

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function pow2(n) return n > 0 and (n & (n - 1)) == 0 end

-- memory.hotplug / memory.block (the table form), after out.memory is set
function M.hotplug(v, out, size)
  out.hotplug, out.hotplug_block = 0, 0
  if v.block ~= nil and v.hotplug == nil then
    return nil, "memory: block = " .. describe(v.block) .. " needs hotplug = SIZE (the virtio-mem region)"
  end
  if v.hotplug == nil then return true end
  local hp, err = size(v.hotplug, "memory.hotplug")
  if not hp then return nil, err end
  local block = M.DEFAULT_BLOCK
  if v.block ~= nil then
    block, err = size(v.block, "memory.block")
    if not block then return nil, err end
    if not pow2(block) or block < 2 * MiB or block > HOTPLUG_ALIGN then
      return nil, string.format("memory.block = %s must be a power of two from 2M to 128M", describe(v.block))
    end
  end
  if hp == 0 or hp % HOTPLUG_ALIGN ~= 0 then
    return nil, string.format("memory.hotplug = %s must be a non-zero multiple of 128M (Linux's memory block)",
      describe(v.hotplug))
  end
  if out.memory + hp > MAX_TOTAL then
    return nil, string.format("memory.size + memory.hotplug = %d bytes is too large (maximum 64T)", out.memory + hp)
  end
  out.hotplug, out.hotplug_block = hp, block
  return true
end

-- The guest must online what virtio-mem plugs: unless the command line
-- already says how (memhp_default_state=), add online_movable before any
-- " -- " (the init's arguments).
function M.cmdline(cmdline, out)
  if (out.hotplug or 0) == 0 or cmdline:find("memhp_default_state=", 1, true) then return cmdline end
  local opt = "memhp_default_state=online_movable"
  local head, tail = cmdline:match("^(.-) %-%- (.*)$")
  if head then return head .. " " .. opt .. " -- " .. tail end
  if cmdline:match("^%-%- ") then return opt .. " " .. cmdline end
  return cmdline .. " " .. opt
end

local function check_keys(t, valid, where, suggest)
  local set = {}
  for _, k in ipairs(valid) do set[k] = true end
  for k in pairs(t) do
    if type(k) ~= "string" then return nil, string.format("%s: unexpected non-string key %s", where, tostring(k)) end
    if not set[k] then return nil, string.format("%s: unknown field '%s'%s", where, k, suggest(k, valid)) end
  end
  return true
end

local function fraction(p, k, where)
  local v = p[k]
  if type(v) ~= "number" or v ~= v or v <= 0 or v >= 1 then
    return nil, string.format("%s.%s = %s must be a fraction of total memory between 0 and 1", where, k, describe(v))
  end
  return v
end

local function pressure(p, suggest)
  local out = {}
  for k, v in pairs(M.PRESSURE_DEFAULTS) do out[k] = v end
  if p == nil then return out end
  if type(p) ~= "table" then
    return nil, string.format("balloon.pressure must be a table { medium = F, critical = F, hysteresis = F }, got %s",
      describe(p))
  end
  local ok, err = check_keys(p, { "medium", "critical", "hysteresis" }, "balloon.pressure", suggest)
  if not ok then return nil, err end
  for _, k in ipairs { "medium", "critical", "hysteresis" } do
    if p[k] ~= nil then
      out[k], err = fraction(p, k, "balloon.pressure")
      if not out[k] then return nil, err end
    end
  end
  if out.critical >= out.medium then
    return nil, string.format("balloon.pressure: critical = %g must be below medium = %g (available/total)",
      out.critical, out.medium)
  end
  return out
end

function M.balloon(v, out, suggest)
  out.balloon = false
  if v == nil or v == false then return true end
  if v == true then v = {} end
  if type(v) ~= "table" then
    return nil, string.format("balloon = %s: use true or { stats = SECONDS, free_page_reporting = true, " ..
      "deflate_on_oom = true, pressure = {...} }", describe(v))
  end
  local ok, err = check_keys(v, { "stats", "free_page_reporting", "deflate_on_oom", "pressure" }, "balloon", suggest)
  if not ok then return nil, err end
  for _, k in ipairs { "free_page_reporting", "deflate_on_oom" } do
    if v[k] ~= nil and type(v[k]) ~= "boolean" then
      return nil, string.format("balloon: %s must be a boolean, got %s (%s)", k, type(v[k]), describe(v[k]))
    end
  end
  local stats = v.stats or 0
  if type(stats) ~= "number" or stats ~= stats or stats < 0 or (stats > 0 and stats < 0.1) or stats > 3600 then
    return nil, string.format("balloon.stats = %s must be a number of seconds from 0.1 to 3600 (0: no statistics)",
      describe(v.stats))
  end
  local p, perr = pressure(v.pressure, suggest)
  if not p then return nil, perr end
  if v.pressure ~= nil and stats == 0 then
    return nil, "balloon.pressure needs balloon.stats (the statistics it is computed from)"
  end
  out.balloon = true
  out.balloon_stats = stats
  out.balloon_free_page_reporting = v.free_page_reporting or false
  out.balloon_deflate_on_oom = v.deflate_on_oom or false
  out.balloon_pressure = p
  return true
end

return M
