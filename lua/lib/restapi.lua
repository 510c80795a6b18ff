-- mv.api: the REST API (Cloud Hypervisor's endpoints under /api/v1/, plus
-- routes that Lua adds), served by lua/l_api_server.c on a Unix socket.
-- Every request runs as a task (so handlers may wait): built-in endpoints
-- and mv.api.route() handlers share one table and one path through here.
-- The API drives one VM, as Cloud Hypervisor's does: the one vm.create
-- made, else the script's first VM (mv.vms()[1]).
return function(core, mv, task)
  local vmconfig = require "moonvisor.vmconfig"
  local config = require "moonvisor.config"

  local api = {}
  local routes = {}        -- routes[path][METHOD] = fn(req) -> status, body
  local api_vm             -- the VM vm.create made
  local opts = {}
  local monitor            -- --event-monitor: { file = f, t0 = now }
  local ApiError = { __name = "moonvisor.ApiError" }
  ApiError.__tostring = function(e) return e.message end

  local METHODS = { GET = true, PUT = true, POST = true, PATCH = true, DELETE = true }

  --- mv.api.error(status, message): raise in a handler to answer with a
  --- Cloud Hypervisor-style error body.
  function api.error(status, message)
    error(setmetatable({ status = status, message = message }, ApiError), 0)
  end
  local fail = api.error

  --- mv.api.route(method, path, fn): fn(req) runs as a task and returns
  --- status[, body] (a table is sent as JSON, a string as it is).
  --- req = { method, path, query, body (string), json (decoded body or nil) }.
  function api.route(method, path, fn)
    if type(method) ~= "string" or not METHODS[method] then
      error("mv.api.route: method must be one of GET, PUT, POST, PATCH, DELETE, got " .. tostring(method), 2)
    end
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" or path:find("[%s?#]") then
      error("mv.api.route: path must start with / and contain no spaces, ? or #, got " .. tostring(path), 2)
    end
    if type(fn) ~= "function" then error("mv.api.route: handler must be a function", 2) end
    routes[path] = routes[path] or {}
    routes[path][method] = fn
  end

  local function json_body(status, body)
    if body == nil then return nil end
    if type(body) == "string" then return body end
    local ok, s = pcall(core.json_encode, body)
    if not ok then error(string.format("handler answered %d with a body that is not JSON: %s", status, s), 0) end
    return s
  end

  local function error_body(status, message)
    local reasons = { [400] = "Bad Request", [404] = "Not Found", [405] = "Method Not Allowed",
                      [409] = "Conflict", [429] = "Too Many Requests", [500] = "Internal Server Error",
                      [503] = "Service Unavailable", [504] = "Gateway Timeout" }
    local reason = reasons[status] or "Error"
    local ok, s = pcall(core.json_encode, core.json_array { reason, message })
    if ok then return s end -- else the message has bytes that are not UTF-8 (a path, a JSON error)
    return core.json_encode(core.json_array { reason, (tostring(message):gsub("[\128-\255]", "?")) })
  end

  local function find_route(method, path)
    local r = routes[path]
    if not r then fail(404, "no endpoint " .. path) end
    local fn = r[method]
    if not fn then
      local allowed = {}
      for m in pairs(r) do allowed[#allowed + 1] = m end
      table.sort(allowed)
      fail(405, string.format("%s %s: method not allowed (use %s)", method, path, table.concat(allowed, ", ")))
    end
    return fn
  end

  -- pcall for code that may wait: pcall cannot cross a yield here, so fn
  -- runs as its own task and is joined. -> true, results... | nil, error
  local function try(fn, ...)
    local t = task.spawn(fn, ...)
    t.joined = true
    return t:join()
  end

  local function failure(method, path, e)
    if getmetatable(e) == ApiError then return e.status, error_body(e.status, e.message) end
    io.stderr:write(string.format("moonvisor: API %s %s failed: %s\n", method, path, tostring(e)))
    return 500, error_body(500, (tostring(e):match("^[^\n]*")))
  end

  -- One request (in a task): returns status, body string (or nil).
  local function run(method, target, body)
    local path, query = target:match("^([^?#]*)%??([^#]*)")
    local ok, fn = pcall(find_route, method, path)
    if not ok then return failure(method, path, fn) end
    local req = { method = method, path = path, query = query, body = body }
    if body ~= "" then
      local v, err = core.json_decode(body)
      if v == nil then return failure(method, path, setmetatable({ status = 400, message = err }, ApiError)) end
      req.json = v
    end
    local done, status, out = try(fn, req)
    if not done then return failure(method, path, status) end
    if math.type(status) ~= "integer" or status < 100 or status > 599 then
      return failure(method, path, string.format("handler returned %s, not an HTTP status", tostring(status)))
    end
    local eok, s = pcall(json_body, status, out)
    if not eok then return failure(method, path, s) end
    return status, s, req.after_response
  end
  api._run = run

  local function handle(id, method, target, body)
    local t = task.spawn(function()
      local status, out, after = run(method, target, body)
      core.api_respond(id, status, out)
      if after then after() end
    end)
    t.name = "api " .. method .. " " .. target:sub(1, 64)
  end

  ---------------------------------------------------------------- events

  local function emit(source, event, props)
    if not monitor then return end
    local t = core.now() - monitor.t0
    local secs = math.floor(t)
    local line = core.json_encode {
      timestamp = { secs = secs, nanos = math.floor((t - secs) * 1e9) },
      source = source, event = event, properties = props,
    }
    monitor.file:write(line, "\n")
    monitor.file:flush()
  end

  -- the events a Lua handler can see, not the core's internal ones
  -- (console output, "memory", "balloon_stats", ...)
  local PUBLIC = { started = true, stopped = true, paused = true, resumed = true, reset = true, panic = true,
                   device_added = true, device_removed = true, memory_pressure = true }

  -- properties are strings, as in Cloud Hypervisor's monitor
  local function write_event(vm, event, ev)
    local props = { vm = vm.name }
    for k, v in pairs(type(ev) == "table" and ev or {}) do
      local t = type(v)
      if type(k) == "string" and k ~= "vm" and k ~= "event" and (t == "string" or t == "number" or t == "boolean") then
        props[k] = tostring(v)
      end
    end
    emit("vm", event, props)
  end

  local function on_vm_event(vm, event, ev)
    if not monitor or not PUBLIC[event] then return end
    if not vm._api_monitored then
      -- memory_pressure reaches subscribers only (lua/lib/memory.lua)
      vm._api_monitored = true
      pcall(vm.on, vm, "memory_pressure", function(e) if monitor then write_event(vm, "memory_pressure", e) end end)
    end
    if event ~= "memory_pressure" then write_event(vm, event, ev) end
  end
  api._on_vm_event = on_vm_event

  --- mv.api.event_monitor(path): every VM event as one JSON object per
  --- line ({timestamp = {secs, nanos}, source, event, properties}).
  function api.event_monitor(path)
    if type(path) ~= "string" or path == "" then error("mv.api.event_monitor: path must be a string", 2) end
    local f, err = io.open(path, "w")
    if not f then return nil, err end
    if monitor then monitor.file:close() end
    monitor = { file = f, t0 = core.now() }
    emit("vmm", "starting", { version = mv.version, pid = tostring(core.getpid()) })
    return true
  end

  ---------------------------------------------------------------- the VM

  local function current_vm()
    if api_vm and api_vm._handle then return api_vm end
    api_vm = nil
    return mv.vms()[1]
  end

  local function need_vm()
    local vm = current_vm()
    if not vm then fail(404, "the VM is not created (PUT /api/v1/vm.create first)") end
    return vm
  end

  local STATES = { created = "Created", running = "Running", paused = "Paused", stopped = "Shutdown" }

  local function need_state(vm, what, ...)
    local state = vm:state()
    for _, s in ipairs { ... } do if s == state then return state end end
    fail(405, string.format("cannot %s: the VM is %s", what, STATES[state] or state))
  end

  local function body_of(req, spec)
    if req.json == nil then fail(400, "a JSON " .. spec .. " body is required") end
    local ok, err = vmconfig.check(req.json, spec, spec)
    if not ok then fail(400, err) end
    return req.json
  end

  local function world(ok, err, status)
    if not ok then fail(status or 500, tostring(err)) end
    return ok
  end

  local function pci_bdf(p)
    if type(p) ~= "string" then return nil end
    if p:match("^%x%x%x%x:") then return p end
    return "0000:" .. p
  end

  local function device_tree(vm)
    local tree = {}
    for _, d in ipairs(vm:info().devices or {}) do
      local res = core.json_array {}
      for _, r in ipairs(d.resources or {}) do
        res[#res + 1] = { bus = r.bus, base = r.base, size = r.size }
      end
      tree[d.id] = { id = d.id, resources = res, children = core.json_array {}, pci_bdf = pci_bdf(d.pci) }
    end
    return tree
  end

  local function memory_actual(vm)
    local m = vm.memory -- lua/lib/memory.lua: plugged is RAM + hotplugged
    local total = vm:info().memory
    if type(m) == "table" and math.type(m.plugged) == "integer" then total = m.plugged end
    local bok, b = pcall(function() return VM.balloon_info and vm:balloon_info() end) -- no balloon: nil or error
    if bok and type(b) == "table" and math.type(b.actual) == "integer" then total = total - b.actual end
    return total
  end

  local function vm_info(vm)
    local info = vm:info()
    local cfg = vm._cfg or { cpus = info.cpus, memory = info.memory, disks = {} }
    local bok, b = pcall(function() return VM.balloon_info and vm:balloon_info() end)
    local target = bok and type(b) == "table" and math.type(b.target) == "integer" and b.target or nil
    return {
      config = vmconfig.from_cfg(cfg, core.json_array, target),
      state = STATES[info.state] or info.state,
      memory_actual_size = memory_actual(vm),
      device_tree = device_tree(vm),
    }
  end

  local function counters(vm)
    local out = {}
    for _, d in ipairs(vm:info().devices or {}) do
      local c = {}
      for k, v in pairs(d) do
        if math.type(v) == "integer" and k ~= "vendor" and k ~= "device" then c[k] = v end
      end
      if next(c) then out[d.id] = c end
    end
    local exits = vm:info().exits
    if exits then out.kvm_exits = exits end
    return out
  end

  ---------------------------------------------------------------- endpoints

  local V1 = "/api/v1/"
  local function put(name, fn) api.route("PUT", V1 .. name, fn) end
  local function get(name, fn) api.route("GET", V1 .. name, fn) end

  get("vmm.ping", function()
    return 200, { version = mv.version, build_version = "moonvisor " .. mv.version, pid = core.getpid(),
                  features = core.json_array {} }
  end)

  -- stops every VM and closes the API once the answer is sent: moonvisor
  -- then exits (unless the script keeps it busy)
  put("vmm.shutdown", function(req)
    emit("vmm", "shutdown", {})
    req.after_response = function()
      for _, vm in ipairs(mv.vms()) do
        local s = vm:state()
        if s == "running" or s == "paused" then vm:kill() end
      end
      api.close()
    end
    return 204
  end)

  put("vm.create", function(req)
    if req.json == nil then fail(400, "a JSON VmConfig body is required") end
    if current_vm() then fail(409, "a VM is already created (PUT /api/v1/vm.delete first)") end
    local t, err = vmconfig.to_mv(req.json)
    if not t then fail(400, err) end
    local ok, vm = pcall(mv.vm, t)
    if not ok then
      -- mv.vm{}'s lists count from 1, Cloud Hypervisor's from 0
      local msg = tostring(vm):gsub("^[^:]*:%d+: ", "")
      msg = msg:gsub("disks%[(%d+)%]", function(n) return "disks[" .. (tonumber(n) - 1) .. "]" end)
      msg = msg:gsub("nets%[(%d+)%]", function(n) return "net[" .. (tonumber(n) - 1) .. "]" end)
      fail(400, "VmConfig: " .. msg)
    end
    local balloon = req.json.balloon and req.json.balloon.size or 0
    if balloon > 0 then
      local bok, berr = vm:set_balloon(balloon)
      if not bok then
        vm:destroy()
        fail(400, "VmConfig.balloon.size: " .. tostring(berr))
      end
    end
    api_vm = vm
    emit("vm", "created", { vm = vm.name })
    return 204
  end)

  -- PUT PATH: the VM must be in one of STATES to DO; then method(vm).
  local function vm_action(path, method, doing, ...)
    local states = { ... }
    put(path, function()
      local vm = need_vm()
      need_state(vm, doing, table.unpack(states))
      world(vm[method](vm))
      return 204
    end)
  end

  vm_action("vm.boot", "start", "boot", "created", "stopped")

  get("vm.info", function() return 200, vm_info(need_vm()) end)
  get("vm.counters", function() return 200, counters(need_vm()) end)

  vm_action("vm.pause", "pause", "pause", "running")
  vm_action("vm.resume", "resume", "resume", "paused")

  -- The guest gets the ACPI power button and opts.shutdown_timeout seconds
  -- to power off, then the VM is stopped hard; answered once it is stopped.
  put("vm.shutdown", function()
    local vm = need_vm()
    need_state(vm, "shut down", "running", "paused")
    vm:shutdown { timeout = opts.shutdown_timeout or 10 }
    if vm:state() ~= "stopped" then vm:kill() end
    return 204
  end)

  vm_action("vm.reboot", "reset", "reboot", "running", "paused")
  vm_action("vm.power-button", "power_button", "press the power button", "running", "paused")

  put("vm.delete", function()
    local vm = current_vm()
    if vm then
      local s = vm:state()
      if s == "running" or s == "paused" then vm:kill() end
      emit("vm", "deleted", { vm = vm.name })
      vm:destroy()
      api_vm = nil
    end
    return 204
  end)

  -- hotplug and resize: only when the VM object has the methods
  local VM = mv._VM

  local function device_info(vm, id)
    for _, d in ipairs(vm:info().devices or {}) do
      if d.id == id then return { id = id, bdf = pci_bdf(d.pci) or "" } end
    end
    return { id = id, bdf = "" }
  end

  local function hotplug_status(err)
    local e = tostring(err)
    if e:find("already") or e:find("exists") then return 409 end
    if e:find("unknown") or e:find("no removable device") or e:find("not found") then return 404 end
    return 400
  end

  local function add_device(vm, method, t)
    local ok, r, err = try(method, vm, t)
    if not ok then fail(hotplug_status(r), (tostring(r):gsub("^[^:]*:%d+: ", ""))) end
    if not r then fail(hotplug_status(err) == 400 and 500 or hotplug_status(err), tostring(err)) end
    if type(r) == "table" and r.pci then return 200, { id = r.id, bdf = pci_bdf(r.pci) } end
    return 200, device_info(vm, type(r) == "table" and r.id or t.id)
  end

  local function hotplug_routes()
    -- PUT PATH with a SCHEMA body, mapped by to_mv, added with method
    local function add_route(path, doing, schema, to_mv, method)
      put(path, function(req)
        local vm = need_vm()
        need_state(vm, doing, "running", "paused")
        local t, err = to_mv(body_of(req, schema), schema)
        if not t then fail(400, err) end
        t.timeout = opts.device_timeout or 120
        return add_device(vm, method, t)
      end)
    end
    if VM.add_disk then
      add_route("vm.add-disk", "add a disk", "DiskConfig", vmconfig.disk_to_mv, VM.add_disk)
    end
    if VM.add_net and config.device_kinds and config.device_kinds.net then
      add_route("vm.add-net", "add a network device", "NetConfig", vmconfig.net_to_mv, VM.add_net)
    end
    if VM.remove_device then
      put("vm.remove-device", function(req)
        local vm = need_vm()
        local b = body_of(req, "VmRemoveDevice")
        if not b.id then fail(400, "VmRemoveDevice.id is required") end
        need_state(vm, "remove a device", "running", "paused")
        local ok, r, err = try(VM.remove_device, vm, b.id, { timeout = opts.device_timeout or 120 })
        if not ok then fail(hotplug_status(r), (tostring(r):gsub("^[^:]*:%d+: ", ""))) end
        if not r then fail(hotplug_status(err) == 400 and 500 or hotplug_status(err), tostring(err)) end
        return 204
      end)
    end
    if VM.resize_memory then
      put("vm.resize", function(req)
        local vm = need_vm()
        local b = body_of(req, "VmResize")
        if b.desired_vcpus ~= nil and b.desired_vcpus ~= vm:info().cpus then
          fail(400, "VmResize.desired_vcpus: CPU hotplug is not supported by moonvisor")
        end
        if b.desired_balloon ~= nil and not VM.set_balloon then
          fail(400, "VmResize.desired_balloon is not supported by moonvisor yet")
        end
        need_state(vm, "resize", "running", "paused")
        if b.desired_ram ~= nil then
          local ok, r, err = try(VM.resize_memory, vm, b.desired_ram, { timeout = opts.device_timeout or 120 })
          if not ok then fail(400, (tostring(r):gsub("^[^:]*:%d+: ", ""))) end
          if not r then fail(500, tostring(err)) end
        end
        if b.desired_balloon ~= nil then
          local ok, r, err = try(VM.set_balloon, vm, b.desired_balloon)
          if not ok then fail(400, (tostring(r):gsub("^[^:]*:%d+: ", ""))) end
          if not r then fail(500, tostring(err)) end
        end
        return 204
      end)
    end
  end

  ---------------------------------------------------------------- the socket

  --- mv.api.listen(path, {read_timeout = 10, idle_timeout = 120,
  --- max_clients = 128, max_body = 1 MiB, max_head = 16 KiB,
  --- shutdown_timeout = 10, device_timeout = 120}) -> true | nil, err
  function api.listen(path, o)
    if type(path) ~= "string" or path == "" then error("mv.api.listen: path must be a non-empty string", 2) end
    if o ~= nil and type(o) ~= "table" then error("mv.api.listen: options must be a table", 2) end
    o = o or {}
    local copts = {}
    for k, v in pairs(o) do
      if k == "shutdown_timeout" or k == "device_timeout" then
        if type(v) ~= "number" or v < 0 then error("mv.api.listen: " .. k .. " must be a number >= 0", 2) end
      else
        copts[k] = v
      end
    end
    local ok, err = core.api_listen(path, copts, handle)
    if not ok then return nil, err end
    opts = o
    hotplug_routes()
    return true
  end

  function api.close() core.api_close() end
  function api.listening() return core.api_listening() end

  return api
end
