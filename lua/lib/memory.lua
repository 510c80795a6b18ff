-- Memory that follows the guest (lua/l_vm_memory.c, lua/l_psi.c):
--   vm:resize_memory(bytes, {timeout}) -> true | nil, err   (in a task)
--   vm.memory.size / .max / .requested / .plugged (read live)
--   vm:memory_stats() -> stats, age | nil, err
--   "memory_pressure" events from the balloon statistics
--   mv.on("host_memory_pressure", fn, {stall, window, kind}) from PSI
return function(core, task, mv, VM, check)
  local M = {}
  local RANK = { low = 0, medium = 1, critical = 2 }

  --- vm.memory: a live view (every read asks the core).
  local function memory_view(vm)
    return setmetatable({}, {
      __index = function(_, k)
        if not vm._handle then error(string.format("vm '%s' was destroyed", vm.name), 2) end
        return core.vm_memory(vm._handle)[k]
      end,
      __newindex = function() error("vm.memory is read-only (use vm:resize_memory)", 2) end,
      __pairs = function()
        return next, vm._handle and core.vm_memory(vm._handle) or {}, nil
      end,
    })
  end

  function M.attach(vm, cfg)
    vm.memory = memory_view(vm)
    vm._mem = { waiters = {}, seq = 0, level = "low", pressure = cfg.balloon_pressure }
  end

  local function wake_all(vm, ...)
    local ws = vm._mem.waiters
    vm._mem.waiters = {}
    for _, w in ipairs(ws) do w(...) end
  end

  local function mib(n) return string.format("%dM", n // (1024 * 1024)) end

  --- vm:resize_memory(bytes, {timeout = 60}): asks the guest to plug or
  --- unplug to `bytes` of memory in all, and waits until it has (true) or
  --- the timeout (nil, err saying how far it got). A later resize
  --- supersedes this one (nil, "superseded ..."). A VM that is not running
  --- takes the size at its next start (true at once).
  function VM:resize_memory(bytes, opts)
    local h = check(self)
    if type(bytes) == "string" then bytes = mv.parse_size(bytes) end
    if math.type(bytes) ~= "integer" then
      error("vm:resize_memory: bytes must be an integer or a size string like \"1G\"", 2)
    end
    local timeout = task.timeout_of(opts, "vm:resize_memory") or 60
    if not task.current() then
      error("vm:resize_memory must be called from a task (wrap the code in mv.spawn(function() ... end))", 2)
    end
    local from = core.vm_memory(h).plugged
    local ok, err = core.vm_resize_memory(h, bytes)
    if not ok then return nil, err end
    local state = core.vm_state(h)
    if state ~= "running" and state ~= "paused" then return true end
    local st = self._mem
    st.seq = st.seq + 1
    local seq = st.seq
    wake_all(self, true) -- earlier calls still waiting see they were superseded
    local deadline = core.now() + timeout
    while true do
      state = core.vm_state(h)
      if state ~= "running" and state ~= "paused" then
        return nil, string.format("vm '%s' is %s: it stopped while resizing memory", self.name, state)
      end
      local m = core.vm_memory(h)
      if st.seq ~= seq then
        return nil, string.format("superseded by a resize to %s (plugged: %s)", mib(m.requested), mib(m.plugged))
      end
      if m.plugged == bytes then return true end
      local left = deadline - core.now()
      local woke, werr = nil, "timeout"
      if left > 0 then
        woke, werr = task.wait("vm:resize_memory", left, function(wake)
          table.insert(st.waiters, wake)
          return function()
            for i, w in ipairs(st.waiters) do if w == wake then table.remove(st.waiters, i) break end end
          end
        end)
      end
      if not woke and werr == "timeout" then
        m = core.vm_memory(h)
        return nil, string.format("timeout after %g s: the guest has %s plugged of %s requested (was %s)%s",
          timeout, mib(m.plugged), mib(bytes), mib(from),
          m.nacks > 0 and string.format("; %d plug requests refused", m.nacks) or "")
      end
    end
  end

  --- vm:memory_stats() -> { free, available, total, caches, swap_in,
  --- swap_out, major_faults, minor_faults, ... }, age in seconds | nil, err
  function VM:memory_stats()
    return core.vm_memory_stats(check(self))
  end

  --- vm:set_balloon(bytes) -> true | nil, err: the balloon's target size
  --- (the guest gives that much memory back; 0 deflates it). Kept over
  --- reboots.
  function VM:set_balloon(bytes)
    local h = check(self)
    if type(bytes) == "string" then bytes = mv.parse_size(bytes) end
    if math.type(bytes) ~= "integer" or bytes < 0 then
      error("vm:set_balloon: bytes must be an integer >= 0 or a size string like \"128M\"", 2)
    end
    return core.vm_balloon_set(h, bytes)
  end

  --- vm:balloon_info() -> { target, actual, inflated, deflated, reported }
  --- (bytes; reported: free pages the guest gave back) | nil, err
  function VM:balloon_info()
    return core.vm_balloon_info(check(self))
  end

  -- The new pressure level for available/total `ratio` at level `cur`:
  -- easing off needs the ratio `hysteresis` above the threshold it crossed.
  function M.level(ratio, cur, p)
    local h = p.hysteresis
    if cur == "critical" then
      if ratio >= p.medium + h then return "low" end
      if ratio >= p.critical + h then return "medium" end
      return "critical"
    elseif cur == "medium" then
      if ratio < p.critical then return "critical" end
      if ratio >= p.medium + h then return "low" end
      return "medium"
    end
    if ratio < p.critical then return "critical" end
    if ratio < p.medium then return "medium" end
    return "low"
  end

  local function emit(vm, event, ev)
    for _, sub in ipairs { table.unpack(vm._subs[event] or {}) } do
      local ok, r = xpcall(sub.fn, debug.traceback, ev)
      if not ok then
        io.stderr:write(string.format("moonvisor: error in '%s' handler of vm '%s': %s\n", event, vm.name, r))
      end
    end
  end

  -- "memory_pressure": on every level change, and again with each new
  -- sample while the level is not "low" and no resize is under way (so a
  -- policy that grew the guest hears again if that was not enough)
  local function on_stats(vm)
    local st = vm._mem
    if not st.pressure then return end
    local stats = core.vm_memory_stats(vm._handle)
    if not stats or not stats.total or stats.total == 0 then return end
    local available = stats.available or stats.free
    if not available then return end
    local level = M.level(available / stats.total, st.level, st.pressure)
    local changed = level ~= st.level
    st.level = level
    local m = core.vm_memory(vm._handle)
    if changed or (level ~= "low" and m.plugged == m.requested) then
      emit(vm, "memory_pressure", { event = "memory_pressure", vm = vm, level = level, changed = changed,
        available = available, total = stats.total, stats = stats })
    end
  end

  --- Internal events from the core: "memory" (plugged size changed),
  --- "balloon_stats"; "stopped" ends waiting resizes.
  function M.on_event(vm, event)
    if not vm._mem then return end
    if event == "memory" or event == "stopped" or event == "started" then
      wake_all(vm, true)
    elseif event == "balloon_stats" then
      on_stats(vm)
    end
  end

  -- ---- host memory pressure (PSI) --------------------------------------------

  -- The VMM's cgroup v2 memory.pressure when it has its own cgroup, else
  -- the system's /proc/pressure/memory.
  function M.psi_path()
    local f = io.open("/proc/self/cgroup")
    if f then
      for line in f:lines() do
        local path = line:match("^0::(.*)$")
        if path and path ~= "/" then
          local p = "/sys/fs/cgroup" .. path .. "/memory.pressure"
          local g = io.open(p)
          if g then g:close() f:close() return p end
        end
      end
      f:close()
    end
    return "/proc/pressure/memory"
  end

  local function parse_psi(text)
    local out = {}
    for kind, rest in (text or ""):gmatch("(%a+) ([^\n]*)") do
      local t = {}
      for k, v in rest:gmatch("(%w+)=([%d%.]+)") do t[k] = tonumber(v) end
      out[kind] = t
    end
    return out
  end
  M.parse_psi = parse_psi

  local host_subs = {}

  --- mv.on("host_memory_pressure", fn, {stall = 0.1, window = 2, kind = "some"})
  --- -> subscription: fn(ev) runs when the host's (or the VMM's cgroup's)
  --- memory stall time exceeds `stall` seconds within `window` seconds
  --- (a PSI trigger); ev.some / ev.full = { avg10, avg60, avg300, total },
  --- ev.path. Raises if the kernel refuses the trigger.
  function mv.on(event, fn, opts)
    if event ~= "host_memory_pressure" then
      error(string.format("mv.on: unknown event %s (events: host_memory_pressure)", tostring(event)), 2)
    end
    if type(fn) ~= "function" then error("mv.on: handler must be a function", 2) end
    opts = opts or {}
    if type(opts) ~= "table" then error("mv.on: options must be a table", 2) end
    local stall, window, kind = opts.stall or 0.1, opts.window or 2, opts.kind or "some"
    if type(window) ~= "number" or window < 0.5 or window > 10 then
      error("mv.on: window must be a number of seconds from 0.5 to 10 (the kernel's PSI limits)", 2)
    end
    if type(stall) ~= "number" or stall <= 0 or stall > window then
      error("mv.on: stall must be a number of seconds > 0 and <= window", 2)
    end
    if kind ~= "some" and kind ~= "full" then error('mv.on: kind must be "some" or "full"', 2) end
    local path = opts.path or M.psi_path()
    local trigger = string.format("%s %d %d", kind, math.floor(stall * 1e6), math.floor(window * 1e6))
    local sub = {}
    local watch, err = core.psi_watch(path, trigger, function(text)
      local ev = parse_psi(text)
      ev.event, ev.path, ev.trigger = "host_memory_pressure", path, trigger
      local ok, r = xpcall(fn, debug.traceback, ev)
      if not ok then io.stderr:write("moonvisor: error in 'host_memory_pressure' handler: " .. r .. "\n") end
    end)
    if not watch then
      if err:find("Invalid argument", 1, true) then
        err = err .. " (trigger '" .. trigger .. "': without CAP_SYS_RESOURCE the kernel takes only windows " ..
          "that are a multiple of 2 s)"
      end
      error("mv.on: " .. err, 2)
    end
    sub.event, sub.path, sub.trigger = event, path, trigger
    host_subs[sub] = watch
    function sub.cancel()
      local w = host_subs[sub]
      if not w then return false end
      host_subs[sub] = nil
      w:cancel()
      return true
    end
    return sub
  end

  return M
end
