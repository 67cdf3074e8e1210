#!/bin/sh
# Installs the Debian packages wangge's tests and benchmarks need, only when
# they are missing, so `make test` works on a fresh machine.
#   scripts/deps.sh        → what `make test` and `make bench-smoke` need
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1; }
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have gcc || need="$need gcc libc6-dev"
have make || need="$need make"
have ogrinfo || need="$need gdal-bin"
# GDAL's GeoPackage validator (validate_gpkg.py) for the change feed's tests.
pkg_installed python3-gdal || need="$need python3-gdal"
# OWSLib's OGC API Features client, which api/ogc_test.go (TestOWSLib) drives.
pkg_installed python3-owslib || need="$need python3-owslib"
have node || need="$need nodejs"
have npm || need="$need npm"
# The map page's browser test drives Debian's Chromium (test/browser).
[ -x /usr/bin/chromium ] || need="$need chromium"
# DejaVu Sans is the source of the map's Latin label glyphs, built into
# api/page/dist/fonts at `make web` (web/glyphs.mjs); Noto CJK lets the
# headless browser draw Chinese labels and text (MapLibre draws CJK glyphs
# with the browser's own fonts: localIdeographFontFamily).
pkg_installed fonts-dejavu-core || need="$need fonts-dejavu-core"
pkg_installed fonts-noto-cjk || need="$need fonts-noto-cjk"
# scripts/cluster.sh puts HAProxy in front of its replicas.
have haproxy || need="$need haproxy"
# The benchmark scripts (bench/*.sh), which `make bench-smoke` runs in CI:
# wrk drives the HTTP ones, gpmetis is gridgen's peer (bench/gpmetis.sh),
# GNU time measures peak RSS (bench/import.sh, bench/stores.sh).
have wrk || need="$need wrk"
have gpmetis || need="$need metis"
[ -x /usr/bin/time ] || need="$need time"
have bc || need="$need bc"
pkg_installed postgresql-15-postgis-3 || { [ -d /usr/lib/postgresql/15 ] && need="$need postgresql-15-postgis-3"; } || true

if [ -n "$need" ]; then
	echo "deps: installing$need" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
