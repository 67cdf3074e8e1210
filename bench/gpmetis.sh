#!/bin/sh
# gridgen vs Debian's gpmetis on the same H3 cell graph (docs/BENCHMARKS.md,
# section "gridgen"). Needs gpmetis (apt-get install metis) and the shared
# OSM extracts in ../shared/data.
set -eu
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-/tmp/wangge-metis}
mkdir -p "$OUT"
go build -o "$OUT/metisgraph" ./bench/metisgraph
command -v gpmetis >/dev/null || { echo "gpmetis not found: apt-get install metis" >&2; exit 1; }

run() { # name, res, extra flags
	name=$1 res=$2; shift 2
	g="$OUT/$name-r$res.metis"
	echo "== $name res $res"
	"$OUT/metisgraph" export -res "$res" -target 300 -out "$g" "$@" | tee "$OUT/$name-r$res.txt"
	k=$(sed -n 's/^nparts //p' "$OUT/$name-r$res.txt")
	for opt in "" -contig; do
		echo "-- gpmetis -ufactor=100 $opt $k"
		/usr/bin/time -f "gpmetis wall %es, user %Us, sys %Ss (with reading the graph), max RSS %MKB" gpmetis -ufactor=100 $opt "$g" "$k" >"$OUT/$name-r$res.gpmetis.txt" 2>&1
		grep -E "Partitioning:|wall|contig" "$OUT/$name-r$res.gpmetis.txt" || true
		"$OUT/metisgraph" eval -graph "$g" -part "$g.part.$k" -target 300
	done
}

run montevideo 10 -households "$DATA/montevideo/households.csv"
run montevideo 11 -households "$DATA/montevideo/households.csv"
run liechtenstein 10 -households "$DATA/liechtenstein/households.csv" -boundaries "$DATA/liechtenstein/boundaries.geojson"
run liechtenstein 11 -households "$DATA/liechtenstein/households.csv" -boundaries "$DATA/liechtenstein/boundaries.geojson"
