-- mv.on("host_memory_pressure") for tests/integration/host_pressure_test.sh:
-- subscribes (the VMM's cgroup memory.pressure, found from /proc/self/cgroup),
-- sets the cgroup's memory.high to 48M above what the process uses then (a
-- fixed limit would not do: a sanitizer build starts far above a plain
-- one), allocates 1M strings from a task until the trigger fires, 512M
-- are held or the cgroup is 64M past the limit, lifts the limit and lets
-- go; prints "psi: ..." lines.
local mv = require "moonvisor"

local got
local sub = mv.on("host_memory_pressure", function(ev) got = got or ev end, { stall = 0.05, window = 1 })
print(string.format("psi: path=%s trigger=%s", sub.path, sub.trigger))

-- opened now: after the script's top level no new files may be opened
local cg = assert(sub.path:match("^(.*)/memory%.pressure$"), "not a cgroup's memory.pressure")
local current = assert(io.open(cg .. "/memory.current", "r"))
current:setvbuf("no") -- else seek("set", 0) may be served from the buffer
local high = assert(io.open(cg .. "/memory.high", "w"))

local function read_current()
  current:seek("set", 0)
  return assert(math.tointeger(tonumber(current:read("l"))), "memory.current is not a number")
end

local function set_high(v)
  high:seek("set", 0)
  assert(high:write(v .. "\n"))
  assert(high:flush())
end

mv.spawn(function()
  local base = read_current()
  set_high(tostring(base + 48 * 1024 * 1024))
  print(string.format("psi: memory.high=current+48M (current %d MiB)", base // (1024 * 1024)))
  -- 1M at a time: the kernel's throttling grows with how far the cgroup
  -- is past memory.high, and a sanitizer build keeps freed blocks
  -- (string.rep's scratch buffer) for a while; small steps keep the
  -- overshoot small when the trigger fires
  local hold = {}
  for i = 1, 512 do
    hold[i] = string.rep(string.char(i % 256), 1024 * 1024)
    local cur = read_current()
    if i % 8 == 0 then print(string.format("psi: held %d MiB, cgroup %d MiB", i, cur // (1024 * 1024))) end
    mv.sleep(0.01)
    if got or cur > base + 112 * 1024 * 1024 then break end
  end
  for _ = 1, 100 do if got then break end mv.sleep(0.05) end
  -- lift the limit before anything else: above memory.high the kernel
  -- throttles every allocation of this process (no swap to reclaim to),
  -- and a sanitizer build does not give freed memory back at once
  set_high("max")
  local held = #hold
  hold = nil
  collectgarbage()
  if got then
    print(string.format("psi: fired after %d MiB some.avg10=%s some.total=%s path=%s", held,
      tostring(got.some and got.some.avg10), tostring(got.some and got.some.total), got.path))
  else
    print(string.format("psi: no event after %d MiB", held))
  end
  print("psi: cancel=" .. tostring(sub.cancel()))
  current:close()
  high:close()
end)
