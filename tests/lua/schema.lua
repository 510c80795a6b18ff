-- Validates decoded JSON (mv.json.decode) against the reduced copy of
-- Cloud Hypervisor's OpenAPI schema in tests/fixtures/ch_api_schema.json:
-- types, required fields, enums, and no field the schema does not list
-- (for objects that list their properties).
-- Used by tests/lua/restapi_spec.lua and tests/cli/api_test.sh (through
-- tests/cli/schema_check.lua).
local M = {}

local function is_array(v)
  local mt = getmetatable(v)
  return type(v) == "table" and mt ~= nil and mt.__name == "json array"
end

local function check(doc, s, v, where)
  if s["$ref"] then
    local name = s["$ref"]:match("([^/]+)$")
    local sub = doc.schemas[name]
    if not sub then return nil, where .. ": schema " .. name .. " is not in the fixture" end
    return check(doc, sub, v, where)
  end
  local t = s.type
  if t == "object" or (t == nil and s.properties) then
    if type(v) ~= "table" or is_array(v) then return nil, where .. ": expected an object" end
    for _, r in ipairs(s.required or {}) do
      if v[r] == nil then return nil, string.format("%s: required field '%s' missing", where, r) end
    end
    for k, x in pairs(v) do
      local ps = s.properties and s.properties[k] or s.additionalProperties
      -- an object with neither list is free-form (DeviceNode.resources);
      -- with a property list, a field outside it is a bug here
      if ps == nil and s.properties == nil then ps = true end
      if ps == nil then return nil, string.format("%s: field '%s' is not in the schema", where, tostring(k)) end
      if type(ps) == "table" then
        local ok, err = check(doc, ps, x, where .. "." .. tostring(k))
        if not ok then return nil, err end
      end
    end
    return true
  elseif t == "array" then
    if type(v) ~= "table" or (next(v) == nil and not is_array(v)) or (next(v) ~= nil and #v == 0) then
      return nil, where .. ": expected an array"
    end
    for i, x in ipairs(v) do
      if s.items then
        local ok, err = check(doc, s.items, x, string.format("%s[%d]", where, i - 1))
        if not ok then return nil, err end
      end
    end
    return true
  elseif t == "string" then
    if type(v) ~= "string" then return nil, where .. ": expected a string, got " .. type(v) end
  elseif t == "integer" then
    if math.type(v) ~= "integer" then return nil, where .. ": expected an integer, got " .. tostring(v) end
  elseif t == "number" then
    if type(v) ~= "number" then return nil, where .. ": expected a number" end
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return nil, where .. ": expected a boolean, got " .. type(v) end
  end
  if s.enum then
    for _, e in ipairs(s.enum) do if e == v then return true end end
    return nil, string.format("%s: %s is not one of the enum's values", where, tostring(v))
  end
  return true
end

--- validate(doc, "VmInfo", value) -> true | nil, message
function M.validate(doc, name, v)
  local s = doc.schemas[name]
  if not s then return nil, "schema " .. name .. " is not in the fixture" end
  return check(doc, s, v, name)
end

function M.load(decode, path)
  local f = assert(io.open(path, "rb"))
  local doc = assert(decode(f:read("a")))
  f:close()
  return doc
end

return M
