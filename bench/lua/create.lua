-- Create: POST [base]/Patient, a JP Core Patient with a random identifier value.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local template

function init(args)
  bench_seed()
  template = bench_read_file(os.getenv("BENCH_TEMPLATE"))
  wrk.headers["Content-Type"] = "application/fhir+json"
end

function request()
  local values = { IDV = string.format("%08d", math.random(50000000, 99999999)) }
  local body = template:gsub("__(%u+)__", values)
  return wrk.format("POST", base_path .. "/Patient", nil, body)
end
