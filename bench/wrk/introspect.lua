-- introspect: RFC 7662 introspection of a user's access token from the authorization-code flow,
-- which checks the signature, the revoked-token list, the grant and the consent record behind it.
-- BENCH_BASIC: base64 of "clientId:clientSecret"; BENCH_BODY: "token=<access token>".
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("BENCH_BODY")
