-- Runs the Argo CD health check on one test case the way Argo CD does, and checks its verdict.
-- Usage: lua5.4 harness.lua SCRIPT CASE.json
-- A case is {"expect": {"status": ..., "message": <substring>}, "object": <VirtualAssistant>}.
-- Prints "ok" or the differences; exit status 1 on a mismatch, 2 on a broken case or script.

local scriptPath, casePath = arg[1], arg[2]
if not scriptPath or not casePath then
  io.stderr:write("usage: lua5.4 harness.lua SCRIPT CASE.json\n")
  os.exit(2)
end

-- A small JSON decoder (test-only). Numbers decode as floats: Argo CD hands the script
-- float64 numbers, so a stray tostring() shows up here as "3.0" just as it would there.
-- null decodes to nil, so the key is absent, as in Argo CD.
local function decodeJSON(s)
  local pos = 1
  local function fail(what)
    error(string.format("%s: %s at byte %d", casePath, what, pos), 0)
  end
  local function skip()
    pos = s:find("[^ \t\r\n]", pos) or (#s + 1)
  end
  local value
  local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
  local function str()
    local out = {}
    pos = pos + 1 -- opening quote
    while true do
      local c = s:sub(pos, pos)
      if c == "" then fail("unterminated string") end
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        if e == "u" then
          local hex = s:sub(pos + 2, pos + 5)
          if not hex:match("^%x%x%x%x$") then fail("bad \\u escape") end
          out[#out + 1] = utf8.char(tonumber(hex, 16))
          pos = pos + 6
        elseif escapes[e] then
          out[#out + 1] = escapes[e]
          pos = pos + 2
        else
          fail("bad escape")
        end
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then fail("expected a key") end
        local k = str()
        skip()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        t[k] = value()
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t, n = {}, 0
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        n = n + 1
        t[n] = value()
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    end
    for lit, v in pairs({ ["true"] = true, ["false"] = false }) do
      if s:sub(pos, pos + #lit - 1) == lit then pos = pos + #lit; return v end
    end
    if s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if num and tonumber(num) then pos = pos + #num; return tonumber(num) + 0.0 end
    fail("unexpected input")
  end
  local v = value()
  skip()
  if pos <= #s then fail("trailing data") end
  return v
end

local f = assert(io.open(casePath, "rb"))
local ok, case = pcall(decodeJSON, f:read("a"))
f:close()
if not ok then io.stderr:write(case, "\n"); os.exit(2) end
if type(case) ~= "table" or type(case.expect) ~= "table" or type(case.object) ~= "table" then
  io.stderr:write(casePath, ": needs \"expect\" and \"object\"\n")
  os.exit(2)
end

-- Lua 5.1 functions only (a subset of what gopher-lua offers), so a call to a 5.2+ function
-- such as table.unpack or math.tointeger fails here as it would in Argo CD.
local function pick(lib, names)
  local t = {}
  for name in names:gmatch("%S+") do t[name] = lib[name] end
  return t
end
local env = pick(_G, "assert error ipairs next pairs pcall select tonumber tostring type xpcall")
env.unpack = table.unpack -- a 5.1 global
env.string = pick(string, "byte char find format gmatch gsub len lower match rep reverse sub upper")
env.table = pick(table, "concat insert remove sort")
env.math = pick(math, "abs ceil floor fmod huge max min modf pi sqrt")
env._G = env
env.obj = case.object

local chunk, err = loadfile(scriptPath, "t", env)
if not chunk then io.stderr:write(err, "\n"); os.exit(2) end
local ran, hs = pcall(chunk)
if not ran then io.stderr:write("script error: ", tostring(hs), "\n"); os.exit(2) end
if type(hs) ~= "table" then io.stderr:write("script returned ", type(hs), ", not a table\n"); os.exit(2) end

local wantStatus, wantMessage = case.expect.status, case.expect.message or ""
local problems = {}
if hs.status ~= wantStatus then
  problems[#problems + 1] = string.format("  status:  want %q, got %q", wantStatus, tostring(hs.status))
end
if type(hs.message) ~= "string" or not hs.message:find(wantMessage, 1, true) then
  problems[#problems + 1] = string.format("  message: want it to contain %q, got %q", wantMessage, tostring(hs.message))
end
if #problems > 0 then
  print(table.concat(problems, "\n"))
  os.exit(1)
end
print(string.format("ok %s: %s", hs.status, hs.message))
