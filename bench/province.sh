#!/bin/sh
# Province scale (issue 20): SCALE× Montevideo (bench/province: translated
# copies of the shared households, each copy its own area, 60,000 hazards
# and 2,000 cameras per copy: at 16×, 3.29M household points, 960,000
# hazards, 32,000 cameras), imported into a GeoPackage with `wangge import`,
# a plan drawn and published with `wangge gridgen --target 300`, then one
# `wangge serve` on it:
#   1. start-up: the time until /readyz answers 200;
#   2. GET /v1/coverage, the first time;
#   3. $PATCHES times: PATCH one camera's azimuth, then GET /v1/coverage
#      (the coverage after one camera change);
#   4. GET /v1/hotspots (the first page, and limit=10000), then $WRITES
#      times: POST a hazard, GET /v1/hotspots (the analysis after a write);
#   5. the server's VmRSS and VmHWM.
# Each request's time is curl's time_total on loopback; compute_ms and
# Server-Timing are the server's own. BIN=path serves with another wangge
# binary (an older build, for before/after); the data in $OUT is kept and
# reused (REUSE=1, the default, when $OUT/province.gpkg exists); HOT_LIMIT=0
# leaves out the limit=10000 probe (for builds without hotspot pages).
#   bench/province.sh                 # SCALE=16 PATCHES=5 WRITES=3
#   SCALE=64 bench/province.sh        # 13M household points
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
SCALE=${SCALE:-16} PATCHES=${PATCHES:-5} WRITES=${WRITES:-3} REUSE=${REUSE:-1}
OUT=${OUT:-/tmp/wangge-province-$SCALE}
ADDR=${ADDR:-127.0.0.1:18520}
DATA=${DATA:-../shared/data}
province_db "areas households hazards cameras"
if [ "$FRESH" = 1 ]; then
	/usr/bin/time -f "gridgen: %e s, peak RSS %M KiB" "$OUT/wangge" gridgen --target 300 --publish --db "$DB" 2>&1 | tail -3
fi
echo "machine: $(nproc) cores (shared), $(go env GOVERSION); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $BIN"

t0=$(date +%s.%N)
"$BIN" serve --db "$DB" --addr "$ADDR" --anonymous planner --rate-limit 0 >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
i=0
until curl -sf "http://$ADDR/readyz" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 3000 ] || { echo "server did not become ready"; tail "$OUT/serve.log"; exit 1; }
	kill -0 $SERVER 2>/dev/null || { cat "$OUT/serve.log"; exit 1; }
	sleep 0.05
done
echo "RESULT ready_s=$(echo "$(date +%s.%N) - $t0" | bc | sed 's/^\./0./') rss_mib=$(awk '/^VmRSS/ {print int($2/1024)}' /proc/$SERVER/status)"

coverage() { # label
	curl -sf -o "$OUT/cov.json" -w '%{time_total} %{size_download}\n' "http://$ADDR/v1/coverage?limit=1" >"$OUT/curl.txt" || { echo "coverage failed"; exit 1; }
	read -r tt size <"$OUT/curl.txt"
	echo "RESULT coverage $1 time_s=$tt compute_ms=$(sed -n 's/.*"compute_ms":\([0-9]*\).*/\1/p' "$OUT/cov.json") bytes=$size"
}
coverage first
cam=$(curl -sf "http://$ADDR/collections/cameras/items?limit=1" | sed -n 's/.*"features":\[{"type":"Feature","id":\([0-9]*\).*/\1/p')
[ -n "$cam" ] || { echo "no camera found"; exit 1; }
i=1
while [ $i -le "$PATCHES" ]; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
		--data "{\"properties\": {\"azimuth\": $((i * 40 % 360))}}" "http://$ADDR/collections/cameras/items/$cam")
	[ "$code" = 200 ] || { echo "PATCH camera $cam: $code"; exit 1; }
	coverage "after_patch_$i"
	i=$((i + 1))
done

hotspots() { # label query
	curl -sf -o /dev/null -D "$OUT/hdr.txt" -w '%{time_total} %{size_download}\n' "http://$ADDR/v1/hotspots$2" >"$OUT/curl.txt" || { echo "hotspots failed"; exit 1; }
	read -r tt size <"$OUT/curl.txt"
	echo "RESULT hotspots $1 time_s=$tt bytes=$size $(grep -i '^Server-Timing' "$OUT/hdr.txt" | tr -d '\r')"
}
hotspots first ""
hotspots again ""
# HOT_LIMIT=0 for a build from before /v1/hotspots had pages (it refuses limit).
[ "${HOT_LIMIT:-1}" = 0 ] || hotspots limit_10000 "?limit=10000"
i=1
while [ $i -le "$WRITES" ]; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/geo+json' \
		--data '{"type":"Feature","geometry":{"type":"Point","coordinates":[-56.17,-34.88]},"properties":{"category":"fire","severity":2}}' \
		"http://$ADDR/collections/hazards/items")
	[ "$code" = 201 ] || { echo "POST hazard: $code"; exit 1; }
	sleep 0.2 # the write reaches the scene
	hotspots "after_write_$i" ""
	i=$((i + 1))
done
echo "RESULT rss rss_mib=$(awk '/^VmRSS/ {print int($2/1024)}' /proc/$SERVER/status) hwm_mib=$(awk '/^VmHWM/ {print int($2/1024)}' /proc/$SERVER/status)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
