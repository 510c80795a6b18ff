-- The Lua control plane: tasks, timers, events, console scripting and the
-- CPU budget, against the real module. VMs here are tiny purpose-built
-- guests (tests/lua/mvtest.lua) that run on any /dev/kvm in milliseconds.
local mv = require "moonvisor"
local h = require "mvtest"

local run, expect_done = h.run_task, h.expect_done

describe("tasks", function()
  it("run fn with arguments and join returns the results", function()
    local t = mv.spawn(function(a, b) mv.sleep(0.01) return a + b, "x" end, 2, 3)
    local got
    expect_done(run(function() got = table.pack(t:join()) end))
    assert.are.same({ true, 5, "x", n = 3 }, got)
  end)

  it("sleep waits at least that long and lets others run", function()
    local order = {}
    mv.spawn(function() mv.sleep(0.05) order[#order + 1] = "slow" end)
    mv.spawn(function() mv.sleep(0.01) order[#order + 1] = "fast" end)
    local t0 = mv.now()
    mv.run()
    assert.are.same({ "fast", "slow" }, order)
    assert.is_true(mv.now() - t0 >= 0.04)
  end)

  it("join with a timeout returns nil, 'timeout' and the task keeps running", function()
    local slow = mv.spawn(function() mv.sleep(0.2) return "late" end)
    local r1, r2
    expect_done(run(function() r1, r2 = slow:join { timeout = 0.02 } end))
    assert.is_nil(r1)
    assert.are.equal("timeout", r2)
    assert.are.equal("done", slow.status)
  end)

  it("join reports a failed task's error", function()
    local bad = mv.spawn(function() error("boom", 0) end)
    local ok, err
    expect_done(run(function() ok, err = bad:join() end))
    assert.is_nil(ok)
    assert.are.equal("boom", err)
  end)

  it("cancel stops a waiting task; its timer does not fire", function()
    local reached = false
    local t = mv.spawn(function() mv.sleep(0.05) reached = true end)
    mv.spawn(function() mv.sleep(0.01) assert.is_true(t:cancel()) end)
    mv.run()
    assert.is_false(reached)
    assert.are.equal("cancelled", t.status)
    assert.is_false(t:cancel())
  end)

  it("waiting outside a task raises a clear error", function()
    assert.matches("mv.sleep must be called from a task", h.error_of(mv.sleep, 0.1), 1, true)
    local vm = mv.vm { kernel = h.tiny_guest(h.code.spin), memory = "32M", serial = "null" }
    assert.matches("console:expect must be called from a task", h.error_of(vm.console.expect, vm.console, "x"), 1, true)
    assert.matches("vm:wait must be called from a task", h.error_of(vm.wait, vm, "stopped"), 1, true)
    vm:destroy()
  end)

  it("validates arguments", function()
    assert.matches("mv.spawn: expected a function", h.error_of(mv.spawn, 5), 1, true)
    assert.matches("seconds must be a number >= 0", h.error_of(mv.after, -1, function() end), 1, true)
    assert.matches("mv.every: seconds must be > 0", h.error_of(mv.every, 0, function() end), 1, true)
    local t = run(function() return mv.spawn(function() end):join { timeout = "x" } end)
    assert.are.equal("failed", t.status)
    assert.matches("timeout must be a number", t.error, 1, true)
  end)
end)

describe("timers", function()
  it("after fires once, every repeats until cancelled", function()
    local once, ticks = 0, 0
    mv.after(0.01, function() once = once + 1 end)
    local tick = mv.every(0.01, function() ticks = ticks + 1 end)
    run(function() mv.sleep(0.08) end)
    assert.are.equal(1, once)
    assert.is_true(ticks >= 3)
    assert.is_true(tick:active())
    assert.is_true(tick:cancel())
    local n = ticks
    run(function() mv.sleep(0.03) end)
    assert.are.equal(n, ticks)
    assert.is_false(tick:active())
  end)

  it("stay alive without a reference until cancelled", function()
    local ticks = 0
    mv.every(0.01, function() ticks = ticks + 1 end)
    collectgarbage()
    collectgarbage()
    run(function() mv.sleep(0.05) end)
    assert.is_true(ticks >= 2)
  end)

  it("an error in a callback is logged with a traceback and the loop goes on", function()
    local out, status = h.run_child [[
      local mv = require "moonvisor"
      mv.after(0, function() error("callback exploded") end)
      mv.after(0.02, function() print("later ran") end)
      mv.spawn(function() mv.sleep(0.04) end)
      mv.run()
      print("loop ended")
    ]]
    assert.are.equal(0, status)
    assert.matches("callback exploded", out, 1, true)
    assert.matches("stack traceback", out, 1, true)
    assert.matches("later ran", out, 1, true)
    assert.matches("loop ended", out, 1, true)
  end)

  it("a runaway callback is interrupted and cannot swallow it with pcall", function()
    local out, status = h.run_child [[
      local mv = require "moonvisor"
      mv.budget(0.2)
      mv.after(0, function()
        while true do pcall(function() while true do end end) end
      end)
      mv.after(0, function()
        local co = coroutine.create(function() while true do end end)
        while true do coroutine.resume(co) end
      end)
      mv.after(0.01, function() print("later ran") end)
      mv.spawn(function() mv.sleep(0.02) end)
      mv.run()
      print("loop ended")
    ]]
    assert.are.equal(0, status)
    local _, n = out:gsub("interrupted: ran longer than the 0.2 s CPU budget", "")
    assert.are.equal(2, n)
    assert.matches("later ran", out, 1, true)
    assert.matches("loop ended", out, 1, true)
  end)

  it("a runaway task step is interrupted too", function()
    local out = h.run_child [[
      local mv = require "moonvisor"
      mv.budget(0.2)
      local t = mv.spawn(function() mv.sleep(0) while true do end end)
      mv.spawn(function() print("join:", t:join()) end)
      mv.run()
    ]]
    assert.matches("join:	nil	.*interrupted: ran longer", out)
  end)
end)

describe("vm lifecycle and events", function()
  if not h.have_kvm() then
    pending("needs read/write /dev/kvm for tiny guests")
    return
  end

  it("start, console lines and poweroff arrive in order", function()
    local kernel = h.tiny_guest(h.code.print("one\ntwo\n") .. h.code.poweroff)
    local vm = mv.vm { name = "order", kernel = kernel, memory = "32M", serial = "null" }
    local events = {}
    for _, e in ipairs { "started", "stopped" } do
      vm:on(e, function(ev) events[#events + 1] = e .. (ev.reason and (":" .. ev.reason) or "") end)
    end
    vm:on("console", function(line) events[#events + 1] = "console:" .. line end)
    assert.is_true(vm:start())
    mv.run()
    assert.are.same({ "started", "console:one", "console:two", "stopped:poweroff" }, events)
    assert.are.equal("stopped", vm:state())
    assert.are.same({ "one", "two" }, vm.console:tail(5))
    assert.are.same({ "two" }, vm.console:tail(1))
    assert.are.equal(1, vm:info().boots)
    assert.is_true(vm:info().exits.io >= 8)
    vm:destroy()
    os.remove(kernel)
  end)

  it("info lists the running machine's devices with their ranges and access counts", function()
    local kernel = h.tiny_guest(h.code.print("hello\n") .. h.code.spin)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    assert(vm:start())
    local devices
    expect_done(run(function()
      vm.console:expect("hello", { timeout = 5 })
      devices = vm:info().devices
      vm:kill()
    end))
    local by_id = {}
    for _, d in ipairs(devices) do by_id[d.id] = d end
    assert.are.same({ { bus = "pio", base = 0x3f8, size = 8 } }, by_id.serial.resources)
    assert.is_true(by_id.serial.accesses >= 6, "the guest wrote 'hello\\n' to the UART")
    assert.are.equal(2, #by_id.i8042.resources)
    assert.are.equal(0, by_id.i8042.accesses)
    assert.is_not_nil(by_id.rtc)
    assert.is_not_nil(by_id.ged)
    assert.are.same({}, vm:info().devices) -- stopped: no machine
    vm:destroy()
    os.remove(kernel)
  end)

  it("info shows each virtio device's queues (a guest without a driver: none ready, nothing taken)", function()
    local kernel = h.tiny_guest(h.code.print("hello\n") .. h.code.spin)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null", rng = true }
    assert(vm:start())
    local rng
    expect_done(run(function()
      vm.console:expect("hello", { timeout = 5 })
      rng = h.device(vm, "rng")
      vm:kill()
    end))
    assert.is_table(rng.queues)
    assert.are.equal(1, #rng.queues)
    local q = rng.queues[1]
    assert.are.equal(0, q.index)
    assert.is_true(q.size > 0)
    assert.is_false(q.ready)
    assert.is_false(q.vhost)
    assert.are.same({ 0, 0, 0, 0, 0 }, { q.avail_idx, q.used_idx, q.last_avail, q.kicks, q.irqs })
    assert.is_false(q.kick_pending)
    assert.is_nil(q.vector) -- no MSI-X vector assigned
    vm:destroy()
    os.remove(kernel)
  end)

  it("pause, resume and kill a running guest; wait returns the event", function()
    local kernel = h.tiny_guest(h.code.print("up\n") .. h.code.spin)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local seen = {}
    for _, e in ipairs { "paused", "resumed", "stopped" } do
      vm:on(e, function() seen[#seen + 1] = e end)
    end
    assert(vm:start())
    local stopped
    expect_done(run(function()
      assert.are.equal("up", vm.console:expect("up", { timeout = 5 }))
      assert.is_true(vm:pause())
      assert.are.equal("paused", vm:state())
      local ok, err = vm:pause()
      assert.is_nil(ok)
      assert.matches("is paused, not running", err, 1, true)
      assert.is_true(vm:resume())
      assert.are.equal("running", vm:state())
      assert.is_nil(select(1, vm:wait("stopped", { timeout = 0.05 })))
      mv.after(0.01, function() vm:kill() end)
      stopped = vm:wait("stopped", { timeout = 5 })
    end))
    assert.are.equal("killed", stopped.reason)
    assert.are.same({ "paused", "resumed", "stopped" }, seen)
    vm:destroy()
    os.remove(kernel)
  end)

  it("a guest reset reboots the VM; a handler returning false vetoes it", function()
    local kernel = h.tiny_guest(h.code.print("boot\n") .. h.code.reset)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local resets = 0
    vm:on("reset", function()
      resets = resets + 1
      return resets < 3
    end)
    local ev
    vm:on("stopped", function(e) ev = e end)
    assert(vm:start())
    mv.run()
    assert.are.equal(3, resets)
    assert.are.equal(3, vm:info().boots)
    assert.are.equal("reset", ev.reason)
    assert.are.equal(3, #vm.console:tail(10))
    vm:destroy()
    os.remove(kernel)
  end)

  it("the reset event says why the guest reset (handlers and the event monitor)", function()
    local reasons = {}
    local events = h.tmpname(".events")
    assert(mv.api.event_monitor(events))
    for _, c in ipairs { { "reset", "acpi reset register" }, { "reset_kbd", "keyboard controller" },
                         { "reset_cf9", "port 0xcf9" }, { "triple_fault", "triple fault" } } do
      local kernel = h.tiny_guest(h.code[c[1]])
      local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
      local stopped
      vm:on("reset", function(ev)
        reasons[c[1]] = ev.reason
        return false
      end)
      vm:on("stopped", function(ev) stopped = ev.reason end)
      assert(vm:start())
      local guard = mv.after(10, function() vm:kill() end) -- a guest whose reset went unheard
      mv.run()
      guard:cancel()
      assert.are.equal("reset", stopped, c[1])
      vm:destroy()
      os.remove(kernel)
      assert.are.equal(c[2], reasons[c[1]], c[1])
    end
    local monitored = {}
    for line in io.lines(events) do
      local e = mv.json.decode(line)
      if e.event == "reset" then monitored[#monitored + 1] = e.properties.reason end
    end
    os.remove(events)
    assert.are.same({ "acpi reset register", "keyboard controller", "port 0xcf9", "triple fault" }, monitored)
  end)

  it("a reset handler may destroy or kill the VM", function()
    local kernel = h.tiny_guest(h.code.print("boot\n") .. h.code.reset)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    vm:on("reset", function() vm:destroy() end)
    assert(vm:start())
    mv.run()
    assert.matches("was destroyed", h.error_of(vm.state, vm))
    local vm2 = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local ev
    vm2:on("reset", function() vm2:kill() return true end)
    vm2:on("stopped", function(e) ev = e end)
    assert(vm2:start())
    mv.run()
    assert.are.equal("killed", ev.reason)
    assert.are.equal(1, vm2:info().boots)
    vm2:destroy()
    os.remove(kernel)
  end)

  it("expect matches alternatives, partial lines, and times out", function()
    local kernel = h.tiny_guest(h.code.print("login: ") .. h.code.spin)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    assert(vm:start())
    expect_done(run(function()
      assert.are.equal("login: ", vm.console:expect("login:|# ", { timeout = 5 }))
      local r, err = vm.console:expect("never", { timeout = 0.05 })
      assert.is_nil(r)
      assert.are.equal("timeout", err)
      assert.is_true(vm.console:write("root\n"))
      vm:kill()
    end))
    assert.matches("bad pattern", h.error_of(function()
      local t = run(function() vm.console:expect("(", { timeout = 0 }) end)
      error(t.error)
    end), 1, true)
    vm:destroy()
    os.remove(kernel)
  end)

  it("expect does not match a line that is still arriving, but matches a quiet prompt", function()
    local kernel = h.tiny_guest(h.code.echo)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    assert(vm:start())
    local got = {}
    expect_done(run(function()
      -- the guest echoes what it is sent: "sum=4" now, "2" 30 ms later
      vm.console:write("sum=4")
      mv.after(0.03, function() vm.console:write("2\n") end)
      got.sum = vm.console:expect("^sum=%d+", { timeout = 5 })
      vm.console:write("prompt# ")
      local t0 = mv.now()
      got.prompt = vm.console:expect("# $", { timeout = 5 })
      got.waited = mv.now() - t0
      -- that prompt was consumed: its completed line does not match again
      vm.console:write("ls\nnext\n")
      got.next = vm.console:expect("^next$|# ", { timeout = 5 })
      vm:kill()
    end))
    assert.are.equal("sum=42", got.sum)
    assert.are.equal("prompt# ", got.prompt)
    assert.is_true(got.waited >= 0.1, "a partial line waits for 0.1 s of quiet")
    assert.are.equal("next", got.next)
    vm:destroy()
    os.remove(kernel)
  end)

  it("an error in an event handler is logged and the VM keeps running", function()
    local out, status = h.run_child [[
      local mv = require "moonvisor"
      local h = require "mvtest"
      local kernel = h.tiny_guest(h.code.print("x\n") .. h.code.spin)
      local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
      vm:on("console", function() error("handler bug") end)
      assert(vm:start())
      mv.spawn(function()
        vm.console:expect("x", { timeout = 5 })
        print("state after error:", vm:state())
        vm:kill()
      end)
      mv.run()
      os.remove(kernel)
    ]]
    assert.are.equal(0, status)
    assert.matches("error in 'console' handler", out, 1, true)
    assert.matches("handler bug", out, 1, true)
    assert.matches("state after error:\trunning", out, 1, true)
  end)

  it("boots from shared (memfd) memory; hugepages fail with a clear message when the host has none", function()
    local kernel = h.tiny_guest(h.code.print("shared\n") .. h.code.poweroff)
    local vm = mv.vm { kernel = kernel, memory = { size = "32M", shared = true }, serial = "null" }
    assert.is_true(vm:start())
    mv.run()
    assert.are.same({ "shared" }, vm.console:tail(1))
    assert.are.equal("poweroff", vm:info().stop_reason)
    vm:destroy()
    local f = io.open("/proc/sys/vm/nr_hugepages")
    local huge = f and tonumber(f:read("l")) or 0
    if f then f:close() end
    if huge == 0 then
      local hvm = mv.vm { kernel = kernel, memory = { size = "32M", hugepages = true }, serial = "null" }
      local ok, err = hvm:start()
      assert.is_nil(ok)
      assert.matches("with hugepages", err, 1, true)
      assert.are.equal("created", hvm:state())
      hvm:destroy()
    end
    os.remove(kernel)
  end)

  it("subscriptions can be cancelled", function()
    local kernel = h.tiny_guest(h.code.print("a\nb\n") .. h.code.poweroff)
    local vm = mv.vm { kernel = kernel, memory = "32M", serial = "null" }
    local lines = {}
    local sub
    sub = vm:on("console", function(l) lines[#lines + 1] = l sub.cancel() end)
    assert(vm:start())
    mv.run()
    assert.are.same({ "a" }, lines)
    vm:destroy()
    os.remove(kernel)
  end)
end)
