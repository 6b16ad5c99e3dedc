-- token: client-credentials token issuance with client_secret_basic.
-- BENCH_BASIC: base64 of "clientId:clientSecret". The URL is {base}/{envId}/as/token.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials"
