-- Read by id: GET [base]/Patient/{id} of a random loaded Patient.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local patients

function init(args)
  bench_seed()
  patients = bench_patients()
end

function request()
  local p = patients[math.random(#patients)]
  return wrk.format("GET", base_path .. "/Patient/" .. p[1])
end
