-- wrk script for bench/load.sh. MODE=read (the default): a mix of reads
-- over the demo's extent, 40% GET /v1/locate at a random point, 30% a
-- vector tile (areas, grids, hazards) at zoom 10–15 under a random point,
-- 30% GET /collections/{hazards|grids}/items in a random box. MODE=write:
-- POST a hazard at a random point, then DELETE it, over and over, so the
-- store takes writes while the readers read and its size stays the same.
-- Every request carries Authorization: Bearer $KEY. done() prints one
-- RESULT line, with the 5xx answers counted apart from other non-2xx ones.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua") -- seeding, tile, RESULT fields
local key = os.getenv("KEY")
local mode = os.getenv("MODE") or "read"
local minx, miny, maxx, maxy = 9.47, 47.05, 9.64, 47.27 -- Liechtenstein
local headers = {["Authorization"] = "Bearer " .. key, ["Accept-Encoding"] = "gzip"}

setup = common.setup

function init(args)
  common.init(args)
  s5xx, s4xx, pending = 0, 0, nil
end

local function point()
  return minx + math.random() * (maxx - minx), miny + math.random() * (maxy - miny)
end

function request()
  if mode == "write" then
    if pending then
      local path = pending
      pending = nil
      return wrk.format("DELETE", path, headers)
    end
    local lon, lat = point()
    local body = string.format('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [%.6f, %.6f]}, ' ..
      '"properties": {"category": "fire", "severity": %d}}', lon, lat, math.random(3))
    local h = {["Authorization"] = headers["Authorization"], ["Content-Type"] = "application/json"}
    return wrk.format("POST", "/collections/hazards/items", h, body)
  end
  local lon, lat = point()
  local r = math.random()
  if r < 0.4 then
    return wrk.format("GET", string.format("/v1/locate?lon=%.6f&lat=%.6f", lon, lat), headers)
  elseif r < 0.7 then
    local z = math.random(10, 15)
    local x, y = common.tile(lon, lat, z)
    return wrk.format("GET", string.format("/tiles/areas,grids,hazards/%d/%d/%d.mvt", z, x, y), headers)
  end
  local d = 0.002 + math.random() * 0.02
  local coll = (math.random() < 0.5) and "hazards" or "grids"
  return wrk.format("GET", string.format("/collections/%s/items?limit=50&bbox=%.6f,%.6f,%.6f,%.6f", coll, lon, lat, lon + d, lat + d), headers)
end

function response(status, hdrs, body)
  if status >= 500 then
    s5xx = s5xx + 1
  elseif status >= 400 then
    s4xx = s4xx + 1
  end
  if mode == "write" and status == 201 then
    local loc = hdrs["Location"]
    if loc then pending = string.match(loc, "^https?://[^/]+(/.*)$") or loc end
  end
end

function done(summary, latency, requests)
  local n5, n4 = 0, 0
  for _, t in ipairs(common.threads) do
    n5 = n5 + t:get("s5xx")
    n4 = n4 + t:get("s4xx")
  end
  io.write(string.format("RESULT wrk mode=%s requests=%d errors=%d non2xx=%d 5xx=%d 4xx=%d rps=%.0f %s\n",
    mode, summary.requests, common.errors(summary), summary.errors.status, n5, n4, common.rps(summary), common.latency(latency)))
end
