#!/bin/sh
# The two stores side by side on the same data: import rows/s of the
# 205,657 Montevideo household points, then /collections/hazards/items?bbox=
# under wrk (requests/s, p99) and the server's peak RSS, for a fresh
# GeoPackage and a fresh PostGIS database (created on the PostgreSQL at
# $PGHOST:$PGPORT, default 127.0.0.1:5432, user postgres, dropped after).
#   bench/stores.sh [DURATION] [CONNECTIONS]
# WANGGE_BIN=path uses a binary built already. Needs GNU time, wrk (apt-get install -y time wrk) and psql.
set -eu
cd "$(dirname "$0")/.."
dur=${1:-20s}
conns=${2:-32}
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
households=/work/shared/data/montevideo/households.csv
[ -r "$households" ] || households=${HOUSEHOLDS:?set HOUSEHOLDS to the Montevideo households.csv}
for t in /usr/bin/time wrk psql; do command -v $t >/dev/null || { echo "needs $t"; exit 1; }; done

tmp=$(mktemp -d)
db="wangge_bench_$$"
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
	psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
if [ -n "${WANGGE_BIN:-}" ]; then cp "$WANGGE_BIN" "$tmp/wangge"; else go build -o "$tmp/wangge" ./cmd/wangge; fi

# 50,000 seeded hazards over Montevideo's extent.
awk -v n=50000 'BEGIN { srand(1); split("fire traffic building electrical water other", cat, " ");
	split("open in_progress resolved", st, " "); print "id,lon,lat,category,severity,status,reported_at";
	for (i = 1; i <= n; i++) printf "hz/%d,%.7f,%.7f,%s,%d,%s,2025-%02d-%02dT%02d:00:00Z\n", i,
		-56.43 + rand() * 0.40, -34.94 + rand() * 0.24, cat[1 + int(rand() * 6)], 1 + int(rand() * 3),
		st[1 + int(rand() * 3)], 1 + int(rand() * 12), 1 + int(rand() * 28), int(rand() * 24) }' > "$tmp/hazards.csv"

psql -d postgres -qc "CREATE DATABASE $db" && psql -d "$db" -qc "CREATE EXTENSION postgis"
rows=$(($(wc -l < "$households") - 1))
bbox="-56.20,-34.92,-56.15,-34.88"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bbox query: /collections/hazards/items?bbox=$bbox&limit=100; wrk -t2 -c$conns -d$dur"

for store in gpkg postgis; do
	case $store in
	gpkg) url="$tmp/bench.gpkg" ;;
	postgis) url="postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable" ;;
	esac
	/usr/bin/time -f "%e %M" -o "$tmp/time" "$tmp/wangge" import households "$households" --db "$url" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
	read -r wall rss < "$tmp/time"
	echo "$store import: $rows rows in ${wall}s = $(echo "$rows / $wall" | bc) rows/s, peak RSS $((rss / 1024)) MiB"
	"$tmp/wangge" import hazards "$tmp/hazards.csv" --db "$url" >/dev/null 2>&1

	port=$((18080 + $$ % 1000))
	"$tmp/wangge" serve --db "$url" --addr "127.0.0.1:$port" --anonymous viewer --rate-limit 0 2>"$tmp/serve.log" &
	pid=$!
	i=0
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$tmp/serve.log"; exit 1; }; sleep 0.2
	done
	matched=$(curl -s "http://127.0.0.1:$port/collections/hazards/items?bbox=$bbox&limit=100" | grep -o '"numberMatched":[0-9]*')
	wrk -t2 -c"$conns" -d"$dur" --latency "http://127.0.0.1:$port/collections/hazards/items?bbox=$bbox&limit=100" > "$tmp/wrk"
	# Peak RSS of the server (the kernel's high-water mark), read before it stops.
	hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
	kill -TERM "$pid"; wait "$pid" || true; pid=""
	echo "$store wrk ($matched): $(grep 'Requests/sec' "$tmp/wrk"), p50 $(awk '$1 == "50%" {print $2}' "$tmp/wrk"), p99 $(awk '$1 == "99%" {print $2}' "$tmp/wrk"), $(grep 'Non-2xx' "$tmp/wrk" || echo 'all 2xx'), server peak RSS $hwm MiB"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
