-- Argo CD health check for virtualassistant.dev/VirtualAssistant.
--
-- Argo CD runs this with gopher-lua (Lua 5.1 semantics): the global `obj` holds the object,
-- and the script returns { status = <health status>, message = <text> }. Keep the code to
-- Lua 5.1: no goto, no // or bitwise operators, no utf8 or table.unpack.
--
-- The operator reports kstatus conditions: Ready, Reconciling, Stalled and Paused. Verdicts,
-- first match wins:
--   1. status not written for metadata.generation yet  -> Progressing
--   2. Paused=True, or spec.paused                     -> Suspended
--      (before Stalled: a paused object is left alone on purpose, so its state is the user's
--      choice rather than a failure to act on; spec.paused also covers an operator that
--      reports the pause only through Reconciling, as docs/api.md describes)
--   3. Stalled=True                                    -> Degraded (reason: message)
--   4. Ready=True and Reconciling not True             -> Healthy ("8/8 components ready")
--   5. Reconciling=True                                -> Progressing (its message)
--   6. Ready=False                                     -> Progressing (not ready yet is not failed)
--   7. Ready=Unknown or absent                         -> Progressing

local hs = {}

-- Returns the condition of the given type, or nil.
local function condition(status, ctype)
  if type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == ctype then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- "reason: message", or whichever of the two is set, or the fallback.
local function describe(c, fallback)
  local reason, message = c.reason or "", c.message or ""
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  elseif message ~= "" then
    return message
  elseif reason ~= "" then
    return reason
  end
  return fallback
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local status = obj.status
local generation = tonumber(obj.metadata and obj.metadata.generation)
local observed = type(status) == "table" and tonumber(status.observedGeneration) or nil

-- 1. Conditions from an older generation say nothing about the current spec.
if observed == nil or (generation ~= nil and observed < generation) then
  hs.status = "Progressing"
  -- %d rather than tostring: numbers arrive as floats, and "3.0" would read oddly.
  local seen = "no status yet"
  if observed ~= nil then
    seen = string.format("status is for generation %d", observed)
  elseif type(status) == "table" then
    seen = "status has no observedGeneration"
  end
  if generation ~= nil then
    hs.message = string.format("Waiting for the operator to observe generation %d (%s)", generation, seen)
  else
    hs.message = "Waiting for the operator to report status (" .. seen .. ")"
  end
  return hs
end

local ready = condition(status, "Ready")
local reconciling = condition(status, "Reconciling")
local stalled = condition(status, "Stalled")
local paused = condition(status, "Paused")

-- 2. Paused. The generation check above means the operator has seen spec.paused already.
if isTrue(paused) or (type(obj.spec) == "table" and obj.spec.paused == true) then
  hs.status = "Suspended"
  if isTrue(paused) then
    hs.message = text(paused, "Reconciliation is paused (spec.paused)")
  elseif reconciling ~= nil and reconciling.reason == "Paused" then
    hs.message = text(reconciling, "Reconciliation is paused (spec.paused)")
  else
    hs.message = "Reconciliation is paused (spec.paused)"
  end
  return hs
end

-- 3. Stalled: the operator cannot make progress without outside help.
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled, "The operator cannot make progress")
  return hs
end

-- 4. Ready and settled.
if isTrue(ready) and not isTrue(reconciling) then
  hs.status = "Healthy"
  local readyN, totalN = tonumber(status.readyComponents), tonumber(status.totalComponents)
  if type(status.componentsReady) == "string" and status.componentsReady ~= "" then
    hs.message = status.componentsReady .. " components ready"
  elseif readyN ~= nil and totalN ~= nil then
    hs.message = string.format("%d/%d components ready", readyN, totalN)
  else
    hs.message = text(ready, "All components ready")
  end
  return hs
end

-- 5. Changes are being applied.
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = text(reconciling, "Reconciling")
  return hs
end

-- 6 and 7. Not ready, but nothing says it failed.
hs.status = "Progressing"
if ready ~= nil and ready.status == "False" then
  hs.message = text(ready, "Waiting for components to become ready")
else
  hs.message = text(ready, "Waiting for the Ready condition")
end
return hs
