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
#   4. (FLOOR=1, the default) wrk the same way against bench/floor, a bare
#      net/http server pinned like wangge that answers every request with
#      the bytes of one wangge locate answer, its headers included
#      (FLOOR_HEADERS=0: Content-Type and Content-Length alone, the first
#      round's floor): the floor of Go's HTTP stack on this machine, and
#      the ratio of wangge's requests/s to it.
# Steps 2 to 4 are repeated $RUNS times, back to back. POSTGIS=0 leaves
# PostgreSQL out (no cluster, no table, no pgbench): wangge against the
# floor alone, for comparing builds of the server.
#
# Pinning (PIN=1, the default): on a small machine the load generator, the
# server and PostgreSQL compete for the same cores, and the kernel shares
# CPU per runnable thread, so 64 PostgreSQL backends out-compete a server
# with GOMAXPROCS threads. Both peers therefore get the same share: the
# server (GOMAXPROCS=$SERVER_PROCS) and PostgreSQL run on CPUs $SERVER_CPUS,
# wrk and pgbench on CPUs $CLIENT_CPUS, each with $THREADS threads. To pin
# PostgreSQL without touching a shared cluster, PGPRIVATE=1 (the default)
# starts a scratch cluster in $OUT/pg on port $PGPORT under taskset and stops
# it at the end.
#
# Needs wrk, pgbench, taskset and PostgreSQL 15 with PostGIS (scripts/deps.sh
# installs postgresql-15-postgis-3; apt-get install wrk). REUSE=1 keeps the
# plan and the PostGIS table of an earlier run in $OUT. BIN=path serves with
# that wangge binary instead of building one (to compare builds).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
DATA=${DATA:-../shared/data}
OUT=${OUT:-/tmp/wangge-locate-bench}
PIN=${PIN:-1} PGPRIVATE=${PGPRIVATE:-1}
SERVER_CPUS=${SERVER_CPUS:-0} CLIENT_CPUS=${CLIENT_CPUS:-1} SERVER_PROCS=${SERVER_PROCS:-1}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
# The scratch cluster's port lies below Linux's ephemeral range (32768–60999):
# at 55532 it once found the port taken by a client connection's own end
# and did not start (bench-smoke, after load.sh's wrk connections).
if [ "$PGPRIVATE" = 1 ]; then DEFPORT=25432; else DEFPORT=5432; fi
PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-$DEFPORT} PGUSER=${PGUSER:-postgres}
PGDB=${PGDB:-wangge_locate_bench}
CONNS=${CONNS:-64} THREADS=${THREADS:-1} DUR=${DUR:-15} RUNS=${RUNS:-1}
ADDR=${ADDR:-127.0.0.1:18480}
REUSE=${REUSE:-0} FLOOR=${FLOOR:-1} FLOOR_HEADERS=${FLOOR_HEADERS:-1} POSTGIS=${POSTGIS:-1}
[ "$POSTGIS" = 1 ] || PGPRIVATE=0
FLOOR_ADDR=${FLOOR_ADDR:-127.0.0.1:18481}
export PGHOST PGPORT PGUSER
mkdir -p "$OUT"

if [ "$PIN" = 1 ]; then
	ON_SERVER="taskset -c $SERVER_CPUS" ON_CLIENT="taskset -c $CLIENT_CPUS"
else
	ON_SERVER="" ON_CLIENT=""
fi

SERVER="" FLOORPID=""
cleanup() {
	[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
	[ -z "$FLOORPID" ] || kill "$FLOORPID" 2>/dev/null || true
	if [ "$PGPRIVATE" = 1 ] && [ -f "$OUT/pg/data/postmaster.pid" ]; then
		su postgres -c "$PGBIN/pg_ctl -D $OUT/pg/data -m fast stop" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

if [ "$PGPRIVATE" = 1 ]; then
	# A scratch cluster: reads only, so no fsync; pinned like the server.
	if [ ! -f "$OUT/pg/data/PG_VERSION" ]; then
		mkdir -p "$OUT/pg" && chown postgres "$OUT/pg"
		su postgres -c "$PGBIN/initdb -D $OUT/pg/data -A trust -U $PGUSER" >"$OUT/pg/initdb.log"
		cat >>"$OUT/pg/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '$PGHOST'
unix_socket_directories = '$OUT/pg'
max_connections = $((CONNS + 20))
fsync = off
synchronous_commit = off
CONF
	fi
	# The port on the command line too: a cluster kept from an earlier run
	# (REUSE) may have been made with another.
	su postgres -c "$ON_SERVER $PGBIN/pg_ctl -D $OUT/pg/data -o '-p $PGPORT' -l $OUT/pg/log -w start" >/dev/null
fi

PGURL=""
if [ "$POSTGIS" = 1 ]; then
	psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDB'" | grep -q 1 || psql -d postgres -qc "CREATE DATABASE $PGDB"
	PGURL="postgres://$PGUSER@$PGHOST:$PGPORT/$PGDB"
fi
if [ -z "${BIN:-}" ]; then
	go build -o "$OUT/wangge" ./cmd/wangge
	BIN=$OUT/wangge
fi
# A plan reused for PostGIS must have been loaded into it too ($OUT/pgloaded).
if [ "$REUSE" = 1 ] && [ -f "$OUT/locate.gpkg" ] && [ -f "$OUT/bbox" ] && { [ "$POSTGIS" = 0 ] || [ -f "$OUT/pgloaded" ]; }; then
	BBOX=$(cat "$OUT/bbox")
else
	go build -o "$OUT/locateplan" ./bench/locateplan
	rm -f "$OUT/pgloaded"
	BBOX=$("$OUT/locateplan" -households "$DATA/montevideo/households.csv" -gpkg "$OUT/locate.gpkg" \
		-pg "$PGURL" | sed -n 's/^bbox //p')
	echo "$BBOX" >"$OUT/bbox"
	[ -z "$PGURL" ] || touch "$OUT/pgloaded"
fi
export BBOX
echo "bbox: $BBOX"
echo "pinning: PIN=$PIN server+PostgreSQL on CPUs $SERVER_CPUS (GOMAXPROCS=$SERVER_PROCS), wrk+pgbench on CPUs $CLIENT_CPUS, $THREADS thread(s), $CONNS connections"

set -- $BBOX
cat >"$OUT/contains.sql" <<SQL
\set lon $1 + random(0, 999999) * ($3 - $1) / 1000000.0
\set lat $2 + random(0, 999999) * ($4 - $2) / 1000000.0
SELECT code, parent_code, name, households, worker FROM locate_grids WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) LIMIT 1;
SQL

GOMAXPROCS=$SERVER_PROCS $ON_SERVER "$BIN" serve --db "$OUT/locate.gpkg" --addr "$ADDR" --anonymous field --rate-limit 0 2>"$OUT/serve.log" &
SERVER=$!
wait_ready "$ADDR" $SERVER "$OUT/serve.log" 100
# The answer, with its headers, as the floor will send it.
curl -si "http://$ADDR/v1/locate?lon=-56.1645&lat=-34.9011"; echo
if [ "$FLOOR" = 1 ]; then
	go build -o "$OUT/floor" ./bench/floor
	fh=true
	[ "$FLOOR_HEADERS" = 1 ] || fh=false
	GOMAXPROCS=$SERVER_PROCS $ON_SERVER "$OUT/floor" -addr "$FLOOR_ADDR" -headers=$fh \
		-like "http://$ADDR/v1/locate?lon=-56.1645&lat=-34.9011" >"$OUT/floor.log" 2>&1 &
	FLOORPID=$!
	wait_ready "$FLOOR_ADDR" $FLOORPID "$OUT/floor.log" 100
	cat "$OUT/floor.log"
	curl -si "http://$FLOOR_ADDR/v1/locate?lon=-56.1645&lat=-34.9011"; echo
fi

# CPU time of a process and of its reaped children (PostgreSQL's backends
# exit when pgbench disconnects and are reaped by the postmaster), in clock
# ticks: divided by the requests served it gives the CPU cost of one
# answer, which the machine's load disturbs much less than requests/s.
cputicks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
PGPID=""
[ "$PGPRIVATE" = 1 ] && PGPID=$(head -1 "$OUT/pg/data/postmaster.pid")

run=1
while [ $run -le "$RUNS" ]; do
	echo "== run $run/$RUNS $(date -u +%H:%M:%S) wangge: wrk -t$THREADS -c$CONNS -d${DUR}s GET /v1/locate"
	uptime
	t0=$(cputicks "$SERVER")
	$ON_CLIENT wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/locate.lua "http://$ADDR" >"$OUT/wrk.out"
	t1=$(cputicks "$SERVER")
	grep RESULT "$OUT/wrk.out"
	sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$OUT/wrk.out" | awk -v t="$((t1 - t0))" -v hz="$TCK" '{
		printf "RESULT wangge server_cpu_s=%.2f cpu_us_per_request=%.1f\n", t/hz, t/hz*1e6/$1 }'

	if [ "$FLOOR" = 1 ]; then
		wangge_rps=$(sed -n 's/.* rps=\([0-9]*\).*/\1/p' "$OUT/wrk.out")
		wangge_cpu=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$OUT/wrk.out" | awk -v t="$((t1 - t0))" -v hz="$TCK" '{ printf "%.3f", t/hz*1e6/$1 }')
		echo "== run $run/$RUNS $(date -u +%H:%M:%S) floor: bare net/http, same pinning, same wrk"
		uptime
		t0=$(cputicks "$FLOORPID")
		$ON_CLIENT wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/locate.lua "http://$FLOOR_ADDR" >"$OUT/floor.out"
		t1=$(cputicks "$FLOORPID")
		sed -n 's/^RESULT wrk/RESULT floor/p' "$OUT/floor.out"
		floor_rps=$(sed -n 's/.* rps=\([0-9]*\).*/\1/p' "$OUT/floor.out")
		# cpu_ratio is the floor's CPU per request over wangge's: the
		# requests/s ratio the two would have on equal CPU, which the
		# machine's load moves much less than the requests/s ratio.
		sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$OUT/floor.out" | awk -v t="$((t1 - t0))" -v hz="$TCK" -v w="$wangge_rps" -v f="$floor_rps" -v wc="$wangge_cpu" '{
			c = t/hz*1e6/$1
			printf "RESULT floor server_cpu_s=%.2f cpu_us_per_request=%.1f wangge_over_floor=%.2f cpu_ratio=%.2f\n", t/hz, c, w/f, c/wc }'
	fi

	if [ "$POSTGIS" = 0 ]; then
		run=$((run + 1))
		continue
	fi
	rm -f "$OUT"/pgbench_log.*
	echo "== run $run/$RUNS $(date -u +%H:%M:%S) PostGIS: pgbench -c$CONNS -j$THREADS -T$DUR -M prepared (ST_Contains, GiST)"
	uptime
	[ -z "$PGPID" ] || t0=$(cputicks "$PGPID")
	(cd "$OUT" && $ON_CLIENT pgbench -n -M prepared -c "$CONNS" -j "$THREADS" -T "$DUR" -f contains.sql -l "$PGDB" >pgbench.out 2>&1) ||
		{ cat "$OUT/pgbench.out"; exit 1; }
	grep -E '^(tps|number of failed|initial connection time)' "$OUT/pgbench.out"
	sleep 1 # the backends exit and are reaped
	[ -z "$PGPID" ] || t1=$(cputicks "$PGPID")
	cat "$OUT"/pgbench_log.* | awk '{print $3}' | sort -n | awk -v dur="$DUR" '{a[NR]=$1} END {
		printf "RESULT pgbench transactions=%d tps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", NR, NR/dur, a[int(NR*0.50)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000 }'
	if [ -n "$PGPID" ]; then
		cat "$OUT"/pgbench_log.* | wc -l | awk -v t="$((t1 - t0))" -v hz="$TCK" '{
			printf "RESULT postgres cpu_s=%.2f cpu_us_per_query=%.1f (postmaster and its backends, connections included)\n", t/hz, t/hz*1e6/$1 }'
	fi
	run=$((run + 1))
done
