-- wrk script of the devdesk benchmark harness.
--
--   wrk ... -d SECONDS -s wrk.lua URL -- REQUESTS_FILE RUN_ID
--
-- REQUESTS_FILE is a Lua file returning a list of {method, path, headers, body};
-- each connection cycles through it. "{uid}" in a header or body becomes a value
-- unique to the request (idempotency keys, subjects). wrk's -d bounds the run: each
-- connection waits for its answer before the next request, so the time bounds the
-- number of requests too. (wrk.thread:stop() would not end the run any sooner.)
-- Responses' Server-Timing headers (db time, query count, total) are summed, and
-- done() prints one JSON line starting with "WRK_JSON ".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local reqs, run_id
local position, counter = 0, 0
count, timed, db_ms, total_ms, queries = 0, 0, 0, 0, 0
status_2xx, status_3xx, status_4xx, status_5xx = 0, 0, 0, 0
first_error = ""

function init(args)
  reqs = dofile(args[1])
  run_id = args[2] or "run"
  -- Start each thread at a different request, so a mix is mixed from the start.
  position = (thread_id - 1) % #reqs
end

function request()
  position = position % #reqs + 1
  counter = counter + 1
  local r = reqs[position]
  local uid = run_id .. "-" .. thread_id .. "-" .. counter
  local headers = {}
  for name, value in pairs(r.headers or {}) do
    headers[name] = (value:gsub("{uid}", uid))
  end
  local body = nil
  if r.body then
    body = (r.body:gsub("{uid}", uid))
  end
  return wrk.format(r.method, r.path, headers, body)
end

function response(status, headers, body)
  count = count + 1
  if status < 300 then
    status_2xx = status_2xx + 1
  elseif status < 400 then
    status_3xx = status_3xx + 1
  else
    if status < 500 then status_4xx = status_4xx + 1 else status_5xx = status_5xx + 1 end
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
  local timing = headers["Server-Timing"] or headers["server-timing"]
  if timing then
    local db = tonumber(timing:match("db;dur=([%d%.]+)"))
    local q = tonumber(timing:match('desc="(%d+) queries"'))
    local total = tonumber(timing:match("total;dur=([%d%.]+)"))
    if db and q and total then
      timed = timed + 1
      db_ms = db_ms + db
      queries = queries + q
      total_ms = total_ms + total
    end
  end
end

local function quote(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local sums = { count = 0, timed = 0, db_ms = 0, total_ms = 0, queries = 0,
    status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    for name, _ in pairs(sums) do
      sums[name] = sums[name] + (thread:get(name) or 0)
    end
    local e = thread:get("first_error")
    if first == "" and e and e ~= "" then first = e end
  end
  local parts = {
    '"requests":' .. summary.requests,
    '"duration_us":' .. summary.duration,
    '"errors_connect":' .. summary.errors.connect,
    '"errors_read":' .. summary.errors.read,
    '"errors_write":' .. summary.errors.write,
    '"errors_status":' .. summary.errors.status,
    '"errors_timeout":' .. summary.errors.timeout,
    '"latency_min_us":' .. latency.min,
    '"latency_mean_us":' .. latency.mean,
    '"latency_max_us":' .. latency.max,
    '"p50_us":' .. latency:percentile(50),
    '"p95_us":' .. latency:percentile(95),
    '"p99_us":' .. latency:percentile(99),
    '"first_error":' .. quote(first),
  }
  for name, value in pairs(sums) do
    table.insert(parts, '"' .. name .. '":' .. value)
  end
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
