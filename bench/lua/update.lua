-- Update: PUT [base]/Patient/{id} of a random loaded Patient, keeping its identifier and
-- changing its phone number.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local patients
local template

function init(args)
  bench_seed()
  patients = bench_patients()
  template = bench_read_file(os.getenv("BENCH_TEMPLATE"))
  wrk.headers["Content-Type"] = "application/fhir+json"
end

function request()
  local p = patients[math.random(#patients)]
  local values = {
    ID = p[1],
    SYS = p[2],
    IDV = p[3],
    TEL = string.format("093-%03d-%04d", math.random(100, 999), math.random(0, 9999)),
  }
  local body = template:gsub("__(%u+)__", values)
  return wrk.format("PUT", base_path .. "/Patient/" .. p[1], nil, body)
end
