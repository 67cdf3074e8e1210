#!/bin/sh
# Vector tiles over HTTP against PostGIS, same grids, same hazards, same
# tiles, in one run (docs/BENCHMARKS.md, "tiles"):
#   1. bench/tilesbench draws a Montevideo plan with gridgen (households from
#      $DATA/montevideo/households.csv, one bbox parent, target 300), adds
#      60,000 seeded hazards and 2,000 cameras, serves wangge twice (tile
#      cache on / off) and loads the same grids and hazards into PostGIS in
#      a scratch database, with bench_tile(z, x, y): ST_AsMVT/ST_AsMVTGeom of
#      both layers, hazards binned 16×16 per tile below z14 as wangge does;
#   2. pg_tileserv (built outside the repository, $TILESERV) serves that
#      function and the grids table;
#   3. per-zoom latency probes one request at a time, then wrk -t$THREADS
#      -c$CONNS -d$DUR over the z10–z16 mix for each server.
# Needs wrk, PostgreSQL 15 with PostGIS at $PGHOST:$PGPORT, and pg_tileserv:
#   git clone https://github.com/CrunchyData/pg_tileserv /tmp/pg_tileserv && (cd /tmp/pg_tileserv && go build)
# SMOKE=1 (bench/smoke.sh): when $TILESERV is not there, the pg_tileserv
# runs are skipped with a line saying so; without SMOKE that is a failure.
set -eu
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-/tmp/wangge-tiles-bench}
PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PGDB=${PGDB:-wangge_tiles_bench}
CONNS=${CONNS:-32} THREADS=${THREADS:-2} DUR=${DUR:-20}
TILESERV=${TILESERV:-/tmp/pg_tileserv/pg_tileserv}
SMOKE=${SMOKE:-0}
HAVE_TS=1
if [ ! -x "$TILESERV" ]; then
	[ "$SMOKE" = 1 ] || { echo "tiles.sh needs pg_tileserv at \$TILESERV=$TILESERV (see the header)" >&2; exit 2; }
	echo "SKIP peer: pg_tileserv not installed at $TILESERV; its probe and wrk runs are skipped (SMOKE=1)"
	HAVE_TS=0
fi
command -v wrk >/dev/null || { echo "tiles.sh needs wrk (apt-get install -y wrk)" >&2; exit 2; }
CACHED=127.0.0.1:18490 UNCACHED=127.0.0.1:18491 TS=127.0.0.1:18492
export PGHOST PGPORT PGUSER
mkdir -p "$OUT"
rm -f "$OUT/ready" "$OUT/pg.ready"
PGURL="postgres://$PGUSER@$PGHOST:$PGPORT/$PGDB"

psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDB'" | grep -q 1 || psql -d postgres -qc "CREATE DATABASE $PGDB"
go build -o "$OUT/tilesbench" ./bench/tilesbench
"$OUT/tilesbench" serve -households "$DATA/montevideo/households.csv" -dir "$OUT" -pg "$PGURL" \
	-cached "$CACHED" -uncached "$UNCACHED" >"$OUT/serve.log" 2>&1 &
SERVER=$!
PIDS=$SERVER
trap 'kill $PIDS 2>/dev/null || true' EXIT
i=0
until [ -f "$OUT/ready" ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "tilesbench did not become ready"; cat "$OUT/serve.log"; exit 1; }
	kill -0 $SERVER 2>/dev/null || { cat "$OUT/serve.log"; exit 1; }
	sleep 0.5
done
cat "$OUT/serve.log"

if [ "$HAVE_TS" = 1 ]; then
	TS_HTTPHOST=127.0.0.1 TS_HTTPPORT=${TS#*:} TS_DBPOOLMAXCONNS=${TS_CONNS:-8} DATABASE_URL="$PGURL" \
		"$TILESERV" >"$OUT/tileserv.log" 2>&1 &
	PIDS="$PIDS $!"
	i=0
	until curl -sf "http://$TS/index.json" >/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "pg_tileserv did not start"; cat "$OUT/tileserv.log"; exit 1; }
		sleep 0.2
	done
fi

echo "## machine"
echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(go version | cut -d' ' -f3-), $(psql -d postgres -tAc 'SELECT version()' | cut -d' ' -f1-2), PostGIS $(psql -d "$PGDB" -tAc 'SELECT postgis_lib_version()')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## latency, one request at a time (gzip off, sizes raw)"
"$OUT/tilesbench" probe -dir "$OUT" -name "wangge cached" -twice -url "http://$CACHED/tiles/grids,hazards/" -suffix .mvt
"$OUT/tilesbench" probe -dir "$OUT" -name "wangge no cache" -url "http://$UNCACHED/tiles/grids,hazards/" -suffix .mvt
[ "$HAVE_TS" = 0 ] || "$OUT/tilesbench" probe -dir "$OUT" -name "PostGIS via pg_tileserv" -url "http://$TS/public.bench_tile/" -suffix .pbf
"$OUT/tilesbench" probe -dir "$OUT" -name "wangge all 5 layers, cached" -twice -url "http://$CACHED/tiles/grids,areas,hazards,cameras,hotspots/" -suffix .mvt

echo "## hotspots over 60,000 hazards (uncached server; 5 runs)"
for i in 1 2 3 4 5; do
	curl -sf -o /dev/null -D - -w "GET /v1/hotspots: %{time_total}s %{size_download} bytes\n" "http://$UNCACHED/v1/hotspots" | grep -E 'GET|Server-Timing'
done
curl -s -o /dev/null -D - -w "GET /v1/hotspots?res=10: %{time_total}s %{size_download} bytes\n" "http://$UNCACHED/v1/hotspots?res=10" | grep -E 'GET|Server-Timing'
curl -s -o /dev/null -D - -w "GET /v1/hotspots?category=fire: %{time_total}s %{size_download} bytes\n" "http://$UNCACHED/v1/hotspots?category=fire" | grep -E 'GET|Server-Timing' 

echo "## low zooms z0-z9, all layers, tile of the city centre"
for zxy in $(python3 -c "
import math
lon, lat = -56.1645, -34.9011
for z in range(10):
    n = 2 ** z
    print('%d/%d/%d' % (z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)))"); do
	curl -s -o /dev/null -w "z$zxy: %{size_download} bytes, %{time_total}s\n" "http://$UNCACHED/tiles/grids,areas,hazards,cameras,hotspots/$zxy.mvt"
done
echo "## largest tile of z10-z16 over the data, all layers"
"$OUT/tilesbench" probe -dir "$OUT" -n 100000 -name "max size all layers" -url "http://$UNCACHED/tiles/grids,areas,hazards,cameras,hotspots/" -suffix .mvt

run_wrk() { # name host path-prefix suffix
	echo "### wrk $1 (load before: $(cut -d' ' -f1 /proc/loadavg))"
	TILE_MIX="$OUT/mix.txt" TILE_PREFIX="$3" TILE_SUFFIX="$4" wrk -t"$THREADS" -c"$CONNS" -d"$DUR"s --latency -s bench/tiles.lua "http://$2/" >"$OUT/wrk.txt"
	grep -E 'Requests/sec|Transfer/sec|50%|99%|Non-2xx|Socket errors|requests in' "$OUT/wrk.txt"
	# A tile that is not a 2xx (a 401 when a role changed) is a broken run.
	if grep -q 'Non-2xx' "$OUT/wrk.txt"; then echo "FAIL: non-2xx tiles from $1" >&2; exit 1; fi
}
echo "## throughput: wrk -t$THREADS -c$CONNS -d${DUR}s over the z10-z16 mix ($(wc -l <"$OUT/mix.txt") tiles), gzip"
# Warm the cache with the whole mix first, as a dashboard's users would.
TILE_MIX="$OUT/mix.txt" TILE_PREFIX="/tiles/grids,hazards/" TILE_SUFFIX=.mvt wrk -t2 -c8 -d5s -s bench/tiles.lua "http://$CACHED/" >/dev/null
run_wrk "wangge cached (grids,hazards)" "$CACHED" "/tiles/grids,hazards/" .mvt
# The same run while a client creates one hazard a second somewhere in the
# city (One truth: a write drops only the tiles it reaches, not the cache).
(
	i=0
	while :; do
		i=$((i + 1))
		printf '{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},"properties":{"category":"fire","severity":2}}' \
			$(awk -v s="$i" 'BEGIN { srand(s); printf "%.6f %.6f", -56.25 + rand() * 0.2, -34.92 + rand() * 0.14 }') |
			curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -X POST -H 'Content-Type: application/geo+json' --data-binary @- \
				"http://$CACHED/collections/hazards/items" >>"$OUT/writes.log"
		sleep 1
	done
) &
WRITER=$!
PIDS="$PIDS $WRITER"
run_wrk "wangge cached (grids,hazards) under one write a second" "$CACHED" "/tiles/grids,hazards/" .mvt
kill $WRITER 2>/dev/null || true
echo "writes during that run: $(wc -l <"$OUT/writes.log") ($(grep -c '^201 ' "$OUT/writes.log") created), write latency max $(sort -k2 -n "$OUT/writes.log" | tail -1 | cut -d' ' -f2)s"
rm -f "$OUT/writes.log"
run_wrk "wangge no cache (grids,hazards)" "$UNCACHED" "/tiles/grids,hazards/" .mvt
[ "$HAVE_TS" = 0 ] || run_wrk "PostGIS ST_AsMVT via pg_tileserv (bench_tile: grids,hazards)" "$TS" "/public.bench_tile/" .pbf
run_wrk "wangge no cache (grids only)" "$UNCACHED" "/tiles/grids/" .mvt
[ "$HAVE_TS" = 0 ] || run_wrk "pg_tileserv table layer (bench_grids)" "$TS" "/public.bench_grids/" .pbf
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
