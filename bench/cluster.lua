-- wrk script for bench/cluster.sh: a read mix over Liechtenstein (the demo),
-- anonymous, seeded per thread so every run asks the same sequence.
--   locate  GET /v1/locate?lon=&lat=                     random point
--   nearby  GET /v1/nearby?lon=&lat=&kind=hazards&radius_m=500
--   items   GET /collections/hazards/items?limit=10
--   tiles   GET /tiles/hazards/{z}/{x}/{y}.mvt           z 12–14 under a random point
-- WEIGHTS="locate nearby items tiles" in the environment (default "25 25 25 25").
-- GZIP=1 adds Accept-Encoding: gzip to every request. done() prints one
-- RESULT line (wrk's non-2xx count is summary.errors.status).
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua") -- seeding, tile, RESULT fields
local minx, miny, maxx, maxy = 9.48, 47.05, 9.62, 47.27 -- Liechtenstein
local w = {}
for v in string.gmatch(os.getenv("WEIGHTS") or "25 25 25 25", "%S+") do w[#w + 1] = tonumber(v) end
local total = w[1] + w[2] + w[3] + w[4]
local c1, c2, c3 = w[1] / total, (w[1] + w[2]) / total, (w[1] + w[2] + w[3]) / total
local headers = {}
if os.getenv("GZIP") == "1" then headers["Accept-Encoding"] = "gzip" end

setup, init = common.setup, common.init

function request()
  local lon = minx + math.random() * (maxx - minx)
  local lat = miny + math.random() * (maxy - miny)
  local r = math.random()
  local path
  if r < c1 then
    path = string.format("/v1/locate?lon=%.6f&lat=%.6f", lon, lat)
  elseif r < c2 then
    path = string.format("/v1/nearby?lon=%.6f&lat=%.6f&kind=hazards&radius_m=500", lon, lat)
  elseif r < c3 then
    path = "/collections/hazards/items?limit=10"
  else
    local z = math.random(12, 14)
    local x, y = common.tile(lon, lat, z)
    path = string.format("/tiles/hazards/%d/%d/%d.mvt", z, x, y)
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT wrk requests=%d errors=%d non2xx=%d rps=%.1f %s\n",
    summary.requests, common.errors(summary), summary.errors.status, common.rps(summary), common.latency(latency)))
end
