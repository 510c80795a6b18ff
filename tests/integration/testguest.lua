-- What the integration test scripts share: where the default guest is, the
-- guest command after "--" on moonvisor's command line, and the kernel
-- command line the tests boot with. Load it from a test script with
--   local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")
local M = {}

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
M.dir = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")
M.kernel = M.dir .. "/vmlinuz"
M.initrd = M.dir .. "/initrd.img"

-- The words after "--" in arg, joined by spaces, and the arguments before
-- it (a list); nil for the command when there is no "--".
function M.command(args)
  local before = {}
  for i = 1, #args do
    if args[i] == "--" then return table.concat(args, " ", i + 1), before end
    before[#before + 1] = args[i]
  end
  return nil, before
end

-- Kernel command line: serial console, quiet, no IO-APIC timer check (see
-- docs/testing.md), then `extra` (may be nil), then "-- command" if any.
function M.cmdline(extra, command)
  local s = "console=ttyS0 quiet panic=-1 no_timer_check"
  if extra and extra ~= "" then s = s .. " " .. extra end
  if command then s = s .. " -- " .. command end
  return s
end

-- Writes a line to stderr on a line of its own. The guest's console may be
-- mid-line on stdout (the same pipe in the tests), so the line break in
-- front is marked with \31 (ASCII unit separator): tests/integration/lib.sh's
-- console_lines joins a guest line that was cut there with its rest.
function M.say(fmt, ...) io.stderr:write("\31\n" .. string.format(fmt, ...) .. "\n") end

-- Waits (in a task) for a console line matching pattern; the line, or an
-- error naming the pattern.
function M.expect(vm, pattern, timeout)
  local line, err = vm.console:expect(pattern, { timeout = timeout or 300 })
  if not line then error(string.format("guest line %q: %s", pattern, tostring(err)), 2) end
  return line
end

-- vm:info()'s entry for the device with this id, or nil.
function M.device(vm, id)
  for _, d in ipairs(vm:info().devices) do
    if d.id == id then return d end
  end
end

return M
