-- mv.vm{ nets = ... } validation (lua/lib/net_config.lua): normalized
-- entries, default ids and MACs, and a clear message for every bad input,
-- blamed on the user's line. No tap is opened before vm:start().
local mv = require "moonvisor"
local h = require "mvtest"

describe("mv.vm nets", function()
  local kernel
  local cfgmod = require "moonvisor.config"
  local fake_core = { probe_kernel = function() return {} end, parse_size = function() return 64 * mv.MiB end }

  setup(function() kernel = h.fake_bzimage(h.tmpname(".bzImage")) end)
  teardown(function() os.remove(kernel) end)

  local function cfg(extra)
    local t = { name = "t", kernel = kernel, memory = "64M", serial = "null" }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end
  local function err(nets) return h.error_of(mv.vm, cfg { nets = nets }) end

  it("normalizes entries: ids, lower-case MACs, vhost false by default", function()
    local out = assert(cfgmod.validate(cfg { nets = {
      { id = "lan", tap = "tap0", mac = "52:54:00:AB:cd:01", vhost = true },
      { tap = "tap1", mac = "02:00:00:00:00:01" },
    } }, fake_core))
    assert.are.same({ id = "lan", tap = "tap0", mac = "52:54:00:ab:cd:01", vhost = true }, out.nets[1])
    assert.are.same({ id = "net1", tap = "tap1", mac = "02:00:00:00:00:01", vhost = false }, out.nets[2])
    assert.are.same({}, assert(cfgmod.validate(cfg {}, fake_core)).nets)
    local vm = mv.vm(cfg { nets = { { tap = "tap0" } } })
    assert.are.equal("created", vm:state())
    vm:destroy()
  end)

  it("derives a stable, locally administered unicast MAC from the VM name and id", function()
    local function mac(name, id)
      local t = cfg { nets = { { tap = "tap0", id = id } } }
      t.name = name
      return assert(cfgmod.validate(t, fake_core)).nets[1].mac
    end
    local a = mac("vm-a", "net0")
    assert.are.equal(a, mac("vm-a", "net0"))
    assert.are_not.equal(a, mac("vm-b", "net0"))
    assert.are_not.equal(a, mac("vm-a", "net1"))
    assert.matches("^52:54:%x%x:%x%x:%x%x:%x%x$", a)
    local first = tonumber(a:sub(1, 2), 16)
    assert.are.equal(2, first & 3) -- locally administered, not multicast
  end)

  it("rejects bad entries with a message naming the field", function()
    assert.matches('nets must be a list of tables, got string ("x")', err "x", 1, true)
    assert.matches("nets[1] must be a table", err { "x" }, 1, true)
    assert.matches('nets: unexpected key "tap"', err { tap = "tap0" }, 1, true)
    local e = err { { tap = "tap0", vhots = true } }
    assert.matches("nets[1]: unknown field 'vhots'", e, 1, true)
    assert.matches("did you mean 'vhost'", e, 1, true)
    assert.matches("nets[1]: tap is required", err { { id = "a" } }, 1, true)
    assert.matches('nets[1]: tap = "" is not an interface name', err { { tap = "" } }, 1, true)
    assert.matches('is not an interface name', err { { tap = "a/b" } }, 1, true)
    assert.matches('is not an interface name', err { { tap = "0123456789abcdef" } }, 1, true)
    assert.matches("nets[1]: vhost must be a boolean, got string", err { { tap = "t", vhost = "yes" } }, 1, true)
    assert.matches('nets[1]: mac = "52:54:00:12:34" is not a MAC address', err { { tap = "t", mac = "52:54:00:12:34" } }, 1, true)
    assert.matches("is not a MAC address", err { { tap = "t", mac = "52-54-00-12-34-56" } }, 1, true)
    assert.matches("is not a MAC address", err { { tap = "t", mac = 5 } }, 1, true)
    assert.matches('nets[1]: mac = "01:00:5e:00:00:01" is a multicast address',
      err { { tap = "t", mac = "01:00:5e:00:00:01" } }, 1, true)
    assert.matches("is all zeroes", err { { tap = "t", mac = "00:00:00:00:00:00" } }, 1, true)
    assert.matches("nets[1]: id = 3 must be a string", err { { tap = "t", id = 3 } }, 1, true)
    local many = {}
    for i = 1, 9 do many[i] = { tap = "tap" .. i } end
    assert.matches("nets: 9 NICs, at most 8", err(many), 1, true)
  end)

  it("rejects duplicate ids, taps and MACs", function()
    assert.matches('nets[2]: id = "a" is already used by nets[1]',
      err { { id = "a", tap = "t0" }, { id = "a", tap = "t1" } }, 1, true)
    assert.matches('nets[2]: tap = "t0" is already used by nets[1]', err { { tap = "t0" }, { tap = "t0" } }, 1, true)
    assert.matches('nets[2]: mac = "52:54:00:00:00:01" is already used by nets[1]',
      err { { tap = "t0", mac = "52:54:00:00:00:01" }, { tap = "t1", mac = "52:54:00:00:00:01" } }, 1, true)
  end)

  it("blames the caller's line", function()
    local line = debug.getinfo(1, "l").currentline
    local ok, e = pcall(function() mv.vm(cfg { nets = { { tap = "tap0", mca = "x" } } }) end)
    assert.is_false(ok)
    assert.matches("net_config_spec.lua:" .. (line + 1) .. ":", e, 1, true)
    assert.matches("did you mean 'mac'", e, 1, true)
  end)
end)
