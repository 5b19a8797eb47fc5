-- Shared by every benchmark scenario (loaded with dofile by each scenario script).
--
-- * seeds each wrk thread differently;
-- * counts answers outside 2xx, and 2xx answers whose body fails the scenario's `check_body`,
--   keeping the first of each for the report;
-- * done() prints one machine-readable line, `BENCH_RESULT {json}`, read by bench/run.py
--   (latencies in microseconds), and `BENCH_FIRST_ERROR text` when something went wrong.
--
-- Environment: BENCH_PATIENTS (file of "id<TAB>system<TAB>value" lines), BENCH_TEMPLATE (a
-- request body with __NAME__ placeholders), BENCH_BASE_PATH (default /fhir), BENCH_AUTH (an
-- Authorization header value, optional).

local threads = {}
local thread_count = 0

non2xx = 0
bad_body = 0
first_error = ""
base_path = os.getenv("BENCH_BASE_PATH") or "/fhir"

wrk.headers["Accept"] = "application/fhir+json"
if os.getenv("BENCH_AUTH") and os.getenv("BENCH_AUTH") ~= "" then
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

function bench_seed()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  for _ = 1, 10 do math.random() end
end

function bench_read_file(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

function bench_patients()
  local rows = {}
  for line in io.lines(os.getenv("BENCH_PATIENTS")) do
    local id, system, value = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)")
    if id then rows[#rows + 1] = { id, system, value } end
  end
  assert(#rows > 0, "no patients in BENCH_PATIENTS")
  return rows
end

local function hex16()
  return string.format("%04x", math.random(0, 65535))
end

function bench_uuid()
  return hex16() .. hex16() .. "-" .. hex16() .. "-4" .. string.format("%03x", math.random(0, 4095))
    .. "-" .. string.format("%04x", 32768 + math.random(0, 16383)) .. "-"
    .. hex16() .. hex16() .. hex16()
end

-- Scenarios with their own data redefine init and call bench_seed() first.
function init(args)
  bench_seed()
end

local function note(text)
  if first_error == "" then
    first_error = string.sub((text:gsub("[\r\n\t]", " ")), 1, 400)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    note("HTTP " .. status .. ": " .. (body or ""))
  elseif check_body ~= nil and not check_body(body or "") then
    bad_body = bad_body + 1
    note("HTTP " .. status .. " but unexpected body: " .. (body or ""))
  end
end

function done(summary, latency, requests)
  local n2, bad, first = 0, 0, ""
  for _, t in ipairs(threads) do
    n2 = n2 + (t:get("non2xx") or 0)
    bad = bad + (t:get("bad_body") or 0)
    local fe = t:get("first_error")
    if first == "" and fe ~= nil and fe ~= "" then first = fe end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "non2xx": %d, "bad_body": %d, '
      .. '"mean_us": %.1f, "max_us": %.0f, "p50_us": %.0f, "p90_us": %.0f, "p95_us": %.0f, '
      .. '"p99_us": %.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, n2, bad, latency.mean, latency.max, latency:percentile(50),
    latency:percentile(90), latency:percentile(95), latency:percentile(99)))
  if first ~= "" then
    io.write("BENCH_FIRST_ERROR " .. first .. "\n")
  end
end
