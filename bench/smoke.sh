#!/bin/sh
# make bench-smoke: every benchmark script under bench/ for a few seconds,
# with tiny parameters, one after the other; fails when one breaks. The
# figures it prints are not benchmarks (seconds-long runs on whatever else
# the machine does): it checks that each script runs from a clean clone
# with the roles, keys and peers it needs. A peer that is not installed
# (pg_tileserv, which no package provides) is skipped with a line saying so.
# A script under bench/ that is not listed below fails the smoke run, so a
# new one gets its smoke parameters when it is added. The scripts that read
# the shared OpenStreetMap data ($DATA, ../shared/data from the repository
# by default: it is not in the repository) are skipped with a line saying
# so where it is absent.
#   bench/smoke.sh [script ...]    # default: all; logs in $OUT
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/wangge-bench-smoke}
DATA=${DATA:-../shared/data}
mkdir -p "$OUT"
export SMOKE=1 DATA

# needs_data NAME: the file of the shared data a script reads, if any.
needs_data() {
	case $1 in
	gpmetis.sh) echo "$DATA/liechtenstein/households.csv" ;;
	gridgen64.sh | locate.sh | province.sh | tiles.sh) echo "$DATA/montevideo/households.csv" ;;
	esac
}

# smoke_env NAME: the environment (and arguments, after --) of each script.
smoke_env() {
	case $1 in
	archives.sh) echo "ZOOMS=10 MVD=0 OUT=$OUT/archives" ;;
	cluster.sh) echo "NS=1 DUR=2 WARM=1 IDLE=1 FAILOVERS=1 THREADS=1 CONNS=4 ROOT=$OUT/cluster PORT=7600" ;;
	gpmetis.sh) echo "RUNS=liechtenstein:10 OUT=$OUT/metis" ;;
	gridgen64.sh) echo "SCALE=1 REUSE=0 OUT=$OUT/gridgen64" ;;
	import.sh) echo "-- 20000" ;;
	load.sh) echo "DUR=2 CONNS=4 THREADS=1 EVERY=1 OUT=$OUT/load ADDR=127.0.0.1:18690" ;;
	locate.sh) echo "DUR=2 CONNS=4 THREADS=1 RUNS=1 OUT=$OUT/locate PGDB=wangge_locate_smoke ADDR=127.0.0.1:18694 FLOOR_ADDR=127.0.0.1:18699 PGPORT=25532" ;;
	stores.sh) echo "-- 2s 4" ;;
	stream.sh) echo "CLIENTS=20 RATE=5 DUR=2s OUT=$OUT/stream ADDR=127.0.0.1:18691" ;;
	tiles.sh) echo "DUR=2 CONNS=4 THREADS=1 OUT=$OUT/tiles PGDB=wangge_tiles_smoke" ;;
	webhooks.sh) echo "N=50 WORKERS=2 OUT=$OUT/webhooks ADDR=127.0.0.1:18692 RECV=127.0.0.1:18693" ;;
	province.sh) echo "SCALE=1 PATCHES=1 WRITES=1 REUSE=0 OUT=$OUT/province ADDR=127.0.0.1:18695" ;;
	smoke.sh | lib.sh) echo skip ;;
	*) echo unknown ;;
	esac
}

scripts=${*:-$(cd bench && ls *.sh)}
fails=""
t00=$(date +%s)
echo "bench-smoke: $(nproc) cores, $(uptime)"
for s in $scripts; do
	env=$(smoke_env "$s")
	[ "$env" = skip ] && continue
	if [ "$env" = unknown ]; then
		echo "FAIL $s: no smoke parameters in bench/smoke.sh"
		fails="$fails $s"
		continue
	fi
	if need=$(needs_data "$s") && [ -n "$need" ] && [ ! -f "$need" ]; then
		echo "SKIP $s: data not found: $need (the shared OpenStreetMap data; set DATA)"
		continue
	fi
	vars=${env%%--*} args=""
	case $env in *--*) args=${env#*--} ;; esac
	t0=$(date +%s)
	echo "== $s ($vars${args:+args$args})"
	# shellcheck disable=SC2086
	if env $vars "bench/$s" $args >"$OUT/${s%.sh}.log" 2>&1; then
		st=ok
	else
		st=FAIL
		fails="$fails $s"
	fi
	grep '^SKIP' "$OUT/${s%.sh}.log" || true
	echo "$st $s in $(($(date +%s) - t0)) s (log $OUT/${s%.sh}.log)"
	[ "$st" = ok ] || tail -20 "$OUT/${s%.sh}.log"
done
echo "bench-smoke: $(($(date +%s) - t00)) s in all; $(uptime)"
if [ -n "$fails" ]; then
	echo "bench-smoke: FAILED:$fails"
	exit 1
fi
