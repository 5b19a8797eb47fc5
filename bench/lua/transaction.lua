-- Transaction: POST [base] with a Bundle of 1 Patient + 9 Observations referring to it by its
-- urn:uuid fullUrl; fresh uuids and identifier value per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local template

function init(args)
  bench_seed()
  template = bench_read_file(os.getenv("BENCH_TEMPLATE"))
  wrk.headers["Content-Type"] = "application/fhir+json"
end

function request()
  local values = { IDV = string.format("%08d", math.random(50000000, 99999999)) }
  for k = 0, 9 do
    values["U" .. k] = bench_uuid()
  end
  local body = template:gsub("__(%w+)__", values)
  return wrk.format("POST", base_path, nil, body)
end
