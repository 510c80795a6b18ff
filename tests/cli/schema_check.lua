-- moonvisor tests/cli/schema_check.lua FIXTURE SCHEMA FILE (or lua5.4 with
-- build/lua/moonvisor.so on LUA_CPATH): validates the JSON in FILE against
-- SCHEMA of the fixture (tests/lua/schema.lua); exit status 0, or 1 with
-- the reason on stderr. Needs tests/lua on LUA_PATH.
local mv = require "moonvisor"
local schema = require "schema"
local fixture, name, file = arg[1], arg[2], arg[3]
local doc = schema.load(mv.json.decode, fixture)
local f = assert(io.open(file, "rb"))
local v, err = mv.json.decode(f:read("a"))
f:close()
if v == nil then io.stderr:write(file, ": ", err, "\n") os.exit(1) end
local ok, verr = schema.validate(doc, name, v)
if not ok then io.stderr:write(verr, "\n") os.exit(1) end
