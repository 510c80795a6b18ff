-- devices = { { plugin = PATH, type = NAME, id = ID, <options> }, ... } in
-- mv.vm{}, and the table of vm:add_device{ plugin = PATH, ... }. The
-- plugin is loaded here (core.plugin_devcfg), so a missing file, a shared
-- object that is not a plugin, an ABI mismatch, a failing entry point, an
-- unknown type or option, or an option of the wrong type are refused
-- before any VM exists.
local M = {}

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- one device table -> a configured device (userdata) | nil, message
function M.validate_one(d, where, core)
  if type(d) ~= "table" then
    return nil, string.format("%s must be a table { plugin = PATH, ... }, got %s", where, type(d))
  end
  if type(d.plugin) ~= "string" or d.plugin == "" then
    return nil, string.format("%s: plugin = PATH (the plugin's shared object) is required, got %s", where,
      describe(d.plugin))
  end
  for _, k in ipairs { "type", "id" } do
    if d[k] ~= nil and type(d[k]) ~= "string" then
      return nil, string.format("%s: %s must be a string, got %s (%s)", where, k, type(d[k]), describe(d[k]))
    end
  end
  if d.id ~= nil and (d.id == "" or #d.id > 63 or not d.id:match("^[%w_%-%.]+$")) then
    return nil, string.format("%s: id = %s must be 1 to 63 letters, digits, '_', '-' or '.'", where, describe(d.id))
  end
  return core.plugin_devcfg(d, where)
end

function M.validate(v, out, core)
  out.devices = {}
  if v == nil then return true end
  if type(v) ~= "table" then
    return nil, string.format("devices must be a list of tables, got %s (%s)", type(v), describe(v))
  end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then
      return nil, string.format("devices: unexpected key %s (devices is a list: { { plugin = PATH, ... }, ... })",
        describe(k))
    end
  end
  local ids = {}
  for i = 1, #v do
    local where = string.format("devices[%d]", i)
    local id = type(v[i]) == "table" and v[i].id
    if id and ids[id] then
      return nil, string.format("%s: id = %s is already devices[%d]'s", where, describe(id), ids[id])
    end
    local c, err = M.validate_one(v[i], where, core)
    if not c then return nil, err end
    if id then ids[id] = i end
    out.devices[i] = c
  end
  return true
end

return M
