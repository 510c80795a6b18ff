-- Validation of mv.vm{ nets = { ... } } (virtio-net NICs over taps,
-- docs/lua-api.md). validate(v, out, ctx) fills out.nets with normalized
-- tables for the C core (lua/l_vm.c read_nets) or returns nil, message;
-- validate_one(d, where, ctx, index) checks one NIC (vm:add_device too).
-- ctx = { check_keys = ..., vm_name = ... } from lua/lib/config.lua.
local M = {}

M.fields = { "id", "tap", "mac", "vhost" }
M.MAX = 8                   -- core/vm.h MV_MAX_NETS
local IFNAMSIZ = 16

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- A stable, locally administered unicast MAC from the VM's name and the
-- NIC's id (FNV-1a), so a VM keeps its address across runs.
function M.default_mac(vm_name, id)
  local h = 0x811c9dc5
  for c in (vm_name .. "\0" .. id):gmatch(".") do
    h = ((h ~ c:byte()) * 0x01000193) & 0xffffffff
  end
  return string.format("52:54:%02x:%02x:%02x:%02x", h >> 24, (h >> 16) & 255, (h >> 8) & 255, h & 255)
end

local function check_mac(mac, where)
  if type(mac) ~= "string" or not mac:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then
    return nil, string.format('%s: mac = %s is not a MAC address like "52:54:00:12:34:56"', where, describe(mac))
  end
  mac = mac:lower()
  local first = tonumber(mac:sub(1, 2), 16)
  if first & 1 == 1 then
    return nil, string.format("%s: mac = %s is a multicast address (the first byte's low bit is set)", where, describe(mac))
  end
  if mac == "00:00:00:00:00:00" then return nil, string.format("%s: mac = %s is all zeroes", where, describe(mac)) end
  return mac
end

local function check_tap(tap, where)
  if type(tap) ~= "string" then
    return nil, string.format("%s: tap is required (the name of a tap interface, e.g. \"tap0\"), got %s", where, describe(tap))
  end
  if tap == "" or #tap >= IFNAMSIZ or tap:find("[/%s:]") or tap == "." or tap == ".." then
    return nil, string.format("%s: tap = %s is not an interface name (1 to %d characters, no '/', ':' or spaces)",
      where, describe(tap), IFNAMSIZ - 1)
  end
  return tap
end

function M.validate_one(d, where, ctx, index)
  if type(d) ~= "table" then
    return nil, string.format('%s must be a table { tap = "tap0", ... }, got %s', where, type(d))
  end
  local ok, err = ctx.check_keys(d, M.fields, where)
  if not ok then return nil, err end
  if d.id ~= nil and (type(d.id) ~= "string" or d.id == "" or #d.id > 63) then
    return nil, string.format("%s: id = %s must be a string of 1 to 63 characters", where, describe(d.id))
  end
  if d.vhost ~= nil and type(d.vhost) ~= "boolean" then
    return nil, string.format("%s: vhost must be a boolean, got %s (%s)", where, type(d.vhost), describe(d.vhost))
  end
  local tap, terr = check_tap(d.tap, where)
  if not tap then return nil, terr end
  local id = d.id or ("net" .. ((index or 1) - 1))
  local mac, merr = d.mac
  if mac == nil then mac = M.default_mac(ctx.vm_name or "", id) else mac, merr = check_mac(mac, where) end
  if not mac then return nil, merr end
  return { id = id, tap = tap, mac = mac, vhost = d.vhost or false }
end

function M.validate(v, out, ctx)
  out.nets = {}
  if v == nil then return true end
  if type(v) ~= "table" then
    return nil, string.format("nets must be a list of tables, got %s (%s)", type(v), describe(v))
  end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then
      return nil, string.format('nets: unexpected key %s (nets is a list: { { tap = "tap0" }, ... })', describe(k))
    end
  end
  if #v > M.MAX then return nil, string.format("nets: %d NICs, at most %d", #v, M.MAX) end
  local seen = { id = {}, tap = {}, mac = {} }
  for _, disk in ipairs(out.disks or {}) do
    if disk.id then seen.id[disk.id] = "a disk" end
  end
  for i = 1, #v do
    local where = string.format("nets[%d]", i)
    local net, err = M.validate_one(v[i], where, ctx, i)
    if not net then return nil, err end
    for _, k in ipairs { "id", "tap", "mac" } do
      if seen[k][net[k]] then
        return nil, string.format("%s: %s = %s is already used by %s", where, k, describe(net[k]), seen[k][net[k]])
      end
      seen[k][net[k]] = string.format("nets[%d]", i)
    end
    out.nets[i] = net
  end
  return true
end

return M
