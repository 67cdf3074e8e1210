# Shared by the benchmark scripts (sourced, not run: bench/smoke.sh skips it): . bench/lib.sh

# wait_ready ADDR PID LOG [TRIES]: waits (0.2 s a try, 300 tries by
# default) until the wangge at ADDR answers /readyz, failing with its log
# when it does not or when process PID has exited.
wait_ready() {
	_addr=$1 _pid=$2 _log=$3 _tries=${4:-300} _i=0
	until curl -sf "http://$_addr/readyz" >/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt "$_tries" ] || { echo "wangge at $_addr did not become ready" >&2; tail -40 "$_log" >&2; exit 1; }
		kill -0 "$_pid" 2>/dev/null || { echo "wangge at $_addr exited" >&2; tail -40 "$_log" >&2; exit 1; }
		sleep 0.2
	done
}

# import_province WANGGE DB DIR LAYER...: imports the layers bench/province
# wrote into DIR (areas.geojson, LAYER.csv for the others) into the
# GeoPackage DB with `WANGGE import`, each under /usr/bin/time (wall and
# peak RSS), then removes the files.
import_province() {
	_bin=$1 _db=$2 _dir=$3
	shift 3
	for _layer in "$@"; do
		_f=$_dir/$_layer.csv
		[ "$_layer" = areas ] && _f=$_dir/areas.geojson
		/usr/bin/time -f "import $_layer: %e s, peak RSS %M KiB" "$_bin" import "$_layer" "$_f" --db "$_db" 2>&1 | grep -v '^importing' | tail -2
	done
	rm -f "$_dir"/*.csv "$_dir"/areas.geojson
}

# province_db LAYERS [FLAG...]: builds wangge into $OUT/wangge, sets BIN (to
# that build unless set) and DB ($OUT/province.gpkg) and, unless REUSE=1
# finds DB, writes SCALE× Montevideo (from $DATA) with bench/province, the
# FLAGs passed on, and imports the space-separated LAYERS into DB. FRESH is
# 1 when DB was made now, else 0.
province_db() {
	_layers=$1
	shift
	mkdir -p "$OUT"
	go build -o "$OUT/wangge" ./cmd/wangge
	BIN=${BIN:-$OUT/wangge}
	DB=$OUT/province.gpkg
	FRESH=0
	if [ "$REUSE" != 1 ] || [ ! -f "$DB" ]; then
		rm -f "$DB" "$DB-wal" "$DB-shm"
		go run ./bench/province -scale "$SCALE" "$@" -households "$DATA/montevideo/households.csv" -out "$OUT"
		# shellcheck disable=SC2086 # the layers are words
		import_province "$OUT/wangge" "$DB" "$OUT" $_layers
		FRESH=1
	fi
}
