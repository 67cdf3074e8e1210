-- wrk script for bench/locate.sh: GET /v1/locate at uniform random points
-- of the plan's bound (BBOX="minLon minLat maxLon maxLat" in the environment),
-- seeded so every run asks the same sequence per thread.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua") -- seeding, tile, RESULT fields
local bbox = {}
for v in string.gmatch(os.getenv("BBOX"), "%S+") do bbox[#bbox + 1] = tonumber(v) end
local minx, miny, maxx, maxy = bbox[1], bbox[2], bbox[3], bbox[4]

setup = common.setup

-- Seeded with the thread's number itself, not as common.init does: the runs
-- recorded in docs/BENCHMARKS.md asked this sequence of points.
function init(args)
  math.randomseed(seed)
end

function request()
  local lon = minx + math.random() * (maxx - minx)
  local lat = miny + math.random() * (maxy - miny)
  return wrk.format("GET", string.format("/v1/locate?lon=%.7f&lat=%.7f", lon, lat))
end

function done(summary, latency, requests)
  io.write(string.format("RESULT wrk requests=%d errors=%d non2xx=%d rps=%.0f %s\n",
    summary.requests, common.errors(summary), summary.errors.status, common.rps(summary), common.latency(latency)))
end
