#!/bin/sh
# Load: mixed reads with writes going on, on loopback, against the demo.
#   bench/load.sh            # DUR=60 CONNS=32 THREADS=2
# 1. a fresh GeoPackage gets two API keys (wangge keys create: a field key
#    for the readers, a planner key for the writer), then `wangge serve
#    --demo` loads the demo and publishes its plan; no anonymous access, no
#    rate limit (the keys would otherwise be held to 200 requests a second);
# 2. for $DUR seconds, wrk -t$THREADS -c$CONNS runs the read mix of
#    bench/load.lua (locate, tiles, items) with the field key while a second
#    wrk (one connection) POSTs a hazard and DELETEs it, over and over, with
#    the planner key;
# 3. the server's VmRSS is sampled from /proc every $EVERY seconds; start
#    (ready, before load), peak and end are printed with wrk's RESULT lines.
# Fails (exit 1) on any socket error, any 5xx or any non-2xx answer.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
OUT=${OUT:-/tmp/wangge-load-bench}
DUR=${DUR:-60} CONNS=${CONNS:-32} THREADS=${THREADS:-2} EVERY=${EVERY:-2}
ADDR=${ADDR:-127.0.0.1:18490}
command -v wrk >/dev/null || { echo "load.sh needs wrk (apt-get install -y wrk)" >&2; exit 2; }
mkdir -p "$OUT"
rm -f "$OUT/load.gpkg" "$OUT/load.gpkg-wal" "$OUT/load.gpkg-shm"

go build -o "$OUT/wangge" ./cmd/wangge
DB="$OUT/load.gpkg"
READ_KEY=$("$OUT/wangge" keys create --role field --name "load readers" --db "$DB" 2>/dev/null)
WRITE_KEY=$("$OUT/wangge" keys create --role planner --name "load writer" --db "$DB" 2>/dev/null)

"$OUT/wangge" serve --demo --db "$DB" --addr "$ADDR" --rate-limit 0 2>"$OUT/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_ready "$ADDR" $SERVER "$OUT/serve.log" 600
# The key is needed: without it a read is a 401.
curl -s -o /dev/null -w 'without a key: %{http_code}\n' "http://$ADDR/v1/locate?lon=9.5209&lat=47.1410"
curl -sf -H "Authorization: Bearer $READ_KEY" "http://$ADDR/v1/locate?lon=9.5209&lat=47.1410" >/dev/null

rss() { awk '/^VmRSS/ {print $2}' /proc/$SERVER/status; }
echo "rss_kib start $(rss)" >"$OUT/rss.txt"
( while kill -0 $SERVER 2>/dev/null; do echo "rss_kib $(date +%s) $(rss)"; sleep "$EVERY"; done ) >>"$OUT/rss.txt" 2>/dev/null &
SAMPLER=$!

echo "== wrk -t$THREADS -c$CONNS -d${DUR}s reads (locate, tiles, items) + wrk -t1 -c1 -d${DUR}s writes (POST + DELETE hazards)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(go env GOVERSION)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
MODE=write KEY="$WRITE_KEY" wrk -t1 -c1 -d"${DUR}s" -s bench/load.lua "http://$ADDR" >"$OUT/write.txt" &
WRITER=$!
MODE=read KEY="$READ_KEY" wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/load.lua "http://$ADDR" | tee "$OUT/read.txt"
wait $WRITER
cat "$OUT/write.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rss_kib end $(rss)" >>"$OUT/rss.txt"
kill $SAMPLER 2>/dev/null || true
# Flat: after the first third of the run (warm-up: tile cache, heap), the
# last third holds no more than the middle one.
awk '/^rss_kib start/ {s=$3} /^rss_kib end/ {e=$3} /^rss_kib [0-9]/ {r[++n]=$3; if ($3>p) p=$3} END {
	for (i = 1; i <= n; i++) if (i > 2*n/3) {c+=r[i]; nc++} else if (i > n/3) {b+=r[i]; nb++}
	printf "RESULT rss start_mib=%.1f peak_mib=%.1f end_mib=%.1f middle_third_mean_mib=%.1f last_third_mean_mib=%.1f samples=%d\n",
		s/1024, p/1024, e/1024, b/nb/1024, c/nc/1024, n }' "$OUT/rss.txt"
hazards=$(curl -sf -H "Authorization: Bearer $READ_KEY" "http://$ADDR/collections/hazards/items?limit=1" | sed -n 's/.*"numberMatched":\([0-9]*\).*/\1/p')
echo "hazards after: $hazards (the writer deletes what it creates)"
if grep -E 'Socket errors|Non-2xx' "$OUT/read.txt" "$OUT/write.txt" || grep -E 'RESULT wrk' "$OUT/read.txt" "$OUT/write.txt" | grep -vq 'errors=0 non2xx=0 5xx=0'; then
	echo "FAIL: errors or non-2xx answers under load" >&2
	exit 1
fi
