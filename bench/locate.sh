#!/bin/sh
# Locate over HTTP against PostGIS, same grids, same random points, same
# concurrency, in one run:
#   1. bench/locateplan draws a Montevideo-sized plan with gridgen (households
#      from $DATA/montevideo/households.csv, one bbox parent, target 300) into
#      a GeoPackage, publishes it, and loads the same grids into PostGIS
#      (table locate_grids, GiST index) in a scratch database;
#   2. wrk -t$THREADS -c$CONNS -d$DUR against `wangge serve` on loopback;
#   3. pgbench -c$CONNS -j$THREADS -T$DUR -M prepared, ST_Contains on a random
#      point of the same bound, p99 from its per-transaction log.
# Needs wrk, pgbench and PostgreSQL 15 with PostGIS at $PGHOST:$PGPORT
# (scripts/deps.sh installs postgresql-15-postgis-3; apt-get install wrk).
set -eu
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-/tmp/wangge-locate-bench}
PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PGDB=${PGDB:-wangge_locate_bench}
CONNS=${CONNS:-64} THREADS=${THREADS:-2} DUR=${DUR:-15}
ADDR=${ADDR:-127.0.0.1:18480}
export PGHOST PGPORT PGUSER
mkdir -p "$OUT"

psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDB'" | grep -q 1 || psql -d postgres -qc "CREATE DATABASE $PGDB"
go build -o "$OUT/wangge" ./cmd/wangge
go build -o "$OUT/locateplan" ./bench/locateplan
BBOX=$("$OUT/locateplan" -households "$DATA/montevideo/households.csv" -gpkg "$OUT/locate.gpkg" \
	-pg "postgres://$PGUSER@$PGHOST:$PGPORT/$PGDB" | sed -n 's/^bbox //p')
export BBOX
echo "bbox: $BBOX"

"$OUT/wangge" serve --db "$OUT/locate.gpkg" --addr "$ADDR" --anonymous field --rate-limit 0 2>"$OUT/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
i=0
until curl -sf "http://$ADDR/readyz" >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not become ready"; cat "$OUT/serve.log"; exit 1; }
	sleep 0.2
done
curl -s "http://$ADDR/v1/locate?lon=-56.1645&lat=-34.9011"; echo

echo "== wangge: wrk -t$THREADS -c$CONNS -d${DUR}s GET /v1/locate"
uptime
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/locate.lua "http://$ADDR"
kill $SERVER; wait $SERVER 2>/dev/null || true

set -- $BBOX
cat >"$OUT/contains.sql" <<SQL
\set lon $1 + random(0, 999999) * ($3 - $1) / 1000000.0
\set lat $2 + random(0, 999999) * ($4 - $2) / 1000000.0
SELECT code, parent_code, name, households, worker FROM locate_grids WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) LIMIT 1;
SQL
rm -f "$OUT"/pgbench_log.*
echo "== PostGIS: pgbench -c$CONNS -j$THREADS -T$DUR -M prepared (ST_Contains, GiST)"
uptime
(cd "$OUT" && pgbench -n -M prepared -c "$CONNS" -j "$THREADS" -T "$DUR" -f contains.sql -l "$PGDB")
cat "$OUT"/pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
	printf "RESULT pgbench transactions=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", NR, a[int(NR*0.50)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000 }'
