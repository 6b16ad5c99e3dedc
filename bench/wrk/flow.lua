-- flows: whole OAuth 2.0 authorization-code flows, as a browser and its application make them,
-- against Assent or oidc-provider (bench/peer). One state machine per wrk thread: wrk keeps one Lua
-- state per thread and does not say which connection a response belongs to, so the harness runs
-- `wrk -tN -cN` (one connection per thread) and each thread is one browser.
--
--   returning: the browser is signed in and has consented before (its cookie comes from the
--              harness): GET authorize -> redirect with `code` -> POST token with the verifier.
--   first:     a new browser every flow: GET authorize -> login page -> POST credentials ->
--              consent page -> approve -> redirect with `code` -> POST token.
--
-- A flow counts as completed when the token endpoint answers 200 with an access token; any other
-- answer ends the flow as failed (the first failure is kept) and the next one starts.
--
-- BENCH_FLOW_FILE names a parameter file written by bench/harness.py, one `key=value` a line:
--   mode, authorize (path), token (path), client_id, redirect_uri, scope, prompt (may be empty),
--   basic (base64 client_id:secret), password, user_agent, forwarded_for, rate (flows per second
--   for the whole run, 0 = no cap), and repeated keys: cookie (per thread, returning flows),
--   user (per thread, first-time flows), pkce ("verifier challenge", used round-robin: wrk's Lua
--   has no SHA-256, so the harness computes the S256 pairs).
--
-- Rate cap: each thread starts its flows on its own schedule, threads x (1 / rate) apart, offset
-- so the threads interleave; the `delay` hook waits for the next slot (time from LuaJIT's FFI,
-- clock_gettime). A thread that falls behind starts its next flow at once and does not burst to
-- catch up, so a server slower than the cap simply completes fewer flows per second.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- parameters

local function read_params(path)
  local params, lists = {}, { cookie = {}, user = {}, pkce = {} }
  local file = assert(io.open(path, "r"), "BENCH_FLOW_FILE cannot be read: " .. tostring(path))
  for line in file:lines() do
    local key, value = line:match("^([%w_]+)=(.*)$")
    if key and lists[key] then
      table.insert(lists[key], value)
    elseif key then
      params[key] = value
    end
  end
  file:close()
  return params, lists
end

local P, L = read_params(os.getenv("BENCH_FLOW_FILE"))
local RETURNING = P.mode == "returning"

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local ENC_REDIRECT = urlencode(P.redirect_uri)
local AUTHORIZE_BASE = P.authorize .. "?response_type=code&client_id=" .. urlencode(P.client_id)
  .. "&redirect_uri=" .. ENC_REDIRECT .. "&scope=" .. urlencode(P.scope)
  .. ((P.prompt or "") ~= "" and ("&prompt=" .. urlencode(P.prompt)) or "")
  .. "&code_challenge_method=S256"

-- ---------------------------------------------------------------- clock

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now() -- seconds, CLOCK_MONOTONIC
  ffi.C.clock_gettime(1, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

-- ---------------------------------------------------------------- per-thread state

local interval = 0 -- seconds between this thread's flow starts (0: no cap)
local next_start = nil
local pending = nil -- the next request of the flow in progress; nil: start a new flow
local flow = nil -- { state, verifier, started, jar }
local flow_number = 0
local browser_headers = {}

function init(args)
  ok = 0 -- completed flows
  failed = 0 -- flows ended by an unexpected answer
  first_failure = ""
  latencies = {} -- ms per completed flow
  local index = thread_index or 0
  local rate = tonumber(P.rate or "0") or 0
  if rate > 0 then
    interval = thread_count_total / rate
    next_start = now() + interval * index / thread_count_total
  end
  if P.user_agent and P.user_agent ~= "" then
    browser_headers["User-Agent"] = P.user_agent
  end
  if P.forwarded_for and P.forwarded_for ~= "" then
    browser_headers["X-Forwarded-For"] = P.forwarded_for
  end
  my_cookie = L.cookie[(index % math.max(#L.cookie, 1)) + 1]
  my_user = L.user[(index % math.max(#L.user, 1)) + 1] or "bench"
  pkce_at = index -- round-robin over the pool, threads starting at different pairs
end

-- The number of threads, known to every thread state: wrk -t, passed through the parameter file.
thread_count_total = tonumber(P.threads or "1") or 1

-- ---------------------------------------------------------------- helpers

local function header(headers, wanted) -- wrk keeps header names as sent: Assent lower-case, node mixed
  for name, value in pairs(headers) do
    if string.lower(name) == wanted then
      return value
    end
  end
  return nil
end

local function cookie_header(jar)
  local parts = {}
  for name, value in pairs(jar) do
    table.insert(parts, name .. "=" .. value)
  end
  return table.concat(parts, "; ")
end

-- wrk hands over one value per header name, the last one: of several Set-Cookie headers only the
-- last arrives. That is enough for Assent (one cookie) and for oidc-provider's session cookie,
-- which it sets last; oidc-provider's interaction cookies hold the interaction id that the
-- redirect's Location carries, and are rebuilt from it below.
local function take_cookie(jar, headers)
  local set = header(headers, "set-cookie")
  if not set then
    return
  end
  local name, value = set:match("^%s*([^=;]+)=([^;]*)")
  if name then
    if value == "" then
      jar[name] = nil
    else
      jar[name] = value
    end
  end
end

local function strip_origin(url)
  return (string.gsub(url, "^https?://[^/]+", ""))
end

local function unescape(s)
  if not string.find(s, "&", 1, true) then
    return s
  end
  s = string.gsub(s, "&#x2[Ff];", "/")
  s = string.gsub(s, "&#x27;", "'")
  s = string.gsub(s, "&#39;", "'")
  s = string.gsub(s, "&quot;", '"')
  s = string.gsub(s, "&#34;", '"')
  s = string.gsub(s, "&lt;", "<")
  s = string.gsub(s, "&gt;", ">")
  s = string.gsub(s, "&amp;", "&")
  return s
end

local function attr(tag, name)
  return string.match(tag, "%s" .. name .. '="([^"]*)"')
end

-- The page's form as a browser would submit it: hidden fields as they are, the text field with
-- the username, the password field with the password, ticked boxes, and the approving button.
local function submit_form(html)
  local form = string.match(html, "<form[^>]*>")
  if not form then
    return nil
  end
  local action = attr(form, "action")
  if not action then
    return nil
  end
  local fields = {}
  for tag in string.gmatch(html, "<input[^>]*>") do
    local name = attr(tag, "name")
    if name then
      local kind = attr(tag, "type") or "text"
      local value = unescape(attr(tag, "value") or "")
      if kind == "password" then
        value = P.password
      elseif kind == "text" then
        value = my_user
      end
      if kind ~= "checkbox" or string.find(tag, "%schecked") then
        table.insert(fields, urlencode(name) .. "=" .. urlencode(value))
      end
    end
  end
  for tag in string.gmatch(html, "<button[^>]*>") do
    local name, value = attr(tag, "name"), attr(tag, "value")
    if name and (value == "approve" or value == "allow" or value == "accept") then
      table.insert(fields, urlencode(name) .. "=" .. urlencode(value))
    end
  end
  return strip_origin(unescape(action)), table.concat(fields, "&")
end

local function browser(method, path, body)
  local headers = {}
  for name, value in pairs(browser_headers) do
    headers[name] = value
  end
  local cookies = cookie_header(flow.jar)
  if cookies ~= "" then
    headers["Cookie"] = cookies
  end
  if body then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  return { kind = "browser", method = method, path = path, headers = headers, body = body }
end

local function fail(step, status, body)
  failed = failed + 1
  if first_failure == "" then
    first_failure = step .. ": " .. tostring(status) .. " " .. string.sub(body or "", 1, 300)
  end
  flow, pending = nil, nil
end

-- ---------------------------------------------------------------- wrk hooks

local function start_flow()
  flow_number = flow_number + 1
  local pair = L.pkce[(pkce_at % #L.pkce) + 1]
  pkce_at = pkce_at + thread_count_total
  local verifier, challenge = string.match(pair, "^(%S+) (%S+)$")
  local state = tostring(thread_index or 0) .. "-" .. tostring(flow_number)
  flow = { state = state, verifier = verifier, started = now(), jar = {}, steps = 0 }
  if RETURNING and my_cookie then
    for name, value in string.gmatch(my_cookie, "([^=;%s]+)=([^;]*)") do
      flow.jar[name] = value
    end
  end
  pending = browser("GET", AUTHORIZE_BASE .. "&state=" .. state .. "&code_challenge=" .. challenge)
end

-- Seconds to wait before the next flow may start, booking that slot.
local function book_slot()
  if interval == 0 then
    return 0
  end
  local t = now()
  local at = next_start or t
  if at < t - interval then -- more than a slot behind: start now, without a burst to catch up
    at = t
  end
  next_start = at + interval
  return at > t and (at - t) or 0
end

local booked = false

function delay()
  if pending ~= nil then
    return 0
  end
  booked = true
  return math.floor(book_slot() * 1000 + 0.5)
end

function request()
  if pending == nil then
    if not booked then
      book_slot() -- the thread's first flow goes at once
    end
    booked = false
    start_flow()
  end
  flow.steps = flow.steps + 1
  return wrk.format(pending.method, pending.path, pending.headers, pending.body)
end

function response(status, headers, body)
  if flow == nil then
    return
  end
  if pending.kind == "token" then
    if status == 200 and string.find(body or "", '"access_token"', 1, true) then
      ok = ok + 1
      table.insert(latencies, (now() - flow.started) * 1000)
      flow, pending = nil, nil
    else
      fail("token", status, body)
    end
    return
  end
  take_cookie(flow.jar, headers)
  if status == 302 or status == 303 then
    local location = header(headers, "location") or ""
    if string.sub(location, 1, #P.redirect_uri) == P.redirect_uri then
      local code = string.match(location, "[?&]code=([^&#]+)")
      local state = string.match(location, "[?&]state=([^&#]+)")
      if not code or state ~= flow.state then
        return fail("redirect without code or with another state", status, location)
      end
      pending = {
        kind = "token",
        method = "POST",
        path = P.token,
        headers = {
          ["Authorization"] = "Basic " .. P.basic,
          ["Content-Type"] = "application/x-www-form-urlencoded",
        },
        body = "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. ENC_REDIRECT
          .. "&code_verifier=" .. flow.verifier,
      }
      return
    end
    if RETURNING then
      return fail("returning browser redirected elsewhere", status, location)
    end
    local path = strip_origin(location)
    local uid = string.match(path, "^/interaction/([%w_%-]+)")
    if uid then -- oidc-provider set _interaction and _interaction_resume to this id (see take_cookie)
      flow.jar["_interaction"] = uid
      flow.jar["_interaction_resume"] = uid
    end
    pending = browser("GET", path)
    return
  end
  if status == 200 and not RETURNING and flow.steps < 12 then
    local path, form = submit_form(body or "")
    if path then
      pending = browser("POST", path, form)
      return
    end
  end
  fail(RETURNING and "returning browser got a page" or "unexpected answer", status, body)
end

-- ---------------------------------------------------------------- summary

local function json_string(s)
  s = string.gsub(s, "[%c]", " ")
  s = string.gsub(s, "\\", "\\\\")
  s = string.gsub(s, '"', '\\"')
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local ok_total, failed_total, sample, all = 0, 0, "", {}
  for _, thread in ipairs(threads) do
    ok_total = ok_total + (thread:get("ok") or 0)
    failed_total = failed_total + (thread:get("failed") or 0)
    local first = thread:get("first_failure") or ""
    if sample == "" and first ~= "" then
      sample = first
    end
    for _, ms in ipairs(thread:get("latencies") or {}) do
      table.insert(all, ms)
    end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then
      return 0
    end
    return all[math.max(1, math.ceil(#all * p / 100))]
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_FLOWS {"ok":%d,"failed":%d,"requests":%d,"duration_us":%d,"flow_p50_ms":%.3f,"flow_p99_ms":%.3f,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"status_errors":%d,"first_failure":%s}\n',
    ok_total, failed_total, summary.requests, summary.duration, pct(50), pct(99),
    e.connect, e.read, e.write, e.timeout, e.status, json_string(sample)))
end
