#!/bin/sh
# Runs a command with WANGGE_TEST_PG pointing at a fresh PostgreSQL database
# with PostGIS, dropped afterwards; `make test` wraps `go test` in it.
#   scripts/testdb.sh go test ./...
# PostgreSQL 15 is expected on 127.0.0.1:5432 with trust authentication for
# the postgres user (PGHOST/PGPORT/PGUSER override); the cluster is started
# when it is down. A WANGGE_TEST_PG already set is used as it is. When no
# database can be had the command still runs without it: PostGIS tests then
# skip, or fail when CI is set.
set -eu
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"

if [ -n "${WANGGE_TEST_PG:-}" ]; then
	exec "$@"
fi

log() { echo "testdb: $*" >&2; }

start() {
	pg_isready -q -t 2 2>/dev/null && return 0
	if command -v pg_ctlcluster >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main'; then
		log "starting PostgreSQL 15"
		SUDO=""
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO pg_ctlcluster --skip-systemctl-redirect 15 main start || true
	fi
	i=0
	while [ $i -lt 30 ]; do
		pg_isready -q -t 1 2>/dev/null && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# sweep drops the databases of earlier runs whose process is gone (a run
# killed before it could clean up); those of live runs are left alone.
sweep() {
	psql -d postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'wangge\_test\_%'" 2>/dev/null |
		while read -r db; do
			pid=$(echo "$db" | cut -d_ -f3)
			kill -0 "$pid" 2>/dev/null || psql -d postgres -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
		done
}

url=""
db="wangge_test_$$_$(date +%s)"
if ! command -v psql >/dev/null 2>&1; then
	log "psql not found (Debian: postgresql-15 postgresql-15-postgis-3); PostGIS tests will skip outside CI"
elif ! start; then
	log "PostgreSQL is not answering on $PGHOST:$PGPORT; PostGIS tests will skip outside CI"
else
	sweep
	if psql -d postgres -qc "CREATE DATABASE \"$db\"" && psql -d "$db" -qc "CREATE EXTENSION postgis"; then
		url="postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable"
		export WANGGE_TEST_PG="$url"
		trap 'psql -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true' EXIT INT TERM
	else
		log "cannot create database $db with PostGIS; PostGIS tests will skip outside CI"
	fi
fi
set +e
"$@"
rc=$?
set -e
exit $rc
