-- moonvisor.repl: the REPL's evaluation engine, shared by the terminal
-- prompt (`moonvisor -i`) and the control socket (`moonvisor repl PATH`);
-- the C front ends (lua/l_repl*.c) only move lines and bytes.
--
-- A session takes input lines with feed(line). Like lua.c, a line is first
-- tried as `return <line>` so expressions show their values; a chunk whose
-- syntax error ends in "<eof>" is incomplete and waits for more lines. A
-- complete chunk runs as a task (mv.spawn), so it may wait (vm:wait,
-- mv.sleep); lines that arrive meanwhile are queued. The front end hears
-- back through callbacks:
--   write(text), write_err(text)   output (always whole lines)
--   done(ok)                       a chunk ended (ok false: it failed)
--   ready(prompt)                  waiting for the next line: "> " or ">> ";
--                                  called exactly once per line fed and per
--                                  interrupt()
local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
            local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end
local MAX_ITEMS = 100      -- table entries shown by the pretty printer
local MAX_CANDIDATES = 500 -- completion candidates returned
local MAX_DEPTH = 8        -- __index tables followed when completing

local function is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil and not KEYWORDS[s]
end

-- ---- pretty printer -----------------------------------------------------

local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

local function has_tostring(v)
  local mt = debug.getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

-- a value inside a table: one level only
local function short(v)
  if type(v) == "string" then return quote(v) end
  if type(v) == "table" and not has_tostring(v) then
    return next(v) == nil and "{}" or "{...}"
  end
  return tostring(v)
end

local TYPE_ORDER = { string = 1, number = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = TYPE_ORDER[type(a)] or 4, TYPE_ORDER[type(b)] or 4
  if ta ~= tb then return ta < tb end
  if ta == 1 or ta == 2 then return a < b end
  return tostring(a) < tostring(b)
end

--- format(v) -> string: tables shallowly as `{ a = 1, b = "x", [1] = 10 }`
--- (string keys first, nested tables as `{...}`), strings as they are,
--- anything else as tostring(v). Never calls __pairs or __index.
function M.format(v)
  if type(v) ~= "table" or has_tostring(v) then return tostring(v) end
  local keys, more = {}, false
  for k in next, v do
    if #keys == MAX_ITEMS * 4 then more = true break end
    keys[#keys + 1] = k
  end
  if #keys == 0 then return "{}" end
  table.sort(keys, key_less)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > MAX_ITEMS then more = true break end
    local name = is_ident(k) and k or ("[" .. short(k) .. "]")
    parts[i] = name .. " = " .. short(rawget(v, k))
  end
  if more then parts[#parts + 1] = "..." end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

--- format_results(n, ...) -> "v1\tv2..." (nothing for no values)
function M.format_results(n, ...)
  local out = {}
  for i = 1, n do out[i] = M.format((select(i, ...))) end
  return table.concat(out, "\t")
end

-- ---- completion ---------------------------------------------------------

-- v[k] without running code: rawget, then __index tables of metatables
local function safe_get(v, k, depth)
  depth = depth or 0
  if depth > MAX_DEPTH then return nil end
  if type(v) == "table" then
    local r = rawget(v, k)
    if r ~= nil then return r end
  end
  local mt = debug.getmetatable(v)
  local idx = type(mt) == "table" and rawget(mt, "__index") or nil
  if type(idx) == "table" then return safe_get(idx, k, depth + 1) end
  return nil
end

-- string keys of v and of its metatables' __index tables, with their values
local function fields(v, out, seen, depth)
  if depth > MAX_DEPTH then return out end
  if type(v) == "table" then
    if seen[v] then return out end
    seen[v] = true
    for k, val in next, v do
      if is_ident(k) and out[k] == nil then out[k] = val end
    end
  end
  local mt = debug.getmetatable(v)
  local idx = type(mt) == "table" and rawget(mt, "__index") or nil
  if type(idx) == "table" then fields(idx, out, seen, depth + 1) end
  return out
end

--- complete(env, text) -> sorted list of completions of text's last word,
--- each the whole of text with the word completed ("vm.con" ->
--- "vm.console", "vm:pa" -> "vm:pause"). Resolves `a.b.c` / `a:b` by rawget
--- on tables and on metatables' __index tables only: never calls a function
--- or an __index function.
function M.complete(env, text)
  local chain = text:match("[%w_%.:]*$")
  local before = text:sub(1, #text - #chain)
  local path, sep, word = chain:match("^(.-)([%.:]?)([%w_]*)$")
  local obj = env
  if sep ~= "" then
    if path == "" or path:find(":", 1, true) then return {} end
    for name in (path .. "."):gmatch("(.-)%.") do
      if not is_ident(name) then return {} end
      obj = safe_get(obj, name)
      if obj == nil then return {} end
    end
  end
  local found = fields(obj, {}, {}, 0)
  if sep == "" then
    for k in pairs(KEYWORDS) do found[k] = found[k] or true end
  end
  local out = {}
  for k, val in pairs(found) do
    if k:sub(1, #word) == word and (word:sub(1, 1) == "_" or k:sub(1, 1) ~= "_")
        and (sep ~= ":" or type(val) == "function") then
      out[#out + 1] = before .. path .. sep .. k
    end
  end
  table.sort(out)
  while #out > MAX_CANDIDATES do out[#out] = nil end
  return out
end

-- ---- sessions -----------------------------------------------------------

local Session = { __name = "moonvisor.ReplSession" }
Session.__index = Session
local NOP = function() end

-- `vm` (the first VM) and `vms` (by name) stay current unless assigned
function Session:_refresh()
  local env, list = self.env, self.mv.vms and self.mv.vms() or {}
  local byname = {}
  for _, vm in ipairs(list) do byname[vm.name] = vm end
  if rawget(env, "vm") == self._auto.vm then
    self._auto.vm = list[1]
    rawset(env, "vm", list[1])
  end
  if rawget(env, "vms") == self._auto.vms then
    self._auto.vms = byname
    rawset(env, "vms", byname)
  end
end

local function pack_print(...)
  local n, parts = select("#", ...), {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return table.concat(parts, "\t") .. "\n"
end

function Session:_out(text)
  if not self.closed then self.write(text) end
end

function Session:_err(text)
  if not self.closed then self.write_err(text) end
end

--- repl.session{write, write_err, done, ready, mv, global_print} -> session.
--- Its env reads globals through _G and keeps its own assignments; `print`
--- in it writes to the session. global_print = true also sends _G.print
--- there until close() (the terminal prompt uses it).
function M.session(opts)
  opts = opts or {}
  local s = setmetatable({
    mv = opts.mv or require "moonvisor",
    write = opts.write or io.write,
    write_err = opts.write_err or function(t) io.stderr:write(t) end,
    done = opts.done or NOP, ready = opts.ready or NOP,
    queue = {}, closed = false, _auto = {},
  }, Session)
  local function print_(...) s:_out(pack_print(...)) end
  s.env = setmetatable({ print = print_, mv = s.mv }, { __index = _G })
  if opts.global_print then
    s._saved_print = _G.print
    _G.print = print_
  end
  s:_refresh()
  return s
end

function Session:_finish(task, ok, ...)
  if self.task ~= task then return end
  self.task = nil
  if ok then
    local n = select("#", ...)
    if n > 0 then self:_out(M.format_results(n, ...) .. "\n") end
  elseif task.status == "cancelled" then
    self:_err("cancelled\n")
  else
    local err = ...
    if type(err) ~= "string" and type(err) ~= "number" and not has_tostring(err) then
      err = "(error object is a " .. type(err) .. " value)"
    end
    self:_err(tostring(err) .. "\n")
  end
  if self.closed then return end
  self.done(ok and true or false)
  self.ready("> ")
  self:_drain()
end

function Session:_drain()
  while not self.task and not self.closed and #self.queue > 0 do
    self:_handle(table.remove(self.queue, 1))
  end
end

function Session:_run(fn)
  self:_refresh()
  local task = self.mv.spawn(fn)
  task.joined = true
  task.name = "repl"
  self.task = task
  self.mv.spawn(function() self:_finish(task, task:join()) end)
  return "running"
end

function Session:_handle(line)
  line = line:gsub("\r$", "")
  if not self.buf then
    if line:match("^%s*%.quit%s*$") then return "quit" end
    if line:match("^%s*$") then
      self.ready("> ")
      return "empty"
    end
    local fn = load("return " .. line, "=stdin", "t", self.env)
    if fn then return self:_run(fn) end
    self.buf = line
  else
    self.buf = self.buf .. "\n" .. line
  end
  local fn, err = load(self.buf, "=stdin", "t", self.env)
  if fn then
    self.buf = nil
    return self:_run(fn)
  end
  if err:sub(-5) == "<eof>" then
    self.ready(">> ")
    return "more"
  end
  self.buf = nil
  self:_err(err .. "\n")
  self.done(false)
  self.ready("> ")
  return "error"
end

--- session:feed(line) -> "running" | "more" | "empty" | "error" |
--- "queued" (a chunk is running) | "quit" (the line was `.quit`)
function Session:feed(line)
  if self.closed then return "closed" end
  if type(line) ~= "string" then error("session:feed: expected a string", 2) end
  if self.task or self._handling then
    self.queue[#self.queue + 1] = line
    return "queued"
  end
  self._handling = true
  local ok, r = pcall(self._handle, self, line)
  self._handling = false
  if not ok then error(r, 0) end
  self:_drain()
  return r
end

--- session:interrupt(): Ctrl-C. Cancels the running chunk (and queued
--- lines) or drops a pending multi-line chunk; then ready("> ").
function Session:interrupt()
  if self.closed then return end
  self.queue = {}
  if self.task then
    self.task:cancel() -- the join in _run reports it
  else
    self.buf = nil
    self.ready("> ")
  end
end

--- session:complete(text) -> list of completions (see repl.complete)
function Session:complete(text)
  self:_refresh()
  return M.complete(self.env, text)
end

--- session:close(): cancels the running chunk; output is dropped from now.
function Session:close()
  if self.closed then return end
  self.closed = true
  self.queue = {}
  if self._saved_print and _G.print == self.env.print then _G.print = self._saved_print end
  if self.task then self.task:cancel() end
end

function Session:busy()
  return self.task ~= nil
end

--- Used by `moonvisor -i`: a chunk that runs `chunk`, then `after()` (which
--- shows the prompt), and returns chunk's results.
function M.after_chunk(chunk, after)
  return function(...)
    local r = table.pack(chunk(...))
    after()
    return table.unpack(r, 1, r.n)
  end
end

M.Session = Session
return M
