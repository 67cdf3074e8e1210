#!/bin/sh
# Webhook delivery under a burst of writes (docs/BENCHMARKS.md,
# "Webhooks"): one replica (`wangge serve --demo` on a fresh GeoPackage,
# the receiver's address in --webhook-allow), and bench/webhook on the same
# machine: a receiver on loopback, N hazards POSTed through the API by
# WORKERS at a time, each delivery timed from its POST. The floor is the
# same number of signed POSTs to the same receiver from a plain loop. A
# second run imports N hazards with the CLI in one transaction: delivery
# alone, not bounded by the rate of writes.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
OUT=${OUT:-/tmp/wangge-webhook-bench}
N=${N:-2000} WORKERS=${WORKERS:-4}
ADDR=${ADDR:-127.0.0.1:18510} RECV=${RECV:-127.0.0.1:18511}
mkdir -p "$OUT"
rm -f "$OUT/hooks.gpkg" "$OUT/hooks.gpkg-wal" "$OUT/hooks.gpkg-shm"
go build -o "$OUT/wangge" ./cmd/wangge
go build -o "$OUT/webhookbench" ./bench/webhook
"$OUT/wangge" serve --demo --db "$OUT/hooks.gpkg" --addr "$ADDR" --anonymous admin \
	--rate-limit 0 --webhook-allow "$RECV" >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_ready "$ADDR" $SERVER "$OUT/serve.log"
echo "machine: $(nproc) cores; $(uptime)"
echo "== burst of POSTs"
"$OUT/webhookbench" -url "http://$ADDR" -listen "$RECV" -n "$N" -workers "$WORKERS"
echo "== one import of N hazards by the CLI"
"$OUT/webhookbench" -url "http://$ADDR" -listen "$RECV" -n "$N" -floor=false -import-with "$OUT/wangge" -db "$OUT/hooks.gpkg"
echo "after: $(uptime)"
