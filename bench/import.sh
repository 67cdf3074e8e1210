#!/bin/sh
# Import throughput and peak memory: a seeded N-row household CSV (default
# 1,000,000) into a fresh GeoPackage with `wangge import`, and the same file
# with GDAL's ogr2ogr (the peer) in the same run. Prints wall time and peak
# RSS from GNU time.
#   bench/import.sh [N]
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)"; exit 1; }
go build -o "$tmp/wangge" ./cmd/wangge
go run ./bench/gencsv -n "$n" > "$tmp/households.csv"
echo "csv: $(du -h "$tmp/households.csv" | cut -f1), $n rows; load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "wangge import: %e s, %U s user, %M KiB peak RSS" \
	"$tmp/wangge" import households "$tmp/households.csv" --db "$tmp/wangge.gpkg" 2>&1 | grep -v '^importing'
echo "wangge gpkg: $(du -h "$tmp/wangge.gpkg" | cut -f1)"
if command -v ogr2ogr >/dev/null; then
	/usr/bin/time -f "ogr2ogr: %e s, %U s user, %M KiB peak RSS" \
		ogr2ogr -f GPKG "$tmp/gdal.gpkg" "$tmp/households.csv" -nln households -a_srs EPSG:4326 \
		-oo X_POSSIBLE_NAMES=lon -oo Y_POSSIBLE_NAMES=lat -oo AUTODETECT_TYPE=YES -gt 100000 2>&1
	echo "ogr2ogr gpkg: $(du -h "$tmp/gdal.gpkg" | cut -f1)"
fi
