-- wrk script for bench/tiles.sh: requests the tiles of $TILE_MIX (one
-- z/x/y a line) in a random order as $TILE_PREFIX .. z/x/y .. $TILE_SUFFIX,
-- asking for gzip as browsers do.
local prefix = os.getenv("TILE_PREFIX")
local suffix = os.getenv("TILE_SUFFIX") or ".mvt"
local lines = {}
for l in io.lines(os.getenv("TILE_MIX")) do lines[#lines + 1] = l end
local headers = {["Accept-Encoding"] = "gzip"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed * 7919)
end

function request()
  return wrk.format("GET", prefix .. lines[math.random(#lines)] .. suffix, headers)
end
