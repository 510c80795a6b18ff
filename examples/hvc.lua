-- Boots the default guest (built by scripts/guest-image.sh) with a virtio
-- console next to the serial port, runs a shell on the guest's /dev/hvc0
-- and drives it from Lua: commands go in with vm.hvc:write, their output
-- comes back as hvc0 lines (printed as "hvc0| ..."). The serial console
-- (stdio) keeps the kernel's and init's messages.
--
--   moonvisor examples/hvc.lua                    uname -r; cat /proc/loadavg
--   moonvisor examples/hvc.lua 'ls -l /dev/hvc0'  your command
local mv = require "moonvisor"

local cache = os.getenv("MV_CACHE_DIR") or ((os.getenv("HOME") or "/root") .. "/.cache/moonvisor")
local guest = os.getenv("MV_GUEST_DIR") or (cache .. "/guest")
local command = #arg > 0 and table.concat(arg, " ") or "uname -r; cat /proc/loadavg"

-- In the guest: hvc0 becomes the shell's input and output, without echo;
-- each line read from it is run; "exit" ends the guest.
local hvc_shell = "exec </dev/hvc0 >/dev/hvc0 2>&1; stty -echo; echo hvc-ready; " ..
                  "while read -r l; do eval $l; done"

local vm = mv.vm {
  name    = "hvc",
  memory  = "256M",
  kernel  = guest .. "/vmlinuz",
  initrd  = guest .. "/initrd.img",
  cmdline = "console=ttyS0 quiet panic=-1 no_timer_check -- " .. hvc_shell,
  serial  = "stdio",
  console = "virtio",   -- hvc0; its output reaches vm.hvc only
}

vm:on("hvc", function(line) print("hvc0| " .. line) end)
vm:on("stopped", function(ev)
  io.stderr:write(string.format("moonvisor: vm '%s' stopped (%s)\n", vm.name, ev.reason))
end)

assert(vm:start())
assert(vm.hvc:expect("^hvc%-ready$", { timeout = 120 }))
assert(vm.hvc:write(command .. "\necho hvc-done $?\n"))
local done = assert(vm.hvc:expect("^hvc%-done %d+$", { timeout = 60 }))
io.stderr:write("moonvisor: the command ended with status " .. done:match("%d+$") .. "\n")
vm.hvc:write("exit\n")
