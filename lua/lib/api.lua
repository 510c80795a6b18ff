-- The public `moonvisor` module: require "moonvisor" returns this table.
-- The C core (lua/state.c, lua/l_vm.c, lua/l_loop.c) is passed in as `core`.
return function(core)
  local config = require "moonvisor.config"
  local task = require "moonvisor.task"(core)
  local Console = require "moonvisor.console"(core, task)
  local memory -- lua/lib/memory.lua, loaded once VM exists (below)

  local mv = {
    version = core.version,
    KiB = 1024, MiB = 1024 * 1024, GiB = 1024 * 1024 * 1024,
  }

  local VM = { __name = "moonvisor.VM" }
  VM.__index = VM
  local by_handle = setmetatable({}, { __mode = "k" })
  local created = {}  -- VMs not destroyed, in creation order (mv.vms)
  local EVENTS = { started = true, stopped = true, paused = true, resumed = true,
                   reset = true, console = true, hvc = true, panic = true,
                   device_added = true, device_removed = true, memory_pressure = true }

  local function check(vm, level)
    if getmetatable(vm) ~= VM then
      error("expected a vm (use vm:method(), not vm.method())", (level or 2) + 1)
    end
    if not vm._handle then error(string.format("vm '%s' was destroyed", vm.name), (level or 2) + 1) end
    return vm._handle
  end

  local function check_event(event, level, vm)
    if type(event) ~= "string" or not (EVENTS[event] or event:match("^plugin:[%w_%-]+$")) then
      local names = {}
      for k in pairs(EVENTS) do names[#names + 1] = k end
      table.sort(names)
      error(string.format("unknown event %s (events: %s)", tostring(event), table.concat(names, ", ")), level + 1)
    end
    if event == "hvc" and not vm.hvc then
      error(string.format("vm '%s' has no virtio console (\"hvc\" needs console = \"virtio\")", vm.name), level + 1)
    end
  end

  local attach_plugins -- lua/lib/plugin.lua: mv.vm{ devices = ... }

  --- mv.vm{...}: validates the whole table, then creates the VM (not started).
  function mv.vm(t)
    local cfg, err = config.validate(t, core)
    if not cfg then error(err, 2) end
    local handle, cerr = core.vm_new(cfg)
    if not handle then error(cerr, 2) end
    local pok, perr = attach_plugins(handle, cfg)
    if not pok then core.vm_destroy(handle) error(perr, 2) end
    local vm = setmetatable({ name = cfg.name, _handle = handle, _subs = {}, _cfg = cfg }, VM)
    vm.console = Console.new(vm, handle)
    if cfg.virtio_console then vm.hvc = Console.new(vm, handle, "hvc") end
    memory.attach(vm, cfg)
    by_handle[handle] = vm
    created[#created + 1] = vm
    return vm
  end

  --- mv.vms() -> the VMs not destroyed, in creation order (the REPL's `vm`
  --- is the first, `vms` the same by name).
  function mv.vms() return { table.unpack(created) } end

  function VM:start() return core.vm_start(check(self)) end
  function VM:pause() return core.vm_pause(check(self)) end
  function VM:resume() return core.vm_resume(check(self)) end
  function VM:reset() return core.vm_reset(check(self)) end
  function VM:kill() return core.vm_kill(check(self)) end
  function VM:power_button() return core.vm_power_button(check(self)) end
  function VM:state() return core.vm_state(check(self)) end

  --- vm:dump_memory(path) -> true, or nil, err: guest RAM and vCPU
  --- registers as an ELF64 core (mode 0600).
  function VM:dump_memory(path)
    local h = check(self)
    if type(path) ~= "string" or path == "" then error("vm:dump_memory: path must be a non-empty string", 2) end
    return core.vm_dump_memory(h, path)
  end

  function VM:info()
    local h = check(self)
    local info = core.vm_info(h)
    -- one entry per device, in address order: its I/O ranges and how many
    -- guest accesses reached it (this boot)
    local devices, by_id = {}, {}
    for _, r in ipairs(core.vm_ranges(h)) do
      local d = by_id[r.id]
      if not d then
        d = { id = r.id, resources = {}, accesses = 0 }
        by_id[r.id] = d
        devices[#devices + 1] = d
      end
      d.resources[#d.resources + 1] = { bus = r.bus, base = r.base, size = r.size }
      d.accesses = d.accesses + r.accesses
    end
    -- PCI functions (slots 1-31): address, type, BARs and the device's
    -- own counters (requests, bytes, errors)
    for _, p in ipairs(core.vm_pci_devices(h)) do
      local d = { id = p.id, type = p.type, pci = p.pci, vendor = p.vendor, device = p.device,
                  requests = p.requests, bytes = p.bytes, errors = p.errors, resources = {},
                  rx_packets = p.rx_packets, rx_bytes = p.rx_bytes, tx_packets = p.tx_packets,
                  tx_bytes = p.tx_bytes, queues = p.queues }
      for _, b in ipairs(p.bars) do
        d.resources[#d.resources + 1] = { bus = b.bus, base = b.base, size = b.size, mapped = b.mapped }
      end
      devices[#devices + 1] = d
    end
    info.devices = devices
    return info
  end

  function VM:destroy()
    local h = check(self)
    core.vm_destroy(h)
    self._handle = nil
    for i, v in ipairs(created) do if v == self then table.remove(created, i) break end end
  end

  --- vm:on(event, fn) -> subscription (sub:cancel()). Handlers run on the
  --- loop; "console" and "hvc" handlers get the line, the others an event table. A
  --- "reset" handler (ev.reason says why the guest reset) that returns false
  --- vetoes the reboot.
  function VM:on(event, fn)
    check(self)
    check_event(event, 2, self)
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

  --- vm:wait(event, {timeout}) -> the event, or nil, "timeout". In a task.
  function VM:wait(event, opts)
    check(self)
    check_event(event, 2, self)
    local timeout = task.timeout_of(opts, "vm:wait")
    return task.wait("vm:wait", timeout, function(wake)
      local sub = self:on(event, function(ev) wake(ev) end)
      return sub.cancel
    end)
  end

  --- vm:shutdown{timeout = 30}: ACPI power button, then a hard stop if the
  --- guest has not powered off in time. In a task.
  function VM:shutdown(opts)
    local h = check(self)
    local timeout = task.timeout_of(opts, "vm:shutdown") or 30
    if not task.current() then
      error("vm:shutdown must be called from a task (wrap the code in mv.spawn(function() ... end))", 2)
    end
    local state = core.vm_state(h)
    if state ~= "running" and state ~= "paused" then return nil, "vm '" .. self.name .. "' is " .. state end
    local ok, err = core.vm_power_button(h)
    if not ok then return nil, err end
    if self:wait("stopped", { timeout = timeout }) then return true end
    core.vm_kill(h)
    return nil, string.format("guest did not power off within %g s: killed", timeout)
  end

  local hotplug = require "moonvisor.hotplug"(core, task, VM, check, config)
  attach_plugins = require "moonvisor.plugin"(core, mv, VM, check, function(h) return by_handle[h] end, hotplug)
  memory = require "moonvisor.memory"(core, task, mv, VM, check)

  local function call_handler(vm, event, sub, arg)
    local ok, r = xpcall(sub.fn, debug.traceback, arg)
    if not ok then
      io.stderr:write(string.format("moonvisor: error in '%s' handler of vm '%s': %s\n", event, vm.name, r))
      return true
    end
    return r
  end

  core.set_dispatch(function(handle, event, ev)
    local vm = by_handle[handle]
    if not vm then return true end
    memory.on_event(vm, event) -- resize waiters, memory_pressure (lua/lib/memory.lua)
    mv.api._on_vm_event(vm, event, ev) -- --event-monitor (lua/lib/restapi.lua)
    if event == "console" then vm.console:_line(ev.line)
    elseif event == "hvc" then vm.hvc:_line(ev.line)
    elseif event == "console_data" then vm.console:_data() return true
    elseif event == "hvc_data" then vm.hvc:_data() return true end
    local arg = ev
    if event == "console" or event == "hvc" then arg = ev.line else ev.vm = vm end
    local result = true
    local subs = { table.unpack(vm._subs[event] or {}) }
    for _, sub in ipairs(subs) do
      if call_handler(vm, event, sub, arg) == false then result = false end
    end
    -- "panic": whether any handler took it (else the default policy runs)
    if event == "panic" then return #subs > 0 end
    return result
  end)

  mv.spawn = task.spawn
  mv.sleep = task.sleep
  mv.current_task = task.current

  local function timer(what, after, every, fn)
    if type(after) ~= "number" or after < 0 then error(what .. ": seconds must be a number >= 0", 3) end
    if type(fn) ~= "function" then error(what .. ": callback must be a function", 3) end
    return core.timer(after, every, fn)
  end

  --- mv.after(seconds, fn) / mv.every(seconds, fn) -> timer (timer:cancel()).
  --- Timers stay alive until cancelled (or fired, for mv.after); they do
  --- not by themselves keep moonvisor running.
  function mv.after(seconds, fn) return timer("mv.after", seconds, 0, fn) end
  function mv.every(seconds, fn)
    if type(seconds) == "number" and seconds <= 0 then error("mv.every: seconds must be > 0", 2) end
    return timer("mv.every", seconds, seconds, fn)
  end

  mv.now = core.now

  --- Budget for any one callback or task step, in CPU seconds (default 1).
  function mv.budget(seconds)
    if seconds ~= nil then core.set_budget(seconds) end
    return core.get_budget()
  end

  --- mv.run(): runs the event loop until every VM has stopped and no task
  --- waits on a timer.
  function mv.run()
    if task.current() then error("mv.run() cannot be called from a task", 2) end
    while core.count_active() > 0 or task.busy() or core.api_listening() do core.run_once() end
  end

  --- Used by the moonvisor binary: runs the script's chunk as the main task,
  --- then the loop. Returns true, or nil and the script's error.
  function mv._main(chunk, ...)
    local main = task.spawn(chunk, ...)
    main.joined = true
    main.name = "main"
    -- seccomp (--seccomp): the loop's filter goes on once the top level
    -- has ended or waits for the first time (lua/sandbox.c)
    main.after_first_step = core.sandbox
    while main.status == "running" or core.count_active() > 0 or task.busy() or core.api_listening() do
      core.run_once()
      if main.status == "failed" then
        for _, vm in pairs(by_handle) do
          if vm._handle then core.vm_kill(vm._handle) end
        end
        return nil, main.error
      end
    end
    return true
  end

  mv.parse_size = function(s)
    local n, err = config.size(s, "size", core)
    if not n then error(err, 2) end
    return n
  end
  mv.log_level = core.set_log_level
  mv._exit_status = core.exit_status
  mv._VM = VM
  mv.api = require "moonvisor.restapi"(core, mv, task) -- the REST API (mv.api.listen)
  mv.json = { encode = core.json_encode, decode = core.json_decode, null = core.json_null, array = core.json_array }

  return mv
end
