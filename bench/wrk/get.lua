-- read, list_user, list_audit: an authenticated GET of the URL given to wrk (path and query).
-- BENCH_TOKEN: worker access token.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Accept"] = "application/json"
