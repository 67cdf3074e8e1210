#!/bin/sh
# Runs a replicated wangge cluster on this one machine, on 127.0.0.1 ports of
# its own: a PostgreSQL 15 + PostGIS primary with one synchronous hot standby,
# N wangge replicas (writes to whichever server is primary, reads from the
# standby) and HAProxy in front of them. For trying failures by hand and in
# tests: kill a replica, restart them all one by one, lose the primary.
#
#   scripts/cluster.sh up              create and start everything, print the URL
#   scripts/cluster.sh down            stop everything, remove the cluster directory
#   scripts/cluster.sh status          one line per component
#   scripts/cluster.sh failover        kill -9 the PostgreSQL primary, promote the standby
#   scripts/cluster.sh restart         rolling restart of every wangge replica
#   scripts/cluster.sh kill-replica N  kill -9 wangge replica N
#
# Environment, read by `up` (the other commands use what `up` recorded in the
# cluster directory, so only WANGGE_CLUSTER_DIR matters to them):
#   WANGGE_CLUSTER_DIR   data, logs, pid files and the HAProxy config
#                        (default: the repository's .cluster)
#   WANGGE_CLUSTER_PORT  base port, default 7400: PostgreSQL pg1 base and pg2
#                        base+1, HAProxy's stats page base+9, HAProxy base+10,
#                        wangge replica N base+10+N
#   WANGGE_REPLICAS      number of wangge replicas (default 2)
#   WANGGE_BIN           the wangge binary (default: the repository's
#                        bin/wangge, built with `go build` when missing)
#   WANGGE_PG_BIN        PostgreSQL 15 programs (default /usr/lib/postgresql/15/bin)
#
# The two PostgreSQL servers are called pg1 and pg2, not primary and
# standby: after `failover` pg2 is the primary. Replicas are given both as a
# multi-host URL with target_session_attrs=read-write, so they find the new
# primary by themselves. PostgreSQL refuses to run as root: as root, its
# programs run as the postgres user and its directories belong to it.
# Progress goes to stderr, results (URL, status lines, timings) to stdout.
#
# In the cluster directory: pg1/ and pg2/ (data) with pg1.log and pg2.log;
# wangge-N.log and wangge-N.pid per replica; haproxy.cfg, haproxy.log,
# haproxy.pid and haproxy.sock (stats socket); cluster.env (what up chose).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WANGGE_CLUSTER_DIR:-$REPO/.cluster}
case $DIR in /*) ;; *) DIR=$(pwd)/$DIR ;; esac

# Every wait below gives up after this many seconds at most.
T_PG=60         # a PostgreSQL start, stop or promotion
T_SYNC=30       # the standby becoming the synchronous one
T_DEMO=300      # the first replica: migrations, demo load and grid generation
T_REPLICA=120   # any other replica start
T_STOP=30       # a replica's exit after SIGTERM (2 s drain + graceful shutdown)
T_HAPROXY=30    # HAProxy answering, or seeing a replica UP

log() { echo "cluster: $*" >&2; }
die() {
	echo "cluster: error: $*" >&2
	exit 1
}

now() { date +%s.%N; }
# since T prints the seconds elapsed since T (from now), to the millisecond.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# load reads what `up` recorded; without it the directory is not a cluster.
load() {
	[ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (start one with: scripts/cluster.sh up)"
	# shellcheck disable=SC1091
	. "$DIR/cluster.env"
	ports
}

ports() {
	P_PG1=$BASE
	P_PG2=$((BASE + 1))
	P_STATS=$((BASE + 9))
	P_HAPROXY=$((BASE + 10))
	DB_URL="postgres://postgres@127.0.0.1:$P_PG1,127.0.0.1:$P_PG2/wangge?sslmode=disable&target_session_attrs=read-write"
	READ_URL="postgres://postgres@127.0.0.1:$P_PG2/wangge?sslmode=disable"
}

pg_port() {
	case $1 in
	pg1) echo "$P_PG1" ;;
	pg2) echo "$P_PG2" ;;
	esac
}
replica_port() { echo $((BASE + 10 + $1)); }

root() { [ "$(id -u)" -eq 0 ]; }

# as_pg runs a PostgreSQL program: as the postgres user when we are root
# (initdb and postgres refuse root), else as ourselves.
as_pg() {
	if root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# pg_own gives files to the user PostgreSQL runs as.
pg_own() {
	if root; then chown postgres:postgres "$@"; fi
}

# sql NODE QUERY prints the answer of one query to the wangge database
# (unaligned, no headers); it fails when the server does not answer.
sql() {
	PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -q -A -t -h 127.0.0.1 -p "$(pg_port "$1")" -U postgres \
		-d "${SQL_DB:-wangge}" -v ON_ERROR_STOP=1 -c "$2" 2>/dev/null
}

# pid_of FILE prints the pid in FILE's first line (postmaster.pid or ours).
pid_of() { if [ -f "$1" ]; then head -n 1 "$1" 2>/dev/null || true; fi; }

# alive PID PATTERN: PID runs and its command line contains PATTERN, so a
# pid file left by a dead process whose number was reused does not count.
alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/cmdline" ] || return 0
	tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

pg_pid() { pid_of "$DIR/$1/postmaster.pid"; }
pg_alive() { alive "$(pg_pid "$1")" "$DIR/$1"; }
replica_pid() { pid_of "$DIR/wangge-$1.pid"; }
replica_alive() { alive "$(replica_pid "$1")" "--addr 127.0.0.1:$(replica_port "$1") "; }
haproxy_pid() { pid_of "$DIR/haproxy.pid"; }
haproxy_alive() { alive "$(haproxy_pid)" "$DIR/haproxy.cfg"; }

# role NODE prints primary, standby or down.
role() {
	case $(sql "$1" 'SELECT pg_is_in_recovery()' || true) in
	f) echo primary ;;
	t) echo standby ;;
	*) echo down ;;
	esac
}

# http_code URL prints the status of a GET (000: no answer).
http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

# backend_state rN prints HAProxy's view of a replica: UP, DOWN, "UP 1/2", …
backend_state() {
	curl -s -m 2 "http://127.0.0.1:$P_STATS/;csv" 2>/dev/null |
		awk -F, -v s="$1" '$1 == "replicas" && $2 == s { print $18; found = 1 } END { if (!found) print "unknown" }'
}

# wait_until SECONDS PID WHAT HINT COMMAND… runs COMMAND every 0.2 s until
# it succeeds; after SECONDS it fails naming WHAT and HINT (the log to read).
# When process PID (- for none) dies meanwhile, it fails at once.
wait_until() {
	_secs=$1 _pid=$2 _what=$3 _hint=$4
	shift 4
	_n=$((_secs * 5))
	while ! "$@"; do
		if [ "$_pid" != - ] && ! kill -0 "$_pid" 2>/dev/null; then
			die "$_what: the process exited; see $_hint"
		fi
		_n=$((_n - 1))
		[ "$_n" -gt 0 ] || die "$_what: no success after ${_secs}s; see $_hint"
		sleep 0.2
	done
}

is_200() { [ "$(http_code "$1")" = 200 ]; }
is_role() { [ "$(role "$1")" = "$2" ]; }
is_sync() { [ "$(sql "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2'" || true)" = sync ]; }
is_up() { [ "$(backend_state "$1")" = UP ]; }
# any_other_up N: some replica other than N is UP in HAProxy.
any_other_up() {
	_i=1
	while [ "$_i" -le "$REPLICAS" ]; do
		if [ "$_i" -ne "$1" ] && is_up "r$_i"; then return 0; fi
		_i=$((_i + 1))
	done
	return 1
}

# port_busy PORT: something listens on 127.0.0.1:PORT (known only with ss).
port_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# running prints the components of a cluster in $DIR that still run.
running() {
	for f in "$DIR"/wangge-*.pid; do
		[ -f "$f" ] || continue
		p=$(pid_of "$f")
		if alive "$p" " serve "; then echo "$(basename "$f" .pid) (pid $p)"; fi
	done
	for n in pg1 pg2; do
		if pg_alive "$n"; then echo "$n (pid $(pg_pid "$n"))"; fi
	done
	if haproxy_alive; then echo "haproxy (pid $(haproxy_pid))"; fi
}

# ---------------------------------------------------------------- replicas

replica_start() {
	_port=$(replica_port "$1")
	# nohup and no inherited descriptors: the replica outlives this script
	# and the terminal, and a caller reading our output is not held open.
	# Every connection comes from HAProxy: one address, so the limit of
	# connections per address is off, and the client's own address comes
	# from HAProxy's X-Forwarded-For (--trusted-proxies). Rate limits are
	# off for load tests; they are per replica (docs/SECURITY.md).
	nohup "$BIN" serve --db "$DB_URL" --read-db "$READ_URL" --drain 2s \
		--demo --anonymous planner --rate-limit 0 --max-conns-per-addr 0 --trusted-proxies 127.0.0.1 \
		--addr "127.0.0.1:$_port" </dev/null >>"$DIR/wangge-$1.log" 2>&1 &
	echo $! >"$DIR/wangge-$1.pid"
}

# replica_wait N SECONDS waits until replica N answers /readyz with 200.
replica_wait() {
	wait_until "$2" "$(replica_pid "$1")" "wangge replica $1 (127.0.0.1:$(replica_port "$1")) did not become ready" \
		"$DIR/wangge-$1.log" is_200 "http://127.0.0.1:$(replica_port "$1")/readyz"
}

# stop_pid PID NAME SECONDS: SIGTERM, then SIGKILL after SECONDS.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	_n=$(($3 * 5))
	while kill -0 "$1" 2>/dev/null; do
		_n=$((_n - 1))
		if [ "$_n" -le 0 ]; then
			log "$2 (pid $1) still runs ${3}s after SIGTERM; sending SIGKILL"
			kill -KILL "$1" 2>/dev/null || true
			return 0
		fi
		sleep 0.2
	done
}

# ---------------------------------------------------------------- PostgreSQL

pg_start() {
	as_pg "$PGBIN/pg_ctl" -D "$DIR/$1" -l "$DIR/$1.log" -w -t "$T_PG" start >/dev/null ||
		die "PostgreSQL $1 (port $(pg_port "$1")) did not start; see $DIR/$1.log"
}

# pg_stop NODE stops a server quickly, tolerating one that is already dead.
pg_stop() {
	[ -f "$DIR/$1/PG_VERSION" ] || return 0
	if ! pg_alive "$1"; then
		log "PostgreSQL $1 is not running"
		return 0
	fi
	if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/$1" -m fast -w -t "$T_PG" stop >/dev/null 2>&1; then
		p=$(pg_pid "$1")
		log "PostgreSQL $1 did not stop in ${T_PG}s; sending SIGKILL to pid $p (see $DIR/$1.log)"
		if [ -n "$p" ]; then kill -KILL "$p" 2>/dev/null || true; fi
	fi
}

# pg_conf NODE appends the settings both servers share. Node-specific ones
# (port, name, synchronous standby) go to postgresql.auto.conf, which is
# read last, so the standby's overrides win over what pg_basebackup copied.
pg_conf() {
	cat >>"$DIR/$1/postgresql.conf" <<EOF

# --- scripts/cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/sock'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'
hot_standby = on
# The standby tells the primary which rows its queries still read, so
# vacuum on the primary does not cancel the replicas' reads there.
hot_standby_feedback = on
# A commit returns once the standby has it on disk too: an acknowledged
# write survives losing the primary (see synchronous_standby_names).
synchronous_commit = on
fsync = on
max_connections = 200
log_line_prefix = '%m [%p] %q%a '
EOF
	cat >"$DIR/$1/pg_hba.conf" <<EOF
# --- scripts/cluster.sh: trust on loopback, for a local cluster only
local all         all                    trust
local replication all                    trust
host  all         postgres 127.0.0.1/32  trust
host  replication postgres 127.0.0.1/32  trust
EOF
	pg_own "$DIR/$1/postgresql.conf" "$DIR/$1/pg_hba.conf"
}

# ---------------------------------------------------------------- commands

up_failed() {
	_rc=$?
	[ "$_rc" -eq 0 ] || log "up failed; the logs are in $DIR; scripts/cluster.sh down stops what started and removes it"
}

cmd_up() {
	BASE=${WANGGE_CLUSTER_PORT:-7400}
	REPLICAS=${WANGGE_REPLICAS:-2}
	PGBIN=${WANGGE_PG_BIN:-/usr/lib/postgresql/15/bin}
	case $BASE in '' | *[!0-9]*) die "WANGGE_CLUSTER_PORT must be a port number, not '$BASE'" ;; esac
	case $REPLICAS in '' | *[!0-9]*) die "WANGGE_REPLICAS must be a number, not '$REPLICAS'" ;; esac
	[ "$REPLICAS" -ge 1 ] || die "WANGGE_REPLICAS must be at least 1"
	[ $((BASE + 10 + REPLICAS)) -le 65535 ] || die "WANGGE_CLUSTER_PORT $BASE leaves no room for $REPLICAS replicas"
	ports

	for p in initdb pg_ctl pg_basebackup postgres psql; do
		[ -x "$PGBIN/$p" ] || die "$PGBIN/$p not found (Debian: apt-get install postgresql-15 postgresql-15-postgis-3; or set WANGGE_PG_BIN)"
	done
	command -v haproxy >/dev/null 2>&1 || die "haproxy not found (scripts/deps.sh installs it)"
	command -v curl >/dev/null 2>&1 || die "curl not found (Debian: apt-get install curl)"
	if root; then
		id postgres >/dev/null 2>&1 || die "running as root, PostgreSQL needs a 'postgres' user to run as"
		command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
	fi

	if [ -e "$DIR" ]; then
		r=$(running)
		if [ -n "$r" ]; then
			die "a cluster already runs in $DIR: $(echo "$r" | tr '\n' ' ')(scripts/cluster.sh status; scripts/cluster.sh down)"
		fi
		if [ -f "$DIR/cluster.env" ]; then
			log "removing what a stopped cluster left in $DIR"
			rm -rf "$DIR"
		elif [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
			die "$DIR exists and is not a cluster directory; move it away or set WANGGE_CLUSTER_DIR"
		fi
	fi
	# A socket path longer than 107 bytes cannot be bound.
	[ ${#DIR} -le 80 ] || die "WANGGE_CLUSTER_DIR is too long for PostgreSQL's socket path (${#DIR} > 80 characters): $DIR"
	for p in "$P_PG1" "$P_PG2" "$P_STATS" "$P_HAPROXY"; do
		port_busy "$p" && die "port $p is in use; choose another WANGGE_CLUSTER_PORT"
	done
	i=1
	while [ "$i" -le "$REPLICAS" ]; do
		p=$(replica_port "$i")
		port_busy "$p" && die "port $p is in use; choose another WANGGE_CLUSTER_PORT"
		i=$((i + 1))
	done

	BIN=${WANGGE_BIN:-$REPO/bin/wangge}
	case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
	if [ ! -x "$BIN" ]; then
		[ -z "${WANGGE_BIN:-}" ] || die "WANGGE_BIN $BIN is not an executable file"
		log "building $BIN"
		(cd "$REPO" && go build -o "$BIN" ./cmd/wangge) || die "go build of ./cmd/wangge failed"
	fi
	case $DIR$BIN$PGBIN in *"'"*) die "paths with a single quote are not supported: $DIR $BIN $PGBIN" ;; esac

	mkdir -p "$DIR/sock"
	chmod 755 "$DIR"
	cat >"$DIR/cluster.env" <<EOF
# written by scripts/cluster.sh up; read by its other commands
BASE=$BASE
REPLICAS=$REPLICAS
BIN='$BIN'
PGBIN='$PGBIN'
EOF
	log "cluster directory $DIR"
	# What started stays up for a look at its logs; down stops and removes it.
	trap up_failed EXIT
	if root && ! runuser -u postgres -- test -x "$DIR"; then
		die "the postgres user cannot reach $DIR (a parent directory is closed to it); set WANGGE_CLUSTER_DIR, e.g. under /tmp"
	fi
	mkdir -m 700 "$DIR/pg1" "$DIR/pg2"
	touch "$DIR/pg1.log" "$DIR/pg2.log"
	pg_own "$DIR/sock" "$DIR/pg1" "$DIR/pg2" "$DIR/pg1.log" "$DIR/pg2.log"
	t0=$(now)

	# pg1: the primary. Created without a synchronous standby, which does
	# not exist yet: CREATE DATABASE would wait for it forever.
	log "initdb pg1"
	as_pg "$PGBIN/initdb" -D "$DIR/pg1" -U postgres -A trust -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 ||
		die "initdb failed; see $DIR/initdb.log"
	pg_conf pg1
	cat >>"$DIR/pg1/postgresql.auto.conf" <<EOF
port = $P_PG1
cluster_name = 'pg1'
EOF
	log "starting PostgreSQL pg1 (primary) on 127.0.0.1:$P_PG1"
	pg_start pg1
	SQL_DB=postgres sql pg1 'CREATE DATABASE wangge' >/dev/null || die "CREATE DATABASE wangge on pg1 failed; see $DIR/pg1.log"
	sql pg1 'CREATE EXTENSION postgis' >/dev/null ||
		die "CREATE EXTENSION postgis failed (Debian: postgresql-15-postgis-3); see $DIR/pg1.log"

	# pg2: a copy of pg1 that follows it (-R: standby.signal and
	# primary_conninfo; -C -S: a slot, so pg1 keeps the WAL pg2 still needs).
	log "pg_basebackup pg1 → pg2"
	as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P_PG1" -U postgres -D "$DIR/pg2" -R -X stream -c fast -C -S pg2 \
		>"$DIR/basebackup.log" 2>&1 || die "pg_basebackup failed; see $DIR/basebackup.log"
	# The copy holds pg1's settings. synchronous_standby_names must stay
	# empty here: once promoted, pg2 would otherwise wait on every commit
	# for a standby that no longer exists. application_name is the name
	# pg1's synchronous_standby_names gives.
	cat >>"$DIR/pg2/postgresql.auto.conf" <<EOF
# --- scripts/cluster.sh: pg2's own settings, over those copied from pg1
port = $P_PG2
cluster_name = 'pg2'
synchronous_standby_names = ''
primary_conninfo = 'host=127.0.0.1 port=$P_PG1 user=postgres application_name=pg2'
EOF
	pg_own "$DIR/pg2/postgresql.auto.conf"
	log "starting PostgreSQL pg2 (standby) on 127.0.0.1:$P_PG2"
	pg_start pg2

	# Only now that pg2 streams: every commit on pg1 waits for pg2.
	if ! sql pg1 "ALTER SYSTEM SET synchronous_standby_names = 'pg2'" >/dev/null ||
		! sql pg1 'SELECT pg_reload_conf()' >/dev/null; then
		die "setting synchronous_standby_names on pg1 failed; see $DIR/pg1.log"
	fi
	wait_until "$T_SYNC" - "pg2 did not become pg1's synchronous standby" "$DIR/pg1.log and $DIR/pg2.log" is_sync pg1 pg2
	log "PostgreSQL ready in $(since "$t0")s: pg1 primary, pg2 synchronous standby"

	# Replica 1 alone first: it applies the migrations and loads the demo;
	# the others then find a store that is not empty and leave it alone.
	log "starting wangge replica 1 on 127.0.0.1:$(replica_port 1) (migrations, demo data)"
	replica_start 1
	replica_wait 1 "$T_DEMO"
	i=2
	while [ "$i" -le "$REPLICAS" ]; do
		log "starting wangge replica $i on 127.0.0.1:$(replica_port "$i")"
		replica_start "$i"
		i=$((i + 1))
	done
	i=2
	while [ "$i" -le "$REPLICAS" ]; do
		replica_wait "$i" "$T_REPLICA"
		i=$((i + 1))
	done
	log "wangge replicas ready in $(since "$t0")s"

	haproxy_config >"$DIR/haproxy.cfg"
	haproxy -c -q -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 ||
		die "HAProxy refuses $DIR/haproxy.cfg; see $DIR/haproxy.log"
	log "starting HAProxy on 127.0.0.1:$P_HAPROXY"
	# -db: in the foreground (here, in the background of this shell), so
	# that its log goes to haproxy.log rather than to syslog.
	nohup haproxy -f "$DIR/haproxy.cfg" -db </dev/null >>"$DIR/haproxy.log" 2>&1 &
	echo $! >"$DIR/haproxy.pid"
	wait_until "$T_HAPROXY" "$(haproxy_pid)" "HAProxy on 127.0.0.1:$P_HAPROXY does not answer /readyz with 200" \
		"$DIR/haproxy.log" is_200 "http://127.0.0.1:$P_HAPROXY/readyz"

	echo "wangge cluster up in $(since "$t0")s: http://127.0.0.1:$P_HAPROXY/"
	cmd_status
}

# haproxy_config writes the HAProxy configuration.
haproxy_config() {
	cat <<EOF
# Written by scripts/cluster.sh for the cluster in $DIR; rewritten by each up.
global
	maxconn 4096
	# show stat, show servers state, disable/enable server: for scripts and
	# people (socat stdio $DIR/haproxy.sock).
	stats socket $DIR/haproxy.sock mode 600 level admin
	# HAProxy runs with -db: its log goes to stdout, which is haproxy.log.
	log stdout format raw local0 info

defaults
	mode http
	# Loopback connects in microseconds: a second means the replica is gone.
	# It is also the pause before a retry on the same server.
	timeout connect 1s
	timeout client 60s
	# Longer than any real answer (the store's statement timeout is 30 s,
	# wangge's write timeout 60 s): a GET still unanswered then is from a
	# replica that hangs, and is retried elsewhere (response-timeout below).
	timeout server 60s
	timeout http-request 10s
	timeout http-keep-alive 10s
	timeout queue 10s
	# A /readyz that does not answer within 2 s counts as a failed check
	# (wangge gives its store a second to answer the ping, then says 503).
	timeout check 2s
	# The client's address for wangge's logs and audit (X-Forwarded-For).
	option forwardfor

frontend wangge
	bind 127.0.0.1:$P_HAPROXY
	# One line per request in haproxy.log: server, timings, retries ("+1"
	# in the connection counts when a request went to another replica).
	log global
	option httplog
	option dontlognull
	default_backend replicas

backend replicas
	balance roundrobin
	# Readiness, not liveness: a replica still loading, draining on SIGTERM
	# (--drain 2s) or unable to read the change feed answers 503 and is taken
	# out; one that comes back is put in. Checked every 500 ms, two results in
	# a row change the state: a draining replica is out after about 1 s, inside
	# its 2 s of drain, so no new request reaches it while it shuts down.
	option httpchk GET /readyz
	http-check expect status 200
	default-server check inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
	# A failed attempt is retried up to 3 times ...
	retries 3
	# ... each time on another replica (1: redispatch on every retry, not only
	# the last), since on one machine a replica that failed is down, not slow.
	option redispatch 1
	# What a replica dying mid-request looks like: connection refused
	# (conn-failure), closed or reset before any answer (empty-response), no
	# answer within timeout server (response-timeout). Such requests are
	# replayed on another replica. junk-response and status codes are left
	# out: a half answer or a 5xx comes from a replica that did the work.
	retry-on conn-failure empty-response response-timeout
	# Replaying is safe only for requests without effects. Anything but GET
	# and HEAD (a POST may have been committed before the replica died) is
	# retried only when it was never sent: a refused connection (conn-failure
	# still applies after disable-l7-retry).
	http-request disable-l7-retry unless METH_GET
EOF
	i=1
	while [ "$i" -le "$REPLICAS" ]; do
		printf '\tserver r%s 127.0.0.1:%s\n' "$i" "$(replica_port "$i")"
		i=$((i + 1))
	done
	cat <<EOF

# The stats page (HTML, or CSV at /;csv) on its own port, off the API's paths.
listen stats
	bind 127.0.0.1:$P_STATS
	stats enable
	stats uri /
	stats refresh 2s
	stats show-legends
EOF
}

cmd_down() {
	if [ ! -e "$DIR" ]; then
		log "no cluster directory $DIR: nothing to stop"
		return 0
	fi
	if [ ! -f "$DIR/cluster.env" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		die "$DIR is not a cluster directory (no cluster.env); not touching it"
	fi
	if [ -f "$DIR/cluster.env" ]; then
		load
	else
		BASE=${WANGGE_CLUSTER_PORT:-7400} REPLICAS=0 PGBIN=${WANGGE_PG_BIN:-/usr/lib/postgresql/15/bin}
		ports
	fi
	if haproxy_alive; then
		log "stopping HAProxy"
		stop_pid "$(haproxy_pid)" HAProxy 10
	fi
	# Every replica at once: each drains for 2 s.
	pids=""
	for f in "$DIR"/wangge-*.pid; do
		[ -f "$f" ] || continue
		n=$(basename "$f" .pid)
		n=${n#wangge-}
		if replica_alive "$n"; then
			p=$(replica_pid "$n")
			log "stopping wangge replica $n (pid $p)"
			kill -TERM "$p" 2>/dev/null || true
			pids="$pids $p"
		fi
	done
	for p in $pids; do
		stop_pid "$p" "wangge replica" "$T_STOP"
	done
	for n in pg1 pg2; do
		if [ -f "$DIR/$n/PG_VERSION" ]; then
			log "stopping PostgreSQL $n"
			pg_stop "$n"
		fi
	done
	r=$(running)
	[ -z "$r" ] || die "still running, $DIR kept: $(echo "$r" | tr '\n' ' ')"
	rm -rf "$DIR"
	log "cluster stopped, $DIR removed"
}

cmd_status() {
	load
	fmt='%-9s %-5s %-16s %-8s %s\n'
	# shellcheck disable=SC2059
	printf "$fmt" COMPONENT STATE ADDRESS PID DETAIL
	for n in pg1 pg2; do
		addr=127.0.0.1:$(pg_port "$n")
		if pg_alive "$n"; then
			r=$(role "$n")
			detail=$r
			case $r in
			primary)
				repl=$(sql "$n" "SELECT string_agg(application_name || ' ' || state || ' ' || sync_state, ', ') FROM pg_stat_replication" || true)
				sync=$(sql "$n" 'SHOW synchronous_standby_names' || true)
				detail="primary, standbys: ${repl:-none}; synchronous_standby_names='$sync'"
				;;
			standby)
				lag=$(sql "$n" "SELECT COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) || ' bytes to replay, receiving ' || COALESCE((SELECT status FROM pg_stat_wal_receiver), 'nothing')" || true)
				detail="standby, $lag"
				;;
			down) detail="process runs but does not answer; see $DIR/$n.log" ;;
			esac
			# shellcheck disable=SC2059
			printf "$fmt" "$n" up "$addr" "$(pg_pid "$n")" "$detail"
		else
			# shellcheck disable=SC2059
			printf "$fmt" "$n" down "$addr" - "see $DIR/$n.log"
		fi
	done
	hp_up=false
	haproxy_alive && hp_up=true
	i=1
	while [ "$i" -le "$REPLICAS" ]; do
		addr=127.0.0.1:$(replica_port "$i")
		hp=""
		$hp_up && hp=", haproxy $(backend_state "r$i")"
		if replica_alive "$i"; then
			detail="readyz $(http_code "http://$addr/readyz"), readyz/write $(http_code "http://$addr/readyz/write")$hp"
			# shellcheck disable=SC2059
			printf "$fmt" "replica$i" up "$addr" "$(replica_pid "$i")" "$detail"
		else
			# shellcheck disable=SC2059
			printf "$fmt" "replica$i" down "$addr" - "see $DIR/wangge-$i.log$hp"
		fi
		i=$((i + 1))
	done
	addr=127.0.0.1:$P_HAPROXY
	if $hp_up; then
		# shellcheck disable=SC2059
		printf "$fmt" haproxy up "$addr" "$(haproxy_pid)" "readyz $(http_code "http://$addr/readyz"), stats http://127.0.0.1:$P_STATS/"
	else
		# shellcheck disable=SC2059
		printf "$fmt" haproxy down "$addr" - "see $DIR/haproxy.log"
	fi
}

cmd_failover() {
	load
	primary="" standby=""
	for n in pg1 pg2; do
		case $(role "$n") in
		primary) primary=$n ;;
		standby) standby=$n ;;
		esac
	done
	[ -n "$primary" ] || die "no PostgreSQL server answers as primary (scripts/cluster.sh status)"
	[ -n "$standby" ] || die "no standby to promote: $primary is the only server (failover was done already?)"
	pid=$(pg_pid "$primary")
	alive "$pid" "$DIR/$primary" || die "cannot find the postmaster of $primary (pid '$pid' from $DIR/$primary/postmaster.pid)"

	# The time is taken before the kill: a forked date after it can run
	# late on a loaded machine, and the outage would look shorter.
	stamp=$(date '+%H:%M:%S.%3N')
	t0=$(now)
	kill -KILL "$pid"
	echo "failover: $stamp SIGKILL to $primary's postmaster (pid $pid)"
	as_pg "$PGBIN/pg_ctl" -D "$DIR/$standby" -w -t "$T_PG" promote >/dev/null ||
		die "pg_ctl promote $standby failed; see $DIR/$standby.log"
	wait_until "$T_PG" - "$standby did not leave recovery" "$DIR/$standby.log" is_role "$standby" primary
	echo "failover: $(date '+%H:%M:%S.%3N') $standby is primary, $(since "$t0")s after the kill"
	# The replicas' read pool already points at pg2; their write pool finds
	# it through target_session_attrs=read-write on its next connection.
	wait_until "$T_HAPROXY" - "HAProxy does not answer /readyz with 200 after the failover" \
		"$DIR/haproxy.log and $DIR/wangge-*.log" is_200 "http://127.0.0.1:$P_HAPROXY/readyz"
	i=1
	while [ "$i" -le "$REPLICAS" ]; do
		if replica_alive "$i"; then
			wait_until "$T_REPLICA" - "replica $i does not reach the new primary (/readyz/write)" "$DIR/wangge-$i.log" \
				is_200 "http://127.0.0.1:$(replica_port "$i")/readyz/write"
		fi
		i=$((i + 1))
	done
	echo "failover: $(date '+%H:%M:%S.%3N') every running replica can write (/readyz/write 200), $(since "$t0")s after the kill"
	echo "failover: $standby runs alone now, without a standby"
}

# replica_restart N [DEAD]: stop replica N (unless DEAD), start it again with
# the same arguments, wait until it is ready and HAProxy sends to it.
replica_restart() {
	ti=$(now)
	stopped=-
	if [ $# -lt 2 ]; then
		p=$(replica_pid "$1")
		log "replica $1: SIGTERM (pid $p), draining"
		stop_pid "$p" "wangge replica $1" "$T_STOP"
		stopped=$(since "$ti")
	else
		log "replica $1 is not running: starting it"
	fi
	replica_start "$1"
	replica_wait "$1" "$T_REPLICA"
	ready=$(since "$ti")
	up=-
	if haproxy_alive; then
		wait_until "$T_HAPROXY" - "HAProxy does not see replica $1 UP" "$DIR/haproxy.log" is_up "r$1"
		up=$(since "$ti")
	fi
	if [ "$stopped" = - ]; then
		echo "restart: replica $1 was not running; ready after ${ready}s, UP in HAProxy after ${up}s"
	else
		echo "restart: replica $1 stopped after ${stopped}s, ready after ${ready}s, UP in HAProxy after ${up}s"
	fi
}

cmd_restart() {
	load
	haproxy_alive || log "HAProxy is not running: restarting replicas without waiting for it"
	t0=$(now)
	# Dead replicas first: they serve nothing, and once up they carry the
	# traffic while the others restart.
	live=""
	i=1
	while [ "$i" -le "$REPLICAS" ]; do
		if replica_alive "$i"; then
			live="$live $i"
		else
			replica_restart "$i" dead
		fi
		i=$((i + 1))
	done
	for i in $live; do
		# Never take the last serving replica out: wait for another to be UP.
		if [ "$REPLICAS" -gt 1 ] && haproxy_alive; then
			wait_until "$T_HAPROXY" - "no replica but $i is UP in HAProxy; not stopping it" \
				"$DIR/haproxy.log and $DIR/wangge-*.log" any_other_up "$i"
		fi
		replica_restart "$i"
	done
	echo "restart: $REPLICAS replicas restarted in $(since "$t0")s"
}

cmd_kill_replica() {
	load
	n=${1:-}
	case $n in '' | *[!0-9]*) die "usage: scripts/cluster.sh kill-replica N (1…$REPLICAS)" ;; esac
	{ [ "$n" -ge 1 ] && [ "$n" -le "$REPLICAS" ]; } || die "no replica $n: the cluster has replicas 1…$REPLICAS"
	replica_alive "$n" || die "replica $n is not running"
	p=$(replica_pid "$n")
	kill -KILL "$p"
	echo "kill-replica: $(date '+%H:%M:%S.%3N') SIGKILL to replica $n (pid $p)"
}

usage() {
	echo "usage: scripts/cluster.sh up|down|status|failover|restart|kill-replica N" >&2
	exit 2
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
failover) cmd_failover ;;
restart) cmd_restart ;;
kill-replica) cmd_kill_replica "$@" ;;
-h | --help | help) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
*) usage ;;
esac
