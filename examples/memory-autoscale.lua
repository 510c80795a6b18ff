-- Memory that follows the guest: boots the default guest small (256M) with
-- a 2G virtio-mem hotplug region and balloon statistics every second, grows
-- it by 256M whenever the guest reports memory pressure, and shrinks it
-- back once the pressure has been gone for a while, never below what the
-- guest uses plus headroom, never outside [256M, 2304M].
--
--   moonvisor examples/memory-autoscale.lua                 a demo workload
--   moonvisor examples/memory-autoscale.lua 'COMMAND'       your command
--   moonvisor examples/memory-autoscale.lua --off 'COMMAND' the same VM
--                                           without the policy (compare)
-- Each decision is logged to stderr as "autoscale: ...".
local mv = require "moonvisor"

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")

local policy = true
local args = { table.unpack(arg) }
if args[1] == "--off" then policy = false table.remove(args, 1) end
-- the demo: 500M of anonymous memory, 8M a second, in awk
local command = #args > 0 and table.concat(args, " ") or
  [[awk 'BEGIN { c = "x"; for (k = 0; k < 20; k++) c = c c; for (i = 0; i < 500; i++) { a[i] = c i; ]] ..
  [[if (i % 8 == 7) system("sleep 1") } print "alloc=ok" }']]

local function base64(s)
  local abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(c)
    local b, bits = c:byte(), ""
    for i = 8, 1, -1 do bits = bits .. ((b >> (i - 1)) & 1) end
    return bits
  end) .. "0000"):gsub("%d%d?%d?%d?%d?%d?", function(bits)
    if #bits < 6 then return "" end
    local n = tonumber(bits, 2)
    return abc:sub(n + 1, n + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local MIN, STEP = 256 * mv.MiB, 256 * mv.MiB
local HEADROOM = 1.5          -- keep (used memory) * HEADROOM when shrinking
local CALM = 10               -- seconds of "low" pressure before shrinking

local vm = mv.vm {
  name = "autoscale", cpus = 1,
  memory = { size = "256M", hotplug = "2G" },
  balloon = { stats = 1, free_page_reporting = true, deflate_on_oom = true,
              pressure = { medium = 0.20, critical = 0.08, hysteresis = 0.10 } },
  kernel = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
  -- Linux hands init at most 32 words: the command travels base64'd
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check -- echo " .. base64(command) .. " | base64 -d | sh",
}

local function log(fmt, ...) io.stderr:write("\nautoscale: " .. string.format(fmt, ...) .. "\n") end
local function mib(n) return n // mv.MiB end

local resizing = false
local function resize(to, why)
  if resizing or to == vm.memory.requested then return end
  resizing = true
  mv.spawn(function()
    log("%s: %dM -> %dM", why, mib(vm.memory.requested), mib(to))
    local ok, err = vm:resize_memory(to, { timeout = 60 })
    log("%s", ok and string.format("now %dM", mib(vm.memory.plugged)) or ("resize failed: " .. err))
    resizing = false
  end)
end

local calm_since
if policy then
  vm:on("memory_pressure", function(ev)
    log("pressure %s: %dM available of %dM", ev.level, mib(ev.available), mib(ev.total))
    if ev.level == "low" then calm_since = mv.now() return end
    calm_since = nil
    local m = vm.memory
    if m.requested < m.max then resize(math.min(m.requested + STEP, m.max), "grow") end
  end)

  -- shrink once calm: to what the guest uses (total - available) times
  -- HEADROOM, in whole STEPs above MIN
  mv.every(1, function()
    if vm:state() ~= "running" or not calm_since or mv.now() - calm_since < CALM then return end
    local st = vm:memory_stats()
    local m = vm.memory
    if not st or not st.available or resizing then return end
    local used = st.total - st.available
    local want = MIN
    while want < m.max and want < used * HEADROOM + (m.plugged - st.total) do want = want + STEP end
    if want < m.requested then
      calm_since = mv.now()
      resize(want, "shrink")
    end
  end)
end

vm:on("stopped", function(ev) log("vm stopped (%s)", ev.reason) end)
assert(vm:start())
