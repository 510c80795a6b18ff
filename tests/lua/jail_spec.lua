-- mv.vm{ jail = ... } validation (lua/lib/jail_config.lua): every bad
-- field gets a message naming it; a good table creates the VM (the jail
-- itself is entered at vm:start(): tests/cli/jail_test.sh and
-- tests/integration/jail_test.sh).
local mv = require "moonvisor"
local h = require "mvtest"

describe("mv.vm jail", function()
  local kernel, dir, file

  setup(function()
    kernel = h.fake_bzimage(h.tmpname(".bzImage"))
    dir = h.tmpname(".jail")
    assert(os.execute("mkdir -p " .. dir))
    file = h.write(h.tmpname(".file"), "x")
  end)

  teardown(function()
    os.remove(kernel)
    os.remove(file)
    os.remove(dir)
  end)

  local function cfg(jail)
    return { name = "j", kernel = kernel, memory = "64M", serial = "null", jail = jail }
  end

  local function jail(extra)
    local t = { chroot = dir, uid = 1000, gid = 1000 }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  local function err_of(j) return h.error_of(mv.vm, cfg(j)) end

  it("accepts a complete jail and creates the VM without entering it", function()
    local vm = mv.vm(cfg(jail { rlimits = { nofile = 1024, fsize = "1G", core = 0, cpu = "unlimited" } }))
    assert.are.equal("created", vm:state())
    vm:destroy()
  end)

  it("names unknown fields, with a suggestion", function()
    assert.matches("jail: unknown field 'chroott' (did you mean 'chroot'?)", err_of(jail { chroott = dir }), 1, true)
    assert.matches("jail.rlimits: unknown field 'nofiles' (did you mean 'nofile'?)",
      err_of(jail { rlimits = { nofiles = 10 } }), 1, true)
    assert.matches("jail must be a table", err_of("/srv/vm1"), 1, true)
  end)

  it("requires an existing absolute directory other than /", function()
    assert.matches("jail.chroot is required", err_of { uid = 1000, gid = 1000 }, 1, true)
    assert.matches("jail.chroot: " .. dir .. "/missing: No such file or directory",
      err_of(jail { chroot = dir .. "/missing" }), 1, true)
    assert.matches(string.format("jail.chroot = %q is not a directory", file), err_of(jail { chroot = file }), 1, true)
    assert.matches('jail.chroot = "srv/vm1" must be an absolute path', err_of(jail { chroot = "srv/vm1" }), 1, true)
    assert.matches('jail.chroot = "/" would not confine anything', err_of(jail { chroot = "/" }), 1, true)
    assert.matches("jail.chroot must be a directory path (string), got 5", err_of(jail { chroot = 5 }), 1, true)
  end)

  it("requires unprivileged integer uid and gid", function()
    assert.matches("jail.uid is required", err_of { chroot = dir, gid = 1000 }, 1, true)
    assert.matches("jail.gid is required", err_of { chroot = dir, uid = 1000 }, 1, true)
    assert.matches("jail.uid = 0 would keep root's uid", err_of(jail { uid = 0 }), 1, true)
    assert.matches("jail.gid = 0 would keep root's gid", err_of(jail { gid = 0 }), 1, true)
    assert.matches("jail.uid = 1.5 must be an integer", err_of(jail { uid = 1.5 }), 1, true)
    assert.matches('jail.uid = "1000" must be an integer', err_of(jail { uid = "1000" }), 1, true)
    assert.matches("jail.uid = -1 is out of range (1..2147483647)", err_of(jail { uid = -1 }), 1, true)
    assert.matches("jail.gid = 4294967295 is out of range", err_of(jail { gid = 4294967295 }), 1, true)
  end)

  it("checks netns and cgroup paths", function()
    assert.matches("jail.netns: /nonexistent/netns/x: No such file or directory",
      err_of(jail { netns = "/nonexistent/netns/x" }), 1, true)
    assert.matches("jail.netns must be a path", err_of(jail { netns = 3 }), 1, true)
    assert.matches(string.format("jail.cgroup = %q is not a cgroup v2 directory (no cgroup.procs)", dir),
      err_of(jail { cgroup = dir }), 1, true)
    assert.matches("jail.cgroup: /nonexistent/cg: No such file or directory",
      err_of(jail { cgroup = "/nonexistent/cg" }), 1, true)
  end)

  it("checks resource limits", function()
    assert.matches('jail.rlimits.nofile = -1 must be a whole number >= 0 or "unlimited"',
      err_of(jail { rlimits = { nofile = -1 } }), 1, true)
    assert.matches('jail.rlimits.nofile = "1K" must be a whole number >= 0 or "unlimited"',
      err_of(jail { rlimits = { nofile = "1K" } }), 1, true)
    assert.matches([[jail.rlimits.fsize = "12Q": '12Q' is not a size]],
      err_of(jail { rlimits = { fsize = "12Q" } }), 1, true)
    assert.matches("jail.rlimits must be a table", err_of(jail { rlimits = 5 }), 1, true)
  end)

  it("blames the caller's line", function()
    local line = debug.getinfo(1, "l").currentline
    local ok, e = pcall(function() mv.vm(cfg(jail { uid = 0 })) end)
    assert.is_false(ok)
    assert.matches("jail_spec.lua:" .. (line + 1) .. ":", e, 1, true)
  end)
end)
