-- The REPL's evaluation engine (lua/lib/repl.lua), without a terminal or a
-- socket: lines in, output and prompts out. VMs here are created but never
-- started, so no KVM is needed.
local mv = require "moonvisor"
local repl = require "moonvisor.repl"
local h = require "mvtest"

-- A session that records what it says; s:feed() then run the loop.
local function new_session()
  local rec = { out = "", err = "", prompts = {}, dones = {} }
  local s = repl.session {
    write = function(t) rec.out = rec.out .. t end,
    write_err = function(t) rec.err = rec.err .. t end,
    ready = function(p) rec.prompts[#rec.prompts + 1] = p end,
    done = function(ok) rec.dones[#rec.dones + 1] = ok end,
  }
  local function feed(line)
    local r = s:feed(line)
    mv.run()
    return r
  end
  return s, rec, feed
end

describe("repl sessions", function()
  it("print the values of expressions, tried first as `return <line>`", function()
    local _, rec, feed = new_session()
    assert.are.equal("running", feed("1 + 1"))
    assert.are.equal("2\n", rec.out)
    feed("'a', nil, 3")
    assert.are.equal("2\na\tnil\t3\n", rec.out)
    assert.are.same({ "> ", "> " }, rec.prompts)
    assert.are.same({ true, true }, rec.dones)
    assert.are.equal("", rec.err)
  end)

  it("run statements, which print nothing, and keep assignments in the session", function()
    local s, rec, feed = new_session()
    feed("x = 5")
    feed("local y = 1")
    assert.are.equal("", rec.out)
    feed("x * 2")
    assert.are.equal("10\n", rec.out)
    assert.are.equal(5, s.env.x)
    assert.is_nil(rawget(_G, "x"))
  end)

  it("wait for the rest of an incomplete chunk with a '>> ' prompt", function()
    local s, rec, feed = new_session()
    assert.are.equal("more", feed("function f(x)"))
    assert.are.equal("more", feed("  return x * 2"))
    assert.are.same({ ">> ", ">> " }, rec.prompts)
    assert.are.equal("running", feed("end"))
    feed("f(21)")
    assert.are.equal("42\n", rec.out)
    assert.are.same({ ">> ", ">> ", "> ", "> " }, rec.prompts)
    assert.is_function(s.env.f)
  end)

  it("show a syntax error and go on", function()
    local _, rec, feed = new_session()
    assert.are.equal("error", feed("x = = 1"))
    assert.matches("stdin:1: unexpected symbol near '='", rec.err, 1, true)
    assert.are.same({ false }, rec.dones)
    assert.are.same({ "> " }, rec.prompts)
    feed("1")
    assert.are.equal("1\n", rec.out)
  end)

  it("show a runtime error's message and go on", function()
    local _, rec, feed = new_session()
    feed('error("oops")')
    assert.are.equal("stdin:1: oops\n", rec.err)
    feed("error({})")
    assert.matches("error object is a table value", rec.err, 1, true)
    assert.are.same({ false, false }, rec.dones)
    feed("'still here'")
    assert.are.equal("still here\n", rec.out)
  end)

  it("run each chunk as a task, so it may wait", function()
    local s, rec = new_session()
    assert.are.equal("running", s:feed("mv.sleep(0.01) return 1"))
    assert.is_true(s:busy())
    assert.are.equal("queued", s:feed("2"))
    assert.are.same({}, rec.prompts)
    mv.run()
    assert.are.equal("1\n2\n", rec.out)
    assert.are.same({ "> ", "> " }, rec.prompts)
    assert.is_false(s:busy())
  end)

  it("send print to the session, not to stdout", function()
    local _, rec, feed = new_session()
    feed('print("hello", 1, nil)')
    assert.are.equal("hello\t1\tnil\n", rec.out)
  end)

  it("interrupt cancels the running chunk, or drops a pending one", function()
    local s, rec, feed = new_session()
    s:feed("mv.sleep(5) print('not reached')")
    s:interrupt()
    mv.run()
    assert.are.equal("cancelled\n", rec.err)
    assert.are.equal("", rec.out)
    assert.are.same({ false }, rec.dones)
    feed("function g()")
    s:interrupt()
    feed("g")
    assert.are.equal("nil\n", rec.out)
    assert.are.same({ "> ", ">> ", "> ", "> " }, rec.prompts)
  end)

  it("close cancels the running chunk and drops its output", function()
    local s, rec = new_session()
    s:feed("mv.sleep(0.01) print('late')")
    s:close()
    mv.run()
    assert.are.equal("", rec.out .. rec.err)
    assert.are.equal("closed", s:feed("1"))
  end)

  it("report `.quit`", function()
    local _, _, feed = new_session()
    assert.are.equal("quit", feed(".quit"))
  end)

  it("give `vm` (the first VM) and `vms` (by name)", function()
    local kernel = h.tiny_guest(h.code.spin)
    local a = mv.vm { name = "first", kernel = kernel, memory = "32M", serial = "null" }
    local b = mv.vm { name = "second", kernel = kernel, memory = "32M", serial = "null" }
    local _, rec, feed = new_session()
    feed("vm.name, vms.second.name, vm:info().state")
    assert.are.equal("first\tsecond\tcreated\n", rec.out)
    assert.are.same({ a, b }, mv.vms())
    a:destroy()
    b:destroy()
    assert.are.same({}, mv.vms())
    os.remove(kernel)
  end)
end)

describe("repl.format", function()
  it("prints tables one level deep, string keys first", function()
    assert.are.equal('{ a = 1, b = "x", [1] = 10 }', repl.format({ a = 1, b = "x", 10 }))
    assert.are.equal('{ t = {...}, u = {}, [1] = "a\\nb" }', repl.format({ t = { 1 }, u = {}, "a\nb" }))
    assert.are.equal('{ ["end"] = 1, ["not ident"] = true }', repl.format({ ["not ident"] = true, ["end"] = 1 }))
    assert.are.equal("{}", repl.format({}))
  end)

  it("prints other values as tostring does, strings as they are", function()
    assert.are.equal("text", repl.format("text"))
    assert.are.equal("nil", repl.format(nil))
    assert.are.equal("1.5", repl.format(1.5))
    local obj = setmetatable({}, { __tostring = function() return "<obj>" end })
    assert.are.equal("<obj>", repl.format(obj))
  end)

  it("does not run __index or __pairs", function()
    local t = setmetatable({ a = 1 }, {
      __index = function() error("ran __index") end,
      __pairs = function() error("ran __pairs") end,
    })
    assert.are.equal("{ a = 1 }", repl.format(t))
  end)

  it("shortens big tables", function()
    local big = {}
    for i = 1, 500 do big[i] = i end
    local s = repl.format(big)
    assert.matches("%[100%] = 100, %.%.%. }$", s)
  end)
end)

describe("repl completion", function()
  local kernel, vm, s
  setup(function()
    kernel = h.tiny_guest(h.code.spin)
    vm = mv.vm { name = "c", kernel = kernel, memory = "32M", serial = "null" }
    s = new_session()
  end)
  teardown(function()
    vm:destroy()
    os.remove(kernel)
  end)

  it("completes fields, methods and module functions", function()
    assert.are.same({ "vm.console" }, s:complete("vm.con"))
    assert.are.same({ "vm:pause" }, s:complete("vm:pa"))
    assert.are.same({ "mv.spawn" }, s:complete("mv.sp"))
    assert.are.same({ "vm.console:write" }, s:complete("vm.console:wr"))
    assert.are.same({ "x = string.format" }, s:complete("x = string.form"))
    assert.are.same({ "s:upper" }, repl.complete({ s = "text" }, "s:up"))
  end)

  it("offers only methods after ':' and hides _private fields", function()
    for _, c in ipairs(s:complete("vm:")) do
      assert.is_function(vm[c:sub(4)], c)
    end
    assert.is_true(#s:complete("vm:") >= 10)
    assert.are.same({}, s:complete("vm:con"))
    local dot = table.concat(s:complete("vm."), " ")
    assert.matches("vm.console vm.destroy", dot, 1, true)
    assert.not_matches("_handle", dot, 1, true)
    assert.are.same({ "vm._handle" }, s:complete("vm._ha"))
  end)

  it("completes globals and keywords at the top level", function()
    local c = s:complete("pri")
    assert.are.same({ "print" }, c)
    assert.are.same({ "function" }, s:complete("functi"))
    assert.are.same({}, s:complete("nosuchname.x"))
  end)

  it("never calls a function or an __index function", function()
    local calls = 0
    local lazy = setmetatable({}, { __index = function() calls = calls + 1 error("evaluated") end })
    local env = setmetatable({
      lazy = lazy,
      proxy = setmetatable({ own = 1 }, { __index = setmetatable({ inherited = 2 }, { __index = lazy }) }),
      fn = function() calls = calls + 1 return { x = 1 } end,
    }, { __index = _G })
    assert.are.same({}, repl.complete(env, "lazy.fo"))
    assert.are.same({}, repl.complete(env, "lazy.a.b"))
    assert.are.same({ "proxy.inherited", "proxy.own" }, repl.complete(env, "proxy."))
    assert.are.same({}, repl.complete(env, "proxy.missing.x"))
    assert.are.same({}, repl.complete(env, "fn.x"))
    assert.are.equal(0, calls)
  end)
end)
