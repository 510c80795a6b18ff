-- mv.on("host_memory_pressure") for tests/integration/host_pressure_test.sh:
-- subscribes (the VMM's cgroup memory.pressure, found from /proc/self/cgroup),
-- then allocates 4M strings from a task until the trigger fires or 512M are
-- held; prints "psi: ..." lines.
local mv = require "moonvisor"

local got
local sub = mv.on("host_memory_pressure", function(ev) got = got or ev end, { stall = 0.05, window = 1 })
print(string.format("psi: path=%s trigger=%s", sub.path, sub.trigger))
mv.spawn(function()
  local hold = {}
  for i = 1, 128 do
    hold[i] = string.rep(string.char(i % 256), 4 * 1024 * 1024)
    mv.sleep(0.02)
    if got then break end
  end
  for _ = 1, 100 do if got then break end mv.sleep(0.05) end
  -- let go of the memory first: above the cgroup's memory.high the kernel
  -- throttles every allocation of this process (no swap to reclaim to)
  local held = #hold
  hold = nil
  collectgarbage()
  if got then
    print(string.format("psi: fired after %d MiB some.avg10=%s some.total=%s path=%s", held * 4,
      tostring(got.some and got.some.avg10), tostring(got.some and got.some.total), got.path))
  else
    print(string.format("psi: no event after %d MiB", held * 4))
  end
  print("psi: cancel=" .. tostring(sub.cancel()))
end)
