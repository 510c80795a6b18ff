-- The REST API's Lua half without a socket: Cloud Hypervisor's VmConfig
-- mapped onto mv.vm{} (lua/lib/vmconfig.lua), the router and the built-in
-- endpoints (lua/lib/restapi.lua) through mv.api._run, answers checked
-- against the reduced Cloud Hypervisor schema in tests/fixtures.
local mv = require "moonvisor"
local h = require "mvtest"
local schema = require "schema"
local vmconfig = require "moonvisor.vmconfig"

local src = os.getenv("MV_SOURCE_DIR") or "."
local doc = schema.load(mv.json.decode, src .. "/tests/fixtures/ch_api_schema.json")

-- one request through the router, in a task; -> status, decoded body
local function call(method, path, body)
  local status, out
  mv.spawn(function()
    status, out = mv.api._run(method, path, body and (type(body) == "string" and body or mv.json.encode(body)) or "")
  end)
  mv.run()
  return status, out and assert(mv.json.decode(out))
end

local function decode(s) return assert(mv.json.decode(s)) end

describe("VmConfig -> mv.vm", function()
  local kernel
  setup(function() kernel = h.fake_bzimage(h.tmpname(".bzImage")) end)
  teardown(function() os.remove(kernel) end)

  it("maps payload, cpus, memory, consoles, disks and rng", function()
    local t = assert(vmconfig.to_mv(decode([[{
      "payload": {"kernel": "/k", "initramfs": "/i", "cmdline": "console=ttyS0"},
      "cpus": {"boot_vcpus": 2, "max_vcpus": 2, "kvm_hyperv": false},
      "memory": {"size": 268435456, "shared": true, "mergeable": false},
      "serial": {"mode": "File", "file": "/tmp/s.log"},
      "console": {"mode": "Socket", "socket": "/tmp/c.sock"},
      "disks": [{"path": "/d.img", "id": "root", "readonly": true, "num_queues": 1, "queue_size": 128}],
      "rng": {"src": "/dev/urandom"}, "pvpanic": true, "iommu": false }]])))
    assert.are.same({ kernel = "/k", initrd = "/i", cmdline = "console=ttyS0", cpus = 2,
      memory = { size = 268435456, shared = true }, serial = { file = "/tmp/s.log" },
      console = { type = "virtio", socket = "/tmp/c.sock" },
      disks = { { path = "/d.img", id = "root", readonly = true } }, rng = true }, t)
  end)

  it("maps memory hotplug (VirtioMem only) and console modes", function()
    local t = assert(vmconfig.to_mv(decode([[{"payload": {"kernel": "/k"},
      "memory": {"size": 268435456, "hotplug_size": 2147483648, "hotplug_method": "VirtioMem"},
      "serial": {"mode": "Tty"}, "console": {"mode": "Null"}}]])))
    assert.are.same({ size = 268435456, hotplug = 2147483648 }, t.memory)
    assert.are.equal("stdio", t.serial)
    assert.are.equal("virtio", t.console)
    local _, err = vmconfig.to_mv(decode([[{"payload": {"kernel": "/k"},
      "memory": {"size": 268435456, "hotplug_size": 1073741824}}]]))
    assert.matches('VmConfig.memory.hotplug_method = "Acpi" is not supported by moonvisor (only "VirtioMem")', err, 1, true)
    t = assert(vmconfig.to_mv(decode([[{"payload": {"kernel": "/k"}, "serial": {"mode": "Off"}, "console": {"mode": "Off"}}]])))
    assert.are.equal("null", t.serial)
    assert.is_nil(t.console)
  end)

  local function err_of(json)
    local t, err = vmconfig.to_mv(decode(json))
    assert.is_nil(t)
    return err
  end

  it("names unknown fields, with a suggestion", function()
    assert.matches("unknown field 'cpu' in VmConfig (did you mean 'cpus'?)",
      err_of([[{"payload": {"kernel": "/k"}, "cpu": {}}]]), 1, true)
    assert.matches("unknown field 'bootvcpus' in VmConfig.cpus (did you mean 'boot_vcpus'?)",
      err_of([[{"payload": {"kernel": "/k"}, "cpus": {"bootvcpus": 1}}]]), 1, true)
    assert.matches("unknown field 'colour' in VmConfig.disks[0]",
      err_of([[{"payload": {"kernel": "/k"}, "disks": [{"path": "/d", "colour": "red"}]}]]), 1, true)
  end)

  it("names wrong types with the path of the field", function()
    assert.matches("VmConfig.cpus.boot_vcpus must be an integer, got string",
      err_of([[{"payload": {"kernel": "/k"}, "cpus": {"boot_vcpus": "2"}}]]), 1, true)
    assert.matches("VmConfig.memory.size must be an integer, got number",
      err_of([[{"payload": {"kernel": "/k"}, "memory": {"size": 1.5}}]]), 1, true)
    assert.matches("VmConfig.disks must be an array, got object",
      err_of([[{"payload": {"kernel": "/k"}, "disks": {}}]]), 1, true)
    assert.matches("VmConfig.disks[1].readonly must be a boolean, got string",
      err_of([[{"payload": {"kernel": "/k"}, "disks": [{"path": "/a"}, {"path": "/b", "readonly": "yes"}]}]]), 1, true)
    assert.matches("VmConfig must be an object (VmConfig), got array", err_of("[1]"), 1, true)
    assert.matches("VmConfig.payload must be an object (PayloadConfig), got string",
      err_of([[{"payload": "x"}]]), 1, true)
  end)

  it("refuses what moonvisor does not do, unless it is Cloud Hypervisor's default", function()
    assert.matches("VmConfig.fs is not supported by moonvisor",
      err_of([[{"payload": {"kernel": "/k"}, "fs": []}]]), 1, true)
    assert.matches("VmConfig.payload.firmware is not supported by moonvisor",
      err_of([[{"payload": {"firmware": "/f"}}]]), 1, true)
    assert.matches("VmConfig.iommu = true is not supported by moonvisor (only false)",
      err_of([[{"payload": {"kernel": "/k"}, "iommu": true}]]), 1, true)
    assert.matches("VmConfig.disks[0].num_queues = 4 is not supported by moonvisor (only 1)",
      err_of([[{"payload": {"kernel": "/k"}, "disks": [{"path": "/a", "num_queues": 4}]}]]), 1, true)
    assert.matches("CPU hotplug is not supported by moonvisor (max_vcpus must equal boot_vcpus = 1)",
      err_of([[{"payload": {"kernel": "/k"}, "cpus": {"boot_vcpus": 1, "max_vcpus": 4}}]]), 1, true)
    assert.matches('VmConfig.serial.mode = "Pty" is not supported',
      err_of([[{"payload": {"kernel": "/k"}, "serial": {"mode": "Pty"}}]]), 1, true)
  end)

  it("requires payload.kernel, cpus.boot_vcpus, memory.size", function()
    assert.matches("VmConfig.payload is required", err_of("{}"), 1, true)
    assert.matches("VmConfig.payload.kernel is required", err_of([[{"payload": {}}]]), 1, true)
    assert.matches("VmConfig.cpus.boot_vcpus is required", err_of([[{"payload": {"kernel": "/k"}, "cpus": {}}]]), 1, true)
    assert.matches("VmConfig.memory.size is required", err_of([[{"payload": {"kernel": "/k"}, "memory": {}}]]), 1, true)
    assert.matches('VmConfig.serial.file is required with mode "File"',
      err_of([[{"payload": {"kernel": "/k"}, "serial": {"mode": "File"}}]]), 1, true)
  end)

  it("knows every field of the schema's objects: read, defaulted or refused", function()
    for spec, fields in pairs(vmconfig.FIELDS) do
      local s = doc.schemas[spec]
      assert.is_not_nil(s, spec)
      for k in pairs(fields) do assert.is_not_nil(s.properties[k], spec .. "." .. k .. " is not in the schema") end
      for k in pairs(s.properties) do
        local known = fields[k] ~= nil
        for _, x in ipairs(vmconfig.NOT_SUPPORTED[spec] or {}) do known = known or x == k end
        assert.is_true(known, spec .. "." .. k .. " is in the schema but neither handled nor refused")
      end
    end
  end)
end)

describe("REST API endpoints (no socket)", function()
  local kernel
  setup(function() kernel = h.fake_bzimage(h.tmpname(".bzImage")) end)
  teardown(function()
    call("PUT", "/api/v1/vm.delete")
    os.remove(kernel)
  end)

  it("answers vmm.ping with a VmmPingResponse", function()
    local status, body = call("GET", "/api/v1/vmm.ping")
    assert.are.equal(200, status)
    assert.is_true(schema.validate(doc, "VmmPingResponse", body))
    assert.are.equal(mv.version, body.version)
  end)

  it("404 for unknown paths, 405 for a wrong method, 400 for bad JSON", function()
    local status, body = call("GET", "/api/v1/vm.frobnicate")
    assert.are.equal(404, status)
    assert.are.same({ "Not Found", "no endpoint /api/v1/vm.frobnicate" }, body)
    status, body = call("GET", "/api/v1/vm.boot")
    assert.are.equal(405, status)
    assert.matches("method not allowed (use PUT)", body[2], 1, true)
    status, body = call("PUT", "/api/v1/vm.create", "{\"payload\":")
    assert.are.equal(400, status)
    assert.matches("^invalid JSON", body[2])
  end)

  it("creates a VM from a VmConfig through the same validator as mv.vm{}", function()
    local status, body = call("GET", "/api/v1/vm.info")
    assert.are.equal(404, status)
    status, body = call("PUT", "/api/v1/vm.create", { payload = { kernel = "/nonexistent/vmlinuz" } })
    assert.are.equal(400, status)
    assert.matches("VmConfig: kernel /nonexistent/vmlinuz", body[2], 1, true)
    status, body = call("PUT", "/api/v1/vm.create", { payload = { kernel = kernel }, cpus = { boot_vcpus = 300, max_vcpus = 300 } })
    assert.are.equal(400, status)
    assert.matches("cpus = 300 is out of range (1..254)", body[2], 1, true)
    status, body = call("PUT", "/api/v1/vm.create", { payload = { kernel = kernel },
      disks = { { path = "/nonexistent/disk.img" } } })
    assert.are.equal(400, status)
    assert.matches("VmConfig: disks[0]: path: /nonexistent/disk.img", body[2], 1, true) -- counted from 0
    status = call("PUT", "/api/v1/vm.create", { payload = { kernel = kernel, cmdline = "quiet" },
      cpus = { boot_vcpus = 2, max_vcpus = 2 }, memory = { size = 64 * mv.MiB } })
    assert.are.equal(204, status)
    status, body = call("PUT", "/api/v1/vm.create", { payload = { kernel = kernel } })
    assert.are.equal(409, status)
    status, body = call("GET", "/api/v1/vm.info")
    assert.are.equal(200, status)
    assert.is_true(schema.validate(doc, "VmInfo", body))
    assert.are.equal("Created", body.state)
    assert.are.equal(2, body.config.cpus.boot_vcpus)
    assert.are.equal(64 * mv.MiB, body.config.memory.size)
    assert.are.equal("quiet", body.config.payload.cmdline)
    status, body = call("GET", "/api/v1/vm.counters")
    assert.are.equal(200, status)
    assert.is_true(schema.validate(doc, "VmCounters", body))
  end)

  it("writes hotplug memory and the balloon back into VmInfo.config", function()
    assert.are.equal(204, (call("PUT", "/api/v1/vm.delete")))
    local status, body = call("PUT", "/api/v1/vm.create", { payload = { kernel = kernel },
      memory = { size = 256 * mv.MiB, hotplug_size = mv.GiB, hotplug_method = "VirtioMem" },
      balloon = { size = 0, deflate_on_oom = true } })
    assert.are.equal(204, status, body and body[2])
    status, body = call("GET", "/api/v1/vm.info")
    assert.are.equal(200, status)
    assert.is_true(schema.validate(doc, "VmInfo", body))
    assert.are.equal(mv.GiB, body.config.memory.hotplug_size)
    assert.are.equal("VirtioMem", body.config.memory.hotplug_method)
    assert.is_true(body.config.balloon.deflate_on_oom)
  end)

  it("405 for actions the VM's state does not allow", function()
    for _, action in ipairs { "pause", "resume", "shutdown", "reboot", "power-button" } do
      local status, body = call("PUT", "/api/v1/vm." .. action)
      assert.are.equal(405, status, action)
      assert.matches("the VM is Created", body[2], 1, true)
    end
  end)

  it("deletes the VM (and deleting nothing is fine)", function()
    assert.are.equal(204, (call("PUT", "/api/v1/vm.delete")))
    assert.are.equal(404, (call("GET", "/api/v1/vm.info")))
    assert.are.equal(204, (call("PUT", "/api/v1/vm.delete")))
    assert.are.equal(0, #mv.vms())
  end)

  it("serves Lua routes through the same router, as tasks that may wait", function()
    mv.api.route("GET", "/api/v1/x.status", function(req)
      mv.sleep(0.01)
      return 200, { query = req.query, n = 1 }
    end)
    mv.api.route("PUT", "/api/v1/x.echo", function(req) return 200, req.json end)
    mv.api.route("PUT", "/api/v1/x.teapot", function() mv.api.error(409, "busy brewing") end)
    mv.api.route("GET", "/api/v1/x.broken", function() error("boom") end)
    mv.api.route("GET", "/api/v1/x.badstatus", function() return "ok" end)
    local status, body = call("GET", "/api/v1/x.status?verbose=1")
    assert.are.equal(200, status)
    assert.are.same({ query = "verbose=1", n = 1 }, body)
    status, body = call("PUT", "/api/v1/x.echo", '{"a":[1,2],"b":{"c":true}}')
    assert.are.equal(200, status)
    assert.are.same({ a = { 1, 2 }, b = { c = true } }, body)
    status, body = call("PUT", "/api/v1/x.teapot")
    assert.are.equal(409, status)
    assert.are.same({ "Conflict", "busy brewing" }, body)
    status, body = call("GET", "/api/v1/x.broken")
    assert.are.equal(500, status)
    assert.matches("boom", body[2], 1, true)
    status, body = call("GET", "/api/v1/x.badstatus")
    assert.are.equal(500, status)
    assert.matches("not an HTTP status", body[2], 1, true)
  end)

  it("checks mv.api.route's arguments at the caller's line", function()
    local line = debug.getinfo(1, "l").currentline
    local ok, err = pcall(function() mv.api.route("FETCH", "/x", print) end)
    assert.is_false(ok)
    assert.matches("restapi_spec.lua:" .. (line + 1) .. ": mv.api.route: method must be one of", err)
    assert.matches("path must start with /", h.error_of(mv.api.route, "GET", "x", print), 1, true)
    assert.matches("handler must be a function", h.error_of(mv.api.route, "GET", "/x", 1), 1, true)
    assert.matches("path must be a non-empty string", h.error_of(mv.api.listen, ""), 1, true)
  end)

  it("mv.json keeps integers, empty arrays and objects apart", function()
    local v = decode('{"a":[],"b":{},"n":3,"f":3.5}')
    assert.are.equal("integer", math.type(v.n))
    assert.are.equal("float", math.type(v.f))
    assert.are.equal('{"a":[],"b":{},"f":3.5,"n":3}', mv.json.encode(v))
    assert.are.equal("[]", mv.json.encode(mv.json.array {}))
    assert.matches("json encode: a function has no JSON form", h.error_of(mv.json.encode, { f = print }), 1, true)
    local bad, err = mv.json.decode('{"a":1,"a":2}')
    assert.is_nil(bad)
    assert.matches("duplicate", err, 1, true)
  end)
end)
