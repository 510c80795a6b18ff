-- Boots the default guest (built by scripts/guest-image.sh) and shows its
-- serial console.
--
--   moonvisor examples/hello.lua                 run a few commands, power off
--   moonvisor examples/hello.lua 'uname -a'      run your command, power off
--   moonvisor examples/hello.lua --shell         a shell on the console (Ctrl-A x quits)
local mv = require "moonvisor"

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")

local command
if arg[1] == "--shell" then
  command = nil
elseif #arg > 0 then
  command = table.concat(arg, " ")
else
  command = "echo Hello from moonvisor; uname -sr; grep -c ^processor /proc/cpuinfo; date -u"
end

local vm = mv.vm {
  name    = "hello",
  cpus    = 2,
  memory  = "512M",
  kernel  = guest .. "/vmlinuz",
  initrd  = guest .. "/initrd.img",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check" .. (command and (" -- " .. command) or ""),
  serial  = "stdio",
}

vm:on("stopped", function(ev)
  io.stderr:write(string.format("moonvisor: vm '%s' stopped (%s)\n", vm.name, ev.reason))
end)

assert(vm:start())
