-- Search by identifier: GET [base]/Patient?identifier=SYSTEM|VALUE of a random loaded Patient;
-- a 2xx answer without an entry counts as an error (the Patient exists).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local patients

function init(args)
  bench_seed()
  patients = bench_patients()
end

function check_body(body)
  return string.find(body, '"entry"', 1, true) ~= nil
end

function request()
  local p = patients[math.random(#patients)]
  return wrk.format("GET", base_path .. "/Patient?identifier=" .. p[2] .. "%7C" .. p[3])
end
