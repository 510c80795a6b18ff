-- Tasks: coroutines that wait without blocking the event loop.
-- Anything that waits (sleep, join, vm:wait, console:expect) calls
-- M.wait(arm), which yields to the loop; `arm(wake)` sets up whatever will
-- call wake(...) later and returns a function that undoes it (called on
-- wake-up, timeout or cancellation).
return function(core)
  local M = {}
  local Task = { __name = "moonvisor.Task" }
  Task.__index = Task

  local by_co = setmetatable({}, { __mode = "k" })
  local live = {}          -- tasks not finished: anchored until they end
  local ready = {}         -- tasks to resume on the next loop turn
  local timed_waits = 0    -- waits with a timer: the loop must keep running
  local kick               -- zero-delay timer that runs the ready queue
  local CANCEL = setmetatable({}, { __tostring = function() return "task cancelled" end })

  function M.current()
    local co = coroutine.running()
    return by_co[co]
  end

  local function finish(task, ok, ...)
    live[task] = nil
    if ok then
      task.status, task.results = "done", table.pack(...)
    elseif (...) == CANCEL then
      task.status = "cancelled"
    else
      task.status, task.error = "failed", (...)
      if not task.joined then
        io.stderr:write(string.format("moonvisor: task %s failed: %s\n", task.name, tostring(task.error)))
      end
    end
    local waiters = task.waiters
    task.waiters = {}
    for _, wake in ipairs(waiters) do wake() end
  end

  local function step(task, ...)
    local function after(ok, ...)
      if coroutine.status(task.co) == "dead" then
        finish(task, ok, ...)
      elseif not ok then
        finish(task, false, ...)
      end
    end
    after(core.resume(task.co, ...))
    local hook = task.after_first_step   -- one-shot, before the loop goes on
    if hook then
      task.after_first_step = nil
      hook()
    end
  end

  local function run_ready()
    local batch = ready
    ready = {}
    for _, item in ipairs(batch) do
      if item.task.status == "running" then step(item.task, table.unpack(item.args, 1, item.args.n)) end
    end
    if #ready > 0 then
      kick = core.timer(0, 0, run_ready)
    else
      kick = nil
    end
  end

  local function schedule(task, ...)
    ready[#ready + 1] = { task = task, args = table.pack(...) }
    if not kick then kick = core.timer(0, 0, run_ready) end
  end

  --- mv.spawn(fn, ...): runs fn(...) as a task, starting on the next loop turn.
  function M.spawn(fn, ...)
    if type(fn) ~= "function" then error("mv.spawn: expected a function, got " .. type(fn), 2) end
    local task = setmetatable({ co = coroutine.create(fn), status = "running", waiters = {} }, Task)
    task.name = (tostring(task):gsub("^.*: ", ""))
    by_co[task.co] = task
    live[task] = true
    schedule(task, ...)
    return task
  end

  local function timeout_of(opts, what)
    if opts == nil then return nil end
    if type(opts) ~= "table" then error(what .. ": options must be a table", 3) end
    local t = opts.timeout
    if t ~= nil and (type(t) ~= "number" or t < 0) then
      error(what .. ": timeout must be a number of seconds >= 0", 3)
    end
    return t
  end
  M.timeout_of = timeout_of

  --- Core wait: yields until arm's wake(...) is called or the timeout
  --- expires (then returns nil, "timeout").
  function M.wait(what, timeout, arm)
    local task = M.current()
    if not task then
      error(what .. " must be called from a task (wrap the code in mv.spawn(function() ... end))", 3)
    end
    local done, timer, disarm = false, nil, nil
    local function wake(...)
      if done then return end
      done = true
      if timer then timer:cancel() timed_waits = timed_waits - 1 end
      if disarm then disarm() end
      task.disarm = nil
      schedule(task, ...)
    end
    disarm = arm(wake)
    if done then disarm = nil end
    if not done and timeout then
      timed_waits = timed_waits + 1
      timer = core.timer(timeout, 0, function()
        timer = nil
        timed_waits = timed_waits - 1
        wake(nil, "timeout")
      end)
    end
    if not done then
      task.disarm = function()
        done = true
        if timer then timer:cancel() timed_waits = timed_waits - 1 end
        if disarm then disarm() end
      end
    end
    local r = table.pack(coroutine.yield())
    if r[1] == CANCEL then error(CANCEL, 0) end
    return table.unpack(r, 1, r.n)
  end

  function M.sleep(seconds)
    if type(seconds) ~= "number" or seconds < 0 then
      error("mv.sleep: seconds must be a number >= 0", 2)
    end
    M.wait("mv.sleep", nil, function(wake)
      timed_waits = timed_waits + 1
      local t = core.timer(seconds, 0, function() timed_waits = timed_waits - 1 wake() end)
      return function() if t:cancel() then timed_waits = timed_waits - 1 end end
    end)
  end

  --- task:join{timeout}: true, results... | nil, err | nil, "timeout"
  function Task:join(opts)
    local timeout = timeout_of(opts, "task:join")
    self.joined = true
    if self.status == "running" then
      local _, err = M.wait("task:join", timeout, function(wake)
        table.insert(self.waiters, wake)
        return function()
          for i, w in ipairs(self.waiters) do if w == wake then table.remove(self.waiters, i) break end end
        end
      end)
      if err == "timeout" and self.status == "running" then return nil, "timeout" end
    end
    if self.status == "done" then return true, table.unpack(self.results, 1, self.results.n) end
    if self.status == "cancelled" then return nil, "cancelled" end
    return nil, self.error
  end

  --- task:cancel(): stops a task where it waits; true if it was running.
  function Task:cancel()
    if self.status ~= "running" then return false end
    if self.co == coroutine.running() then
      error(CANCEL, 0)
    end
    if self.disarm then self.disarm() self.disarm = nil end
    for i = #ready, 1, -1 do if ready[i].task == self then table.remove(ready, i) end end
    coroutine.close(self.co)
    finish(self, false, CANCEL)
    return true
  end


  --- Tasks that could still be woken by a timer: the loop keeps running.
  function M.busy()
    return timed_waits > 0 or #ready > 0
  end

  function M.live_count()
    local n = 0
    for _ in pairs(live) do n = n + 1 end
    return n
  end

  M.Task = Task
  return M
end
