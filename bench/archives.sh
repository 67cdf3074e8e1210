#!/bin/sh
# Tile archive export rate and size (docs/BENCHMARKS.md, "tile archives"),
# with its peers in the same run:
#   1. the Liechtenstein demo (wangge serve --demo into a new GeoPackage),
#      layers hazards,grids,areas, z0–14 and z0–16: wangge export --format
#      pmtiles and mbtiles; the same tiles fetched from a fresh server (cold,
#      then cached) with curl, 2 at a time; GDAL's ogr2ogr -f MBTiles from
#      the same GeoPackage (its own tiling of the same three tables);
#   2. Montevideo (bench/tilesbench: 686 grids from 205,657 households,
#      60,000 hazards) unless MVD=0: the same, against tilesbench's
#      server (cached), GDAL only to z14 (z14 alone takes it minutes), plus
#      z0–18 once for memory.
set -eu
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/wangge-archives-bench}
DATA=${DATA:-../shared/data}
MVD=${MVD:-1}
# ZOOMS: the demo's max zooms (bench/smoke.sh runs ZOOMS=10 MVD=0).
ZOOMS=${ZOOMS:-14 16}
LAYERS=hazards,grids,areas
mkdir -p "$OUT"
go build -o "$OUT/wangge" ./cmd/wangge
W="$OUT/wangge"
PIDS=
trap 'kill $PIDS 2>/dev/null || true' EXIT
T() { /usr/bin/time -f "  %e s wall, %U s user, %M KB max RSS" "$@"; }

# urls BOUNDS Z ADDR: a curl config fetching every tile of z0–Z in BOUNDS.
urls() {
	python3 - "$1" "$2" "$3" <<'PY'
import math, sys
b = [float(v) for v in sys.argv[1].split(',')]
Z, addr = int(sys.argv[2]), sys.argv[3]
def t(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(x, n - 1), min(y, n - 1)
for z in range(Z + 1):
    x0, y0 = t(b[0], b[3], z); x1, y1 = t(b[2], b[1], z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            print(f'url = "http://{addr}/tiles/hazards,grids,areas/{z}/{x}/{y}.mvt"\noutput = "/dev/null"')
PY
}
bounds() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select value from metadata where name='bounds'\").fetchone()[0])" "$1"; }
fetch() { # fetch CFG: every tile, 2 at a time
	/usr/bin/time -f "  %e s wall" curl -s -Z --parallel-max 2 -H 'Accept-Encoding: gzip' -K "$1" -o /dev/null 2>&1 | grep wall
}

run() { # run NAME DB ZOOMS ADDR GDALMAX
	name=$1 db=$2 addr=$4 gdalmax=$5
	for z in $3; do
		for f in pmtiles mbtiles; do
			rm -f "$OUT/$name$z.$f"
			echo "wangge export --format $f --layers $LAYERS --minzoom 0 --maxzoom $z ($name)"
			T "$W" export --format $f "$OUT/$name$z.$f" --db "$db" --layers $LAYERS --minzoom 0 --maxzoom $z
		done
		urls "$(bounds "$OUT/$name$z.mbtiles")" $z "$addr" >"$OUT/curl$z.cfg"
		echo "curl, every tile of the same extent from the server: first (renders), then again (cached)"
		fetch "$OUT/curl$z.cfg"
		fetch "$OUT/curl$z.cfg"
		rm -f "$OUT/gdal$name$z.mbtiles"
		if [ "$z" -le "$gdalmax" ]; then
			echo "ogr2ogr -f MBTiles -dsco MAXZOOM=$z ($name: areas grids hazards)"
			T ogr2ogr -f MBTiles "$OUT/gdal$name$z.mbtiles" "$db" areas grids hazards -dsco MAXZOOM=$z 2>&1 | grep -v Warning
		fi
		ls -l "$OUT/$name$z".* "$OUT/gdal$name$z.mbtiles" 2>/dev/null | awk '{print "  " $5, $9}'
	done
}

echo "== $(date -u +%FT%TZ) $(nproc) cores, $(uptime | sed 's/.*load/load/')"
rm -f "$OUT/demo.gpkg"*
"$W" serve --demo --public-read --rate-limit 0 --addr 127.0.0.1:18741 --db "$OUT/demo.gpkg" >"$OUT/demo.log" 2>&1 &
PIDS="$PIDS $!"
until curl -sf -o /dev/null 127.0.0.1:18741/readyz; do sleep 0.5; done
run li "$OUT/demo.gpkg" "$ZOOMS" 127.0.0.1:18741 16

if [ "$MVD" = 1 ]; then
	go build -o "$OUT/tilesbench" ./bench/tilesbench
	rm -f "$OUT/ready"
	"$OUT/tilesbench" serve -households "$DATA/montevideo/households.csv" -dir "$OUT" \
		-cached 127.0.0.1:18742 -uncached 127.0.0.1:18743 >"$OUT/tilesbench.log" 2>&1 &
	PIDS="$PIDS $!"
	until [ -f "$OUT/ready" ]; do sleep 1; done
	run mvd "$OUT/tiles.gpkg" "14 16" 127.0.0.1:18742 14
	rm -f "$OUT/mvd18.pmtiles"
	echo "wangge export --format pmtiles --maxzoom 18 (mvd)"
	T "$W" export --format pmtiles "$OUT/mvd18.pmtiles" --db "$OUT/tiles.gpkg" --layers $LAYERS --minzoom 0 --maxzoom 18
fi
echo "== $(uptime | sed 's/.*load/load/')"
