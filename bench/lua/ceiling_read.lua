-- The ceiling probe's own read script (CEILING_WRK_SCRIPT, /work/shared/bench/wrk_read.lua),
-- wrapped with the same counting and result line as every scenario.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
dofile(os.getenv("CEILING_WRK_SCRIPT"))
