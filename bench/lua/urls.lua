-- GET one of the paths in BENCH_URLS (one per line), chosen at random per request: a search
-- scenario over many citizens, hospitals or codes, not one cached answer.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local paths

function init(args)
  bench_seed()
  paths = {}
  for line in io.lines(os.getenv("BENCH_URLS")) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  assert(#paths > 0, "no paths in BENCH_URLS")
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
