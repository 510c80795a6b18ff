-- Restarts the default guest when it panics, at most MAX times within
-- WINDOW seconds; one panic more and the VM is kept paused for inspection
-- and its memory written as an ELF core (gdb/crash can open it).
--
--   moonvisor examples/panic-restart.lua [max=3] [window=60] [core=PATH] [memory=SIZE] [-- COMMAND]
--
--   max=N       restarts allowed within the window (default 3)
--   window=S    seconds (default 60)
--   core=PATH   where the core goes (default ./panicky-panic.core)
--   memory=SIZE guest RAM (default 256M)
--   COMMAND     runs in the guest on every boot; try
--               -- 'echo c > /proc/sysrq-trigger'  (panics at once)
--
-- Once paused it stays so: attach with --control and use the REPL
-- (`vm:info()`, `vm:resume()`, `vm:kill()`), or press Ctrl-C.
local mv = require "moonvisor"

local opts, command = { max = "3", window = "60" }, nil
for i = 1, #arg do
  if arg[i] == "--" then
    command = table.concat(arg, " ", i + 1)
    break
  end
  local k, v = arg[i]:match("^(%w+)=(.*)$")
  if not (k and (k == "max" or k == "window" or k == "core" or k == "memory")) then
    error("bad argument '" .. arg[i] .. "' (want max=N, window=S, core=PATH, memory=SIZE or -- COMMAND)", 0)
  end
  opts[k] = v
end
local max, window = math.tointeger(tonumber(opts.max)), tonumber(opts.window)
assert(max and max >= 0, "max must be an integer >= 0")
assert(window and window > 0, "window must be a number of seconds > 0")

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")

local vm = mv.vm {
  name    = "panicky",
  memory  = opts.memory or "256M",
  kernel  = guest .. "/vmlinuz",
  initrd  = guest .. "/initrd.img",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check" .. (command and (" -- " .. command) or ""),
  serial  = "stdio",
}
local core = opts.core or (vm.name .. "-panic.core")

local function log(fmt, ...)
  io.stderr:write(string.format("panic-restart: " .. fmt .. "\n", ...))
end

local recent = {}  -- times of the panics within the window
vm:on("panic", function(ev)
  local now = mv.now()
  while recent[1] and now - recent[1] > window do table.remove(recent, 1) end
  recent[#recent + 1] = now
  local msg = ev.console:match("(Kernel panic[^\n]*)") or ev.kind
  log("boot %d: %s (vCPU %d, rip 0x%x)", vm:info().boots, msg, ev.vcpu, ev.regs and ev.regs.rip or 0)
  if #recent <= max then
    log("restart %d of %d within %g s", #recent, max, window)
    assert(vm:reset())
    return
  end
  assert(vm:pause())
  local ok, err = vm:dump_memory(core)
  if ok then
    log("%d panics within %g s: VM paused, core written to %s", #recent, window, core)
  else
    log("%d panics within %g s: VM paused; no core: %s", #recent, window, err)
  end
end)

vm:on("reset", function(ev)
  log("the guest reset itself (boot %d, %s); booting again", vm:info().boots, ev.reason)
end)
vm:on("stopped", function(ev) log("vm stopped (%s)", ev.reason) end)

assert(vm:start())
