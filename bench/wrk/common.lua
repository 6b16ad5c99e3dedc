-- Shared by every bench script (loaded with dofile): checks every response's status and reports
-- the counts from done() as one machine-readable line, `BENCH_RESULT {json}`, which bench/harness.py
-- reads next to wrk's own summary. A benchmark of error responses is worthless, so any status
-- outside 2xx is counted (with the first one's status and body) and fails the scenario.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  bad = 0
  first_bad = ""
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

-- A JSON string literal: quotes and backslashes escaped, control characters dropped.
local function json_string(s)
  s = string.gsub(s, '[%c]', ' ')
  s = string.gsub(s, '\\', '\\\\')
  s = string.gsub(s, '"', '\\"')
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local ok_total, bad_total, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    ok_total = ok_total + (thread:get("ok") or 0)
    bad_total = bad_total + (thread:get("bad") or 0)
    local first = thread:get("first_bad") or ""
    if sample == "" and first ~= "" then
      sample = first
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"ok":%d,"bad":%d,"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"status_errors":%d,"first_bad":%s}\n',
    ok_total, bad_total, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, json_string(sample)))
end
