#!/bin/sh
# gridgen vs Debian's gpmetis on the same H3 cell graph (docs/BENCHMARKS.md,
# section "gridgen"). Needs gpmetis (apt-get install metis) and the shared
# OSM extracts in ../shared/data. RUNS picks the graphs, "name:res ..."
# (default: Montevideo and Liechtenstein at res 10 and 11; bench/smoke.sh
# runs liechtenstein:10 alone).
#
# The machine is shared, so CPU times swing: ROUNDS=N (default 1) repeats
# gridgen and gpmetis alternately N times per graph, and BASE=DIR adds, in
# the same alternation, the partitioner of another checkout of wangge (its
# bench/metisgraph, e.g. main's) as the before.
set -eu
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-/tmp/wangge-metis}
ROUNDS=${ROUNDS:-1}
BASE=${BASE:-}
mkdir -p "$OUT"
go build -o "$OUT/metisgraph" ./bench/metisgraph
if [ -n "$BASE" ]; then
	(cd "$BASE" && go build -o "$OUT/metisgraph-base" ./bench/metisgraph)
fi
command -v gpmetis >/dev/null || { echo "gpmetis not found: apt-get install metis" >&2; exit 1; }

run() { # name, res, extra flags
	name=$1 res=$2; shift 2
	g="$OUT/$name-r$res.metis"
	for round in $(seq "$ROUNDS"); do
		echo "== $name res $res, round $round of $ROUNDS, $(uptime)"
		if [ -n "$BASE" ]; then
			echo "-- before ($BASE)"
			"$OUT/metisgraph-base" export -res "$res" -target 300 -out "$g.base" "$@" | grep -E "^gridgen"
		fi
		"$OUT/metisgraph" export -res "$res" -target 300 -out "$g" "$@" | tee "$OUT/$name-r$res.txt"
		k=$(sed -n 's/^nparts //p' "$OUT/$name-r$res.txt")
		for opt in "" -contig; do
			echo "-- gpmetis -ufactor=100 $opt $k"
			/usr/bin/time -f "gpmetis wall %es, user %Us, sys %Ss (with reading the graph), max RSS %MKB" gpmetis -ufactor=100 $opt "$g" "$k" >"$OUT/$name-r$res.gpmetis.txt" 2>&1
			grep -E "Partitioning:|wall|contig" "$OUT/$name-r$res.gpmetis.txt" || true
			"$OUT/metisgraph" eval -graph "$g" -part "$g.part.$k" -target 300
		done
	done
}

RUNS=${RUNS:-montevideo:10 montevideo:11 liechtenstein:10 liechtenstein:11}
for r in $RUNS; do
	case ${r%:*} in
	montevideo) run montevideo "${r#*:}" -households "$DATA/montevideo/households.csv" ;;
	liechtenstein) run liechtenstein "${r#*:}" -households "$DATA/liechtenstein/households.csv" -boundaries "$DATA/liechtenstein/boundaries.geojson" ;;
	*) echo "gpmetis.sh: unknown graph $r" >&2; exit 2 ;;
	esac
done
