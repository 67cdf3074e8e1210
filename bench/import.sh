#!/bin/sh
# Import throughput and peak memory: a seeded N-row household CSV (default
# 1,000,000) into a fresh GeoPackage with `wangge import`. Prints rows/s and
# the peak RSS from GNU time.
#   bench/import.sh [N]
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wangge" ./cmd/wangge
go run ./bench/gencsv -n "$n" > "$tmp/households.csv"
echo "csv: $(du -h "$tmp/households.csv" | cut -f1), $n rows"
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)"; exit 1; }
/usr/bin/time -f "%e s elapsed, %M KiB peak RSS" "$tmp/wangge" import households "$tmp/households.csv" --db "$tmp/bench.gpkg" 2>&1 | tail -2
echo "gpkg: $(du -h "$tmp/bench.gpkg" | cut -f1)"
