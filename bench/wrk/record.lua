-- record: POST a consent record, as a browser behind a trusted proxy would cause it
-- (Chrome User-Agent for enrichment, X-Forwarded-For 203.0.113.7 for a GeoIP hit).
-- BENCH_TOKEN: worker access token. The URL names the environment and user.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/vnd.pingidentity.consent.accept+json"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
  .. "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
wrk.headers["X-Forwarded-For"] = "203.0.113.7"
wrk.body = '{"application":{"name":"bench-app","appType":"EXTERNAL"},"scope":["openid","email"],"status":"ACCEPTED"}'
