#!/bin/bash
# Cluster: the replicated set-up of scripts/cluster.sh (PostgreSQL primary +
# synchronous hot standby, N wangge replicas, HAProxy) under a read mix, and
# the write outage when the primary dies.
#
#   bench/cluster.sh     # NS="1 2 3" DUR=20 THREADS=2 CONNS=32 FAILOVERS=3
#
# 1. For each N in $NS: scripts/cluster.sh up with N replicas (its own
#    directory under $ROOT, base port $PORT, so a cluster of the user's on
#    7400 is not touched), a ${WARM}s wrk warm-up through HAProxy (tile and
#    plan caches of every replica), ${IDLE}s idle to measure what the
#    components burn without load (HAProxy's health checks, the change feed),
#    then wrk -t$THREADS -c$CONNS -d${DUR}s --latency -s bench/cluster.lua
#    through HAProxy: 25 % each of /v1/locate, /v1/nearby (hazards, 500 m),
#    /collections/hazards/items?limit=10 and /tiles/hazards/{z}/{x}/{y}.mvt at
#    z 12–14, at random points of Liechtenstein (WEIGHTS, GZIP: see the Lua).
#    In the N=1 cluster the same run also goes straight to replica 1 (no
#    HAProxy), the peer. CPU time of every component comes from /proc before
#    and after each run (utime+stime, clock ticks): the wangge replicas; the
#    HAProxy process (all its threads); PostgreSQL = both postmasters with
#    their reaped children (cutime+cstime) plus every live child (backends,
#    walsender/walreceiver, startup, checkpointer, …); wrk (the shell's
#    `times`); and the whole machine (/proc/stat), whose remainder is other
#    sessions' work. CPU-ms per request is that CPU divided by wrk's count of
#    answers: on 2 shared cores it is the figure that carries over to more
#    cores, requests/s is not.
# 2. $FAILOVERS times, each on a fresh 2-replica cluster: a write loop (curl
#    POST of a hazard through HAProxy, one sent every 50 ms without waiting
#    for the previous answer, each logged with its answer time, status and
#    curl's time_total) and a read loop (GET
#    /collections/hazards/items?limit=1, same pacing) run while
#    scripts/cluster.sh failover SIGKILLs the primary and promotes the
#    standby; from the loop's log and, with the server's clock, from
#    HAProxy's log of the same POSTs: the last 201 before the first failed
#    write, the first failed write, the first 201 after it, and the gap.
#    bash for $EPOCHREALTIME: no fork per timestamp on a loaded machine.
# Results: one Markdown summary on stdout at the end (progress and details
# before it); every wrk output, loop log and the clusters' logs of the
# failover runs in $ROOT/out. Clusters are always torn down
# (scripts/cluster.sh down), also on Ctrl-C; a cluster that a killed run
# left in $ROOT is torn down at the start.
#
# Environment: WANGGE_BIN (default: go build -o /tmp/wangge-bench/wangge
# ./cmd/wangge), ROOT=/tmp/wangge-cluster-bench, PORT=7500, NS="1 2 3",
# DUR=20, THREADS=2, CONNS=32, WARM=3, IDLE=5, FAILOVERS=3, BASELINE=1
# (0: no direct run), WEIGHTS="25 25 25 25", GZIP=0.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
CLUSTER=$REPO/scripts/cluster.sh
LUA=$REPO/bench/cluster.lua
ROOT=${ROOT:-/tmp/wangge-cluster-bench}
OUT=$ROOT/out
PORT=${PORT:-7500}
NS=${NS:-1 2 3}
DUR=${DUR:-20} THREADS=${THREADS:-2} CONNS=${CONNS:-32}
WARM=${WARM:-3} IDLE=${IDLE:-5} FAILOVERS=${FAILOVERS:-3} BASELINE=${BASELINE:-1}
WEIGHTS="${WEIGHTS:-25 25 25 25}" GZIP="${GZIP:-0}"
export WEIGHTS GZIP
HZ=$(getconf CLK_TCK)
HAPROXY_URL=http://127.0.0.1:$((PORT + 10))
BODY='{"type":"Feature","geometry":{"type":"Point","coordinates":[9.52,47.14]},"properties":{"category":"fire","severity":2}}'

for c in wrk curl haproxy awk; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench/cluster.sh needs $c" >&2; exit 2; }
done
case $ROOT in /*) ;; *) echo "ROOT must be an absolute path" >&2; exit 2 ;; esac

# ------------------------------------------------------------ clean-up

CUR=""      # the cluster directory that is (or may be) up
BG=""       # background jobs of ours: wrk, the failover loops
cleanup() {
	rc=$?
	# Ignored, not reset: a second Ctrl-C (or timeout(1), which signals the
	# child and then its whole group) must not stop the tear-down half-way.
	trap - EXIT
	trap '' INT TERM
	[ -z "$CUR" ] || touch "$CUR.stop" 2>/dev/null || true
	for p in $BG; do kill "$p" 2>/dev/null || true; done
	if [ -n "$CUR" ] && [ -f "$CUR/cluster.env" ]; then
		echo "bench: tearing down $CUR" >&2
		WANGGE_CLUSTER_DIR=$CUR "$CLUSTER" down >>"$OUT/down.log" 2>&1 ||
			echo "bench: scripts/cluster.sh down failed for $CUR; see $OUT/down.log" >&2
	fi
	[ -z "$CUR" ] || rm -f "$CUR.stop"
	[ "$rc" -eq 0 ] || echo "bench: stopped (exit $rc); logs in $OUT" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$ROOT"
chmod 755 "$ROOT" # PostgreSQL runs as the postgres user and must reach the cluster directories
for d in "$ROOT"/*/; do
	if [ -f "$d/cluster.env" ]; then
		echo "bench: tearing down a cluster a previous run left in $d" >&2
		WANGGE_CLUSTER_DIR=${d%/} "$CLUSTER" down >&2 || exit 1
	fi
done
# What an interrupted `up` left before it wrote cluster.env (ours only).
for d in "$ROOT"/read[0-9]* "$ROOT"/failover[0-9]*; do
	if [ -d "$d" ] && [ ! -f "$d/cluster.env" ]; then rm -rf "$d"; fi
done
rm -rf "$OUT"
mkdir -p "$OUT"
rm -f "$ROOT"/*.stop

if [ -n "${WANGGE_BIN:-}" ]; then
	BIN=$WANGGE_BIN
else
	BIN=/tmp/wangge-bench/wangge
	echo "bench: go build -o $BIN ./cmd/wangge" >&2
	mkdir -p "$(dirname "$BIN")"
	(cd "$REPO" && go build -o "$BIN" ./cmd/wangge)
	BUILT="wangge built from $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?') with $(go env GOVERSION)"
fi
BUILT=${BUILT:-"wangge $BIN"}
[ -x "$BIN" ] || { echo "WANGGE_BIN $BIN is not executable" >&2; exit 2; }

ts() { date '+%H:%M:%S'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# up NAME N: a fresh cluster of N replicas in $ROOT/NAME; it becomes $CUR.
# One retry: on a saturated machine a start-up step can miss its deadline
# (psql's 2 s connect timeout in scripts/cluster.sh). The failed attempt's
# logs are kept in $OUT/NAME-failed-up.
up() {
	CUR=$ROOT/$1
	for attempt in 1 2; do
		echo "bench: $(ts) cluster $1: $2 replica(s), load $(load)" >&2
		if WANGGE_CLUSTER_DIR=$CUR WANGGE_CLUSTER_PORT=$PORT WANGGE_REPLICAS=$2 WANGGE_BIN=$BIN \
			"$CLUSTER" up >"$OUT/$1.up" 2>&1; then
			grep '^wangge cluster up' "$OUT/$1.up" >&2 || true
			return 0
		fi
		cat "$OUT/$1.up" >&2
		mkdir -p "$OUT/$1-failed-up"
		cp "$OUT/$1.up" "$CUR"/*.log "$OUT/$1-failed-up/" 2>/dev/null || true
		[ "$attempt" = 1 ] || exit 1
		echo "bench: cluster $1 did not come up; tearing it down and trying once more" >&2
		WANGGE_CLUSTER_DIR=$CUR "$CLUSTER" down >>"$OUT/down.log" 2>&1 || exit 1
	done
}

down() {
	WANGGE_CLUSTER_DIR=$CUR "$CLUSTER" down >>"$OUT/down.log" 2>&1 ||
		{ echo "bench: scripts/cluster.sh down failed; see $OUT/down.log" >&2; exit 1; }
	CUR=""
}

# ------------------------------------------------------------ CPU accounting

# snapshot prints, in clock ticks: wangge (all replicas), HAProxy,
# PostgreSQL (both servers), machine busy (/proc/stat, without steal),
# machine steal, then each replica's own.
snapshot() {
	wp=""
	for f in "$CUR"/wangge-*.pid; do [ -f "$f" ] && wp="$wp $(head -n 1 "$f")"; done
	hp=$(head -n 1 "$CUR/haproxy.pid" 2>/dev/null || echo x)
	pm=""
	for n in pg1 pg2; do pm="$pm $(head -n 1 "$CUR/$n/postmaster.pid" 2>/dev/null || echo x)"; done
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v wp="$wp" -v hp="$hp" -v pm=" $pm " -v mach="$(head -n 1 /proc/stat)" '
		BEGIN { nw = split(wp, wl, " "); for (i = 1; i <= nw; i++) wi[wl[i]] = i }
		{
			pid = substr($0, 1, index($0, " (") - 1)
			r = $0; sub(/.*\) /, "", r); split(r, a, " ")
			# a[2] ppid, a[12] utime, a[13] stime, a[14] cutime, a[15] cstime
			if (pid in wi) { W += a[12] + a[13]; per[wi[pid]] = a[12] + a[13] }
			if (pid == hp) H += a[12] + a[13]
			if (index(pm, " " pid " ")) P += a[12] + a[13] + a[14] + a[15]
			else if (index(pm, " " a[2] " ")) P += a[12] + a[13]
		}
		END {
			split(mach, m, " ")
			printf "%d %d %d %d %d", W, H, P, m[2] + m[3] + m[4] + m[7] + m[8], m[9]
			for (i = 1; i <= nw; i++) printf " %d", per[i]
			printf "\n"
		}'
}

# ticks FILE: the CPU of this shell's reaped children in FILE, written by
# `times >FILE` (in this shell itself: a subshell's children are its own), in
# clock ticks; around a `wait` for wrk, the difference is wrk's CPU.
ticks() {
	awk -v hz="$HZ" 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, t, "m"); sub(/s$/, "", t[2]); s += t[1] * 60 + t[2] } printf "%d\n", s * hz + 0.5 }' "$1"
}

# ------------------------------------------------------------ read runs

ROWS=$OUT/rows.md
IDLEROWS=$OUT/idle.md
: >"$ROWS"
: >"$IDLEROWS"

# measure LABEL URL NREPLICAS: idle CPU, then one wrk run; one summary row.
measure() {
	label=$1 url=$2 nrep=$3
	tag=$(echo "$label" | tr -c 'A-Za-z0-9=\n' '_')
	i0=$(snapshot); t0=$EPOCHREALTIME
	sleep "$IDLE"
	i1=$(snapshot); t1=$EPOCHREALTIME
	echo "$i0|$i1|$t0|$t1" | awk -F'|' -v hz="$HZ" -v l="$label" '{
		split($1, a, " "); split($2, b, " "); s = $4 - $3
		printf "| %s | %.1f s | %.1f | %.1f | %.1f | %.0f |\n", l, s,
			(b[1] - a[1]) * 1000 / hz / s, (b[2] - a[2]) * 1000 / hz / s, (b[3] - a[3]) * 1000 / hz / s,
			(b[4] - a[4]) * 1000 / hz / s }' >>"$IDLEROWS"

	ld=$(load)
	echo "== $(ts) $label: wrk -t$THREADS -c$CONNS -d${DUR}s --latency -s bench/cluster.lua $url  (uptime: $(uptime))"
	t0=$EPOCHREALTIME; s0=$(snapshot); times >"$OUT/.times0"
	wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s "$LUA" "$url" >"$OUT/wrk-$tag.txt" 2>&1 &
	w=$!
	BG="$BG $w"
	rc=0
	wait "$w" || rc=$?
	times >"$OUT/.times1"; s1=$(snapshot); t1=$EPOCHREALTIME
	c0=$(ticks "$OUT/.times0"); c1=$(ticks "$OUT/.times1")
	BG=${BG% "$w"}
	res=$(grep '^RESULT wrk' "$OUT/wrk-$tag.txt" || true)
	if [ "$rc" -ne 0 ] || [ -z "$res" ]; then
		echo "bench: wrk failed (exit $rc); see $OUT/wrk-$tag.txt" >&2
		cat "$OUT/wrk-$tag.txt" >&2
		exit 1
	fi
	grep -v '^RESULT' "$OUT/wrk-$tag.txt"
	echo "$res"
	echo "$res|$s0|$s1|$c0|$c1|$t0|$t1" | awk -F'|' -v hz="$HZ" -v l="$label" -v ld="$ld" -v nrep="$nrep" -v ncpu="$(nproc)" \
		-v rows="$ROWS" '{
		n = split($1, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); r[p[1]] = p[2] }
		split($2, a, " "); split($3, b, " ")
		wall = $7 - $6
		W = (b[1] - a[1]) / hz; H = (b[2] - a[2]) / hz; P = (b[3] - a[3]) / hz
		M = (b[4] - a[4]) / hz; ST = (b[5] - a[5]) / hz; K = ($5 - $4) / hz
		O = M - W - H - P - K; if (O < 0) O = 0
		q = r["requests"]
		per = ""
		for (i = 6; i <= 5 + nrep; i++) per = per sprintf("%s%.1f", (per == "" ? "" : " / "), (b[i] - a[i]) / hz)
		printf "CPU over %.1f s wall: wangge %.2f s (per replica %s), HAProxy %.2f s, PostgreSQL %.2f s, wrk %.2f s, rest of the machine %.2f s; machine busy %.2f of %.1f CPU-s (steal %.2f)\n",
			wall, W, per, H, P, K, O, M, wall * ncpu, ST
		printf "CPU-ms per request: wangge %.3f, HAProxy %.3f, PostgreSQL %.3f, servers together %.3f, wrk %.3f\n",
			W * 1000 / q, H * 1000 / q, P * 1000 / q, (W + H + P) * 1000 / q, K * 1000 / q
		printf "| %s | %s | %.0f | %.2f | %.1f | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.3f | %.3f | %.3f | **%.3f** | %.0f |\n",
			l, ld, r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"], r["errors"], W, H, P, K, O,
			W * 1000 / q, H * 1000 / q, P * 1000 / q, (W + H + P) * 1000 / q, q / (W + H + P) >> rows
	}'
}

for n in $NS; do
	up "read$n" "$n"
	echo "bench: $(ts) warm-up ${WARM}s through HAProxy" >&2
	wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" -s "$LUA" "$HAPROXY_URL" >"$OUT/warm-$n.txt" 2>&1
	measure "N=$n via HAProxy" "$HAPROXY_URL" "$n"
	if [ "$n" = 1 ] && [ "$BASELINE" = 1 ]; then
		measure "N=1 replica 1 direct (no HAProxy)" "http://127.0.0.1:$((PORT + 11))" 1
	fi
	for f in "$CUR"/wangge-*.log; do cp "$f" "$OUT/read$n-$(basename "$f")"; done
	down
done

# ------------------------------------------------------------ failover

FROWS=$OUT/failover.md
CROWS=$OUT/failover-client.md
HROWS=$OUT/failover-haproxy.md
: >"$FROWS"
: >"$CROWS"
: >"$HROWS"

# loop KIND LOG STOPFILE: a request sent every 50 ms (each by its own curl
# in a background subshell, so one that hangs does not hold up the next;
# when the loop falls behind it catches up, by at most 200 ms) until
# STOPFILE exists. Each appends "answered status curl_time_total" to LOG,
# answered = $EPOCHREALTIME after curl returned, in the order the answers
# come; status 000 when no answer within 10 s. Two forks and one exec per
# request, no more (clock and pause are bash builtins: $EPOCHREALTIME,
# read -t on a pipe nobody writes to): forks are slow on a loaded machine.
loop() {
	: >"$2"
	exec {tick}<> <(:)
	next=${EPOCHREALTIME/./}
	while [ ! -f "$3" ]; do
		if [ "$1" = write ]; then
			(
				r=$(curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}' --json "$BODY" "$HAPROXY_URL/collections/hazards/items" 2>/dev/null) || true
				echo "$EPOCHREALTIME ${r:-000 0}" >>"$2"
			) &
		else
			(
				r=$(curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}' "$HAPROXY_URL/collections/hazards/items?limit=1" 2>/dev/null) || true
				echo "$EPOCHREALTIME ${r:-000 0}" >>"$2"
			) &
		fi
		next=$((next + 50000))
		d=$((next - ${EPOCHREALTIME/./}))
		if [ "$d" -gt 0 ]; then
			printf -v pause '0.%06d' "$d"
			read -r -t "$pause" -u "$tick" _ || true
		elif [ "$d" -lt -200000 ]; then
			next=${EPOCHREALTIME/./}
		fi
	done
	exec {tick}<&-
	wait
}

# clock2epoch HH:MM:SS.mmm REF: the epoch time of that clock time, on REF's day.
clock2epoch() {
	e=$(date -d "$(date -d "@${2%.*}" +%F) $1" +%s.%3N)
	awk -v e="$e" -v r="$2" 'BEGIN { if (e < r - 3600) e += 86400; printf "%.3f\n", e }'
}

# outage LABEL ROWS: reads "sent answered status" lines (epoch seconds) on
# stdin; prints the timeline around the kill ($tkill, as failover printed
# it), appends a row "| run | last 201 | first non-201 | first 201 after |
# unavailable | failed |" to ROWS and writes the gap to $OUT/.gap. In answer
# order (requests overlap: one sent before another may be answered after
# it): the first and the last failure (not 201) answered after failover was
# called ($tcall: the printed time is late); the last 201 answered before
# the first failure; the first 201 answered after the last failure; 201s
# answered between the first and the last failure are counted apart.
outage() {
	sort -n -k 2 | awk -v k="$tkill" -v k0="$tcall" -v name="$name" -v label="$1" -v rows="$2" -v gapf="$OUT/.gap" '
		function rel(t) { return sprintf("%+.3f", t - k) }
		{ st[NR] = $1; en[NR] = $2; co[NR] = $3; s[NR] = $1 }
		END {
			# median spacing of the send times
			for (a = 2; a <= NR; a++) { v = s[a]; for (b = a - 1; b >= 1 && s[b] > v; b--) s[b + 1] = s[b]; s[b + 1] = v }
			for (a = 1; a < NR; a++) gap[a] = s[a + 1] - s[a]
			n = NR - 1
			for (a = 2; a <= n; a++) { v = gap[a]; for (b = a - 1; b >= 1 && gap[b] > v; b--) gap[b + 1] = gap[b]; gap[b + 1] = v }
			printf "  %s: %d writes, median spacing %.3f s between sends\n", label, NR, gap[int((n + 1) / 2)]
			for (j = 1; j <= NR; j++) if (co[j] != 201 && en[j] >= k0) { if (!f) f = j; l = j; nf++; c[co[j]]++; if (en[j] - st[j] > mx) mx = en[j] - st[j] }
			if (!f) { printf "    no failed write after the kill\n"; printf "| %s | – | none | – | 0 s | 0 |\n", name >> rows; print "none" > gapf; exit }
			for (j = 1; j < f; j++) if (co[j] == 201) lb = j
			for (j = l + 1; j <= NR; j++) if (co[j] == 201) { fa = j; break }
			for (j = f + 1; j < l; j++) if (co[j] == 201) mid++
			codes = ""; for (x in c) codes = codes sprintf("%s%s×%d", (codes == "" ? "" : " "), x, c[x])
			if (mid) codes = codes sprintf(", %d×201 among them", mid)
			printf "    last 201 before: sent %s s, answered %s s\n", rel(st[lb]), rel(en[lb])
			printf "    first non-201:   sent %s s, answered %s s, status %s\n", rel(st[f]), rel(en[f]), co[f]
			printf "    last non-201:    sent %s s, answered %s s, status %s\n", rel(st[l]), rel(en[l]), co[l]
			if (fa) printf "    first 201 after: sent %s s, answered %s s\n", rel(st[fa]), rel(en[fa])
			printf "    failed: %d (%s), the slowest in %.3f s\n", nf, codes, mx
			out = fa ? sprintf("%.3f s", en[fa] - en[lb]) : "not back"
			printf "| %s | %s / %s | %s / %s (%s) | %s / %s | **%s** | %d (%s) |\n", name, rel(st[lb]), rel(en[lb]),
				rel(st[f]), rel(en[f]), co[f], fa ? rel(st[fa]) : "–", fa ? rel(en[fa]) : "–", out, nf, codes >> rows
			print out > gapf
		}'
}

i=1
while [ "$i" -le "$FAILOVERS" ]; do
	name=failover$i
	up "$name" 2
	stop=$CUR.stop
	rm -f "$stop"
	loop write "$OUT/$name.writes" "$stop" &
	BG="$BG $!"
	loop read "$OUT/$name.reads" "$stop" &
	BG="$BG $!"
	sleep 3
	ld=$(load)
	echo "== $(ts) $name: scripts/cluster.sh failover under a write loop and a read loop  (uptime: $(uptime))"
	tcall=$EPOCHREALTIME
	WANGGE_CLUSTER_DIR=$CUR "$CLUSTER" failover >"$OUT/$name.out" 2>&1 || { cat "$OUT/$name.out" >&2; exit 1; }
	cat "$OUT/$name.out"
	sleep 3
	touch "$stop"
	wait
	BG=""
	rm -f "$stop"
	mkdir -p "$OUT/$name-logs"
	cp "$CUR"/*.log "$OUT/$name-logs/" 2>/dev/null || true

	kill_clock=$(sed -n 's/^failover: \([0-9:.]*\) SIGKILL.*/\1/p' "$OUT/$name.out")
	tkill=$(clock2epoch "$kill_clock" "$tcall")
	promo=$(sed -n 's/^failover: [0-9:.]* .* is primary, \([0-9.]*\)s after the kill$/\1/p' "$OUT/$name.out")
	canw=$(sed -n 's/^failover: [0-9:.]* every running replica can write.* \([0-9.]*\)s after the kill$/\1/p' "$OUT/$name.out")
	# The printed kill time is taken after the kill (a forked date): the first
	# replica to log the loss of its LISTEN connection bounds it from below.
	first=$(grep -h 'change notifications lost' "$CUR"/wangge-*.log | sed -n 's/^time=\([^ ]*\) .*/\1/p' | sort | head -n 1)
	seen=–
	if [ -n "$first" ]; then seen=$(awk -v a="$(date -d "$first" +%s.%3N)" -v k="$tkill" 'BEGIN { printf "%+.3f s", a - k }'); fi
	# pg2's own log: when the promote request arrived, when it took writes.
	preq=$(grep -h 'received promote request' "$CUR/pg2.log" | tail -n 1 | cut -d' ' -f1-3)
	pready=$(grep -h 'database system is ready to accept connections' "$CUR/pg2.log" | tail -n 1 | cut -d' ' -f1-3)
	relk() { if [ -n "$1" ]; then awk -v a="$(date -d "$1" +%s.%3N)" -v k="$tkill" 'BEGIN { printf "%+.3f s", a - k }'; else echo –; fi; }
	preadyt=$pready
	preq=$(relk "$preq")
	pready=$(relk "$pready")
	echo "$name: pg2.log: promote request received $preq, ready to accept connections (read-write) $pready"
	echo "$name: kill printed at $kill_clock; this script called failover $(awk -v a="$tcall" -v k="$tkill" 'BEGIN { printf "%+.3f s", a - k }') before; first replica logged the loss at $seen"

	# The curl loop: sent = answered - curl's time_total.
	awk '{ printf "%.6f %.6f %s\n", $1 - $3, $1, $2 }' "$OUT/$name.writes" | sort -n >"$OUT/$name.writes.sent"
	outage "write loop (curl)" "$CROWS" <"$OUT/$name.writes.sent"
	cgap=$(cat "$OUT/.gap")
	# HAProxy's log: accepted at [date], answered Ta ms later; on the kill's day.
	grep '"POST /collections/hazards/items ' "$CUR/haproxy.log" | awk -v m0="$(date -d "$(date -d "@${tkill%.*}" +%F)" +%s)" '
		{
			d = $2; gsub(/[][]/, "", d); split(d, p, ":"); split($5, tm, "/")
			if (tm[5] < 0) next
			e = m0 + p[2] * 3600 + p[3] * 60 + p[4]
			printf "%.3f %.3f %s\n", e, e + tm[5] / 1000, $6
		}' | sort -n >"$OUT/$name.haproxy-writes"
	outage "HAProxy log" "$HROWS" <"$OUT/$name.haproxy-writes"
	hgap=$(cat "$OUT/.gap")
	# From pg2 taking writes to the first 201 answered after the last failure
	# (HAProxy's clock): the replicas' part of the outage.
	after=–
	if [ -n "$preadyt" ]; then
		after=$(awk -v r="$(date -d "$preadyt" +%s.%3N)" -v k0="$tcall" '
			{ a[NR] = $2; c[NR] = $3 }
			END { for (j = 1; j <= NR; j++) if (c[j] != 201 && a[j] >= k0 && (!l || a[j] > a[l])) l = j
			      for (j = 1; j <= NR; j++) if (c[j] == 201 && l && a[j] > a[l] && (!f || a[j] < a[f])) f = j
			      if (l && f) printf "%.3f s", a[f] - r; else print "–" }' "$OUT/$name.haproxy-writes")
	fi
	echo "  first 201 (HAProxy) $after after pg2 took writes"
	rd=$(awk -v k="$tcall" '{ if ($1 >= k) { n++; if ($2 != 200) { bad++; c[$2]++ } if ($3 > mx) mx = $3 } }
		END { x = ""; for (y in c) x = x sprintf(" %s×%d", y, c[y]); printf "%d of %d non-200%s, slowest %.3f s", bad, n, x, mx }' "$OUT/$name.reads")
	echo "  reads answered since failover was called: $rd"
	echo "| $name | $ld | $kill_clock | $seen | $preq | $pready | +$promo s | +$canw s | **$cgap** | **$hgap** | $after | $rd |" >>"$FROWS"
	down
	i=$((i + 1))
done

# ------------------------------------------------------------ summary

echo
echo "## Summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $BUILT)"
echo
echo "Read mix (bench/cluster.lua, WEIGHTS locate/nearby/items/tiles = $WEIGHTS, GZIP=$GZIP), wrk -t$THREADS -c$CONNS -d${DUR}s --latency;"
echo "wrk, HAProxy, every replica and both PostgreSQL servers share the same $(nproc) cores. CPU in CPU-seconds over the run;"
echo "\"rest\" = machine busy time not spent by these processes (other sessions). ms/req = CPU-ms per answered request;"
echo "req/s per server core = answers / (wangge + HAProxy + PostgreSQL CPU-s)."
echo
echo "| run | load avg before | req/s | p50 ms | p99 ms | non-2xx | socket errors | wangge CPU-s | HAProxy CPU-s | PostgreSQL CPU-s | wrk CPU-s | rest CPU-s | wangge ms/req | HAProxy ms/req | PostgreSQL ms/req | servers ms/req | req/s per server core |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
cat "$ROWS"
echo
echo "Idle CPU just before each run (${IDLE}s, CPU-ms per second; HAProxy checks /readyz every 500 ms per replica):"
echo
echo "| before run | window | wangge | HAProxy | PostgreSQL | machine |"
echo "|---|---|---|---|---|---|"
cat "$IDLEROWS"
if [ "$FAILOVERS" -gt 0 ]; then
	echo
	echo "Failover (scripts/cluster.sh failover, 2 replicas, a fresh cluster each): a POST /collections/hazards/items sent through"
	echo "HAProxy every 50 ms, and a GET /collections/hazards/items?limit=1 every 50 ms. Times relative to the kill time"
	echo "failover prints (taken after the kill, so late by the first replica's negative offset). Writes unavailable ="
	echo "last 201 answered before the first failure → first 201 answered after the last one; curl loop = the client's clock"
	echo "(sent = answered − curl's time_total), HAProxy = its log (accept time + Ta)."
	echo
	echo "| run | load avg | kill (printed) | first replica lost its connection | promote request (pg2.log) | pg2 read-write (pg2.log) | pg2 primary (failover) | replicas can write (failover) | writes unavailable (curl loop) | writes unavailable (HAProxy log) | pg2 read-write → first 201 (HAProxy) | reads (GET items) since failover was called |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	cat "$FROWS"
	echo
	echo "Write loop detail (curl; seconds from the kill, sent / answered):"
	echo
	echo "| run | last 201 before | first non-201 (status) | first 201 after | unavailable | failed writes |"
	echo "|---|---|---|---|---|---|"
	cat "$CROWS"
	echo
	echo "The same from HAProxy's log (accepted / answered):"
	echo
	echo "| run | last 201 before | first non-201 (status) | first 201 after | unavailable | failed writes |"
	echo "|---|---|---|---|---|---|"
	cat "$HROWS"
fi
echo
echo "Raw outputs: $OUT"
