-- Plugin devices from Lua (core/plugin.h, docs/plugins.md):
--   mv.vm{ devices = { { plugin = PATH, type = ..., <options> } } }
--   vm:add_device{ plugin = PATH, ... }   (at runtime; PCI/virtio ones hotplugged)
--   vm:device(id) -> handle: dev:<method>(...) calls the plugin's Lua methods
--   vm:plugin_devices() -> { {id, plugin, type, path, running, methods} }
--   vm:on("plugin:NAME", fn): events the plugins emit
--   mv.load_plugin(path) -> name, version: loads a plugin early (before the
--   seccomp filter goes on, for vm:add_device later)
return function(core, mv, VM, check, vm_of, hotplug)
  local plugin_config = require "moonvisor.plugin_config"

  local Device = {}
  Device.__name = "moonvisor.Device"

  function Device.__index(dev, key)
    local m = rawget(Device, key)
    if m then return m end
    return function(self, ...)
      if self ~= dev then error(string.format("call device methods as dev:%s(...)", key), 2) end
      local h = check(rawget(dev, "vm"), 2)
      return core.plugin_call(h, rawget(dev, "id"), key, ...)
    end
  end

  function Device.__tostring(dev)
    return string.format("moonvisor.Device(%s)", rawget(dev, "id"))
  end

  local function handle_of(vm, id)
    for _, d in ipairs(core.plugin_devices(check(vm, 3))) do
      if d.id == id then
        return setmetatable({ vm = vm, id = id, type = d.type, plugin = d.plugin }, Device)
      end
    end
    return nil
  end

  --- vm:device(id) -> the plugin device's handle (nil if there is none)
  function VM:device(id)
    check(self)
    if type(id) ~= "string" then error("vm:device: id must be a string, got " .. type(id), 2) end
    return handle_of(self, id)
  end

  function VM:plugin_devices() return core.plugin_devices(check(self)) end

  local base_add = VM.add_device
  --- vm:add_device{ plugin = PATH, type = ..., id = ..., <options> } ->
  --- handle | nil, err. Created at once when the VM runs, and at every
  --- boot from then on. A device with a PCI function or virtio device is
  --- hotplugged: in a task this waits for its driver (device_added; at
  --- most timeout = 20 s), and the handle has its pci address;
  --- vm:remove_device(id) ejects it.
  --- Specs without plugin go to PCI hotplug (lua/lib/hotplug.lua).
  function VM:add_device(spec)
    if type(spec) ~= "table" or spec.plugin == nil then
      if base_add then return base_add(self, spec) end
      error("vm:add_device expects a table { plugin = PATH, ... }", 2)
    end
    local h = check(self)
    local timeout
    spec, timeout = hotplug.split_timeout(spec)
    local c, err = plugin_config.validate_one(spec, "vm:add_device", core)
    if not c then error(err, 2) end
    local id, pci = core.plugin_add(h, c)
    if not id then return nil, pci end
    if pci then
      local ok, werr = hotplug.wait_added(self, id, pci, timeout)
      if not ok and werr then return nil, werr end
    end
    local dev = handle_of(self, id)
    if dev then rawset(dev, "pci", pci) end
    return dev
  end

  --- mv.load_plugin(path) -> name, version | nil, err
  function mv.load_plugin(path)
    if type(path) ~= "string" or path == "" then error("mv.load_plugin: path must be a non-empty string", 2) end
    return core.plugin_load(path)
  end

  -- events from plugins: "plugin:NAME", ev = { event, device, fields..., vm }
  core.plugin_set_dispatch(function(handle, event, ev)
    local vm = vm_of(handle)
    if not vm then return end
    ev.vm = vm
    for _, sub in ipairs { table.unpack(vm._subs[event] or {}) } do
      local ok, r = xpcall(sub.fn, debug.traceback, ev)
      if not ok then
        io.stderr:write(string.format("moonvisor: error in '%s' handler of vm '%s': %s\n", event, vm.name, r))
      end
    end
  end)

  -- called by mv.vm{} once the VM exists: its configured devices
  return function(handle, cfg)
    if cfg.devices and #cfg.devices > 0 then return core.plugin_attach(handle, cfg.devices) end
    return true
  end
end
