-- Drives the default guest through virtio-mem resizes and balloon
-- statistics (tests/integration/virtio_mem_test.sh):
--   moonvisor tests/integration/mem.lua -- COMMAND...
-- The guest starts at 256M with a 2G hotplug region and a balloon with
-- statistics every second. COMMAND prints "step:NAME" lines and waits
-- (read) for the host to answer "go"; at each step this script acts and
-- reports to stderr as "memtest: ..." lines:
--   step:boot      resize_memory(1G)
--   step:filled    (a 600M tmpfs file exists) VmRSS of this process
--   step:freed     resize_memory(256M); VmRSS after
--   step:fill      (the guest starts filling memory) notes the statistics count
--   step:low       (filled) waits for a memory_pressure event >= medium
--                  from a sample since step:fill, up to 2 samples after
--                  this step; reports how many samples after it came first
--   step:relieved  waits for the level to go back to "low"; inflates the
--                  balloon to 64M and deflates it (vm:set_balloon), each
--                  time until the guest's "actual" follows; reports the
--                  balloon's counters (reported: free page reporting, with
--                  MV_MEM_REPORTING=1)
local mv = require "moonvisor"
local tg = dofile((arg[0]:match("^(.*/)") or "./") .. "testguest.lua")

local command = tg.command(arg)
assert(command, "usage: mem.lua -- COMMAND...")
local shared = os.getenv("MV_MEM_SHARED") == "1"
local reporting = os.getenv("MV_MEM_REPORTING") == "1"

local vm = mv.vm {
  name = "memtest", cpus = 1,
  memory = { size = "256M", hotplug = "2G", shared = shared },
  balloon = { stats = 1, deflate_on_oom = true, free_page_reporting = reporting, pressure = { medium = 0.25, critical = 0.10, hysteresis = 0.05 } },
  kernel = tg.kernel, initrd = tg.initrd, cmdline = tg.cmdline(nil, command),
}

local function say(fmt, ...) tg.say("memtest: " .. fmt, ...) end

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local pressure = {}
vm:on("memory_pressure", function(ev)
  pressure[#pressure + 1] = { level = ev.level, samples = ev.stats.samples, changed = ev.changed }
  say("pressure level=%s changed=%s available=%d total=%d", ev.level, tostring(ev.changed), ev.available, ev.total)
end)

vm:on("stopped", function(ev) say("stopped reason=%s", ev.reason) end)

local function step(name)
  local line = vm.console:expect("^step:" .. name, { timeout = 600 })
  if not line then say("never saw step:%s", name) vm:kill() error("step " .. name) end
end

local function go() vm.console:write("go\n") end

local function show(what)
  local m = vm.memory
  say("%s size=%d max=%d requested=%d plugged=%d", what, m.size, m.max, m.requested, m.plugged)
end

assert(vm:start())
show("start")
step("boot")
local ok, err = vm:resize_memory(1024 * mv.MiB, { timeout = 300 })
say("resize 1G: %s %s", tostring(ok), tostring(err))
show("grown")
go()

step("filled")
local rss_filled = rss_kib()
say("rss_filled_kib=%d", rss_filled)
go()

step("freed")
ok, err = vm:resize_memory(256 * mv.MiB, { timeout = 300 })
say("resize 256M: %s %s", tostring(ok), tostring(err))
show("shrunk")
mv.sleep(1)
local rss_shrunk = rss_kib()
say("rss_shrunk_kib=%d drop_kib=%d", rss_shrunk, rss_filled - rss_shrunk)
local st, age = vm:memory_stats()
if st then say("stats total=%d available=%s free=%s age=%.1f", st.total or -1, tostring(st.available),
  tostring(st.free), age) end
go()

step("fill")
local at0 = (vm:memory_stats() or {}).samples or 0
step("low")
local at1 = (vm:memory_stats() or {}).samples or 0
local seen
for _ = 1, 120 do
  for _, p in ipairs(pressure) do
    if p.samples > at0 and (p.level == "medium" or p.level == "critical") then seen = p break end
  end
  if seen or ((vm:memory_stats() or {}).samples or 0) > at1 + 2 then break end
  mv.sleep(0.25)
end
if seen then
  say("pressure_event level=%s samples_after_low=%d", seen.level, math.max(0, seen.samples - at1))
else
  say("no pressure event within 2 samples after step:low (%d samples during the fill)", at1 - at0)
end
go()

step("relieved")
local eased
for _ = 1, 120 do
  if pressure[#pressure] and pressure[#pressure].level == "low" then eased = true break end
  mv.sleep(0.25)
end
say("eased=%s", tostring(eased))

-- the balloon: inflate by 64M, then deflate; the guest's "actual" follows
local function balloon_to(bytes)
  assert(vm:set_balloon(bytes))
  local info
  for _ = 1, 240 do
    info = vm:balloon_info()
    if info and info.actual == bytes then break end
    mv.sleep(0.25)
  end
  say("balloon target=%d actual=%d inflated=%d deflated=%d reported=%d", info.target, info.actual, info.inflated,
    info.deflated, info.reported)
end
balloon_to(64 * mv.MiB)
balloon_to(0)
go()
if vm:state() ~= "stopped" then vm:wait("stopped", { timeout = 120 }) end
