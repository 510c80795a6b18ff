-- The public `moonvisor` module: require "moonvisor" returns this table.
-- The C core (lua/state.c, lua/l_vm.c) is passed in as `core`.
return function(core)
  local config = require "moonvisor.config"

  local mv = {
    version = core.version,
    KiB = 1024, MiB = 1024 * 1024, GiB = 1024 * 1024 * 1024,
  }

  local VM = { __name = "moonvisor.VM" }
  VM.__index = VM
  local by_handle = setmetatable({}, { __mode = "k" })
  local EVENTS = { started = true, stopped = true, paused = true, resumed = true,
                   reset = true, console = true }

  local function check(vm)
    if getmetatable(vm) ~= VM then
      error("expected a vm (use vm:method(), not vm.method())", 3)
    end
    if not vm._handle then error(string.format("vm '%s' was destroyed", vm.name), 3) end
    return vm._handle
  end

  --- mv.vm{...}: validates the whole table, then creates the VM (not started).
  function mv.vm(t)
    local cfg, err = config.validate(t, core)
    if not cfg then error(err, 2) end
    local handle, cerr = core.vm_new(cfg)
    if not handle then error(cerr, 2) end
    local vm = setmetatable({ name = cfg.name, _handle = handle, _subs = {} }, VM)
    by_handle[handle] = vm
    return vm
  end

  function VM:start() return core.vm_start(check(self)) end
  function VM:pause() return core.vm_pause(check(self)) end
  function VM:resume() return core.vm_resume(check(self)) end
  function VM:reset() return core.vm_reset(check(self)) end
  function VM:kill() return core.vm_kill(check(self)) end
  function VM:state() return core.vm_state(check(self)) end
  function VM:info() return core.vm_info(check(self)) end

  function VM:destroy()
    local h = check(self)
    core.vm_destroy(h)
    self._handle = nil
  end

  --- vm:on(event, fn) -> subscription (sub:cancel()). A "reset" handler that
  --- returns false vetoes the reboot (the VM stops instead).
  function VM:on(event, fn)
    check(self)
    if type(event) ~= "string" or not EVENTS[event] then
      error(string.format("unknown event %s", tostring(event)), 2)
    end
    if type(fn) ~= "function" then error("vm:on: handler must be a function", 2) end
    local list = self._subs[event] or {}
    self._subs[event] = list
    local sub = { event = event, fn = fn }
    list[#list + 1] = sub
    function sub.cancel()
      for i, s in ipairs(list) do
        if s == sub then table.remove(list, i) return true end
      end
      return false
    end
    return sub
  end

  core.set_dispatch(function(handle, event, ev)
    local vm = by_handle[handle]
    if not vm then return true end
    ev.vm = vm
    local result = true
    for _, sub in ipairs({ table.unpack(vm._subs[event] or {}) }) do
      local ok, r = xpcall(sub.fn, debug.traceback, ev)
      if not ok then
        io.stderr:write(string.format("moonvisor: error in '%s' handler of vm '%s': %s\n", event, vm.name, r))
      elseif r == false then
        result = false
      end
    end
    return result
  end)

  --- mv.run(): runs the event loop until every VM has stopped.
  function mv.run() core.run() end
  mv.parse_size = function(s)
    local n, err = config.size(s, "size", core)
    if not n then error(err, 2) end
    return n
  end
  mv.log_level = core.set_log_level
  mv._exit_status = core.exit_status

  return mv
end
