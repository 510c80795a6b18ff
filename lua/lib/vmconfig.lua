-- Cloud Hypervisor's VmConfig (and DiskConfig, NetConfig) as JSON tables
-- <-> moonvisor's mv.vm{} tables. to_mv checks every field against the
-- field list of Cloud Hypervisor's OpenAPI schema (vmm/src/api/openapi/
-- cloud-hypervisor.yaml): a field the schema does not have is "unknown";
-- one it has that moonvisor cannot honour is "not supported" unless it
-- holds Cloud Hypervisor's default. The result then goes through the same
-- validator as mv.vm{} (lua/lib/config.lua), so a VM created over the API
-- is configured exactly like one created from Lua. Messages name the field
-- as a path: "VmConfig.disks[1].readonly must be a boolean, got string".
local config = require "moonvisor.config"

local M = {}

-- Every field of the schema's objects that moonvisor reads, with its JSON
-- type; DEFAULTS below lists the fields it ignores when they hold the
-- schema's default, NOT_SUPPORTED all others (any value is refused).
local FIELDS = {
  VmConfig = { cpus = "CpusConfig", memory = "MemoryConfig", payload = "PayloadConfig",
               disks = "[DiskConfig]", net = "[NetConfig]", rng = "RngConfig", balloon = "BalloonConfig",
               serial = "SerialConfig", console = "ConsoleConfig", pvpanic = "boolean",
               iommu = "boolean", watchdog = "boolean", landlock_enable = "boolean" },
  PayloadConfig = { kernel = "string", cmdline = "string", initramfs = "string" },
  CpusConfig = { boot_vcpus = "integer", max_vcpus = "integer", kvm_hyperv = "boolean", nested = "boolean" },
  MemoryConfig = { size = "integer", hotplug_size = "integer", hotplugged_size = "integer",
                   hotplug_method = "string", shared = "boolean", hugepages = "boolean",
                   mergeable = "boolean", prefault = "boolean", reserve = "boolean", thp = "boolean" },
  DiskConfig = { path = "string", readonly = "boolean", direct = "boolean", id = "string", serial = "string",
                 iommu = "boolean", num_queues = "integer", queue_size = "integer", vhost_user = "boolean",
                 pci_segment = "integer", backing_files = "boolean", sparse = "boolean",
                 image_type = "string", lock_granularity = "string" },
  NetConfig = { tap = "string", mac = "string", id = "string", ip = "string", mask = "string",
                iommu = "boolean", num_queues = "integer", queue_size = "integer", vhost_user = "boolean",
                vhost_mode = "string", pci_segment = "integer", offload_tso = "boolean",
                offload_ufo = "boolean", offload_csum = "boolean" },
  RngConfig = { src = "string", iommu = "boolean", pci_segment = "integer", id = "string" },
  BalloonConfig = { size = "integer", deflate_on_oom = "boolean", free_page_reporting = "boolean",
                    iommu = "boolean", pci_segment = "integer", id = "string" },
  SerialConfig = { mode = "string", file = "string", socket = "string" },
  ConsoleConfig = { mode = "string", file = "string", socket = "string", iommu = "boolean",
                    pci_segment = "integer", id = "string" },
  VmResize = { desired_vcpus = "integer", desired_ram = "integer", desired_balloon = "integer" },
  VmRemoveDevice = { id = "string" },
}

-- Ignored when equal to Cloud Hypervisor's default (what its own clients
-- send when the user did not ask for anything).
local DEFAULTS = {
  VmConfig = { iommu = false, watchdog = false, landlock_enable = false },
  CpusConfig = { kvm_hyperv = false, nested = true },
  MemoryConfig = { hotplugged_size = 0, mergeable = false, prefault = false, reserve = false, thp = true },
  DiskConfig = { iommu = false, num_queues = 1, queue_size = 128, vhost_user = false, pci_segment = 0,
                 backing_files = false, sparse = true, image_type = { "Raw", "Unknown" },
                 lock_granularity = "ByteRange" },
  NetConfig = { ip = "192.168.249.1", mask = "255.255.255.0", iommu = false, num_queues = 2, queue_size = 256,
                vhost_user = false, vhost_mode = "Client", pci_segment = 0, offload_tso = true,
                offload_ufo = true, offload_csum = true },
  RngConfig = { src = "/dev/urandom", iommu = false, pci_segment = 0 },
  BalloonConfig = { iommu = false, pci_segment = 0 },
  ConsoleConfig = { iommu = false, pci_segment = 0 },
}

-- Fields of the schema's objects that moonvisor does not implement at all.
local NOT_SUPPORTED = {
  VmConfig = { "rate_limit_groups", "fs", "generic_vhost_user", "pmem", "debug_console", "devices",
               "user_devices", "vdpa", "vsock", "numa", "rtc", "pci_segments", "platform", "tpm",
               "landlock_rules" },
  PayloadConfig = { "firmware", "igvm", "host_data" },
  CpusConfig = { "topology", "max_phys_bits", "affinity", "features", "core_scheduling" },
  MemoryConfig = { "hugepage_size", "zones" },
  DiskConfig = { "vhost_socket", "rate_limiter_config", "pci_device_id", "rate_limit_group", "queue_affinity" },
  NetConfig = { "host_mac", "mtu", "vhost_socket", "pci_device_id", "rate_limiter_config" },
  RngConfig = { "pci_device_id" },
  BalloonConfig = { "pci_device_id" },
  ConsoleConfig = { "pci_device_id" },
}

M.FIELDS, M.NOT_SUPPORTED, M.DEFAULTS = FIELDS, NOT_SUPPORTED, DEFAULTS

local function is_array(v)
  local mt = getmetatable(v)
  if mt and mt.__name == "json array" then return true end
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n > 0 and n == #v
end
M.is_array = is_array

local function json_type(v)
  if math.type(v) == "integer" then return "integer" end
  if type(v) == "number" then return "number" end
  if type(v) == "table" then return is_array(v) and "array" or "object" end
  if type(v) == "userdata" then return "null" end
  return type(v)
end

local function is_default(spec, k, v)
  local d = DEFAULTS[spec] and DEFAULTS[spec][k]
  if type(d) == "table" then
    for _, x in ipairs(d) do if x == v then return true end end
    return false
  end
  return d ~= nil and d == v
end

local function contains(list, k)
  for _, x in ipairs(list or {}) do if x == k then return true end end
  return false
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local check

local function check_value(v, want, where)
  local got = json_type(v)
  local list_of = want:match("^%[(.+)%]$")
  if list_of then
    if got ~= "array" then return nil, string.format("%s must be an array, got %s", where, got) end
    for i, item in ipairs(v) do
      local ok, err = check(item, list_of, string.format("%s[%d]", where, i - 1))
      if not ok then return nil, err end
    end
    return true
  elseif FIELDS[want] then
    return check(v, want, where)
  end
  if got ~= want then return nil, string.format("%s must be %s %s, got %s", where,
    want == "integer" and "an" or "a", want, got) end
  return true
end

-- Checks the object v against spec (a key of FIELDS).
function check(v, spec, where)
  if json_type(v) ~= "object" then
    return nil, string.format("%s must be an object (%s), got %s", where, spec, json_type(v))
  end
  local fields, valid = FIELDS[spec], sorted_keys(FIELDS[spec])
  for _, k in ipairs(NOT_SUPPORTED[spec] or {}) do valid[#valid + 1] = k end
  for _, k in ipairs(sorted_keys(v)) do
    local sub = where .. "." .. k
    if contains(NOT_SUPPORTED[spec], k) then
      return nil, string.format("%s is not supported by moonvisor", sub)
    end
    if not fields[k] then
      return nil, string.format("unknown field '%s' in %s%s", k, where, config.suggest(k, valid))
    end
    local ok, err = check_value(v[k], fields[k], sub)
    if not ok then return nil, err end
    if DEFAULTS[spec] and DEFAULTS[spec][k] ~= nil and not is_default(spec, k, v[k]) then
      local d = DEFAULTS[spec][k]
      if type(d) == "table" then d = table.concat(d, " or ") end
      return nil, string.format("%s = %s is not supported by moonvisor (only %s)", sub, tostring(v[k]), tostring(d))
    end
  end
  return true
end
M.check = check

local function positive(v, where)
  if v ~= nil and v <= 0 then return nil, string.format("%s must be > 0, got %d", where, v) end
  return true
end

local function map_cpus(c, out)
  if not c then return true end
  if c.boot_vcpus == nil then return nil, "VmConfig.cpus.boot_vcpus is required" end
  local ok, err = positive(c.boot_vcpus, "VmConfig.cpus.boot_vcpus")
  if not ok then return nil, err end
  if c.max_vcpus ~= nil and c.max_vcpus ~= c.boot_vcpus then
    return nil, string.format("VmConfig.cpus.max_vcpus = %d: CPU hotplug is not supported by moonvisor " ..
      "(max_vcpus must equal boot_vcpus = %d)", c.max_vcpus, c.boot_vcpus)
  end
  out.cpus = c.boot_vcpus
  return true
end

local function map_memory(m, out)
  if not m then return true end
  if m.size == nil then return nil, "VmConfig.memory.size is required" end
  local ok, err = positive(m.size, "VmConfig.memory.size")
  if not ok then return nil, err end
  local t = { size = m.size }
  if m.shared ~= nil then t.shared = m.shared end
  if m.hugepages ~= nil then t.hugepages = m.hugepages end
  if m.hotplug_size and m.hotplug_size > 0 then
    local method = m.hotplug_method or "Acpi"
    if method:lower() ~= "virtiomem" then
      return nil, string.format('VmConfig.memory.hotplug_method = "%s" is not supported by moonvisor ' ..
        '(only "VirtioMem")', method)
    end
    t.hotplug = m.hotplug_size
  elseif m.hotplug_method and not ({ acpi = true, virtiomem = true })[m.hotplug_method:lower()] then
    return nil, string.format('VmConfig.memory.hotplug_method = "%s": expected "Acpi" or "VirtioMem"', m.hotplug_method)
  end
  out.memory = (next(t, next(t)) == nil) and m.size or t
  return true
end

local function map_payload(p, out)
  if not p then return nil, "VmConfig.payload is required" end
  if not p.kernel then return nil, "VmConfig.payload.kernel is required (moonvisor boots a kernel, no firmware)" end
  out.kernel, out.initrd, out.cmdline = p.kernel, p.initramfs, p.cmdline
  return true
end

-- mode "Tty" | "Null" | "Off" | "File" | "Socket" (Pty is not supported)
local function sink(c, where)
  local mode = c.mode
  if mode == nil then return nil, where .. ".mode is required" end
  if c.file ~= nil and mode ~= "File" then return nil, where .. '.file goes with mode "File"' end
  if c.socket ~= nil and mode ~= "Socket" then return nil, where .. '.socket goes with mode "Socket"' end
  if mode == "File" then
    if not c.file then return nil, where .. '.file is required with mode "File"' end
    return "file", c.file
  elseif mode == "Socket" then
    if not c.socket then return nil, where .. '.socket is required with mode "Socket"' end
    return "socket", c.socket
  elseif mode == "Tty" then return "stdio"
  elseif mode == "Null" then return "null"
  elseif mode == "Off" then return "off"
  elseif mode == "Pty" then return nil, where .. '.mode = "Pty" is not supported by moonvisor'
  end
  return nil, string.format('%s.mode = "%s": expected "Off", "Tty", "File", "Socket" or "Null"', where, mode)
end

local function map_consoles(s, c, out)
  out.serial = "null"
  if s then
    local kind, path = sink(s, "VmConfig.serial")
    if not kind then return nil, path end
    if kind == "file" or kind == "socket" then out.serial = { [kind] = path }
    elseif kind == "off" then out.serial = "null"
    else out.serial = kind end
  end
  if c then
    local kind, path = sink(c, "VmConfig.console")
    if not kind then return nil, path end
    if kind == "null" then out.console = "virtio"
    elseif kind == "stdio" then out.console = { type = "virtio", stdio = true }
    elseif kind == "file" or kind == "socket" then out.console = { type = "virtio", [kind] = path } end
  end
  return true
end

--- DiskConfig -> an entry of mv.vm{ disks = ... } (also vm:add_disk{})
function M.disk_to_mv(d, where)
  where = where or "DiskConfig"
  local ok, err = check(d, "DiskConfig", where)
  if not ok then return nil, err end
  if d.path == nil then return nil, where .. ".path is required" end
  return { path = d.path, id = d.id, readonly = d.readonly, direct = d.direct, serial = d.serial }
end

--- NetConfig -> an entry of mv.vm{ nets = ... } (also vm:add_net{})
function M.net_to_mv(n, where)
  where = where or "NetConfig"
  local ok, err = check(n, "NetConfig", where)
  if not ok then return nil, err end
  if n.tap == nil then return nil, where .. ".tap is required (moonvisor attaches to an existing or new tap)" end
  return { tap = n.tap, id = n.id, mac = n.mac }
end

local function map_devices(v, out)
  if v.disks then
    out.disks = {}
    for i, d in ipairs(v.disks) do
      local disk, err = M.disk_to_mv(d, string.format("VmConfig.disks[%d]", i - 1))
      if not disk then return nil, err end
      out.disks[i] = disk
    end
  end
  if v.net then
    out.nets = {}
    for i, n in ipairs(v.net) do
      local net, err = M.net_to_mv(n, string.format("VmConfig.net[%d]", i - 1))
      if not net then return nil, err end
      out.nets[i] = net
    end
  end
  if v.rng then out.rng = true end
  if v.balloon then
    out.balloon = { deflate_on_oom = v.balloon.deflate_on_oom, free_page_reporting = v.balloon.free_page_reporting }
  end
  return true
end

--- VmConfig (decoded JSON) -> mv.vm{} table, or nil, message naming the field.
function M.to_mv(v)
  local ok, err = check(v, "VmConfig", "VmConfig")
  if not ok then return nil, err end
  local out = {}
  ok, err = map_payload(v.payload, out)
  if ok then ok, err = map_cpus(v.cpus, out) end
  if ok then ok, err = map_memory(v.memory, out) end
  if ok then ok, err = map_consoles(v.serial, v.console, out) end
  if ok then ok, err = map_devices(v, out) end
  if not ok then return nil, err end
  return out
end

local function serial_cfg(kind, path)
  if kind == "stdio" then return { mode = "Tty" } end
  if kind == "file" then return { mode = "File", file = path } end
  if kind == "socket" then return { mode = "Socket", socket = path } end
  return { mode = "Null" }
end

--- The normalized configuration of a VM (what config.validate returned)
--- -> VmConfig, for vm.info.
function M.from_cfg(cfg, array, balloon_size)
  local v = {
    payload = { kernel = cfg.kernel, initramfs = cfg.initrd, cmdline = cfg.cmdline },
    cpus = { boot_vcpus = cfg.cpus, max_vcpus = cfg.cpus },
    memory = { size = cfg.memory, shared = cfg.shared or false, hugepages = cfg.hugepages or false },
    serial = serial_cfg(cfg.serial, cfg.serial_path),
    console = cfg.virtio_console and serial_cfg(cfg.hvc, cfg.hvc_path) or { mode = "Off" },
    pvpanic = true,
  }
  if math.type(cfg.hotplug) == "integer" and cfg.hotplug > 0 then -- virtio-mem (lua/lib/memconfig.lua)
    v.memory.hotplug_size, v.memory.hotplug_method = cfg.hotplug, "VirtioMem"
  end
  if cfg.balloon == true then
    v.balloon = { size = balloon_size or 0, deflate_on_oom = cfg.balloon_deflate_on_oom or false,
                  free_page_reporting = cfg.balloon_free_page_reporting or false }
  end
  if cfg.rng then v.rng = { src = "/dev/urandom" } end
  v.disks = array {}
  for i, d in ipairs(cfg.disks or {}) do
    v.disks[i] = { id = d.id, path = d.path, readonly = d.readonly, direct = d.direct, serial = d.serial }
  end
  if cfg.nets then
    v.net = array {}
    for i, n in ipairs(cfg.nets) do v.net[i] = { id = n.id, tap = n.tap, mac = n.mac } end
  end
  return v
end

return M
