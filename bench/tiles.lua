-- wrk script for bench/tiles.sh: requests the tiles of $TILE_MIX (one
-- z/x/y a line) in a random order as $TILE_PREFIX .. z/x/y .. $TILE_SUFFIX,
-- asking for gzip as browsers do.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua") -- seeding, tile, RESULT fields
local prefix = os.getenv("TILE_PREFIX")
local suffix = os.getenv("TILE_SUFFIX") or ".mvt"
local lines = {}
for l in io.lines(os.getenv("TILE_MIX")) do lines[#lines + 1] = l end
local headers = {["Accept-Encoding"] = "gzip"}

setup, init = common.setup, common.init

function request()
  return wrk.format("GET", prefix .. lines[math.random(#lines)] .. suffix, headers)
end
