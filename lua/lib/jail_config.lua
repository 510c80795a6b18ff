-- Validation of mv.vm{ jail = { ... } } (docs/security.md "How to run
-- jailed"). validate(v, config) returns the normalized table for the C
-- core (lua/l_vm_jail.c), or nil, message naming the field.
local M = {}

M.fields = { "chroot", "uid", "gid", "netns", "cgroup", "rlimits" }
-- core/jail.c rlimit_names; the byte-valued ones also take sizes ("1G")
M.limits = { "as", "core", "cpu", "data", "fsize", "memlock", "nofile", "nproc", "stack" }
local BYTES = { as = true, core = true, data = true, fsize = true, memlock = true, stack = true }
local MAX_ID = 2147483647   -- libcap-ng takes ids as int
local EISDIR = 21

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- an existing directory, by absolute path
local function check_dir(path, field)
  if type(path) ~= "string" or path == "" then
    return nil, string.format("jail.%s must be a directory path (string), got %s", field, describe(path))
  end
  if path:sub(1, 1) ~= "/" then
    return nil, string.format("jail.%s = %s must be an absolute path", field, describe(path))
  end
  local f, err = io.open(path, "rb")
  if not f then return nil, string.format("jail.%s: %s", field, err) end
  local _, _, code = f:read(1)
  f:close()
  if code ~= EISDIR then return nil, string.format("jail.%s = %s is not a directory", field, describe(path)) end
  return true
end

local function check_id(v, field)
  if v == nil then
    return nil, string.format("jail.%s is required (the unprivileged %s the VMM runs as)", field, field)
  end
  if math.type(v) ~= "integer" then
    return nil, string.format("jail.%s = %s must be an integer", field, describe(v))
  end
  if v == 0 then
    return nil, string.format("jail.%s = 0 would keep root's %s: give an unprivileged one", field, field)
  end
  if v < 1 or v > MAX_ID then
    return nil, string.format("jail.%s = %d is out of range (1..%d)", field, v, MAX_ID)
  end
  return true
end

local function check_netns(v)
  if v == nil then return true end
  if type(v) ~= "string" or v == "" then
    return nil, string.format("jail.netns must be a path (e.g. /var/run/netns/NAME), got %s", describe(v))
  end
  local f, err = io.open(v, "rb")
  if not f then return nil, "jail.netns: " .. err end
  f:close()
  return true
end

local function check_cgroup(v)
  if v == nil then return true end
  local ok, err = check_dir(v, "cgroup")
  if not ok then return nil, err end
  local f = io.open(v .. "/cgroup.procs", "rb")
  if not f then
    return nil, string.format("jail.cgroup = %s is not a cgroup v2 directory (no cgroup.procs)", describe(v))
  end
  f:close()
  return true
end

local function limit_value(name, v, config)
  local field = "jail.rlimits." .. name
  if v == "unlimited" then return -1 end
  if BYTES[name] and type(v) == "string" then return config.size(v, field, config.core) end
  if math.type(v) ~= "integer" or v < 0 then
    return nil, string.format('%s = %s must be a whole number >= 0%s or "unlimited"', field, describe(v),
      BYTES[name] and ", a size (\"1G\")" or "")
  end
  return v
end

local function check_rlimits(v, config)
  if v == nil then return {} end
  if type(v) ~= "table" then
    return nil, string.format("jail.rlimits must be a table { nofile = 1024, ... }, got %s", describe(v))
  end
  local ok, err = config.check_keys(v, M.limits, "jail.rlimits")
  if not ok then return nil, err end
  local out = {}
  for _, name in ipairs(M.limits) do
    if v[name] ~= nil then
      local n, verr = limit_value(name, v[name], config)
      if not n then return nil, verr end
      out[#out + 1] = { name = name, value = n }
    end
  end
  return out
end

function M.validate(v, config)
  if type(v) ~= "table" then
    return nil, string.format("jail must be a table { chroot = DIR, uid = N, gid = N, ... }, got %s", describe(v))
  end
  local ok, err = config.check_keys(v, M.fields, "jail")
  if not ok then return nil, err end
  if v.chroot == nil then return nil, "jail.chroot is required (the directory that becomes the VMM's root)" end
  ok, err = check_dir(v.chroot, "chroot")
  if ok and v.chroot:match("^/+$") then
    ok, err = nil, 'jail.chroot = "/" would not confine anything'
  end
  if ok then ok, err = check_id(v.uid, "uid") end
  if ok then ok, err = check_id(v.gid, "gid") end
  if ok then ok, err = check_netns(v.netns) end
  if ok then ok, err = check_cgroup(v.cgroup) end
  if not ok then return nil, err end
  local rlimits, rerr = check_rlimits(v.rlimits, config)
  if not rlimits then return nil, rerr end
  return { chroot = v.chroot, uid = v.uid, gid = v.gid, netns = v.netns, cgroup = v.cgroup, rlimits = rlimits }
end

return M
