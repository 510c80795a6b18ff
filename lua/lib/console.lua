-- vm.console: the guest's serial console as lines, whatever `serial` says;
-- vm.hvc: the same for hvc0, the virtio console (`console = "virtio"`).
return function(core, task)
  local Console = { __name = "moonvisor.Console" }
  Console.__index = Console
  local KEEP = 1000   -- lines kept for expect
  -- An unterminated line (a prompt) is matched only once no output has come
  -- for this long: "sum=4" must not match ^sum=%d+ while "2\n" is on its way.
  local SETTLE = 0.1

  -- which: nil for the serial console, "hvc" for hvc0
  function Console.new(vm, handle, which)
    return setmetatable({ vm = vm, _h = handle, _which = which, _lines = {}, _seq = 0, _cursor = 0,
                          _expecters = {}, _skip_partial = false }, Console)
  end

  local function handle(self)
    if not self.vm._handle then error(string.format("vm '%s' was destroyed", self.vm.name), 3) end
    return self._h
  end

  -- pattern "a|b" = alternatives (Lua patterns, or plain text with {plain = true});
  -- write "%|" for a literal bar; or pass a table of alternatives.
  local function matcher(pattern, plain)
    local alts = {}
    if type(pattern) == "table" then
      alts = pattern
    elseif type(pattern) == "string" then
      local cur = ""
      local i = 1
      while i <= #pattern do
        local c = pattern:sub(i, i)
        if c == "%" and pattern:sub(i + 1, i + 1) == "|" then
          cur = cur .. (plain and "|" or "%|")
          i = i + 2
        elseif c == "|" then
          alts[#alts + 1] = cur
          cur = ""
          i = i + 1
        else
          cur = cur .. c
          i = i + 1
        end
      end
      alts[#alts + 1] = cur
    else
      error("console:expect: pattern must be a string or a table of strings", 3)
    end
    for _, p in ipairs(alts) do
      if type(p) ~= "string" or p == "" then error("console:expect: empty pattern", 3) end
      if not plain then
        local ok, err = pcall(string.find, "", p)
        if not ok then error("console:expect: bad pattern '" .. p .. "': " .. err, 3) end
      end
    end
    return function(s)
      for _, p in ipairs(alts) do
        if s:find(p, 1, plain) then return true end
      end
      return false
    end
  end

  -- called by the dispatcher for every complete line
  function Console:_line(line)
    self._seq = self._seq + 1
    self._lines[self._seq] = line
    self._lines[self._seq - KEEP] = nil
    if self._skip_partial then
      self._skip_partial = false
      self._cursor = self._seq
      return
    end
    for _, e in ipairs({ table.unpack(self._expecters) }) do
      if self._cursor < self._seq and e.match(line) then
        self._cursor = self._seq
        e.wake(line)
      end
    end
  end

  -- the partial line has been quiet for SETTLE: the first expecter it
  -- matches gets it
  local function settled(self)
    self._settle = nil
    local partial = core.vm_console_partial(self._h, self._which)
    if partial == "" or self._skip_partial then return end
    for _, e in ipairs(self._expecters) do
      if e.match(partial) then
        self._skip_partial = true
        e.wake(partial)
        return
      end
    end
  end

  -- (re)starts the quiet-period timer while the partial line could match
  local function arm_settle(self)
    if self._settle then self._settle:cancel() self._settle = nil end
    if self._skip_partial or #self._expecters == 0 then return end
    if core.vm_console_partial(self._h, self._which) == "" then return end
    self._settle = core.timer(SETTLE, 0, function() settled(self) end)
  end

  -- called after each output batch while someone waits in expect
  function Console:_data()
    arm_settle(self)
  end

  --- console:expect(pattern, {timeout, plain}) -> the matching line, or
  --- nil, "timeout". An unterminated line (e.g. a prompt) matches once the
  --- guest has printed nothing more for 0.1 s. Lines already received
  --- and not yet consumed by an earlier expect count. In a task.
  function Console:expect(pattern, opts)
    local h = handle(self)
    local match = matcher(pattern, opts and opts.plain)
    local timeout = task.timeout_of(opts, "console:expect")
    if not task.current() then
      error("console:expect must be called from a task (wrap the code in mv.spawn(function() ... end))", 2)
    end
    while self._cursor < self._seq do
      self._cursor = math.max(self._cursor + 1, self._seq - KEEP + 1)
      local line = self._lines[self._cursor]
      if line and match(line) then return line end
    end
    local entry = { match = match }
    core.vm_console_watch(h, true, self._which)
    local result, err = task.wait("console:expect", timeout, function(wake)
      entry.wake = wake
      table.insert(self._expecters, entry)
      arm_settle(self) -- a partial line already there may be a prompt
      return function()
        for i, e in ipairs(self._expecters) do if e == entry then table.remove(self._expecters, i) break end end
        if #self._expecters == 0 then
          if self._settle then self._settle:cancel() self._settle = nil end
          if self.vm._handle then core.vm_console_watch(h, false, self._which) end
        end
      end
    end)
    return result, err
  end

  --- console:write(s): bytes to the guest's serial input.
  function Console:write(s)
    if type(s) ~= "string" then error("console:write: expected a string", 2) end
    return core.vm_console_write(handle(self), s, self._which)
  end

  --- console:tail(n = 20): the last n complete lines, oldest first.
  function Console:tail(n)
    if n ~= nil and (math.type(n) ~= "integer" or n < 0) then
      error("console:tail: n must be an integer >= 0", 2)
    end
    return core.vm_console_tail(handle(self), n or 20, self._which)
  end

  return Console
end
