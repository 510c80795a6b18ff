-- PCI hotplug from Lua (core/hotplug.h): vm:add_device, vm:add_disk,
-- vm:add_net, vm:add_rng, vm:remove_device. They wait for the guest, so
-- they run in a task. A malformed spec raises (at the caller's line);
-- what the VM or the guest refuses returns nil, message and leaves the VM
-- as it was.
return function(core, task, VM, check, config)
  local DEFAULT_TIMEOUT = 20

  -- errors are raised at `lvl` (counted from these helpers)
  local function need_task(what, lvl)
    if not task.current() then
      error(what .. " must be called from a task (wrap the code in mv.spawn(function() ... end))", lvl)
    end
  end

  local function check_timeout(t, what, lvl)
    if t == nil then return DEFAULT_TIMEOUT end
    if type(t) ~= "number" or t <= 0 then
      error(string.format("%s: timeout = %s must be a number of seconds > 0", what, tostring(t)), lvl)
    end
    return t
  end

  -- Waits for `event` ("device_added"/"device_removed") about device id;
  -- the VM stopping ends the wait too. -> ev | nil, why
  local function wait_device(vm, what, event, id, timeout)
    return task.wait(what, timeout, function(wake)
      local sub = vm:on(event, function(ev) if ev.id == id then wake(ev) end end)
      local stop = vm:on("stopped", function() wake(nil, "stopped") end)
      return function() sub.cancel() stop.cancel() end
    end)
  end

  local function add(vm, spec, what, level)
    local h = check(vm, level + 1)
    need_task(what, level + 2)
    local timeout = DEFAULT_TIMEOUT
    if type(spec) == "table" and spec.timeout ~= nil then
      timeout = check_timeout(spec.timeout, what, level + 2)
      local copy = {}
      for k, v in pairs(spec) do if k ~= "timeout" then copy[k] = v end end
      spec = copy
    end
    local kind, cfg = config.validate_device(spec, what, { vm_name = vm.name })
    if not kind then error(cfg, level + 1) end
    local id, pci = core.vm_add_device(h, kind, cfg)
    if not id then return nil, pci end
    local ev, why = wait_device(vm, what, "device_added", id, timeout)
    if not ev then
      if why == "stopped" then return nil, string.format("vm '%s' stopped before %s was ready", vm.name, id) end
      return nil, string.format("the guest did not start a driver for %s (%s) within %g s; it stays plugged " ..
        "(vm:remove_device(%q) takes it out)", id, pci, timeout, id)
    end
    return { id = id, pci = pci, type = ev.type }
  end

  --- vm:add_device{type = KIND, ..., timeout = 20} -> {id, pci, type} | nil, err.
  --- KIND's fields are those mv.vm{} accepts for one such device (type =
  --- "disk": a disks[] entry). Returns once the guest's driver is up.
  -- (no tail calls: error levels count on these frames)
  function VM:add_device(spec)
    local dev, err = add(self, spec, "vm:add_device", 2)
    return dev, err
  end

  local function with_type(spec, kind, what)
    if type(spec) ~= "table" then error(string.format("%s expects a table, got %s", what, type(spec)), 3) end
    if spec.type ~= nil then error(string.format("%s: no type field (it is always %q)", what, kind), 3) end
    local t = { type = kind }
    for k, v in pairs(spec) do t[k] = v end
    return t
  end

  --- vm:add_disk{path, id, readonly, serial, direct, timeout} = add_device of a disk
  function VM:add_disk(spec)
    local dev, err = add(self, with_type(spec, "disk", "vm:add_disk"), "vm:add_disk", 2)
    return dev, err
  end

  --- vm:add_net{...} = add_device of a network interface (as in nets = {...})
  function VM:add_net(spec)
    if not config.device_kinds.net then error("vm:add_net: this moonvisor has no virtio-net device", 2) end
    local dev, err = add(self, with_type(spec, "net", "vm:add_net"), "vm:add_net", 2)
    return dev, err
  end

  --- vm:add_rng{id, timeout} = add_device of a virtio-rng (as rng = {...});
  --- vm:add_rng() picks its id ("rng0", "rng1", ...)
  function VM:add_rng(spec)
    local dev, err = add(self, with_type(spec == nil and {} or spec, "rng", "vm:add_rng"), "vm:add_rng", 2)
    return dev, err
  end

  -- for lua/lib/plugin.lua: spec without its timeout field, and the
  -- timeout (raises at the caller's caller on a bad one)
  local function split_timeout(spec)
    if spec.timeout == nil then return spec, DEFAULT_TIMEOUT end
    local t = check_timeout(spec.timeout, "vm:add_device", 4)
    local copy = {}
    for k, v in pairs(spec) do if k ~= "timeout" then copy[k] = v end end
    return copy, t
  end

  -- a hotplugged plugin device (id at pci) -> ev | nil, err once its
  -- driver is up; outside a task nothing waits (-> nil)
  local function wait_added(vm, id, pci, timeout)
    if not task.current() then return nil end
    local ev, why = wait_device(vm, "vm:add_device", "device_added", id, timeout)
    if ev then return ev end
    if why == "stopped" then return nil, string.format("vm '%s' stopped before %s was ready", vm.name, id) end
    return nil, string.format("the guest did not start a driver for %s (%s) within %g s; it stays plugged " ..
      "(vm:remove_device(%q) takes it out)", id, pci, timeout, id)
  end

  --- vm:remove_device(id, {timeout = 20}) -> true | nil, err. Returns once
  --- the guest has ejected the device (and the host has closed its
  --- backend); on timeout the device stays, usable, and a later call asks
  --- again.
  function VM:remove_device(id, opts)
    local h = check(self)
    if type(id) ~= "string" then error("vm:remove_device: id must be a string, got " .. type(id), 2) end
    need_task("vm:remove_device", 3)
    if opts ~= nil and type(opts) ~= "table" then error("vm:remove_device: options must be a table", 2) end
    local timeout = check_timeout(opts and opts.timeout, "vm:remove_device", 3)
    local ok, err = core.vm_remove_device(h, id)
    if not ok then return nil, err end
    local ev, why = wait_device(self, "vm:remove_device", "device_removed", id, timeout)
    if ev then return true end
    if why == "stopped" then return nil, string.format("vm '%s' stopped before ejecting %s", self.name, id) end
    if self._handle then core.vm_remove_cancel(h, id) end
    return nil, string.format("guest did not eject within %g s", timeout)
  end

  return { wait_added = wait_added, split_timeout = split_timeout }
end
