-- What the wrk scripts of bench/ share. wrk runs a script in one Lua state
-- for setup and done and in one more per thread, and each loads this file
-- itself, beside the script, with:
--   local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
-- (a path relative to the script, whatever wrk's working directory).
local common = {}

-- threads are the threads setup has numbered, for done to read their
-- counters.
common.threads = {}

local counter = 0

-- setup numbers the threads; a thread's number is its seed.
function common.setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(common.threads, thread)
end

-- init seeds the thread's random numbers from its number, so that every
-- run asks the same sequence per thread.
function common.init(args)
  math.randomseed(seed * 7919)
end

-- tile returns the x and y of the web mercator tile at zoom z under a
-- lon/lat point.
function common.tile(lon, lat, z)
  local n = 2 ^ z
  local x = math.floor((lon + 180) / 360 * n)
  local r = math.rad(lat)
  local y = math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
  return x, y
end

-- errors is the count of socket errors (connect, read, write, timeout) of
-- a run; wrk counts non-2xx answers apart, in summary.errors.status.
function common.errors(summary)
  local e = summary.errors
  return e.connect + e.read + e.write + e.timeout
end

-- rps is a run's requests per second.
function common.rps(summary)
  return summary.requests / (summary.duration / 1e6)
end

-- latency is the latency fields of a RESULT line, in milliseconds.
function common.latency(latency)
  return string.format("p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000)
end

return common
