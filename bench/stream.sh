#!/bin/sh
# The change stream under load (docs/BENCHMARKS.md, "change stream"): one
# replica (`wangge serve --demo` on a fresh GeoPackage), $CLIENTS streams of
# GET /v1/changes?layer=hazards held open by bench/stream, which POSTs
# hazards through the API at $RATE a second for $DUR and times each one's
# message on every stream; the server's VmRSS is read from /proc. The load
# tool runs on the same machine and shares its cores with the server.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
OUT=${OUT:-/tmp/wangge-stream-bench}
CLIENTS=${CLIENTS:-1000} RATE=${RATE:-10} DUR=${DUR:-30s}
ADDR=${ADDR:-127.0.0.1:18500}
mkdir -p "$OUT"
rm -f "$OUT/stream.gpkg" "$OUT/stream.gpkg-wal" "$OUT/stream.gpkg-shm"
go build -o "$OUT/wangge" ./cmd/wangge
go build -o "$OUT/streambench" ./bench/stream
# No rate limit and no cap of connections per address: every stream comes
# from this one address.
"$OUT/wangge" serve --demo --db "$OUT/stream.gpkg" --addr "$ADDR" --anonymous planner \
	--rate-limit 0 --max-conns-per-addr 0 >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_ready "$ADDR" $SERVER "$OUT/serve.log"
echo "machine: $(nproc) cores; $(uptime)"
lscpu | head -15
"$OUT/streambench" -url "http://$ADDR" -clients "$CLIENTS" -rate "$RATE" -duration "$DUR" -pid $SERVER
echo "after: $(uptime)"
