-- wrk script for bench/locate.sh: GET /v1/locate at uniform random points
-- of the plan's bound (BBOX="minLon minLat maxLon maxLat" in the environment),
-- seeded so every run asks the same sequence per thread.
local bbox = {}
for v in string.gmatch(os.getenv("BBOX"), "%S+") do bbox[#bbox + 1] = tonumber(v) end
local minx, miny, maxx, maxy = bbox[1], bbox[2], bbox[3], bbox[4]

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed)
end

function request()
  local lon = minx + math.random() * (maxx - minx)
  local lat = miny + math.random() * (maxy - miny)
  return wrk.format("GET", string.format("/v1/locate?lon=%.7f&lat=%.7f", lon, lat))
end

function done(summary, latency, requests)
  io.write(string.format("RESULT wrk requests=%d errors=%d non2xx=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
