#!/bin/sh
# gridgen at province scale (issue 20: "64× Montevideo, ≤ 60 s, peak RSS
# ≤ 2 GiB"): bench/province writes SCALE translated copies of the shared
# Montevideo households, each copy its own area (64×: 13,162,048 household
# points, 64 parents), `wangge import` puts the areas and households into a
# GeoPackage, then `wangge gridgen --target 300` runs RUNS times without
# and once with --publish, each under /usr/bin/time: wall, user + sys CPU,
# peak RSS. BIN=path runs another wangge build on the same GeoPackage (the
# before of a before/after); the GeoPackage in $OUT is kept and reused
# (REUSE=1, the default, when it exists). Each run adds a plan to it.
#   bench/gridgen64.sh                       # SCALE=64 RUNS=1
#   BIN=/path/to/older/wangge bench/gridgen64.sh
#   SMOKE=1 bench/gridgen64.sh               # SCALE=1: seconds
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
if [ "${SMOKE:-0}" = 1 ]; then SCALE=${SCALE:-1}; fi
SCALE=${SCALE:-64} RUNS=${RUNS:-1} REUSE=${REUSE:-1} PUBLISH=${PUBLISH:-1}
OUT=${OUT:-/tmp/wangge-gridgen-$SCALE}
DATA=${DATA:-../shared/data}
province_db "areas households" -hazards 0 -cameras 0
echo "machine: $(nproc) cores (shared), $(go env GOVERSION); binary: $BIN"

# gridgen LABEL [FLAGS]: one timed run, its RESULT line and the plan's line.
gridgen() {
	label=$1
	shift
	load0=$(cut -d' ' -f1 /proc/loadavg)
	/usr/bin/time -o "$OUT/time.txt" -f '%e %U %S %M' "$BIN" gridgen --target 300 --db "$DB" "$@" >"$OUT/gridgen.out" 2>"$OUT/gridgen.err" ||
		{ cat "$OUT/gridgen.err"; exit 1; }
	read -r wall user sys rss <"$OUT/time.txt"
	echo "RESULT gridgen $label scale=$SCALE wall_s=$wall cpu_s=$(awk "BEGIN { print $user + $sys }") user_s=$user sys_s=$sys peak_rss_mib=$((rss / 1024)) load=$load0→$(cut -d' ' -f1 /proc/loadavg)"
	grep '^plan ' "$OUT/gridgen.out" | head -1
}
i=1
while [ $i -le "$RUNS" ]; do
	gridgen "run_$i"
	i=$((i + 1))
done
[ "$PUBLISH" = 0 ] || gridgen publish --publish
